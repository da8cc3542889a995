/**
 * The cluster: how serve reaches the API server, and the caches kept
 * current from it (namespace annotations, cluster facts) on a list-watch
 * that never gives up. This is the folder's public surface; everything it
 * exports is cheap to load.
 *
 * The watch machinery is not exported here but through loadWatch(): it
 * brings in client-node, about half a second to load, which every other
 * command and a serve without a cluster are spared. Its types are exported
 * here, since they cost nothing at run time.
 */
export { CLUSTER_MODES, ClusterConfigError, connectToCluster, SERVICE_ACCOUNT_DIR, type ClusterConnection, type ClusterMode } from './connect.ts';
export { clusterFacts, configMapKey, connectLive, getJson, listAll, LiveError, namespaceAnnotations, wantsCluster, type LiveCluster, type LiveClusterFacts, type LiveOptions } from './live.ts';
export { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
export type { CheckResult, ListPage, ObjectMeta, Reflector, ReflectorOptions, ReflectorStatus } from './reflector.ts';
export type { NamespaceCache, NamespaceCacheOptions, NamespaceCacheStatus } from './namespaces.ts';
export type { ClusterFactsCache, ClusterFactsOptions, ClusterFactsStatus, KubeVersion, NativeSidecarVerdict } from './facts.ts';

/** Loads the watch machinery and client-node with it; call it once a cluster has been found. */
export const loadWatch = (): Promise<typeof import('./watch.ts')> => import('./watch.ts');
