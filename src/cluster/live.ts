/**
 * The cluster as the command line reads it: one-off GETs of the policy
 * ConfigMap, namespaces and lists of pods and workloads, as kubectl would
 * make them (kubeconfig files from --kubeconfig or KUBECONFIG, else
 * ~/.kube/config, and --context), answered as plain JSON. No watch and no
 * cache: a command reads once and exits. Objects are never turned into
 * client-node's model classes; the engine reads plain JSON.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { delimiter } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ClusterConfigError, connectToCluster } from './connect.ts';
import { kubeletVersionOf, nativeSidecarVerdict, type NativeSidecarVerdict } from './versions.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface LiveOptions {
  /** --kubeconfig: one file, or several joined as in KUBECONFIG. */
  kubeconfig?: string;
  /** --context: a context of the kubeconfig instead of its current one. */
  context?: string;
}

export interface LiveCluster {
  kubeConfig: KubeConfig;
  /** "kubeconfig FILE, context NAME": for messages. */
  via: string;
  server: string;
  context: string;
  /** The context's namespace, when it sets one (kubectl's default for -n). */
  contextNamespace?: string;
}

/** Whether the command line should read the cluster: a kubeconfig or context given, or KUBECONFIG set. */
export const wantsCluster = (options: LiveOptions, env: Env): boolean =>
  options.kubeconfig !== undefined || options.context !== undefined || (env.KUBECONFIG ?? '') !== '';

/** Connects as kubectl would; throws ClusterConfigError with a sentence saying what is wrong. */
export async function connectLive(options: LiveOptions, env: Env): Promise<LiveCluster> {
  // A kubeconfig named on the command line or in KUBECONFIG wins over a pod's service account, as with kubectl.
  const files = options.kubeconfig ?? env.KUBECONFIG ?? '';
  const connection = await connectToCluster('on', { HOME: env.HOME, KUBECONFIG: files });
  if (!connection) throw new ClusterConfigError('no cluster is configured');
  const kc = connection.kubeConfig;
  if (options.context !== undefined) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.contexts.map((c) => c.name);
      throw new ClusterConfigError(`--context: no context ${JSON.stringify(options.context)} in ${connection.via}${known.length ? `; it has ${known.join(', ')}` : ''}`);
    }
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new ClusterConfigError(`${connection.via}: the context ${JSON.stringify(kc.getCurrentContext())} names no cluster`);
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  const source = files === '' ? connection.via.replace(/^kubeconfig /, '') : files.split(delimiter).join(delimiter);
  return {
    kubeConfig: kc,
    via: `kubeconfig ${source}, context ${kc.getCurrentContext()}`,
    server: cluster.server,
    context: kc.getCurrentContext(),
    ...(contextNamespace && { contextNamespace }),
  };
}

/** A request the API server refused or that failed; `status` is the HTTP status when it answered. */
export class LiveError extends Error {
  readonly status: number | undefined;

  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
  }
}

const TIMEOUT_MS = 30_000;

/** GET `path` as JSON; resolves with undefined on 404. Throws LiveError. */
export async function getJson(cluster: LiveCluster, path: string): Promise<unknown> {
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  const options: RequestOptions = { method: 'GET', headers: { accept: 'application/json' }, timeout: TIMEOUT_MS };
  await cluster.kubeConfig.applyToHTTPSOptions(options);
  const plain = url.protocol === 'http:';
  if (plain) delete options.agent;
  return new Promise((resolve, reject) => {
    const req = (plain ? httpRequest : httpsRequest)(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => reject(new LiveError(`GET ${path}: ${e.message}`)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        const status = res.statusCode ?? 0;
        if (status === 404) return resolve(undefined);
        if (status >= 200 && status < 300 && body !== undefined) return resolve(body);
        const message = (body as { message?: unknown } | undefined)?.message;
        reject(new LiveError(`GET ${path}: HTTP ${status}${typeof message === 'string' ? `: ${message}` : ''}`, status));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000}s`)));
    req.on('error', (e) => reject(new LiveError(`GET ${path} from ${cluster.server}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    req.end();
  });
}

/** Every item of a collection, page by page (500 a page, as kubectl). Throws LiveError; a 404 collection has no items. */
export async function listAll(cluster: LiveCluster, path: string): Promise<unknown[]> {
  const items: unknown[] = [];
  let next: string | undefined;
  do {
    const query = new URLSearchParams({ limit: '500', ...(next && { continue: next }) });
    const page = (await getJson(cluster, `${path}?${query}`)) as { items?: unknown[]; metadata?: { continue?: string } } | undefined;
    if (!page) return items;
    items.push(...(page.items ?? []));
    next = page.metadata?.continue || undefined;
  } while (next);
  return items;
}

/** A namespace's annotations, or undefined when it does not exist. */
export async function namespaceAnnotations(cluster: LiveCluster, name: string): Promise<Record<string, string> | undefined> {
  const ns = (await getJson(cluster, `/api/v1/namespaces/${encodeURIComponent(name)}`)) as { metadata?: { annotations?: Record<string, string> } } | undefined;
  return ns ? (ns.metadata?.annotations ?? {}) : undefined;
}

/** One key of a ConfigMap: its text (undefined when the ConfigMap lacks the key), or undefined when the ConfigMap does not exist. */
export async function configMapKey(cluster: LiveCluster, namespace: string, name: string, key: string): Promise<{ text: string | undefined } | undefined> {
  const cm = (await getJson(cluster, `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(name)}`)) as
    | { data?: Record<string, string> }
    | undefined;
  if (!cm) return undefined;
  const value = cm.data?.[key];
  return { text: typeof value === 'string' ? value : undefined };
}

/** The cluster facts the webhook keeps (facts.ts), read once: the API server's version, each node's kubelet, and the verdict. */
export interface LiveClusterFacts extends NativeSidecarVerdict {
  apiServer?: string;
  nodes?: number;
}

/**
 * Reads /version and the nodes once and decides as the webhook does
 * (versions.ts). A read the user may not make (no permission to list nodes,
 * say) leaves that part unknown, as the webhook's own facts are until its
 * watch syncs: `auto` then does not choose native sidecars, and the reason
 * says why.
 */
export async function clusterFacts(cluster: LiveCluster): Promise<LiveClusterFacts> {
  let apiServer: string | undefined;
  let versionError: string | undefined;
  try {
    const info = (await getJson(cluster, '/version')) as { gitVersion?: string; major?: string; minor?: string } | undefined;
    apiServer = info?.gitVersion || (info?.major !== undefined ? `v${info.major}.${info.minor ?? ''}` : undefined);
  } catch (error) {
    if (!(error instanceof LiveError)) throw error;
    versionError = error.message;
  }
  let kubelets: Map<string, string> | undefined;
  let nodesError: string | undefined;
  try {
    const nodes = await listAll(cluster, '/api/v1/nodes');
    kubelets = new Map(nodes.map((n) => [String((n as { metadata?: { name?: unknown } }).metadata?.name ?? ''), kubeletVersionOf(n)]));
  } catch (error) {
    if (!(error instanceof LiveError)) throw error;
    nodesError = error.message;
  }
  const verdict = nativeSidecarVerdict(apiServer, kubelets);
  // An unknown verdict because a read failed says which read, not only "not known yet".
  const unreadable = verdict.nativeSidecars === undefined && (versionError ?? nodesError);
  return {
    ...verdict,
    ...(unreadable && { reason: `cannot tell (${unreadable})` }),
    ...(apiServer !== undefined && { apiServer }),
    ...(kubelets && { nodes: kubelets.size }),
  };
}
