/**
 * Whether a cluster can run native sidecars, from its versions: the API
 * server's (/version) and every kubelet's (Node status.nodeInfo). Pure, so
 * that the webhook's watch (facts.ts) and the command line's one-off read
 * (live.ts clusterFacts) decide by the same rule.
 */
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

/** A Node's kubelet version, as the API server reports it; '' when it reports none. */
export function kubeletVersionOf(object: unknown): string {
  const status = (object as { status?: { nodeInfo?: { kubeletVersion?: unknown } } }).status;
  const version = status?.nodeInfo?.kubeletVersion;
  return typeof version === 'string' ? version : '';
}
