/**
 * Readiness: whether this replica should receive admissions now. It is a set
 * of named checks (the HTTPS server listens, the policy ConfigMap has been
 * read, the namespace cache has synced) plus details shown alongside them
 * (policy source and hash, version, cluster facts), so `/readyz` explains
 * itself. Shutting down makes it unready at once, so the Service stops
 * sending traffic while in-flight requests drain.
 *
 * It stays with the health server that renders it. app/ fills it in; the
 * cluster caches and the policy ConfigMap watch only return a CheckResult
 * of the same shape, declared in cluster/, and never import this.
 */
import type { AdmissionDeps } from '../admission/index.ts';

export interface CheckResult {
  ok: boolean;
  /** Why a check fails, or what it found. */
  message?: string;
}

export type Check = () => CheckResult;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, CheckResult>;
  [detail: string]: unknown;
}

const RESERVED = new Set(['ready', 'checks']);

export class Readiness {
  readonly #checks = new Map<string, Check>();
  readonly #details = new Map<string, () => unknown>();
  #shuttingDown = false;

  /** Adds or replaces a condition that must hold for the replica to be ready. */
  check(name: string, check: Check): this {
    this.#checks.set(name, check);
    return this;
  }

  /** Adds or replaces information shown in the report that does not decide readiness. */
  detail(name: string, value: () => unknown): this {
    if (RESERVED.has(name)) throw new Error(`readiness detail ${name} would hide the report's own field`);
    this.#details.set(name, value);
    return this;
  }

  shutDown(): void {
    this.#shuttingDown = true;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  report(): ReadinessReport {
    const checks: Record<string, CheckResult> = {};
    for (const [name, check] of this.#checks) {
      try {
        checks[name] = check();
      } catch (error) {
        checks[name] = { ok: false, message: `the check failed: ${error instanceof Error ? error.message : String(error)}` };
      }
    }
    if (this.#shuttingDown) checks.shutdown = { ok: false, message: 'shutting down; draining in-flight requests' };
    const report: ReadinessReport = { ready: Object.values(checks).every((c) => c.ok), checks };
    for (const [name, value] of this.#details) report[name] = value();
    return report;
  }
}

/**
 * The webhook's readiness: its HTTPS server must be listening, and the
 * report names the policy in force. The policy is read from `deps` on each
 * report, so a reloaded policy shows at once.
 */
export function webhookReadiness(webhook: { server: { listening: boolean } }, deps: AdmissionDeps, policySource: string): Readiness {
  return new Readiness()
    .check('webhook', () => (webhook.server.listening ? { ok: true } : { ok: false, message: 'the HTTPS server is not listening' }))
    .detail('policy', () => ({ source: policySource, hash: deps.ctx.policy.hash }))
    .detail('version', () => deps.ctx.version);
}
