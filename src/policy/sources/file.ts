/**
 * A policy file, re-read when it changes. The directory is watched, not the
 * file: editors save by writing a new file and renaming it over the old one,
 * and a ConfigMap mounted as a volume changes by swapping the `..data`
 * symlink, so the file's own inode (what a watch on it follows) is replaced
 * either way. Any event in the directory schedules a re-read after a short
 * quiet period; the store ignores a text it has already judged, so unrelated
 * events cost one small read.
 *
 * A new text is used only once it has stopped changing: the same bytes read
 * again after the settle period (1 s). A file rewritten in place is empty,
 * then half written, for as long as the writer takes; a half that happens to
 * be valid YAML is a valid policy (the first half of an allowedRepos list),
 * so waiting for quiet events alone is not enough.
 *
 * A slow poll is the safety net for file systems without change events
 * (some network and overlay mounts) and for a directory that is removed and
 * created again: it only looks at the file's identity, size and time, and a
 * difference schedules the same quiet-period read, so a file is never read
 * in the middle of being written. A file that cannot be read is reported
 * once per distinct error, and the policy in force stays.
 */
import { statSync, watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../log.ts';
import { POLICY_SETTLE_MS, readSettled } from '../load.ts';
import type { PolicyStore } from '../store.ts';

export interface PolicyFileWatcherOptions {
  path: string;
  store: PolicyStore;
  /** Quiet time after the last event before the file is read (default 100 ms). */
  debounceMs?: number;
  /** Interval of the safety-net re-read (default 10 s). */
  pollMs?: number;
  /** How long a new text must stay the same before it is applied (default 1 s). */
  settleMs?: number;
  /** The text already in force (read at start): finding it again needs no settle period. */
  text?: string;
  logger?: Logger;
}

export class PolicyFileWatcher {
  readonly #options: PolicyFileWatcherOptions;
  #watcher: FSWatcher | undefined;
  /** The directory the watcher was set on (device and inode): one created anew needs a new watch. */
  #watchedDirectory: string | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  #lastError: string | undefined;
  /** Inode, size and modification time of the file at the last read (through symlinks). */
  #lastSeen: string | undefined;
  #started = false;
  /** Set by stop(): nothing read after it reaches the store. */
  #stopped = false;
  /** Cuts a settle period short on stop(). */
  readonly #abort = new AbortController();
  /** The last text handed to the store. */
  #applied: string | undefined;

  constructor(options: PolicyFileWatcherOptions) {
    this.#options = options;
    this.#applied = options.text;
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#watchDirectory();
    this.#poll = setInterval(() => {
      void this.#rewatchIfReplaced().then(() => this.#watchDirectory());
      void this.#looksChanged().then((changed) => changed && this.#schedule());
    }, this.#options.pollMs ?? 10_000);
    this.#poll.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    this.#watcher?.close();
    this.#watcher = undefined;
    clearTimeout(this.#debounce);
    clearInterval(this.#poll);
    await this.#reading;
  }

  /** Reads the file now and hands its text to the store; at most one read runs at a time. */
  reload(): Promise<void> {
    if (this.#reading) {
      // A change during a read: read once more after it, so the last change is never missed.
      this.#again = true;
      return this.#reading;
    }
    this.#reading = this.#read().finally(() => {
      this.#reading = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        void this.reload();
      }
    });
    return this.#reading;
  }

  async #identity(): Promise<string> {
    const s = await stat(this.#options.path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  }

  async #looksChanged(): Promise<boolean> {
    try {
      return (await this.#identity()) !== this.#lastSeen;
    } catch {
      // Gone or unreadable: worth a read only if that has not been reported yet.
      return this.#lastError === undefined;
    }
  }

  async #read(): Promise<void> {
    const { path, store } = this.#options;
    let text: string;
    try {
      this.#lastSeen = await this.#identity();
      text = await readSettled(path, this.#options.settleMs ?? POLICY_SETTLE_MS, { signal: this.#abort.signal, known: this.#applied });
    } catch (error) {
      if (this.#stopped) return;
      this.#lastSeen = undefined;
      this.#applied = undefined;
      const message = `${path}: cannot read the policy file: ${(error as Error).message} [POLICY_SOURCE_UNAVAILABLE]`;
      if (message !== this.#lastError) store.reject(path, [message]);
      this.#lastError = message;
      return;
    }
    this.#lastError = undefined;
    if (this.#stopped) return;
    this.#applied = text;
    // Read off the event loop: a large policy takes the yaml library about a second.
    await store.applyInWorker(text, path);
  }

  #schedule(): void {
    if (this.#stopped || !this.#started) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.reload(), this.#options.debounceMs ?? 100);
  }

  async #rewatchIfReplaced(): Promise<void> {
    if (!this.#watcher) return;
    const now = await stat(dirname(this.#options.path)).then((s) => `${s.dev}:${s.ino}`, () => undefined);
    if (now === this.#watchedDirectory) return;
    this.#watcher.close();
    this.#watcher = undefined;
  }

  #watchDirectory(): void {
    if (this.#watcher || this.#stopped) return;
    const directory = dirname(this.#options.path);
    try {
      // Taken before the watch, so a directory replaced in between is seen as replaced.
      const s = statSync(directory);
      this.#watchedDirectory = `${s.dev}:${s.ino}`;
      // Not persistent: a watcher alone must not keep the process alive.
      const watcher = watch(directory, { persistent: false }, () => this.#schedule());
      watcher.on('error', (error) => {
        this.#options.logger?.warn({ err: error, directory }, 'watching the policy directory failed; polling until it can be watched again');
        watcher.close();
        if (this.#watcher === watcher) this.#watcher = undefined;
        this.#schedule();
      });
      this.#watcher = watcher;
    } catch (error) {
      this.#options.logger?.debug({ err: error, directory }, 'cannot watch the policy directory yet');
    }
  }
}
