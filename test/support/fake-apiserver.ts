/**
 * A small Kubernetes API server for tests: plain HTTP on 127.0.0.1, speaking
 * enough of the list/watch protocol for the injector's watchers. CI has no
 * API server; this one does what the real one does at the edges that matter:
 *
 * - lists carry the collection's resourceVersion; `limit` and `continue` page
 *   through them; `fieldSelector=metadata.name=X` narrows them;
 * - `?watch=true&resourceVersion=RV` streams JSON lines (chunked) for every
 *   change after RV, replayed from history first, then live; without RV it
 *   starts with a synthetic ADDED per object;
 * - a resourceVersion older than the history kept is "too old": an ERROR
 *   event with a 410 Expired Status (or, with `expiredAs: 'status'`, an HTTP
 *   410 answer), after which the client must list again;
 * - it can refuse a resource with 403, hold its lists until released (an
 *   API server slow to answer), close every watch as if they timed out,
 *   forget its history, and stop and start again on the same port with its
 *   objects intact: the API server going away and coming back.
 *
 * It also creates, replaces, reads and deletes single namespaces and
 * ConfigMaps, enough for a client that edits them as a person would.
 * It records every request so tests can see that a client relisted.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export type Resource =
  | 'namespaces'
  | 'configmaps'
  | 'nodes'
  | 'pods'
  | 'replicationcontrollers'
  | 'deployments'
  | 'statefulsets'
  | 'daemonsets'
  | 'replicasets'
  | 'jobs'
  | 'cronjobs';

export interface FakeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEntry {
  rv: number;
  resource: Resource;
  type: EventType;
  object: FakeObject;
}

interface Watcher {
  resource: Resource;
  namespace?: string;
  name?: string;
  res: ServerResponse;
}

export interface RecordedRequest {
  method: string;
  resource?: Resource;
  namespace?: string;
  watch: boolean;
  query: Record<string, string>;
}

const KINDS: Record<Resource, string> = {
  namespaces: 'Namespace',
  configmaps: 'ConfigMap',
  nodes: 'Node',
  pods: 'Pod',
  replicationcontrollers: 'ReplicationController',
  deployments: 'Deployment',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
  replicasets: 'ReplicaSet',
  jobs: 'Job',
  cronjobs: 'CronJob',
};
/** The API group and version each resource is served under. */
const API_VERSIONS: Record<Resource, string> = {
  namespaces: 'v1',
  configmaps: 'v1',
  nodes: 'v1',
  pods: 'v1',
  replicationcontrollers: 'v1',
  deployments: 'apps/v1',
  statefulsets: 'apps/v1',
  daemonsets: 'apps/v1',
  replicasets: 'apps/v1',
  jobs: 'batch/v1',
  cronjobs: 'batch/v1',
};
const NAMESPACED = (r: Resource): boolean => r !== 'namespaces' && r !== 'nodes';
const isResource = (s: string | undefined): s is Resource => s !== undefined && Object.hasOwn(KINDS, s);

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/**
 * Parses the paths this server knows: /api/v1/… for the core group and
 * /apis/GROUP/VERSION/… for the others; a collection across namespaces
 * (/api/v1/pods), in one (/api/v1/namespaces/NS/pods), and its objects (`item`).
 */
function route(pathname: string): { resource: Resource; namespace?: string; item?: string } | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let groupVersion: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') [groupVersion, rest] = ['v1', parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 3) [groupVersion, rest] = [`${parts[1]}/${parts[2]}`, parts.slice(3)];
  else return undefined;
  const served = (r: string | undefined): r is Resource => isResource(r) && API_VERSIONS[r] === groupVersion;
  const [first, second, third, fourth] = rest;
  if (served(first) && rest.length === 1) return { resource: first };
  if (served(first) && !NAMESPACED(first) && rest.length === 2) return { resource: first, item: second };
  if (first === 'namespaces' && served(third) && NAMESPACED(third)) {
    if (rest.length === 3) return { resource: third, namespace: second };
    if (rest.length === 4) return { resource: third, namespace: second, item: fourth };
  }
  return undefined;
}

export interface FakeApiServerOptions {
  /** How a too-old resourceVersion is refused: an ERROR event in a 200 stream (what the API server does) or an HTTP 410. */
  expiredAs?: 'event' | 'status';
  gitVersion?: string;
}

export class FakeApiServer {
  readonly #objects = new Map<Resource, Map<string, FakeObject>>((Object.keys(KINDS) as Resource[]).map((r) => [r, new Map()]));
  #history: HistoryEntry[] = [];
  /** Watches from a resourceVersion below this one are too old. */
  #oldestWatchable = 1;
  #rv = 1;
  readonly #watchers = new Set<Watcher>();
  readonly #sockets = new Set<Socket>();
  readonly #forbidden = new Set<Resource | 'version'>();
  /** Lists of these resources wait here until released: an API server slow to answer the first list. */
  readonly #held = new Map<Resource, Array<() => void>>();
  #server: Server | undefined;
  #port = 0;
  gitVersion: string;
  expiredAs: 'event' | 'status';
  readonly requests: RecordedRequest[] = [];

  constructor(options: FakeApiServerOptions = {}) {
    this.gitVersion = options.gitVersion ?? 'v1.31.2';
    this.expiredAs = options.expiredAs ?? 'event';
  }

  static async start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const server = new FakeApiServer(options);
    await server.listen();
    return server;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  /** Watch streams open right now, per resource. */
  activeWatches(resource?: Resource): number {
    return [...this.#watchers].filter((w) => resource === undefined || w.resource === resource).length;
  }

  /** Requests made so far for a resource: lists and watches. */
  count(resource: Resource, what: 'list' | 'watch'): number {
    return this.requests.filter((r) => r.resource === resource && r.watch === (what === 'watch')).length;
  }

  /** A client configuration for this server: no TLS, no credentials. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(this.kubeconfigYaml());
    return kc;
  }

  /** The same as a kubeconfig file's text, for processes started with KUBECONFIG. */
  kubeconfigYaml(namespace?: string): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      // client-node refuses plain HTTP unless TLS verification is explicitly off; there is no TLS to verify.
      `- name: fake\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: tester\n  user: {}',
      'contexts:',
      `- name: fake\n  context:\n    cluster: fake\n    user: tester${namespace ? `\n    namespace: ${namespace}` : ''}`,
      'current-context: fake',
      '',
    ].join('\n');
  }

  /**
   * Holds every list of a resource until the returned function is called,
   * which answers the held lists (with the objects as they are then) and
   * lets later ones through. Watches are not held.
   */
  holdLists(resource: Resource): () => void {
    const waiting: Array<() => void> = [];
    this.#held.set(resource, waiting);
    return () => {
      if (this.#held.get(resource) === waiting) this.#held.delete(resource);
      for (const answer of waiting.splice(0)) answer();
    };
  }

  // ---- the objects ----

  /** Creates or replaces an object, with a new resourceVersion, and tells the watchers. */
  apply(resource: Resource, object: FakeObject): FakeObject {
    const key = this.#key(resource, object.metadata.namespace, object.metadata.name);
    const store = this.#objects.get(resource)!;
    const type: EventType = store.has(key) ? 'MODIFIED' : 'ADDED';
    const stored: FakeObject = structuredClone({
      ...object,
      apiVersion: API_VERSIONS[resource],
      kind: KINDS[resource],
      metadata: { ...object.metadata, resourceVersion: String(++this.#rv) },
    });
    store.set(key, stored);
    this.#record(resource, type, stored);
    return stored;
  }

  remove(resource: Resource, name: string, namespace?: string): void {
    const key = this.#key(resource, namespace, name);
    const store = this.#objects.get(resource)!;
    const existing = store.get(key);
    if (!existing) return;
    store.delete(key);
    const deleted = structuredClone({ ...existing, metadata: { ...existing.metadata, resourceVersion: String(++this.#rv) } });
    this.#record(resource, 'DELETED', deleted);
  }

  get(resource: Resource, name: string, namespace?: string): FakeObject | undefined {
    return this.#objects.get(resource)!.get(this.#key(resource, namespace, name));
  }

  namespace(name: string, annotations: Record<string, string> = {}): FakeObject {
    return this.apply('namespaces', { metadata: { name, annotations } });
  }

  configMap(namespace: string, name: string, data: Record<string, string>): FakeObject {
    return this.apply('configmaps', { metadata: { name, namespace }, data });
  }

  node(name: string, kubeletVersion: string): FakeObject {
    return this.apply('nodes', { metadata: { name }, status: { nodeInfo: { kubeletVersion } } });
  }

  // ---- failures ----

  /** Answers 403 Forbidden for a resource (or /version) until allowed again. */
  forbid(what: Resource | 'version'): void {
    this.#forbidden.add(what);
  }

  allow(what: Resource | 'version'): void {
    this.#forbidden.delete(what);
  }

  /** Ends every watch stream, as the API server does when a watch times out. */
  closeWatches(): void {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  /**
   * Forgets the history (as after an etcd compaction or an API server
   * restart) and closes the watches: a client that watches again from the
   * resourceVersion it had is told it is too old and must list again.
   */
  expireHistory(): void {
    this.#history = [];
    // A new revision, so that a fresh list is watchable while every older version is not.
    this.#oldestWatchable = ++this.#rv;
    this.closeWatches();
  }

  /** Stops answering: closes the listener and every connection. Objects are kept. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    this.#watchers.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }

  /** Listens again on the same port, with the objects and history it had. */
  async restart(): Promise<void> {
    if (this.#server) return;
    await this.listen(this.#port);
  }

  async listen(port = 0): Promise<void> {
    const server = createServer((req, res) => this.#handle(req, res));
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  // ---- HTTP ----

  #key(resource: Resource, namespace: string | undefined, name: string): string {
    return NAMESPACED(resource) ? `${namespace ?? ''}/${name}` : name;
  }

  #record(resource: Resource, type: EventType, object: FakeObject): void {
    const entry: HistoryEntry = { rv: this.#rv, resource, type, object };
    this.#history.push(entry);
    for (const w of this.#watchers) if (this.#matches(w, object, resource)) this.#send(w.res, type, object);
  }

  #matches(w: { resource: Resource; namespace?: string; name?: string }, object: FakeObject, resource: Resource): boolean {
    if (w.resource !== resource) return false;
    if (w.namespace !== undefined && object.metadata.namespace !== w.namespace) return false;
    return w.name === undefined || object.metadata.name === w.name;
  }

  #send(res: ServerResponse, type: string, object: unknown): void {
    res.write(`${JSON.stringify({ type, object })}\n`);
  }

  #json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams);
    if (url.pathname === '/version') {
      this.requests.push({ method: 'GET', watch: false, query });
      if (this.#forbidden.has('version')) return this.#json(res, 403, status(403, 'Forbidden', 'forbidden: /version'));
      const [, major = '1', minor = '0'] = /^v?(\d+)\.(\d+)/.exec(this.gitVersion) ?? [];
      return this.#json(res, 200, {
        major,
        minor,
        gitVersion: this.gitVersion,
        gitCommit: '0000000000000000000000000000000000000000',
        gitTreeState: 'clean',
        buildDate: '2025-01-01T00:00:00Z',
        goVersion: 'go1.23.0',
        compiler: 'gc',
        platform: 'linux/amd64',
      });
    }
    const target = route(url.pathname);
    if (!target) return this.#json(res, 404, status(404, 'NotFound', `the server could not find the requested resource ${url.pathname}`));
    if (req.method !== 'GET' || target.item !== undefined) {
      this.requests.push({ method: req.method ?? '', resource: target.resource, namespace: target.namespace, watch: false, query });
      void this.#write(req, res, target);
      return;
    }
    const watch = query.watch === 'true' || query.watch === '1';
    this.requests.push({ method: 'GET', resource: target.resource, namespace: target.namespace, watch, query });
    if (this.#forbidden.has(target.resource)) {
      const message = `${target.resource} is forbidden: User "tester" cannot ${watch ? 'watch' : 'list'} resource "${target.resource}"`;
      return this.#json(res, 403, status(403, 'Forbidden', message));
    }
    let name: string | undefined;
    if (query.fieldSelector !== undefined && query.fieldSelector !== '') {
      const m = /^metadata\.name=([^,]+)$/.exec(query.fieldSelector);
      if (!m) return this.#json(res, 400, status(400, 'BadRequest', `unsupported field selector ${query.fieldSelector}`));
      name = m[1];
    }
    const selection = { resource: target.resource, namespace: target.namespace, name };
    const held = this.#held.get(target.resource);
    if (watch) this.#watch(selection, query, res);
    else if (held) held.push(() => this.#list(selection, query, res));
    else this.#list(selection, query, res);
  }

  /** GET, POST, PUT and DELETE of one object. */
  async #write(req: IncomingMessage, res: ServerResponse, target: { resource: Resource; namespace?: string; item?: string }): Promise<void> {
    const { resource, namespace, item } = target;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as FakeObject) : undefined;
    const notFound = (name: string) => status(404, 'NotFound', `${resource} "${name}" not found`);
    if (this.#forbidden.has(resource)) return this.#json(res, 403, status(403, 'Forbidden', `${resource} is forbidden`));
    switch (req.method) {
      case 'GET': {
        const found = this.get(resource, item!, namespace);
        return found ? this.#json(res, 200, found) : this.#json(res, 404, notFound(item!));
      }
      case 'POST': {
        if (!body?.metadata?.name || item !== undefined) return this.#json(res, 400, status(400, 'BadRequest', 'POST a whole object to its collection'));
        if (this.get(resource, body.metadata.name, namespace)) return this.#json(res, 409, status(409, 'AlreadyExists', `${resource} "${body.metadata.name}" already exists`));
        return this.#json(res, 201, this.apply(resource, { ...body, metadata: { ...body.metadata, namespace } }));
      }
      case 'PUT': {
        if (!body || !this.get(resource, item!, namespace)) return this.#json(res, 404, notFound(item!));
        return this.#json(res, 200, this.apply(resource, { ...body, metadata: { ...body.metadata, name: item!, namespace } }));
      }
      case 'DELETE': {
        const found = this.get(resource, item!, namespace);
        if (!found) return this.#json(res, 404, notFound(item!));
        this.remove(resource, item!, namespace);
        return this.#json(res, 200, found);
      }
      default:
        return this.#json(res, 405, status(405, 'MethodNotAllowed', `${req.method} is not supported`));
    }
  }

  #selected(selection: { resource: Resource; namespace?: string; name?: string }): FakeObject[] {
    const items = [...this.#objects.get(selection.resource)!.values()].filter((o) => this.#matches(selection, o, selection.resource));
    return items.sort((a, b) => this.#key(selection.resource, a.metadata.namespace, a.metadata.name).localeCompare(this.#key(selection.resource, b.metadata.namespace, b.metadata.name)));
  }

  #list(selection: { resource: Resource; namespace?: string; name?: string }, query: Record<string, string>, res: ServerResponse): void {
    const items = this.#selected(selection);
    let offset = 0;
    let rv = this.#rv;
    if (query.continue) {
      const token = JSON.parse(Buffer.from(query.continue, 'base64url').toString('utf8')) as { rv: number; offset: number };
      if (token.rv < this.#oldestWatchable) {
        return this.#json(res, 410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.'));
      }
      ({ offset, rv } = token);
    }
    const limit = query.limit ? Number(query.limit) : 0;
    const page = limit > 0 ? items.slice(offset, offset + limit) : items.slice(offset);
    const more = limit > 0 && offset + limit < items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (more) metadata.continue = Buffer.from(JSON.stringify({ rv, offset: offset + limit })).toString('base64url');
    this.#json(res, 200, { kind: `${KINDS[selection.resource]}List`, apiVersion: 'v1', metadata, items: page });
  }

  #watch(selection: { resource: Resource; namespace?: string; name?: string }, query: Record<string, string>, res: ServerResponse): void {
    const from = query.resourceVersion ? Number(query.resourceVersion) : undefined;
    if (from !== undefined && from !== 0 && from < this.#oldestWatchable) {
      const expired = status(410, 'Expired', `too old resource version: ${from} (${this.#oldestWatchable})`);
      if (this.expiredAs === 'status') return this.#json(res, 410, expired);
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      this.#send(res, 'ERROR', expired);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (from === undefined || from === 0) {
      for (const object of this.#selected(selection)) this.#send(res, 'ADDED', object);
    } else {
      for (const e of this.#history) if (e.rv > from && this.#matches(selection, e.object, e.resource)) this.#send(res, e.type, e.object);
    }
    const watcher: Watcher = { ...selection, res };
    this.#watchers.add(watcher);
    res.on('close', () => this.#watchers.delete(watcher));
    const timeout = Number(query.timeoutSeconds);
    if (timeout > 0) {
      const timer = setTimeout(() => res.end(), timeout * 1000);
      res.on('close', () => clearTimeout(timer));
    }
  }
}
