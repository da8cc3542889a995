/**
 * The one list of checks that is the export's envelope. Each row is a
 * feature, the condition under which a pod is fine (CEL and TypeScript from
 * one expression, cel.ts) and the message the API server gives when it is
 * not, with the webhook's stable code (src/engine/problems.ts), or
 * WEBHOOK_ONLY for a pod that uses what only the webhook serves.
 *
 * From this list: the MutatingAdmissionPolicy injects a pod that passes
 * every check (its matchConditions), the ValidatingAdmissionPolicy has one
 * validation per check, and the webhook-free preview runs the TypeScript
 * side. So an opted-in pod is either injected or refused, never admitted
 * untouched without a word (unless the policy says `admit`, when the
 * refusals are warnings, as with the webhook).
 *
 * Messages never repeat a value that may carry a credential: a repository
 * URL is shown only when it is inside the envelope, which has none.
 */
import {
  ANNOTATIONS,
  ANNOTATION_KEYS,
  LIBRARY_DIR,
  RISKY_ENV_NAMES,
  RISKY_ENV_PREFIXES,
  SYSTEM_DIRS,
  WRITTEN_ANNOTATIONS,
  APPARMOR_CONTAINER_ANNOTATION,
  SHARED_PROCESS_FIELDS,
  formatProblem,
  sharedProcessNamespace,
  describePatterns,
  maxFailuresAboveMaximum,
  syncTimeoutAboveMaximum,
  type AnnotationKey,
  type EngineContext,
  type ProblemCode,
} from '../engine/index.ts';
import {

  and,
  anyAt,
  anyOf,
  both,
  choose,
  concat,
  cond,
  containerNamesText,
  eq,
  escapeRegex,
  everyListedIsContainer,
  exists,
  fieldEq,
  fieldIn,
  fieldMatches,
  gt,
  int,
  intString,
  contains,
  trim,
  durationSeconds,
  nsVal,
  lookup,
  matches,
  missingContainers,

  ne,
  negate,
  not,
  nsAnnotationKeyMatches,
  nsHas,
  oneOf,
  or,
  pathIn,
  podAnnotationKeyMatches,
  podAnnotationKeysMatching,
  podHas,
  podVal,
  raw,
  str,
  toInt,
  type B,
  type ListPath,
  type S,
} from './cel.ts';
import { ANNOTATION_EXPORT } from './features.ts';
import { repoPatternRegex } from './patterns.ts';
import type { Resolver } from './settings.ts';
import type { Template } from './template.ts';
import type { Values } from './values.ts';

export type CheckCode = ProblemCode | 'WEBHOOK_ONLY';

export interface Check {
  /** Stable name of the row (the VAP's validation is found by it in tests). */
  id: string;
  /** The feature it covers: an annotation, or a named behaviour. */
  feature: string;
  code: CheckCode;
  /** True when the pod is fine. */
  ok: B;
  /** `field: message [CODE]`, as the webhook formats a problem. */
  message: S;
}

/** The lists of a pod's containers, ephemeral ones included: any of them can mount a volume or name a container. */
const CONTAINER_LISTS: readonly ListPath[] = ['containers', 'initContainers', 'ephemeralContainers'];

/** The pointer every webhook-only message ends with. */
export const WEBHOOK_ONLY_HINT = 'served only by the webhook; run the webhook (docs/webhook-free.md)';

const q = (s: S): S => concat(str('"'), s, str('"'));
/**
 * A pod's value in a message, quoted; or "the value" for a key whose values
 * may carry credentials (the engine masks them, `display`, which CEL cannot):
 * a message is seen by whoever sees the denial, events and audit logs too.
 */
const shown = (key: AnnotationKey, s: S): S => (ANNOTATION_EXPORT[key].secret || 'display' in ANNOTATIONS[key] ? str('the value') : q(s));
const line = (field: S, message: S, code: CheckCode): S => concat(field, str(': '), message, str(` [${code}]`));

/** Whether the value that applies to `key` is inside its envelope (true for a baked value: checked at export). */
export function inEnvelope(r: Resolver, key: AnnotationKey): B {
  const env = ANNOTATION_EXPORT[key].envelope;
  if (!env) return bool(true);
  const value = r.value(key);
  const ok = key === 'ref' ? and(matches(value, env), not(matches(value, /\.lock(?:\/|$)/))) : matches(value, env);
  // U+0085 is trimmed by CEL and not by the engine: a value with it is never served.
  const k = `${r.prefix}${key}`;
  const noNel = and(not(contains(podVal(k), '\u0085')), not(contains(nsVal(k), '\u0085')));
  return or(not(r.fromPodOrNamespace(key)), and(ok, noNel));
}
const bool = (b: boolean): B => raw(String(b), () => b);

export function buildChecks(ctx: EngineContext, r: Resolver, v: Values, t: Template): Check[] {
  const { policy } = ctx;
  const p = policy.prefix;
  const checks: Check[] = [];
  const add = (c: Check): void => void checks.push(c);
  const ok = (key: AnnotationKey): B => inEnvelope(r, key);

  // Several repositories: any per-repository annotation on the pod, or a namespace that names a repository.
  const qualified = new RegExp(`^${escapeRegex(p)}[^./]+\\.`);
  add({
    id: 'several-repositories',
    feature: 'several repositories',
    code: 'WEBHOOK_ONLY',
    ok: and(not(podAnnotationKeyMatches(qualified)), not(nsAnnotationKeyMatches(new RegExp(`^${escapeRegex(p)}[^./]+\\.repo$`)))),
    message: concat(
      cond(podAnnotationKeyMatches(qualified), podAnnotationKeysMatching(qualified), str(`${p}<name>.repo (namespace)`)),
      str(`: per-repository annotations (several repositories) are ${WEBHOOK_ONLY_HINT} [WEBHOOK_ONLY]`),
    ),
  });

  // Annotations the export does not serve, set on the pod or its namespace.
  const webhookOnly = ANNOTATION_KEYS.filter((k) => ANNOTATION_EXPORT[k].decision === 'webhook-only' && !policy.enforced.has(k));
  if (webhookOnly.length > 0) {
    const keys = webhookOnly.map((k) => `${p}${k}`);
    const set = (k: string): B => or(podHas(k), nsHas(k));
    const listCel = `[${keys.map((k) => `'${k}'`).join(', ')}].filter(k, (has(object.metadata.annotations) && k in object.metadata.annotations) || (has(namespaceObject.metadata.annotations) && k in namespaceObject.metadata.annotations)).join(', ')`;
    add({
      id: 'webhook-only-annotations',
      feature: 'webhook-only annotations',
      code: 'WEBHOOK_ONLY',
      ok: and(...keys.map((k) => not(set(k)))),
      message: concat(
        raw<string>(listCel, (i) => keys.filter((k) => set(k).ev(i)).join(', ')),
        str(`: ${WEBHOOK_ONLY_HINT} [WEBHOOK_ONLY]`),
      ),
    });
  }

  // Names the export adds must be free: the webhook renames around the pod's own, the export cannot.
  // "The pod's own" is what the engine avoids (containerNames and volumeNames in src/engine/pod.ts):
  // the names it declares and every name it refers to. A reference the author left dangling (a mount
  // of an undeclared git-sync-secret, an env value from git-sync-init's resources) would otherwise be
  // resolved by the export's own volume or container: the author's container reading the credentials
  // or writing into git-sync's root.
  const names = t.containerNames;
  const envFromOurs = anyOf('env', pathIn(['valueFrom', 'resourceFieldRef', 'containerName'], names));
  const mountsOurs = (path: ListPath): B[] => [
    exists(path, anyOf('volumeMounts', fieldIn('name', t.volumeNames))),
    exists(path, anyOf('volumeDevices', fieldIn('name', t.volumeNames))),
  ];
  const downwardFromOurs = anyAt(['downwardAPI', 'items'], pathIn(['resourceFieldRef', 'containerName'], names));
  const namedOrReferred = or(
    ...CONTAINER_LISTS.map((path) => exists(path, fieldIn('name', names))),
    exists('ephemeralContainers', fieldIn('targetContainerName', names)),
    ...CONTAINER_LISTS.map((path) => exists(path, envFromOurs)),
    exists('volumes', downwardFromOurs),
    exists('volumes', anyAt(['projected', 'sources'], downwardFromOurs)),
    ...['kubectl.kubernetes.io/default-container', 'kubectl.kubernetes.io/default-logs-container'].map((k) => oneOf(podVal(k), names)),
    ...names.map((n) => podHas(`${APPARMOR_CONTAINER_ANNOTATION}${n}`)),
  );
  add({
    id: 'names-free',
    feature: 'names already used by the pod',
    code: 'WEBHOOK_ONLY',
    ok: and(not(namedOrReferred), not(exists('volumes', fieldIn('name', t.volumeNames))), ...CONTAINER_LISTS.flatMap(mountsOurs).map(not)),
    message: str(
      `spec: the pod already uses or refers to one of the names the injection adds (containers ${names.join(', ')}; volumes ${t.volumeNames.join(', ')}); renaming around them is ${WEBHOOK_ONLY_HINT} [WEBHOOK_ONLY]`,
    ),
  });
  const port = policy.gitSync.httpPort;
  const usesPort = {
    cel: (x: string) => `(has(${x}.ports) && ${x}.ports.exists(pt, has(pt.containerPort) && pt.containerPort == ${port}))`,
    ev: (e: Record<string, unknown>) => Array.isArray(e.ports) && (e.ports as Record<string, unknown>[]).some((pt) => pt.containerPort === port),
  };
  add({
    id: 'port-free',
    feature: "git-sync's port already used by the pod",
    code: 'WEBHOOK_ONLY',
    ok: and(not(exists('containers', usesPort)), not(exists('initContainers', usesPort))),
    message: str(`spec: a container of the pod declares port ${port}, git-sync's; moving git-sync to another port is ${WEBHOOK_ONLY_HINT} [WEBHOOK_ONLY]`),
  });
  add({
    id: 'host-network',
    feature: 'hostNetwork pods',
    code: 'WEBHOOK_ONLY',
    ok: raw('!(has(object.spec.hostNetwork) && object.spec.hostNetwork)', (i) => (i.pod.spec as { hostNetwork?: boolean }).hostNetwork !== true),
    message: str(`spec.hostNetwork: pods on the node's network are ${WEBHOOK_ONLY_HINT} [WEBHOOK_ONLY]`),
  });

  // A process namespace shared between containers, or with the node: the engine's own problem.
  for (const field of SHARED_PROCESS_FIELDS) {
    add({
      id: `shared-process-${field}`,
      feature: 'pods that share their process namespace',
      code: 'PROCESS_NAMESPACE_SHARED',
      ok: raw(`!(has(object.spec.${field}) && object.spec.${field})`, (i) => (i.pod.spec as Record<string, unknown>)[field] !== true),
      message: str(formatProblem(sharedProcessNamespace(field))),
    });
  }

  // Annotations only the injector writes.
  for (const written of [WRITTEN_ANNOTATIONS.knownHosts, WRITTEN_ANNOTATIONS.caBundle, WRITTEN_ANNOTATIONS.sparseCheckout]) {
    add({
      id: `reserved-${written}`,
      feature: 'annotations the injector writes',
      code: 'RESERVED_ANNOTATION',
      ok: not(podHas(`${p}${written}`)),
      message: str(`${p}${written}: is written by the injector, never by pods; remove it [RESERVED_ANNOTATION]`),
    });
  }

  // Every value a pod or namespace writes is inside the envelope.
  for (const key of ANNOTATION_KEYS) {
    const row = ANNOTATION_EXPORT[key];
    if (row.decision === 'webhook-only' || !row.envelope || policy.enforced.has(key)) continue;
    const value = r.value(key);
    const choices = key === 'inject' ? ['true', 'false'] : key === 'mode' || key === 'known-hosts' || key === 'submodules' ? row.allowed!.split(/, | or /) : undefined;
    const message =
      key === 'inject'
        ? line(r.field(key), concat(q(value), str(' is not allowed; use true or false')), 'VALUE_NOT_ALLOWED')
        : choices
          ? line(r.field(key), concat(q(value), str(` is not allowed; use one of ${choices.join(', ')}`)), 'VALUE_NOT_ALLOWED')
          : line(
              r.field(key),
              concat(shown(key, value), str(` is outside what the webhook-free export serves (${row.allowed}); other values are ${WEBHOOK_ONLY_HINT}`)),
              'WEBHOOK_ONLY',
            );
    const valid = ok(key);
    add({ id: `value-${key}`, feature: key, code: choices ? 'VALUE_NOT_ALLOWED' : 'WEBHOOK_ONLY', ok: valid, message });
  }

  // Values outside the envelope make the checks below meaningless: each is guarded by the envelope of what it reads.
  const guard = (keys: AnnotationKey[], pass: B): B => or(not(and(...keys.map(ok))), pass);

  const presets = [...policy.presets.keys()];
  add({
    id: 'preset-known',
    feature: 'preset',
    code: 'PRESET_UNKNOWN',
    ok: guard(['preset'], or(eq(r.presetName, str('')), oneOf(r.presetName, presets))),
    message: line(r.field('preset'), concat(q(r.presetName), str(` is not a preset of the policy; use one of ${presets.length ? presets.join(', ') : '(none defined)'}`)), 'PRESET_UNKNOWN'),
  });

  const nsName = raw<string>('namespaceObject.metadata.name', (i) => i.namespace);
  add({
    id: 'repo-required',
    feature: 'repo',
    code: 'REPO_REQUIRED',
    // A repo annotation that is there but empty is a bad value (its own check), not a missing one, as the engine says.
    ok: or(ne(v.repo, str('')), podHas(`${p}repo`), nsHas(`${p}repo`)),
    message: cond(
      r.present('inject'),
      line(r.field('inject'), concat(q(r.injectValue), str(` opts the pod in, but no repository is set; set ${p}repo on the pod or on namespace `), nsName), 'REPO_REQUIRED'),
      line(str(`${p}repo`), concat(str(`the pod opted in, but no repository is set; set ${p}repo on the pod or on namespace `), nsName), 'REPO_REQUIRED'),
    ),
  });

  if (policy.allowedRepos.length > 0) {
    const allowed = or(...policy.allowedRepos.map((pattern) => matches(v.repo, repoPatternRegex(pattern))));
    add({
      id: 'repo-allowed',
      feature: 'allowedRepos',
      code: 'REPO_NOT_ALLOWED',
      ok: guard(['repo'], or(eq(v.repo, str('')), allowed)),
      message: line(r.field('repo'), concat(q(v.repo), str(` is not a repository the policy allows; use one matching ${describePatterns(policy.allowedRepos)}`)), 'REPO_NOT_ALLOWED'),
    });
  }

  if (policy.maxDepth !== undefined) {
    const max = policy.maxDepth;
    const depth = toInt(v.depth);
    add({
      id: 'depth-maximum',
      feature: 'depth',
      code: 'DEPTH_ABOVE_MAXIMUM',
      ok: guard(['depth'], and(ne(v.depth, str('0')), not(gt(depth, int(max))))),
      message: line(
        r.field('depth'),
        concat(q(v.depth), cond(eq(v.depth, str('0')), str(' (the full history)'), str('')), str(` is above the policy's maximum depth ${max}; use a depth from 1 to ${max}`)),
        'DEPTH_ABOVE_MAXIMUM',
      ),
    });
  }

  // Durations inside the envelope are whole seconds; the engine refuses 0 and more than 24h.
  const durationRange = (key: 'period' | 'sync-timeout', seconds: typeof v.periodSeconds): void =>
    add({
      id: `${key}-range`,
      feature: key,
      code: 'DURATION_INVALID',
      ok: guard([key], and(gt(seconds, int(0)), not(gt(seconds, int(86400))))),
      message: line(
        r.field(key),
        concat(q(r.value(key)), cond(eq(intString(seconds), str('0')), str(' is too short; use at least 1ms, such as 30s'), str(' is too long; use at most 24h'))),
        'DURATION_INVALID',
      ),
    });
  durationRange('period', v.periodSeconds);
  durationRange('sync-timeout', v.syncTimeoutSeconds);
  // The maxima's messages are the engine's own, written around the value (a sentinel put in and taken out).
  const RAW = 'SENTINELVALUEQ7X';
  const around = (text: string, value: S): S => concat(...text.split(`"${RAW}"`).flatMap((piece, n) => (n === 0 ? [str(piece)] : [q(value), str(piece)])));
  const maxTimeout = policy.knobs.maxSyncTimeout;
  add({
    id: 'sync-timeout-maximum',
    feature: 'sync-timeout',
    code: 'SYNC_TIMEOUT_ABOVE_MAXIMUM',
    ok: guard(['sync-timeout'], or(gt(v.syncTimeoutSeconds, int(86400)), not(gt(v.syncTimeoutSeconds, int(Math.floor(maxTimeout.ms / 1000)))))),
    message: line(r.field('sync-timeout'), around(syncTimeoutAboveMaximum(RAW, Number.POSITIVE_INFINITY, maxTimeout)!, r.value('sync-timeout')), 'SYNC_TIMEOUT_ABOVE_MAXIMUM'),
  });
  const maxFailures = policy.knobs.maxFailures;
  if (maxFailures !== -1) {
    const failures = r.value('max-failures');
    const forever = eq(failures, str('-1'));
    add({
      id: 'max-failures-maximum',
      feature: 'max-failures',
      code: 'MAX_FAILURES_ABOVE_MAXIMUM',
      ok: guard(['max-failures'], or(eq(failures, str('')), and(not(forever), not(gt(toInt(failures), int(maxFailures)))))),
      message: line(
        r.field('max-failures'),
        cond(forever, around(maxFailuresAboveMaximum(RAW, -1, maxFailures)!, failures), around(maxFailuresAboveMaximum(RAW, maxFailures + 1, maxFailures)!, failures)),
        'MAX_FAILURES_ABOVE_MAXIMUM',
      ),
    });
  }

  add({
    id: 'mode-allowed',
    feature: 'mode',
    code: 'MODE_NOT_ALLOWED',
    ok: guard(['mode'], eq(v.modeError, str(''))),
    message: v.modeError,
  });

  add({
    id: 'containers-exist',
    feature: 'containers',
    code: 'CONTAINER_NOT_FOUND',
    ok: guard(['containers'], or(eq(v.containersListed, str('')), everyListedIsContainer(v.containersListed))),
    message: line(
      r.field('containers'),
      concat(q(r.value('containers')), str(' names '), missingContainers(v.containersListed), str(', which the pod does not have; its containers are '), containerNamesText),
      'CONTAINER_NOT_FOUND',
    ),
  });

  // The mount path: free in every app container that gets it, and not a system directory.
  const app = (t2: ReturnType<typeof fieldEq>) => both(or2(v.containersListed), t2);
  const plainMount = /^\/[^/]+(?:\/[^/]+)*$/;
  const oddMount = anyOf('volumeMounts', negate(both(fieldMatches('mountPath', plainMount), negate(fieldMatches('mountPath', /(?:^|\/)\.(?:\/|$)/)))));
  const inUse = anyOf('volumeMounts', fieldEq('mountPath', v.mountPath));
  add({
    id: 'mount-path-plain',
    feature: 'mount-path',
    code: 'WEBHOOK_ONLY',
    ok: guard(['containers'], not(exists('containers', app(oddMount)))),
    message: str(`spec.containers: an app container has a volume mount path with '//', '/./' or a trailing '/'; comparing it with ${p}mount-path is ${WEBHOOK_ONLY_HINT} [WEBHOOK_ONLY]`),
  });
  add({
    id: 'mount-path-free',
    feature: 'mount-path',
    code: 'MOUNT_PATH_IN_USE',
    ok: guard(['mount-path', 'containers'], not(exists('containers', app(inUse)))),
    message: line(
      r.field('mount-path'),
      concat(
        q(v.mountPath),
        str(' is already a mount path of container '),
        raw<string>(
          `object.spec.containers.filter(e, ${app(inUse).cel('e')}).map(e, e.name).join(', ')`,
          (i) => ((i.pod.spec as { containers: Record<string, unknown>[] }).containers.filter((e) => app(inUse).ev(e, i)).map((e) => e.name) as string[]).join(', '),
        ),
        str(`; choose another ${p}mount-path or remove that mount`),
      ),
      'MOUNT_PATH_IN_USE',
    ),
  });
  // System directories: the dirs themselves, and inside those whose whole tree is refused; the library dirs likewise.
  const libDirs = ['', '/usr', '/usr/local'].flatMap((base) => ['lib', 'lib32', 'lib64', 'libx32', 'libexec'].map((l) => `${base}/${l}`));
  if (!libDirs.every((d) => LIBRARY_DIR.test(d))) throw new Error('the library directories differ from the engine\'s LIBRARY_DIR');
  const exact = Object.fromEntries(SYSTEM_DIRS.map((d) => [d.dir, `is ${d.dir}, which holds ${d.holds}`]));
  for (const d of libDirs) exact[d] = `is ${d}, which holds libraries and helper programs`;
  const below: Record<string, string> = Object.fromEntries([
    ...libDirs.map((d): [string, string] => [d, `is inside ${d}, which holds libraries and helper programs`]),
    ...SYSTEM_DIRS.filter((d) => d.below).map((d): [string, string] => [d.dir, `is inside ${d.dir}, which holds ${d.holds}`]),
  ]);
  const belowList = Object.keys(below);
  const mp = v.mountPath;
  const inside = raw<string>(
    `[${belowList.map((d) => `'${d}'`).join(', ')}].filter(d, ${mp.cel}.startsWith(d + '/'))`,
    (i) => belowList.filter((d) => mp.ev(i).startsWith(`${d}/`)).join('\u0000'),
  );
  add({
    id: 'mount-path-system',
    feature: 'mount-path',
    code: 'MOUNT_PATH_NOT_ALLOWED',
    ok: guard(['mount-path'], and(not(oneOf(mp, Object.keys(exact))), raw(`size(${inside.cel}) == 0`, (i) => inside.ev(i) === ''))),
    message: line(
      r.field('mount-path'),
      concat(
        q(mp),
        str(' '),
        lookup(
          mp,
          Object.entries(exact).map(([d, m]) => [d, str(m)] as const),
          raw<string>(
            `{${Object.entries(below).map(([d, m]) => `'${d}': '${m.replaceAll("'", "\\'")}'`).join(', ')}}[?${inside.cel}[?0].orValue('')].orValue('')`,
            (i) => below[inside.ev(i).split('\u0000')[0]!] ?? '',
          ),
        ),
        str("; mounting the repository there would hide them from the app; use a directory of the app's own, such as /git or /opt/<app>/<folder>"),
      ),
      'MOUNT_PATH_NOT_ALLOWED',
    ),
  });

  const riskyNames = Object.keys(RISKY_ENV_NAMES);
  const riskyPrefix = new RegExp(`^(?:${RISKY_ENV_PREFIXES.map(([x]) => escapeRegex(x)).join('|')})`);
  add({
    id: 'env-allowed',
    feature: 'env',
    code: 'ENV_NAME_NOT_ALLOWED',
    ok: guard(['env'], and(not(oneOf(v.env, riskyNames)), not(matches(v.env, riskyPrefix)))),
    message: line(
      r.field('env'),
      concat(
        q(v.env),
        str(' '),
        choose(
          [
            ...Object.entries(RISKY_ENV_NAMES).map(([n, why]) => [eq(v.env, str(n)), str(why)] as [B, S]),
            ...RISKY_ENV_PREFIXES.map(([x, why]) => [matches(v.env, new RegExp(`^${escapeRegex(x)}`)), str(why)] as [B, S]),
          ],
          str(''),
        ),
        str(", and its value would point into the repository; use a name of the app's own, such as DAGS_FOLDER"),
      ),
      'ENV_NAME_NOT_ALLOWED',
    ),
  });

  // Credentials.
  const https = eq(v.transport, str('https'));
  const ssh = eq(v.transport, str('ssh'));
  const noSecret = eq(v.secret, str(''));
  add({
    id: 'ssh-needs-secret',
    feature: 'secret',
    code: 'SSH_NEEDS_SECRET',
    ok: guard(['repo', 'secret'], or(eq(v.repo, str('')), not(ssh), not(noSecret))),
    message: line(
      r.field('repo'),
      concat(q(v.repo), str(` is an SSH repository, which needs a private key; set ${p}secret to a Secret holding it (key gitSshKey, ssh or ssh-privatekey), or use an https:// URL`)),
      'SSH_NEEDS_SECRET',
    ),
  });
  if (!policy.knownHostsData) {
    add({
      id: 'known-hosts-available',
      feature: 'known-hosts',
      code: 'KNOWN_HOSTS_UNAVAILABLE',
      ok: guard(['repo', 'secret', 'known-hosts'], or(eq(v.repo, str('')), not(ssh), noSecret, ne(v.knownHosts, str('policy')))),
      message: line(
        r.field('known-hosts'),
        str(`"policy" needs SSH host keys from the policy, which lists none; ask the platform team to add the host's keys, or set ${p}known-hosts: secret and add a known_hosts key to the Secret`),
        'KNOWN_HOSTS_UNAVAILABLE',
      ),
    });
  }
  if (!policy.allowInsecureHostKeys) {
    add({
      id: 'insecure-forbidden',
      feature: 'known-hosts',
      code: 'INSECURE_HOST_KEYS_FORBIDDEN',
      ok: guard(['repo', 'secret', 'known-hosts'], or(eq(v.repo, str('')), not(ssh), noSecret, ne(v.knownHosts, str('insecure')))),
      message: line(r.field('known-hosts'), str('"insecure" turns off SSH host key checking, which the policy does not allow; use policy or secret'), 'INSECURE_HOST_KEYS_FORBIDDEN'),
    });
  }
  add({
    id: 'token-needs-secret',
    feature: 'secret-layout',
    code: 'SECRET_REQUIRED',
    ok: guard(['repo', 'secret', 'secret-layout'], or(eq(v.repo, str('')), not(https), not(noSecret), ne(v.layout, str('token')))),
    message: line(r.field('secret-layout'), str(`"token" reads the token from a Secret; set ${p}secret to the Secret's name`), 'SECRET_REQUIRED'),
  });
  const users = [...policy.tokenUsers.keys()];
  add({
    id: 'token-user-known',
    feature: 'token-user',
    code: 'TOKEN_USER_UNKNOWN',
    ok: guard(['repo', 'secret', 'secret-layout', 'token-user'], or(eq(v.repo, str('')), not(https), noSecret, ne(v.layout, str('token')), oneOf(v.tokenUser, users))),
    message: line(
      r.field('token-user'),
      concat(q(v.tokenUser), str(` is not one of the policy's token users; use one of ${users.length ? users.join(', ') : '(none defined: ask the platform team to add tokenUsers)'}`)),
      'TOKEN_USER_UNKNOWN',
    ),
  });

  // Enforced strictly: a pod or namespace that writes another value is refused, one check per layer as the engine reports them.
  for (const [key, level] of policy.enforced) {
    if (level !== 'strict') continue;
    const value = policy.defaults.get(key);
    const policyText = value ? `the policy enforces ${key} "${value.raw}"` : `the policy keeps ${key} unset`;
    const k = `${p}${key}`;
    for (const layer of ['pod', 'namespace'] as const) {
      const has = layer === 'pod' ? podHas(k) : nsHas(k);
      const val = trim(layer === 'pod' ? podVal(k) : nsVal(k));
      const field = layer === 'pod' ? str(k) : concat(str(`${k} (namespace `), nsName, str(')'));
      add({
        id: `enforced-${key}-${layer}`,
        feature: 'enforced values',
        code: 'SETTING_ENFORCED',
        ok: or(not(has), value ? same(key, val, value.raw) : bool(false)),
        message: line(field, concat(shown(key, val), str(` is not allowed: ${policyText}; remove this annotation`)), 'SETTING_ENFORCED'),
      });
    }
  }
  return checks;
}

/**
 * Whether a value the pod or namespace writes is the enforced one, as the
 * engine compares them: parsed. Inside the envelopes parsing is the identity
 * but for two spellings: a period's (60s and 1m) and a containers list's
 * spaces after commas.
 */
function same(key: AnnotationKey, value: S, enforced: string): B {
  if (key === 'period') {
    const env = ANNOTATION_EXPORT.period.envelope!;
    return or(eq(value, str(enforced)), and(matches(value, env), eq(intString(durationSeconds(value)), intString(durationSeconds(str(enforced))))));
  }
  if (key === 'containers') {
    const strip = (x: S): S => raw(`${x.cel}.replace(' ', '')`, (i) => x.ev(i).replaceAll(' ', ''));
    return eq(strip(value), strip(str(enforced)));
  }
  return eq(value, str(enforced));
}

/** Element test: the container is one the injection mounts into (listed, or every one when the list is empty). */
function or2(listed: S): { cel: (x: string) => string; ev: (e: Record<string, unknown>, i: import('./cel.ts').Input) => boolean } {
  return {
    cel: (x) => `(${listed.cel} == '' || ${x}.name in ${listed.cel}.split(','))`,
    ev: (e, i) => listed.ev(i) === '' || listed.ev(i).split(',').includes(e.name as string),
  };
}
