/**
 * What makes a pod valid, as the design requires of every pod the injector
 * returns: checked independently of the engine's own helpers, so that a bug
 * shared by the engine and its checks cannot hide itself.
 *
 * `null` lists and objects count as absent, as they do for the API server.
 */

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

/** A list member of an object: [] when absent or null, undefined when it is not a list at all. */
function listOf(parent: Json, key: string): unknown[] | undefined {
  const v = parent[key];
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : undefined;
}

/**
 * A mount path as the container runtime sees it: '//a', '/a/', '/./a' and '/a'
 * are the same directory. Kubernetes only refuses exact duplicates, but two
 * mounts on the same directory shadow one another either way.
 */
export function normaliseMountPath(path: string): string {
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  return `${path.startsWith('/') ? '/' : ''}${segments.join('/')}`;
}

interface ContainerRef {
  list: 'containers' | 'initContainers' | 'ephemeralContainers';
  index: number;
  container: Json;
}

const CREDENTIAL_FALLBACKS = new Set(['GITSYNC_USERNAME', 'GITSYNC_PASSWORD', 'GIT_SYNC_USERNAME', 'GIT_SYNC_PASSWORD']);

function checkEnv(c: Json, where: string, problems: string[]): void {
  const env = listOf(c, 'env');
  if (env === undefined) {
    problems.push(`${where}.env is not a list`);
    return;
  }
  const seen = new Set<string>();
  for (const [i, e] of env.entries()) {
    const at = `${where}.env[${i}]`;
    if (!isObject(e)) {
      problems.push(`${at} is not an object`);
      continue;
    }
    if (typeof e.name !== 'string' || e.name === '') {
      problems.push(`${at} has no name (${JSON.stringify(e.name)})`);
      continue;
    }
    const hasValue = e.value !== undefined && e.value !== null;
    const hasValueFrom = e.valueFrom !== undefined && e.valueFrom !== null;
    if (hasValue === hasValueFrom) problems.push(`${at} (${e.name}) must have exactly one of value and valueFrom`);
    if (hasValue && typeof e.value !== 'string') problems.push(`${at} (${e.name}) has a value that is not a string`);
    if (hasValueFrom && !isObject(e.valueFrom)) problems.push(`${at} (${e.name}) has a valueFrom that is not an object`);
    // One exception, by design: the auto credential layout reads several Secret keys into one name, in order,
    // each later one an optional reference that replaces the earlier value only when its key exists.
    const fallback = CREDENTIAL_FALLBACKS.has(e.name) && isObject(e.valueFrom) && isObject(e.valueFrom.secretKeyRef) && e.valueFrom.secretKeyRef.optional === true;
    if (seen.has(e.name) && !fallback) problems.push(`${where} sets env ${e.name} more than once`);
    seen.add(e.name);
  }
}

function checkMounts(c: Json, where: string, volumes: ReadonlySet<string>, problems: string[]): void {
  const mounts = listOf(c, 'volumeMounts');
  if (mounts === undefined) {
    problems.push(`${where}.volumeMounts is not a list`);
    return;
  }
  const paths = new Map<string, string>();
  for (const [i, m] of mounts.entries()) {
    const at = `${where}.volumeMounts[${i}]`;
    if (!isObject(m)) {
      problems.push(`${at} is not an object`);
      continue;
    }
    if (typeof m.name !== 'string' || !volumes.has(m.name)) problems.push(`${at} names volume ${JSON.stringify(m.name)}, which the pod does not have`);
    if (typeof m.mountPath !== 'string' || m.mountPath === '') {
      problems.push(`${at} has no mountPath`);
      continue;
    }
    const path = normaliseMountPath(m.mountPath);
    const before = paths.get(path);
    if (before !== undefined) problems.push(`${where} mounts two volumes at ${path} (${JSON.stringify(before)} and ${JSON.stringify(m.mountPath)})`);
    paths.set(path, m.mountPath);
  }
}

/** Why `pod` is not a valid pod, one sentence per problem; empty when it is valid. */
export function podInvariantProblems(pod: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(pod)) return ['the pod is not an object'];
  const spec = pod.spec;
  if (!isObject(spec)) return ['spec is not an object'];

  const volumes = new Set<string>();
  const volumeList = listOf(spec, 'volumes');
  if (volumeList === undefined) problems.push('spec.volumes is not a list');
  for (const [i, v] of (volumeList ?? []).entries()) {
    if (!isObject(v) || typeof v.name !== 'string' || v.name === '') {
      problems.push(`spec.volumes[${i}] has no name`);
      continue;
    }
    if (volumes.has(v.name)) problems.push(`volume name ${v.name} is used more than once`);
    volumes.add(v.name);
  }

  const refs: ContainerRef[] = [];
  for (const list of ['containers', 'initContainers', 'ephemeralContainers'] as const) {
    const items = listOf(spec, list);
    if (items === undefined) {
      problems.push(`spec.${list} is not a list`);
      continue;
    }
    for (const [index, c] of items.entries()) {
      if (isObject(c)) refs.push({ list, index, container: c });
      else problems.push(`spec.${list}[${index}] is not an object`);
    }
  }
  if (!refs.some((r) => r.list === 'containers')) problems.push('spec.containers is empty');

  const names = new Set<string>();
  for (const { list, index, container: c } of refs) {
    const where = `spec.${list}[${index}]`;
    if (typeof c.name !== 'string' || !(c.name.length <= 63 && DNS_LABEL.test(c.name))) {
      problems.push(`${where} has a name that is not a DNS label: ${JSON.stringify(c.name)}`);
    } else {
      if (names.has(c.name)) problems.push(`container name ${c.name} is used more than once`);
      names.add(c.name);
    }
    const label = typeof c.name === 'string' ? `${where} (${c.name})` : where;
    if (c.restartPolicy !== undefined && c.restartPolicy !== null) {
      if (list !== 'initContainers') problems.push(`${label} has restartPolicy ${JSON.stringify(c.restartPolicy)}; only init containers may have one`);
      else if (c.restartPolicy !== 'Always') problems.push(`${label} has restartPolicy ${JSON.stringify(c.restartPolicy)}; init containers only allow Always`);
    }
    checkEnv(c, label, problems);
    checkMounts(c, label, volumes, problems);
  }
  return problems;
}

/**
 * What the kubelet makes of an env value: `$(NAME)` is replaced by the
 * variable NAME when it is defined (earlier in the container's env, or a
 * service variable), and `$$` becomes `$`. A port of Kubernetes'
 * third_party/forked/golang/expansion.Expand; `lookup` returns undefined for
 * names that are not defined, which are left as written.
 */
export function kubeletExpand(value: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < value.length; cursor++) {
    if (value[cursor] !== '$' || cursor + 1 >= value.length) continue;
    out += value.slice(checkpoint, cursor);
    const next = value[cursor + 1]!;
    let advance = 1;
    if (next === '$') out += '$';
    else if (next === '(') {
      const close = value.indexOf(')', cursor + 2);
      if (close === -1) out += '$(';
      else {
        const name = value.slice(cursor + 2, close);
        out += lookup(name) ?? `$(${name})`;
        advance = close - cursor;
      }
    } else out += `$${next}`;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + value.slice(checkpoint);
}

const pointerOf = (path: readonly (string | number)[]): string => (path.length ? path.map((s) => `/${s}`).join('') : '(root)');

/**
 * How `after` fails to be `before` with things only added: every member of
 * `before` must still be in `after` with the same value or an extension of it,
 * and every list must start with its original items. A `null` member counts
 * as absent, so replacing it is an addition. Empty when `after` only adds.
 */
export function extensionProblems(before: unknown, after: unknown, path: (string | number)[] = []): string[] {
  if (before === null) return [];
  if (Array.isArray(before)) {
    if (!Array.isArray(after)) return [`${pointerOf(path)} was a list and is now ${JSON.stringify(after)}`];
    if (after.length < before.length) return [`${pointerOf(path)} lost items (${before.length} → ${after.length})`];
    return before.flatMap((item, i) => extensionProblems(item, after[i], [...path, i]));
  }
  if (isObject(before)) {
    if (!isObject(after)) return [`${pointerOf(path)} was an object and is now ${JSON.stringify(after)}`];
    return Object.entries(before).flatMap(([k, v]) => {
      if (v === null) return [];
      if (!Object.hasOwn(after, k)) return [`${pointerOf([...path, k])} was removed`];
      return extensionProblems(v, after[k], [...path, k]);
    });
  }
  return Object.is(before, after) ? [] : [`${pointerOf(path)} changed from ${JSON.stringify(before)} to ${JSON.stringify(after)}`];
}

/**
 * The variables git-sync v4 may receive: the settings the engine builds and
 * the credential names. Written out here, not derived from the engine, so
 * that a variable the engine starts emitting has to be allowed on purpose.
 */
export const GIT_SYNC_ENV: ReadonlySet<string> = new Set([
  'GITSYNC_REPO',
  'GITSYNC_REF',
  'GITSYNC_ROOT',
  'GITSYNC_LINK',
  'GITSYNC_DEPTH',
  'GITSYNC_SUBMODULES',
  'GITSYNC_MAX_FAILURES',
  'GITSYNC_ONE_TIME',
  'GITSYNC_PERIOD',
  'GITSYNC_HTTP_BIND',
  'GITSYNC_SPARSE_CHECKOUT_FILE',
  'GITSYNC_FILTER',
  'GITSYNC_SSH_KEY_FILE',
  'GITSYNC_SSH_KNOWN_HOSTS_FILE',
  'GITSYNC_SSH_KNOWN_HOSTS',
  'GITSYNC_USERNAME',
  'GITSYNC_PASSWORD',
  'GIT_SYNC_USERNAME',
  'GIT_SYNC_PASSWORD',
  'GITSYNC_PASSWORD_FILE',
  'GITSYNC_SYNC_TIMEOUT',
  'GITSYNC_TOUCH_FILE',
  'GITSYNC_WEBHOOK_URL',
  'GITSYNC_GIT_CONFIG',
  'GITSYNC_GITHUB_APP_PRIVATE_KEY_FILE',
  'GITSYNC_GITHUB_APP_APPLICATION_ID',
  'GITSYNC_GITHUB_APP_CLIENT_ID',
  'GITSYNC_GITHUB_APP_INSTALLATION_ID',
  'GITSYNC_GITHUB_BASE_URL',
]);

/**
 * What a policy's network profiles may add (policy/networks.ts): the proxy
 * variables and each profile's env, by name, with the exact values, and the
 * exact git config values, and for a profile with a CA bundle SSL_CERT_FILE
 * naming the projected bundle (git-sync's own HTTPS requests trust it).
 * Taken from the policy document, not from the engine.
 */
export function policyNetworkEnv(
  networks: Record<string, { httpsProxy?: string; httpProxy?: string; noProxy?: string; caBundle?: string; env?: Record<string, string> }>,
): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (name: string, value: string): void => void (out.get(name) ?? out.set(name, new Set()).get(name)!).add(value);
  for (const n of Object.values(networks)) {
    for (const [field, name] of [['httpsProxy', 'HTTPS_PROXY'], ['httpProxy', 'HTTP_PROXY'], ['noProxy', 'NO_PROXY']] as const) {
      const v = n[field];
      if (v !== undefined) {
        add(name, v);
        add(name.toLowerCase(), v);
      }
    }
    if (n.caBundle) add('SSL_CERT_FILE', '/etc/git-sync-ca/ca-bundle.crt');
    for (const [name, value] of Object.entries(n.env ?? {})) add(name, value);
  }
  return out;
}

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex
export const LINE_BREAKING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
