/**
 * The serve flags that choose where the policy and the cluster facts come
 * from. Kept here, next to what they configure, so that `serve` only spreads
 * them into its flag table and passes the result on.
 */
import { parseObjectName, parseSecretKey, isDnsLabel } from '../engine/values/names.ts';
import { setting, UsageError, type Env } from '../args.ts';

export type ClusterMode = 'auto' | 'on' | 'off';
export const CLUSTER_MODES: readonly ClusterMode[] = ['auto', 'on', 'off'];

export const DEFAULT_POLICY_CONFIGMAP = 'gitsync-injector-policy';
export const DEFAULT_POLICY_KEY = 'policy.yaml';

export interface PolicyConfigMapConfig {
  name: string;
  key: string;
  /** Given explicitly; otherwise the webhook's own namespace, found when connecting. */
  namespace?: string;
}

export interface SourcesConfig {
  /** A policy file: the policy source, re-read when it changes. Without it, in a cluster, the ConfigMap is. */
  policyFile?: string;
  cluster: ClusterMode;
  configMap: PolicyConfigMapConfig;
}

/** node:util parseArgs options, for serve's flag table. */
export const SOURCE_FLAGS = {
  cluster: { type: 'string' },
  'policy-configmap': { type: 'string' },
  'policy-configmap-namespace': { type: 'string' },
  'policy-configmap-key': { type: 'string' },
} as const;

/** Lines for serve's usage, aligned with its other options. */
export const SOURCE_USAGE = `  --cluster MODE       auto, on or off              GITSYNC_INJECTOR_CLUSTER      (default auto: in a pod, or
                       with KUBECONFIG set, watch the cluster; on: fail without one)
  --policy-configmap NAME
                       policy ConfigMap (in a cluster, without --policy)
                                                    GITSYNC_INJECTOR_POLICY_CONFIGMAP (default ${DEFAULT_POLICY_CONFIGMAP})
  --policy-configmap-namespace NS
                       its namespace                GITSYNC_INJECTOR_POLICY_CONFIGMAP_NAMESPACE
                                                    (default: POD_NAMESPACE, the webhook's own)
  --policy-configmap-key KEY
                       the key holding the policy   GITSYNC_INJECTOR_POLICY_CONFIGMAP_KEY (default ${DEFAULT_POLICY_KEY})
`;

type SourceFlags = { [K in keyof typeof SOURCE_FLAGS]?: string };

/** Reads the source flags and environment; throws UsageError naming the bad flag or variable. */
export function sourcesConfig(flags: SourceFlags, env: Env, policyFile: string | undefined): SourcesConfig {
  const cluster = setting('cluster', flags.cluster, 'GITSYNC_INJECTOR_CLUSTER', env, 'auto');
  if (!(CLUSTER_MODES as readonly string[]).includes(cluster.value)) {
    throw new UsageError(`${cluster.source}: ${JSON.stringify(cluster.value)} is not a cluster mode; use one of ${CLUSTER_MODES.join(', ')}`);
  }
  const name = setting('policy-configmap', flags['policy-configmap'], 'GITSYNC_INJECTOR_POLICY_CONFIGMAP', env, DEFAULT_POLICY_CONFIGMAP);
  const namespace = setting('policy-configmap-namespace', flags['policy-configmap-namespace'], 'GITSYNC_INJECTOR_POLICY_CONFIGMAP_NAMESPACE', env, '');
  const key = setting('policy-configmap-key', flags['policy-configmap-key'], 'GITSYNC_INJECTOR_POLICY_CONFIGMAP_KEY', env, DEFAULT_POLICY_KEY);
  if (!parseObjectName(name.value).ok) throw new UsageError(`${name.source}: ${JSON.stringify(name.value)} is not a ConfigMap name (lower-case letters, digits, '-' and '.')`);
  if (namespace.explicit && !isDnsLabel(namespace.value)) {
    throw new UsageError(`${namespace.source}: ${JSON.stringify(namespace.value)} is not a namespace name (lower-case letters, digits and '-', at most 63)`);
  }
  if (!parseSecretKey(key.value).ok) throw new UsageError(`${key.source}: ${JSON.stringify(key.value)} is not a ConfigMap key (letters, digits, '-', '_' and '.')`);
  const configMapGiven = [name, namespace, key].find((s) => s.explicit);
  if (configMapGiven && policyFile !== undefined) {
    throw new UsageError(`--policy and ${configMapGiven.source} both choose where the policy comes from; give one of them`);
  }
  if (configMapGiven && cluster.value === 'off') {
    throw new UsageError(`${configMapGiven.source} needs a cluster, but ${cluster.source} is off`);
  }
  const config: SourcesConfig = { cluster: cluster.value as ClusterMode, configMap: { name: name.value, key: key.value } };
  if (namespace.explicit) config.configMap.namespace = namespace.value;
  if (policyFile !== undefined) config.policyFile = policyFile;
  return config;
}
