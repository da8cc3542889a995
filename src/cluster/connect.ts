/**
 * Whether serve runs against a cluster, and how it reaches it.
 *
 * - In a pod: KUBERNETES_SERVICE_HOST and _PORT are set (the kubelet sets
 *   them in every container) and the service account token is mounted.
 * - Otherwise, a KUBECONFIG variable (one or more files, merged as kubectl
 *   does) names the cluster.
 * - `--cluster on` also accepts ~/.kube/config, and fails when none of these
 *   exists; `auto` (the default) runs without a cluster instead. Plain
 *   `npm start` on a laptop therefore never watches whatever cluster the
 *   developer's kubectl happens to point at.
 * - `--cluster off`: never.
 *
 * The webhook's own namespace (where the policy ConfigMap lives by default)
 * is POD_NAMESPACE (set from the downward API in the Deployment), else the
 * service account's namespace, else the kubeconfig context's, else default.
 *
 * client-node is loaded only once a cluster is found: it takes about a
 * second to load, which every other command and a local serve are spared.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { isIPv6 } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';

/** `--cluster`: auto (a cluster when one is configured), on (fail without one), off (never). */
export type ClusterMode = 'auto' | 'on' | 'off';
export const CLUSTER_MODES: readonly ClusterMode[] = ['auto', 'on', 'off'];

/** The environment variables that locate the cluster: process.env, or a test's own. */
type Env = Readonly<Record<string, string | undefined>>;

/** Where Kubernetes mounts a pod's service account credentials. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ClusterConnection {
  kubeConfig: KubeConfig;
  /** How the cluster was found: "in-cluster service account" or "kubeconfig <files>". */
  via: string;
  /** The API server's URL. */
  server: string;
  /** The webhook's own namespace. */
  namespace: string;
}

/** The cluster configuration named cannot be used: serve fails at start with this message. */
export class ClusterConfigError extends Error {}

type KubeConfigClass = typeof import('@kubernetes/client-node').KubeConfig;

function inCluster(KubeConfig: KubeConfigClass, env: Env, serviceAccountDir: string): KubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '';
  const kc = new KubeConfig();
  // What client-node's loadFromCluster builds, from the given environment rather than process.env.
  kc.loadFromOptions({
    clusters: [{ name: 'in-cluster', server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`, caFile: join(serviceAccountDir, 'ca.crt'), skipTLSVerify: false }],
    // The token file is re-read every minute: bound service account tokens rotate.
    users: [{ name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: join(serviceAccountDir, 'token') } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster' }],
    currentContext: 'in-cluster',
  });
  return kc;
}

/** Loads kubeconfig files merged as kubectl merges them: the first file to set a name or the current context wins. */
function fromFiles(KubeConfig: KubeConfigClass, files: string[], what: string): KubeConfig {
  const merged = { clusters: [] as KubeConfig['clusters'], users: [] as KubeConfig['users'], contexts: [] as KubeConfig['contexts'], currentContext: '' };
  for (const file of files) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(file);
    } catch (error) {
      throw new ClusterConfigError(`${what}: cannot load ${file}: ${(error as Error).message}`);
    }
    const add = <T extends { name: string }>(into: T[], from: T[]): void => {
      for (const item of from) if (!into.some((x) => x.name === item.name)) into.push(item);
    };
    add(merged.clusters, one.clusters);
    add(merged.users, one.users);
    add(merged.contexts, one.contexts);
    merged.currentContext ||= one.currentContext;
  }
  const kc = new KubeConfig();
  kc.loadFromOptions(merged);
  return kc;
}

/** The connection to use, or undefined to run without a cluster. Throws ClusterConfigError. */
export async function connectToCluster(mode: ClusterMode, env: Env, serviceAccountDir: string = SERVICE_ACCOUNT_DIR): Promise<ClusterConnection | undefined> {
  if (mode === 'off') return undefined;
  const inPod = Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && existsSync(join(serviceAccountDir, 'token')));
  const kubeconfigFiles = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  const homeConfig = join(env.HOME || homedir(), '.kube', 'config');
  if (!inPod && kubeconfigFiles.length === 0) {
    if (mode === 'auto') return undefined;
    if (!existsSync(homeConfig)) {
      throw new ClusterConfigError(
        `--cluster on, but no cluster is configured: not in a pod (KUBERNETES_SERVICE_HOST is unset or no service account token is mounted), KUBECONFIG is unset and ${homeConfig} does not exist`,
      );
    }
  }
  const { KubeConfig } = await import('@kubernetes/client-node');
  let kubeConfig: KubeConfig;
  let via: string;
  let namespace: string | undefined;
  if (inPod) {
    kubeConfig = inCluster(KubeConfig, env, serviceAccountDir);
    via = 'in-cluster service account';
    const file = join(serviceAccountDir, 'namespace');
    if (existsSync(file)) namespace = readFileSync(file, 'utf8').trim() || undefined;
  } else if (kubeconfigFiles.length > 0) {
    via = `kubeconfig ${kubeconfigFiles.join(delimiter)}`;
    kubeConfig = fromFiles(KubeConfig, kubeconfigFiles, 'KUBECONFIG');
  } else {
    via = `kubeconfig ${homeConfig}`;
    kubeConfig = fromFiles(KubeConfig, [homeConfig], 'kubeconfig');
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new ClusterConfigError(`${via}: the current context ${JSON.stringify(kubeConfig.getCurrentContext())} names no cluster`);
  const contextNamespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  return { kubeConfig, via, server: cluster.server, namespace: env.POD_NAMESPACE || namespace || contextNamespace || 'default' };
}
