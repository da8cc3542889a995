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
import { Reflector, type ObjectMeta, type ReflectorStatus } from './reflector.ts';

export interface KubeVersion {
  major: number;
  minor: number;
}

/** The first Kubernetes version with native sidecars on by default (beta, SidecarContainers). */
export const NATIVE_SIDECARS_SINCE: KubeVersion = { major: 1, minor: 29 };

/** Reads "v1.29.3", "v1.30.5-gke.1014001", "v1.28.15+k3s1" or "1.31"; undefined for anything else. */
export function parseKubeVersion(text: string): KubeVersion | undefined {
  const m = /^v?(\d+)\.(\d+)(?:$|[.+-])/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

const atLeast = (v: KubeVersion, min: KubeVersion): boolean => v.major > min.major || (v.major === min.major && v.minor >= min.minor);

export interface NativeSidecarVerdict {
  /** True when the API server and every kubelet are new enough; false when one is not; undefined while unknown. */
  nativeSidecars: boolean | undefined;
  reason: string;
}

/**
 * The verdict from the versions: false as soon as one known version is too
 * old (that alone decides it), true only when all are known and new enough.
 */
export function nativeSidecarVerdict(apiServer: string | undefined, kubelets: ReadonlyMap<string, string> | undefined): NativeSidecarVerdict {
  const since = `${NATIVE_SIDECARS_SINCE.major}.${NATIVE_SIDECARS_SINCE.minor}`;
  const api = apiServer === undefined ? undefined : parseKubeVersion(apiServer);
  if (api && !atLeast(api, NATIVE_SIDECARS_SINCE)) return { nativeSidecars: false, reason: `the API server is ${apiServer}; native sidecars need ${since} or newer` };
  for (const [node, version] of kubelets ?? []) {
    const v = parseKubeVersion(version);
    if (v && !atLeast(v, NATIVE_SIDECARS_SINCE)) return { nativeSidecars: false, reason: `node ${node} runs kubelet ${version}; native sidecars need ${since} or newer on every node` };
  }
  if (apiServer === undefined) return { nativeSidecars: undefined, reason: 'the API server version is not known yet' };
  if (!api) return { nativeSidecars: undefined, reason: `the API server version ${JSON.stringify(apiServer)} cannot be read` };
  if (kubelets === undefined) return { nativeSidecars: undefined, reason: 'the nodes are not known yet' };
  for (const [node, version] of kubelets) {
    if (!parseKubeVersion(version)) return { nativeSidecars: undefined, reason: `the kubelet version of node ${node} (${JSON.stringify(version)}) cannot be read` };
  }
  return { nativeSidecars: true, reason: `the API server (${apiServer}) and every kubelet (${kubelets.size} nodes) are ${since} or newer` };
}

function kubeletVersionOf(object: ObjectMeta): string {
  const status = (object as { status?: { nodeInfo?: { kubeletVersion?: unknown } } }).status;
  const version = status?.nodeInfo?.kubeletVersion;
  return typeof version === 'string' ? version : '';
}

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
