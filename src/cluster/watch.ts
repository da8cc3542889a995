/**
 * What talks to the API server through client-node: the reflector and the
 * caches built on it, the glue to client-node's generated clients, and its
 * errors in words. Reached through loadWatch() in index.ts, so that loading
 * client-node waits until a cluster has been found.
 */
export { abortable, pageOf } from './api.ts';
export { describeKubeError, statusCodeOf } from './errors.ts';
export { ClusterFactsCache, NATIVE_SIDECARS_SINCE, nativeSidecarVerdict, parseKubeVersion } from './facts.ts';
export { NamespaceCache } from './namespaces.ts';
export { Reflector } from './reflector.ts';
