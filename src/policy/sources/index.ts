/**
 * Where a policy comes from besides the built-in one: a file, watched on
 * disk, or a ConfigMap, watched through the API server. The ConfigMap
 * watcher is loaded through loadConfigMapWatcher(), like the cluster's own
 * watches (cluster/index.ts): it brings in client-node, which only a serve
 * that found a cluster needs. Its types cost nothing and are exported here.
 */
export { PolicyFileWatcher, type PolicyFileWatcherOptions } from './file.ts';
export type { ConfigMapRef, ConfigMapState, PolicyConfigMapStatus, PolicyConfigMapWatcher, PolicyConfigMapWatcherOptions } from './configmap.ts';

/** Loads the ConfigMap watcher (and client-node with it); call it once a cluster has been found. */
export const loadConfigMapWatcher = (): Promise<typeof import('./configmap.ts')> => import('./configmap.ts');
