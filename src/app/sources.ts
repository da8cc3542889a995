/**
 * Everything that keeps the webhook's view of the world current, started
 * in one call: the policy (from a file, a ConfigMap or built in) and, in a
 * cluster, the namespace annotations and the cluster facts. It owns the
 * AdmissionDeps the HTTPS server reads: a new policy or new cluster facts
 * replace `deps.ctx` as a whole, so each admission sees one consistent
 * context, and admission never waits on any of this. It joins the policy
 * sources to the cluster caches, which is the application's wiring, not
 * the cluster's: cluster/ only talks to the API server.
 */
import type { AdmissionDeps } from '../admission/index.ts';
import type { Env } from '../args.ts';
import { connectToCluster, loadWatch, SERVICE_ACCOUNT_DIR, type BackoffOptions, type ClusterConnection, type ClusterFactsCache, type NamespaceCache } from '../cluster/index.ts';
import type { EngineContext } from '../engine/index.ts';
import type { Logger } from '../log.ts';
import {
  BUILTIN_SOURCE,
  loadBuiltinPolicy,
  loadConfigMapWatcher,
  readPolicyFile,
  POLICY_SETTLE_MS,
  PolicyFileWatcher,
  PolicyStore,
  type PolicyConfigMapWatcher,
} from '../policy/index.ts';
import type { Readiness } from '../server/index.ts';
import type { SourcesConfig } from './config.ts';

export interface StartSourcesOptions {
  env: Env;
  logger: Logger;
  /** The engine context apart from the policy, which the sources provide (and the cluster facts, which they keep current). */
  context: Omit<EngineContext, 'policy'>;
  /** Retry timing against the API server (tests shorten it). */
  backoff?: BackoffOptions;
  /** Policy file re-read timing (tests shorten it). */
  file?: { debounceMs?: number; pollMs?: number; settleMs?: number };
  /** How often the API server's version is asked again. */
  versionRefreshMs?: number;
  serviceAccountDir?: string;
}

export interface Sources {
  /** Read by the webhook on every request; kept current by the sources. */
  deps: AdmissionDeps;
  store: PolicyStore;
  /** The cluster, when there is one. */
  cluster?: Omit<ClusterConnection, 'kubeConfig'>;
  namespaces?: NamespaceCache;
  facts?: ClusterFactsCache;
  configMap?: PolicyConfigMapWatcher;
  /**
   * Why the policy in memory is not yet the one configured (the ConfigMap not
   * read yet, or never valid since start), or undefined once it is. A file is
   * read before serve starts and the built-in policy is there from the start.
   */
  policyPending(): string | undefined;
  /** Adds the policy, namespace and cluster checks and details to /readyz. */
  attach(readiness: Readiness): void;
  /** Stops every watcher; resolves when nothing of theirs is left running. */
  stop(): Promise<void>;
}

/**
 * Loads the initial policy and starts the watchers. Throws for what must
 * stop serve from starting: an unreadable or invalid policy file, a cluster
 * configuration that cannot be used (ClusterConfigError).
 */
export async function startSources(config: SourcesConfig, options: StartSourcesOptions): Promise<Sources> {
  const { logger, backoff } = options;
  const connection = await connectToCluster(config.cluster, options.env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);

  let store: PolicyStore;
  let fileWatcher: PolicyFileWatcher | undefined;
  if (config.policyFile !== undefined) {
    // The file as given at start must be readable and valid: serve exits 1 otherwise.
    // Read once it has stopped changing, as every later read is: a file being written is not a policy yet.
    const { text, compiled } = await readPolicyFile(config.policyFile, { settleMs: options.file?.settleMs ?? POLICY_SETTLE_MS });
    // With the text in force, so that re-reading an unchanged file changes nothing (and is not compiled again).
    store = new PolicyStore({ compiled, source: config.policyFile, text }, logger);
    fileWatcher = new PolicyFileWatcher({ path: config.policyFile, store, logger, text, ...options.file });
  } else {
    store = new PolicyStore(loadBuiltinPolicy(), logger);
  }

  const deps: AdmissionDeps = {
    ctx: { ...options.context, policy: store.current.compiled.engine },
    namespaceAnnotations: () => undefined,
  };
  // Spread, not rebuilt: the context may carry more than these fields.
  store.onChange((event) => {
    if (event.type === 'loaded') deps.ctx = { ...deps.ctx, policy: store.current.compiled.engine };
  });

  let namespaces: NamespaceCache | undefined;
  let facts: ClusterFactsCache | undefined;
  let configMap: PolicyConfigMapWatcher | undefined;
  if (connection) {
    // Loaded here, not at the top: they bring in client-node, which only a cluster needs.
    const [{ NamespaceCache, ClusterFactsCache }, { PolicyConfigMapWatcher }] = await Promise.all([loadWatch(), loadConfigMapWatcher()]);
    const { kubeConfig } = connection;
    namespaces = new NamespaceCache({ kubeConfig, backoff, logger });
    const cache = namespaces;
    deps.namespaceAnnotations = (namespace) => cache.annotations(namespace);
    facts = new ClusterFactsCache({ kubeConfig, backoff, logger, versionRefreshMs: options.versionRefreshMs });
    const clusterFacts = facts;
    facts.onChange(() => {
      deps.ctx = { ...deps.ctx, cluster: { ...deps.ctx.cluster, nativeSidecars: clusterFacts.facts.nativeSidecars } };
    });
    if (config.policyFile === undefined) {
      const ref = { namespace: config.configMap.namespace ?? connection.namespace, name: config.configMap.name, key: config.configMap.key };
      configMap = new PolicyConfigMapWatcher({ kubeConfig, ref, store, backoff, logger });
    }
  }

  fileWatcher?.start();
  namespaces?.start();
  facts?.start();
  configMap?.start();

  const policySource = configMap?.source ?? config.policyFile ?? BUILTIN_SOURCE;
  if (connection) {
    logger.info(
      { cluster: { via: connection.via, server: connection.server, namespace: connection.namespace }, policySource },
      'cluster: watching namespaces, nodes and the API server version',
    );
  } else {
    logger.info({ policySource }, `no cluster configured (--cluster ${config.cluster}): namespace defaults and cluster facts are off`);
  }

  const sources: Sources = {
    deps,
    store,
    policyPending() {
      if (!configMap) return undefined;
      const { state, watch } = configMap.status();
      if (state === 'waiting') return `the policy from ${configMap.source} has not been read yet${watch.error ? ` (${watch.error})` : ''}`;
      if (state === 'invalid') return `${configMap.source} has no valid policy yet (see policy.rejected on /readyz)`;
      return undefined;
    },
    attach(readiness) {
      readiness.detail('policy', () => {
        const { source, hash } = store.current;
        return store.rejected ? { source, hash, rejected: store.rejected } : { source, hash };
      });
      if (configMap) {
        const watcher = configMap;
        readiness.check('policy', () => watcher.check());
      }
      if (namespaces) {
        const cache = namespaces;
        readiness.check('namespaces', () => cache.check());
      }
      if (facts) {
        const cluster = facts;
        readiness.detail('cluster', () => ({ ...cluster.status(), via: connection?.via }));
      }
    },
    async stop() {
      await Promise.all([fileWatcher?.stop(), namespaces?.stop(), facts?.stop(), configMap?.stop()]);
    },
  };
  if (connection) sources.cluster = { via: connection.via, server: connection.server, namespace: connection.namespace };
  if (namespaces) sources.namespaces = namespaces;
  if (facts) sources.facts = facts;
  if (configMap) sources.configMap = configMap;
  return sources;
}
