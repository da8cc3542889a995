/**
 * Undoing an injection: what the engine added to a pod (or a workload's pod
 * template) is found through the status annotation it wrote, which names the
 * containers, volumes and app containers, and removed, and nothing else.
 *
 * The engine only ever appends: the containers and volumes it adds come after
 * the author's, the mount and env variable it gives an app container are the
 * last of their lists. So removing exactly those entries, and a list or
 * mapping the injection created and that is empty again, gives back the
 * object as it was. One thing the data cannot tell: an empty list or mapping
 * (`env: []`, `annotations: {}`, or a member written `null`) that was there
 * before injection and that injection filled. It is removed with its entries;
 * docs/cli.md says so.
 *
 * The env variable's name is not in the status annotation. It is the one the
 * engine gives when run again on the pod without the rest of the injection
 * (the same annotations, namespace defaults and policy), or the pod's own
 * `env` annotation; an entry is removed only when it has that name and the
 * synced folder as its value and is the last of its container's env.
 */
import { cloneJson, injectPod, isObject, valueAt, WRITTEN_ANNOTATIONS, type EngineContext } from '../engine/index.ts';
import { classify, pointer, type WorkloadKind } from './kinds.ts';

export type Path = (string | number)[];

/** What the status annotation records of one repository. */
export interface RepositoryStatus {
  repo?: string;
  ref?: string;
  initContainers: string[];
  containers: string[];
  volumes: string[];
  appContainers: string[];
  path?: string;
}

/** What the status annotation records (the engine's Injection, with the policy hash and injector version). */
export interface InjectionStatus extends RepositoryStatus {
  version?: string;
  policy?: string;
  mode?: string;
  /** Named repositories (`<name>.repo`); empty for a pod with one repository. */
  repositories: (RepositoryStatus & { name?: string })[];
}

export interface UninjectResult {
  workload: WorkloadKind;
  /** JSON Pointer of the pod template in the object. */
  template: string;
  /** Whether the template carried a status annotation (and so anything was removed). */
  injected: boolean;
  status?: InjectionStatus;
  /** Paths removed from the object, in the order to remove them (deepest and last first), as JSON Patch `remove` operations take them. */
  removed: Path[];
  /** The object without them; the input itself when nothing was removed. */
  object: unknown;
  /** What the status names but the object lacks (edited by hand since), or a status that cannot be read. */
  warnings: string[];
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

/** The status annotation as data, or a sentence saying why it cannot be read. */
export function readStatus(raw: string): InjectionStatus | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return 'the status annotation is not JSON';
  }
  if (!isObject(value)) return 'the status annotation is not a JSON object';
  const text = (o: Record<string, unknown>, k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const repository = (o: Record<string, unknown>): RepositoryStatus => ({
    repo: text(o, 'repo'),
    ref: text(o, 'ref'),
    initContainers: strings(o.initContainers),
    containers: strings(o.containers),
    volumes: strings(o.volumes),
    appContainers: strings(o.appContainers),
    path: text(o, 'path'),
  });
  return {
    version: text(value, 'version'),
    policy: text(value, 'policy'),
    mode: text(value, 'mode'),
    ...repository(value),
    repositories: (Array.isArray(value.repositories) ? value.repositories.filter(isObject) : []).map((r) => ({ name: text(r, 'name'), ...repository(r) })),
  };
}

/** The main repository and the named ones: everything the status says was added. */
const everyRepository = (status: InjectionStatus): RepositoryStatus[] => [status, ...status.repositories];

const named = (v: unknown): string | undefined => (isObject(v) && typeof v.name === 'string' ? v.name : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Indices of the entries of `items` whose name is in `names`. */
function byName(items: unknown[], names: readonly string[]): number[] {
  return items.flatMap((item, i) => (names.includes(named(item) ?? '\0') ? [i] : []));
}

/** How the engine writes a literal env value ($ doubled, so Kubernetes does not expand it). */
const literal = (value: string): string => value.replaceAll('$', '$$$$');

function compare(a: Path, b: Path): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [x, y] = [a[i]!, b[i]!];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
}

/** The value at `path`, through objects and lists. */
export function nodeAt(root: unknown, path: readonly (string | number)[]): unknown {
  let node = root;
  for (const part of path) {
    if (Array.isArray(node) && typeof part === 'number') node = node[part];
    else if (isObject(node)) node = node[String(part)];
    else return undefined;
  }
  return node;
}

/** Removes `paths` from a copy of `object`; paths must be in removal order (see `removalOrder`). */
export function removePaths(object: unknown, paths: readonly Path[]): unknown {
  const copy = cloneJson(object);
  for (const path of paths) {
    const parent = nodeAt(copy, path.slice(0, -1)) as Record<string, unknown> | unknown[];
    const last = path.at(-1)!;
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[String(last)];
  }
  return copy;
}

/** Deepest and last first, so that removing one path never shifts the index of another. */
const removalOrder = (paths: Path[]): Path[] => paths.sort((a, b) => compare(b, a));

/**
 * Replaces the removal of every entry of a list or mapping by the removal of
 * the list or mapping itself, up to (not including) `stop`'s length: a
 * collection the injection emptied is one it created.
 */
function collapse(object: unknown, paths: Path[], stop: number): Path[] {
  let current = paths;
  for (;;) {
    const byParent = new Map<string, { parent: Path; count: number }>();
    for (const p of current) {
      const parent = p.slice(0, -1);
      const key = JSON.stringify(parent);
      byParent.set(key, { parent, count: (byParent.get(key)?.count ?? 0) + 1 });
    }
    let changed = false;
    const next: Path[] = [];
    const emptied = new Set<string>();
    for (const [key, { parent, count }] of byParent) {
      const node = nodeAt(object, parent);
      const size = Array.isArray(node) ? node.length : isObject(node) ? Object.keys(node).length : -1;
      if (parent.length > stop && size === count) {
        emptied.add(key);
        next.push(parent);
        changed = true;
      }
    }
    for (const p of current) if (!emptied.has(JSON.stringify(p.slice(0, -1)))) next.push(p);
    // A parent may now be listed with its own parent's other removals; dedupe.
    current = [...new Map(next.map((p) => [JSON.stringify(p), p])).values()];
    if (!changed) return current;
  }
}

/** Env names the engine would give the pod, running it again on the pod without the rest of the injection. */
function envNames(
  template: Record<string, unknown>,
  stripped: unknown,
  ctx: EngineContext | undefined,
  request: { namespace: string; namespaceAnnotations?: Record<string, string> },
  prefix: string,
  status: InjectionStatus,
): Set<string> {
  const names = new Set<string>();
  const annotations = valueAt(template, ['metadata', 'annotations']);
  for (const name of [undefined, ...status.repositories.map((r) => r.name)]) {
    const own = isObject(annotations) ? annotations[`${prefix}${name === undefined ? '' : `${name}.`}env`] : undefined;
    if (typeof own === 'string') names.add(own);
  }
  if (!ctx) return names;
  try {
    const again = injectPod({ pod: stripped, namespace: request.namespace, namespaceAnnotations: request.namespaceAnnotations }, ctx);
    for (const op of again.patch) {
      const value = (op as { value?: unknown }).value;
      if (/^\/spec\/containers\/\d+\/env(\/-)?$/.test(op.path)) for (const e of Array.isArray(value) ? value : [value]) if (named(e)) names.add(named(e)!);
    }
    for (const w of again.warnings) if (w.code === 'ENV_ALREADY_SET' && typeof w.value === 'string') names.add(w.value);
  } catch {
    // The pod's own annotation is then the only name known.
  }
  return names;
}

export interface UninjectRequest {
  object: unknown;
  /** The namespace its pods run in, and that namespace's annotations: for the env variable's name. */
  namespace: string;
  namespaceAnnotations?: Record<string, string>;
}

/**
 * What injection added to the object's pod template, removed. `ctx` (the
 * engine's policy) tells the env variable's name; without it only the pod's
 * own `env` annotation does.
 */
export function uninjectWorkload(req: UninjectRequest, prefix: string, ctx?: EngineContext): UninjectResult | { workload: undefined; note: string } {
  const classified = classify(req.object);
  if ('note' in classified) return { workload: undefined, note: classified.note };
  const { workload } = classified;
  const base: Path = [...workload.template];
  const template = valueAt(req.object, workload.template);
  const unchanged = { workload, template: pointer(workload.template), injected: false, removed: [], object: req.object, warnings: [] };
  const annotations = valueAt(template, ['metadata', 'annotations']);
  const statusKey = `${prefix}${WRITTEN_ANNOTATIONS.status}`;
  if (!isObject(template) || !isObject(annotations) || typeof annotations[statusKey] !== 'string') return unchanged;
  const status = readStatus(annotations[statusKey] as string);
  if (typeof status === 'string') return { ...unchanged, warnings: [`${status}; nothing was removed`] };

  const warnings: string[] = [];
  const spec = isObject(template.spec) ? template.spec : {};
  const paths: Path[] = [];
  const at = (...rest: Path): Path => [...base, ...rest];
  // Every annotation the injector writes (status, published files): the engine refuses pods
  // that set one themselves, so on an injected pod each present one is the injector's.
  // Named repositories' published files are `<name>.<annotation>`.
  const written = new Set<string>(Object.values(WRITTEN_ANNOTATIONS));
  for (const key of Object.keys(annotations)) {
    if (!key.startsWith(prefix)) continue;
    const bare = key.slice(prefix.length);
    if (written.has(bare) || written.has(bare.slice(bare.indexOf('.') + 1))) paths.push(at('metadata', 'annotations', key));
  }

  const entries = (field: 'containers' | 'initContainers' | 'volumes', names: string[]): void => {
    const found = byName(list(spec[field]), names);
    for (const i of found) paths.push(at('spec', field, i));
    const missing = names.filter((n) => !list(spec[field]).some((item) => named(item) === n));
    if (missing.length > 0) warnings.push(`the status annotation names ${field} ${missing.join(', ')}, which the pod template no longer has`);
  };
  const repositories = everyRepository(status);
  entries('containers', repositories.flatMap((r) => r.containers));
  entries('initContainers', repositories.flatMap((r) => r.initContainers));
  entries('volumes', repositories.flatMap((r) => r.volumes));

  // Each repository appended one mount (and one env entry) to each of its app
  // containers, after the author's: the trailing ones that are the injection's.
  const mounts: Path[] = [];
  const containers = list(spec.containers);
  for (const [i, c] of containers.entries()) {
    if (!isObject(c)) continue;
    const mine = repositories.filter((r) => r.appContainers.includes(named(c) ?? '\0'));
    const volumes = new Set(mine.flatMap((r) => r.volumes));
    const vm = list(c.volumeMounts);
    for (let last = vm.length - 1, left = mine.length; last >= 0 && left > 0 && volumes.has(named(vm[last]) ?? '\0'); last--, left--) {
      mounts.push(at('spec', 'containers', i, 'volumeMounts', last));
    }
  }
  // The env name is asked of the engine on the pod as it would be without the containers, volumes, mounts and annotations removed so far.
  const withoutMounts = removePaths(req.object, removalOrder([...paths, ...mounts]));
  const names = envNames(template, valueAt(withoutMounts, workload.template), ctx, req, prefix, status);
  const envs: Path[] = [];
  for (const [i, c] of containers.entries()) {
    if (!isObject(c)) continue;
    const values = new Set(repositories.filter((r) => r.path !== undefined && r.appContainers.includes(named(c) ?? '\0')).map((r) => literal(r.path!)));
    const env = list(c.env);
    for (let last = env.length - 1, left = values.size; last >= 0 && left > 0; last--, left--) {
      const e = env[last];
      if (!(isObject(e) && Object.keys(e).length === 2 && names.has(named(e) ?? '\0') && typeof e.value === 'string' && values.has(e.value))) break;
      envs.push(at('spec', 'containers', i, 'env', last));
    }
  }
  const removed = removalOrder(collapse(req.object, [...paths, ...mounts, ...envs], base.length));
  return { workload, template: pointer(workload.template), injected: true, status, removed, object: removePaths(req.object, removed), warnings };
}
