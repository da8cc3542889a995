/**
 * A reflector keeps a local copy of a Kubernetes collection current: list,
 * then watch from the list's resourceVersion, forever. It is what client-go
 * calls a reflector and client-node an informer, written here because the
 * webhook needs three things those do not give together:
 *
 * - it keeps only what it is told to (a namespace's annotations, a node's
 *   kubelet version), not whole objects: node objects carry image lists
 *   and a large cluster has thousands of them;
 * - it never gives up: a failed list or watch is retried with backoff while
 *   the API server is gone, and it resumes when it returns;
 * - its state (synced, the last error) is there for /readyz to show.
 *
 * The protocol: a watch resumes from the last resourceVersion seen. A watch
 * the server ends (its timeout) or that goes quiet for client-node's
 * inactivity timeout is resumed at once. `410 Gone`/`Expired` (as an HTTP
 * status or as an ERROR event) means that version is too old: list again.
 * Any other failure is retried after a backoff with a fresh list, so the
 * copy is whole again when the server comes back and the error clears.
 */
import { isDeepStrictEqual } from 'node:util';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { Backoff, DEFAULT_BACKOFF, sleep, type BackoffOptions } from './backoff.ts';
import { describeKubeError, statusCodeOf } from './errors.ts';

/**
 * What a watch tells /readyz: whether the replica may take admissions on
 * its copy, and why. The readiness registry that asks lives in server/;
 * the shape is declared here so the cluster code does not depend on it.
 */
export interface CheckResult {
  ok: boolean;
  /** Why the check fails, or what it found. */
  message?: string;
}

/** The part of every object the reflector itself reads. */
export interface ObjectMeta {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface ListPage {
  items: readonly ObjectMeta[];
  resourceVersion: string;
  /** The token for the next page; absent on the last one. */
  continue?: string;
}

/** Lists one page; `signal` aborts it when the reflector stops or the request takes too long. */
export type ListPageFn = (page: { limit: number; continue?: string }, signal: AbortSignal) => Promise<ListPage>;

export interface ReflectorOptions<T> {
  /** What is watched, for logs and status: "namespaces", "configmap ns/name". */
  what: string;
  kubeConfig: KubeConfig;
  /** The collection's API path, e.g. /api/v1/namespaces. */
  path: string;
  fieldSelector?: string;
  list: ListPageFn;
  /** What to keep of each object. */
  project(object: ObjectMeta): T;
  backoff?: BackoffOptions;
  /** Items per list page (the API server's default page is unlimited; 500 is client-go's). */
  pageSize?: number;
  /** A list request that takes longer than this is abandoned and retried. */
  listTimeoutMs?: number;
  logger?: Logger;
}

export interface ReflectorStatus {
  /** Whether a list has completed since start: the copy is whole (if perhaps stale since). */
  synced: boolean;
  /** The last failure, until a list succeeds again. */
  error?: string;
  /** When the current run of failures began (ISO 8601). */
  failingSince?: string;
}

type WatchEnd =
  | { kind: 'closed'; events: number; livedMs: number }
  | { kind: 'timeout' }
  | { kind: 'expired' }
  | { kind: 'error'; error: unknown }
  | { kind: 'stopped' };

/** A watch that lived this long before the server ended it was healthy, even if it saw no change. */
const HEALTHY_WATCH_MS = 5_000;
const DEFAULT_LIST_TIMEOUT_MS = 30_000;

export class Reflector<T> {
  readonly #options: ReflectorOptions<T>;
  readonly #watch: Watch;
  readonly #backoff: Backoff;
  readonly #listeners = new Set<() => void>();
  #items = new Map<string, T>();
  #resourceVersion = '';
  #synced = false;
  #error: string | undefined;
  #failingSince: string | undefined;
  #failures = 0;
  #stop: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: ReflectorOptions<T>) {
    this.#options = options;
    this.#watch = new Watch(options.kubeConfig);
    this.#backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
  }

  /** The current copy, keyed by `namespace/name` (or `name` for cluster-scoped objects). */
  get items(): ReadonlyMap<string, T> {
    return this.#items;
  }

  status(): ReflectorStatus {
    const status: ReflectorStatus = { synced: this.#synced };
    if (this.#error !== undefined) {
      status.error = this.#error;
      status.failingSince = this.#failingSince;
    }
    return status;
  }

  /** Called after every change to the copy (one call per list, one per watch event that changed it). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#loop) return;
    this.#stop = new AbortController();
    this.#loop = this.#run(this.#stop.signal);
  }

  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = undefined;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let relist = true;
    while (!signal.aborted) {
      if (relist) {
        try {
          await this.#list(signal);
          relist = false;
          this.#recovered();
        } catch (error) {
          if (signal.aborted) break;
          this.#failed('list', error);
          await sleep(this.#backoff.next(), signal);
          continue;
        }
      }
      const end = await this.#watchOnce(signal);
      switch (end.kind) {
        case 'stopped':
          break;
        case 'expired':
          // The version is too old (compaction, API server restart): a fresh list is the only way on.
          this.#options.logger?.debug({ what: this.#options.what }, 'watch expired (410); listing again');
          relist = true;
          break;
        case 'timeout':
          // A quiet watch: client-node's inactivity timer ended it. Nothing is wrong; resume.
          break;
        case 'closed':
          if (end.events > 0 || end.livedMs >= HEALTHY_WATCH_MS) this.#backoff.reset();
          else await sleep(this.#backoff.next(), signal);
          break;
        case 'error':
          this.#failed('watch', end.error);
          await sleep(this.#backoff.next(), signal);
          relist = true;
          break;
      }
    }
  }

  async #list(signal: AbortSignal): Promise<void> {
    const items = new Map<string, T>();
    let resourceVersion = '';
    let token: string | undefined;
    do {
      const timeout = AbortSignal.timeout(this.#options.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS);
      const page = await this.#options.list({ limit: this.#options.pageSize ?? 500, continue: token }, AbortSignal.any([signal, timeout]));
      for (const object of page.items) items.set(keyOf(object), this.#options.project(object));
      // Every page of one list carries the version of the first: the list is one snapshot.
      resourceVersion ||= page.resourceVersion;
      token = page.continue || undefined;
    } while (token !== undefined && !signal.aborted);
    if (signal.aborted) return;
    const changed = !this.#synced || !isDeepStrictEqual(items, this.#items);
    this.#items = items;
    this.#resourceVersion = resourceVersion;
    this.#synced = true;
    if (changed) this.#notify();
  }

  #watchOnce(signal: AbortSignal): Promise<WatchEnd> {
    const { path, fieldSelector } = this.#options;
    const query: Record<string, string | boolean> = { resourceVersion: this.#resourceVersion, allowWatchBookmarks: true };
    if (fieldSelector !== undefined) query.fieldSelector = fieldSelector;
    const started = Date.now();
    return new Promise<WatchEnd>((resolve) => {
      let events = 0;
      let settled = false;
      let request: AbortController | undefined;
      const finish = (end: WatchEnd): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onStop);
        request?.abort();
        resolve(end);
      };
      const onStop = (): void => finish({ kind: 'stopped' });
      signal.addEventListener('abort', onStop, { once: true });
      const onEvent = (type: string, object: unknown): void => {
        if (settled) return;
        if (type === 'ERROR') {
          const status = object as { code?: number; message?: string } | undefined;
          if (status?.code === 410) finish({ kind: 'expired' });
          else finish({ kind: 'error', error: new Error(`the watch reported an error: ${status?.message ?? JSON.stringify(object)}`) });
          return;
        }
        events++;
        this.#event(type, object as ObjectMeta);
      };
      const onDone = (error: unknown): void => {
        if (error === null || error === undefined) finish({ kind: 'closed', events, livedMs: Date.now() - started });
        else if (statusCodeOf(error) === 410) finish({ kind: 'expired' });
        else if ((error as Error).name === 'TimeoutError') finish({ kind: 'timeout' });
        else finish({ kind: 'error', error });
      };
      this.#watch.watch(path, query, onEvent, onDone).then(
        (controller) => {
          request = controller;
          // Stopped (or ended) while connecting: close what just opened.
          if (settled) controller.abort();
        },
        (error: unknown) => finish({ kind: 'error', error }),
      );
      if (signal.aborted) onStop();
    });
  }

  #event(type: string, object: ObjectMeta): void {
    const version = object?.metadata?.resourceVersion;
    if (type === 'BOOKMARK') {
      if (version) this.#resourceVersion = version;
      return;
    }
    if (object?.metadata?.name === undefined) return;
    const key = keyOf(object);
    let changed = false;
    if (type === 'DELETED') {
      changed = this.#items.delete(key);
    } else if (type === 'ADDED' || type === 'MODIFIED') {
      const value = this.#options.project(object);
      changed = !this.#items.has(key) || !isDeepStrictEqual(this.#items.get(key), value);
      if (changed) this.#items.set(key, value);
    }
    if (version) this.#resourceVersion = version;
    if (changed) this.#notify();
  }

  #notify(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch (error) {
        this.#options.logger?.error({ err: error, what: this.#options.what }, 'a cache listener failed');
      }
    }
  }

  #failed(step: 'list' | 'watch', error: unknown): void {
    const message = `cannot ${step} ${this.#options.what}: ${describeKubeError(error)}`;
    this.#failures++;
    // One line when a failure starts or changes, not one per retry while the API server is away.
    if (message !== this.#error) this.#options.logger?.warn({ what: this.#options.what, failures: this.#failures }, `${message}; retrying with backoff`);
    if (this.#error === undefined) this.#failingSince = new Date().toISOString();
    this.#error = message;
  }

  #recovered(): void {
    if (this.#error !== undefined) {
      this.#options.logger?.info({ what: this.#options.what, failures: this.#failures, failingSince: this.#failingSince }, `${this.#options.what}: listed again after ${this.#failures} failed attempts`);
    }
    this.#error = undefined;
    this.#failingSince = undefined;
    this.#failures = 0;
    this.#backoff.reset();
  }
}

function keyOf(object: ObjectMeta): string {
  const { name = '', namespace } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : name;
}
