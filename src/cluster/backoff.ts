/**
 * Exponential backoff with jitter for reconnecting to the API server: quick
 * retries after a blip, at most one attempt per `maxMs` while it is gone, and
 * replicas that lost it together do not all come back at the same instant.
 */
export interface BackoffOptions {
  /** The first delay. */
  initialMs: number;
  /** The longest delay. */
  maxMs: number;
}

/** What the watchers use against a real API server. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

export class Backoff {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new Error(`backoff needs 0 < initialMs <= maxMs, got ${options.initialMs} and ${options.maxMs}`);
    }
    this.#options = options;
    this.#random = random;
  }

  /** The delay before the next attempt: doubling from initialMs up to maxMs, each between half and all of it. */
  next(): number {
    const ceiling = Math.min(this.#options.maxMs, this.#options.initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
  }

  /** After a success: the next failure starts from initialMs again. */
  reset(): void {
    this.#attempt = 0;
  }

  /** Consecutive failures since the last reset. */
  get failures(): number {
    return this.#attempt;
  }
}

/** Waits `ms`, or less if the signal aborts; never rejects. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
