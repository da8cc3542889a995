/**
 * Cluster facts for `nativeSidecars: auto`: whether every part of the
 * cluster that handles a pod runs Kubernetes 1.29 or newer, where native
 * sidecars (init containers with `restartPolicy: Always`) are on by default.
 * The API server must accept the field and every kubelet must run it; an
 * older kubelet would start the "sidecar" as an ordinary init container and
 * wait for it forever.
 *
 * Kept current in the background: the API server's /version is asked every
 * few minutes (an upgrade changes it), and the nodes are watched (a node
 * with an old kubelet can join at any time). Until both are known the answer
 * is undefined, and `auto` chooses classic sidecars.
 */
import { CoreV1Api, VersionApi, type KubeConfig } from '@kubernetes/client-node';
import type { ClusterFacts } from '../engine/index.ts';
import type { Logger } from '../log.ts';
import { abortable, pageOf } from './api.ts';
import { Backoff, DEFAULT_BACKOFF, sleep, type BackoffOptions } from './backoff.ts';
import { describeKubeError } from './errors.ts';
import { Reflector, type ReflectorStatus } from './reflector.ts';
import { kubeletVersionOf, nativeSidecarVerdict, type NativeSidecarVerdict } from './versions.ts';

export { NATIVE_SIDECARS_SINCE, nativeSidecarVerdict, parseKubeVersion, type KubeVersion, type NativeSidecarVerdict } from './versions.ts';

export interface ClusterFactsOptions {
  kubeConfig: KubeConfig;
  /** How often the API server's version is asked again (default 5 minutes). */
  versionRefreshMs?: number;
  backoff?: BackoffOptions;
  logger?: Logger;
}

export interface ClusterFactsStatus extends NativeSidecarVerdict {
  apiServer?: string;
  /** Why the API server's version is unknown or stale. */
  versionError?: string;
  nodes: ReflectorStatus & { count: number };
}

const DEFAULT_VERSION_REFRESH_MS = 5 * 60_000;

export class ClusterFactsCache {
  readonly #options: ClusterFactsOptions;
  readonly #nodes: Reflector<string>;
  readonly #versionApi: VersionApi;
  readonly #listeners = new Set<() => void>();
  #apiServer: string | undefined;
  #versionError: string | undefined;
  #verdict: NativeSidecarVerdict = nativeSidecarVerdict(undefined, undefined);
  #stop: AbortController | undefined;
  #versionLoop: Promise<void> | undefined;

  constructor(options: ClusterFactsOptions) {
    this.#options = options;
    const core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#versionApi = options.kubeConfig.makeApiClient(VersionApi);
    this.#nodes = new Reflector({
      what: 'nodes',
      kubeConfig: options.kubeConfig,
      path: '/api/v1/nodes',
      list: async (page, signal) => pageOf(await core.listNode({ limit: page.limit, _continue: page.continue }, abortable(signal))),
      project: kubeletVersionOf,
      backoff: options.backoff,
      logger: options.logger,
    });
    this.#nodes.onChange(() => this.#update());
  }

  /** What the engine reads: `nativeSidecars` is left out while it is unknown. */
  get facts(): ClusterFacts {
    return this.#verdict.nativeSidecars === undefined ? {} : { nativeSidecars: this.#verdict.nativeSidecars };
  }

  status(): ClusterFactsStatus {
    const status: ClusterFactsStatus = { ...this.#verdict, nodes: { ...this.#nodes.status(), count: this.#nodes.items.size } };
    if (this.#apiServer !== undefined) status.apiServer = this.#apiServer;
    if (this.#versionError !== undefined) status.versionError = this.#versionError;
    return status;
  }

  /** Called when the verdict changes. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#stop) return;
    this.#stop = new AbortController();
    this.#nodes.start();
    this.#versionLoop = this.#pollVersion(this.#stop.signal);
  }

  async stop(): Promise<void> {
    this.#stop?.abort();
    await Promise.all([this.#nodes.stop(), this.#versionLoop]);
    this.#stop = undefined;
  }

  async #pollVersion(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.#options.backoff ?? DEFAULT_BACKOFF);
    while (!signal.aborted) {
      try {
        const info = await this.#versionApi.getCode({}, abortable(AbortSignal.any([signal, AbortSignal.timeout(30_000)])));
        this.#apiServer = info.gitVersion || `v${info.major}.${info.minor}`;
        this.#versionError = undefined;
        backoff.reset();
        this.#update();
        await sleep(this.#options.versionRefreshMs ?? DEFAULT_VERSION_REFRESH_MS, signal);
      } catch (error) {
        if (signal.aborted) break;
        const message = `cannot read the API server version: ${describeKubeError(error)}`;
        if (message !== this.#versionError) this.#options.logger?.warn(`${message}; retrying with backoff`);
        this.#versionError = message;
        await sleep(backoff.next(), signal);
      }
    }
  }

  #update(): void {
    const kubelets = this.#nodes.status().synced ? this.#nodes.items : undefined;
    const verdict = nativeSidecarVerdict(this.#apiServer, kubelets);
    const changed = verdict.nativeSidecars !== this.#verdict.nativeSidecars;
    this.#verdict = verdict;
    if (!changed) return;
    this.#options.logger?.info({ nativeSidecars: verdict.nativeSidecars }, `native sidecars: ${verdict.reason}`);
    for (const listener of this.#listeners) listener();
  }
}
