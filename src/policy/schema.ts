/**
 * The policy document's schema, as data: every field of `Policy` once, with
 * its kind of value and its help text. Defaults are not repeated here; they
 * are read from BUILTIN_POLICY. Validation and merging over the built-in
 * policy (validate.ts) and the policy reference in the docs (reference.ts)
 * both come from this table, so a new policy field is a new row (and its
 * value in the built-in policy).
 */
import { ANY_BLOB_LIMIT, fail, ok, parseAbsolutePath, parseChoice, parseDuration, parseFilter, parseObjectName, quote, valueAt, type PodResource } from '../engine/index.ts';
import { checkNetworks } from './networks.ts';
import { INVALID } from './field-types.ts';
import { BUILTIN_POLICY } from './builtin.ts';
import {
  normaliseRepoPattern,
  parseAnnotationPrefix,
  parseEnforcedKey,
  parseImage,
  parseKnownHostsLine,
  parseLinkName,
  parseNamespaceName,
  parseProfileValue,
  parseQuantity,
} from './formats.ts';
import { CONCRETE_MODES } from './semantics.ts';
import type { FieldType } from './field-types.ts';

export interface PolicyField {
  /** Dotted path in the document; the parts before the last one are plain groups of fields. */
  path: string;
  type: FieldType;
  /** One or two sentences for the policy reference. */
  help: string;
}

/** Resources that mean something for a git-sync container; any other name would make every pod fail. */
const RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral-storage'] as const;

const resourceMap: FieldType = {
  kind: 'map',
  name: 'resource → quantity',
  expect: 'a map of resource names to quantities, such as memory: 64Mi',
  key: (raw) => parseChoice(raw, RESOURCE_NAMES),
  value: parseQuantity,
  numbers: true,
};

/**
 * The most bytes a policy text may have: a ConfigMap holds at most 1 MiB, and
 * the file source reads the same policies. Larger texts are refused before
 * they are parsed (POLICY_TOO_LARGE).
 */
export const MAX_POLICY_BYTES = 1024 * 1024;

/**
 * The most entries of each list and of `presets`. Every entry costs time on
 * each reload, and each repository pattern on each admission; a policy of
 * 20,000 presets once held admissions up for seconds while it loaded. A
 * thousand is far more than any cluster's rules need: patterns such as
 * `host/org/*` cover many repositories at once.
 */
export const MAX_POLICY_ENTRIES = 1000;

const duration: FieldType = {
  kind: 'string',
  name: 'duration',
  expect: 'a Go duration such as 10s',
  check: (raw) => {
    const d = parseDuration(raw);
    return d.ok ? ok(raw) : d;
  },
};

/** A host (or host:port) a webhook may call: lower-case, IPv6 in brackets. */
const parseWebhookHost = (raw: string) => {
  let u: URL | undefined;
  try {
    u = new URL(`http://${raw}`);
  } catch {
    u = undefined;
  }
  if (u && `${u.host}` === raw.toLowerCase() && !raw.includes('@')) return ok(raw.toLowerCase().replace(/^\[(.*)\]$/, '$1'));
  return fail('POLICY_VALUE_INVALID', `${quote(raw)} is not a host or host:port; use one such as reloader.tools.svc or reloader.tools.svc:8080`);
};

/** An https URL of the GitHub API (GitHub Enterprise Server: https://github.corp.example/api/v3/). */
const parseApiUrl = (raw: string) => {
  let u: URL | undefined;
  try {
    u = new URL(raw);
  } catch {
    u = undefined;
  }
  if (u && u.protocol === 'https:' && !u.username && !u.password && !u.search && !u.hash && !/\s/.test(raw)) return ok(raw);
  return fail('POLICY_VALUE_INVALID', `${quote(raw)} is not an https URL without credentials; use one such as https://github.corp.example/api/v3/`);
};

/** A user name sent with a token: what git hosts accept, nothing that needs quoting. */
const parseTokenUser = (raw: string) =>
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(raw) ? ok(raw) : fail('POLICY_VALUE_INVALID', `${quote(raw)} is not a user name; use letters, digits, '.', '_' and '-', such as x-access-token`);

const POD_RESOURCES = ['cpu', 'memory'] as const satisfies readonly PodResource[];

/** An allowedFilters entry: a filter as pods write it, or `blob:limit` for every size. */
function parseAllowedFilter(raw: string) {
  if (raw === ANY_BLOB_LIMIT) return ok(raw);
  const f = parseFilter(raw);
  if (f.ok && f.value === 'none') return fail('VALUE_NOT_ALLOWED', '"none" is always allowed (it asks for no filter); list filters such as blob:none');
  return f.ok ? f : fail(f.code, `${f.message}, or blob:limit for every size`);
}

const gid = { kind: 'integer', min: 0, max: 2147483647 } as const;
// Not 0: the git-sync containers run with runAsNonRoot, which refuses UID 0.
const uid = { ...gid, min: 1 } as const;

export const POLICY_FIELDS: readonly PolicyField[] = [
  {
    path: 'annotationPrefix',
    type: { kind: 'string', name: 'annotation prefix', expect: "a DNS subdomain followed by '/', such as gitsync.dev/", check: parseAnnotationPrefix },
    help: 'Prefix of every annotation the injector reads and writes, on pods and namespaces.',
  },
  {
    path: 'image',
    type: { kind: 'string', name: 'image', expect: 'an image reference such as registry.k8s.io/git-sync/git-sync:v4.7.1', check: parseImage },
    help: 'The git-sync image of the injected containers.',
  },
  {
    path: 'imagePullPolicy',
    type: { kind: 'enum', values: ['Always', 'IfNotPresent', 'Never'] },
    help: 'Pull policy of the injected containers.',
  },
  {
    path: 'dialect',
    type: { kind: 'enum', values: ['v4', 'v3'] },
    help: 'Which git-sync major version the image is, and so which environment names are emitted: `v4` (`GITSYNC_*` only), or `v3` (`GIT_SYNC_*`, for pinned v3 images; needs `defaults.ref` to name a branch).',
  },
  {
    path: 'defaults',
    type: { kind: 'annotations' },
    help: 'Defaults for every annotation, as annotation values without the prefix (`period: 5m`). Namespace, preset and pod annotations override them; `repo` and `inject` cannot be defaults.',
  },
  {
    path: 'presets',
    type: { kind: 'presets', max: MAX_POLICY_ENTRIES },
    help: 'Named bundles of annotation values that a pod selects with the `preset` annotation. They are merged by name with the built-in presets: redefining one replaces it.',
  },
  {
    path: 'allowedRepos',
    type: {
      kind: 'list',
      name: 'repository patterns',
      expect: 'a list of repository patterns such as github.com/acme/*, gitlab.example.com/data/** or github.com/acme/dags',
      item: normaliseRepoPattern,
      max: MAX_POLICY_ENTRIES,
    },
    help: 'Repositories pods may sync: `host/org/repo` (one repository), `host/org/*` (every repository directly under `org`), `host/group/**` (under `group`, at any depth). https, ssh:// and scp-style URLs of a repository are the same repository. Empty: any repository.',
  },
  {
    path: 'allowedFilters',
    type: { kind: 'list', name: 'partial clone filters', expect: 'a list of filters such as blob:none, blob:limit, tree:0', item: parseAllowedFilter, max: MAX_POLICY_ENTRIES },
    help: "Partial clone filters pods may ask for with `filter`: `blob:none`, `tree:<depth>`, `blob:limit=<size>`, or `blob:limit` for every size. A pod with `sparse-paths` gets `blob:none` when it is listed here. Empty: no partial clone (`filter: none` is always allowed).",
  },
  {
    path: 'enforced',
    type: {
      kind: 'map',
      name: 'annotation → `warn` or `strict`',
      expect: 'a map of annotation names to warn or strict, such as period: strict',
      key: parseEnforcedKey,
      value: (raw) => parseChoice(raw, ['warn', 'strict']),
    },
    help: "Annotations that pods and namespaces may not override: the value is always the policy's `defaults` value (else the built-in default). A pod or namespace that sets another value gets a warning (`warn`) or is denied (`strict`). Presets do not change them either; `repo` and `inject` cannot be enforced.",
  },
  {
    path: 'limits.minPeriod',
    type: duration,
    help: 'Periods below this are raised to it, with a warning.',
  },
  {
    path: 'limits.maxDepth',
    type: { kind: 'integer', min: 1, max: 1_000_000 },
    help: 'The deepest clone a pod may ask for; a deeper `depth`, or `0` (the full history), is refused. Not set: no maximum.',
  },
  {
    path: 'limits.maxRepositories',
    type: { kind: 'integer', min: 1, max: 16 },
    help: 'How many repositories one pod may sync, the main one included (`<name>.repo` adds one; docs/several-repositories.md). Each has its own git-sync containers and volumes; `1` allows only the main repository.',
  },
  {
    path: 'limits.allowedModes',
    type: {
      kind: 'list',
      name: 'modes',
      expect: `a list of modes out of ${CONCRETE_MODES.join(', ')}`,
      item: (raw) => parseChoice(raw, CONCRETE_MODES),
      max: CONCRETE_MODES.length,
    },
    help: '`mode` values pods may ask for; any other is refused. `auto` is always allowed and picks among these.',
  },
  {
    path: 'limits.maxSyncTimeout',
    type: duration,
    help: 'The longest `sync-timeout` a pod may ask for; a longer one is refused.',
  },
  {
    path: 'limits.maxFailures',
    type: { kind: 'integer', min: -1, max: 1000 },
    help: 'The most `max-failures` a pod may ask for; more is refused. `-1` lets pods ask for anything, `-1` (retry forever) included.',
  },
  {
    path: 'limits.webhookHosts',
    type: { kind: 'list', name: 'hosts', expect: 'a list of hosts or host:port, such as reloader.tools.svc:8080', item: parseWebhookHost, max: MAX_POLICY_ENTRIES },
    help: '`webhook-url` may call these hosts (a host alone: any port) besides the pod itself (`localhost`, `127.0.0.1`, `[::1]`, always allowed).',
  },
  {
    path: 'networks',
    type: {
      kind: 'custom',
      name: 'map of name → network profile',
      expect: 'a map of profile names to profiles, such as corp: {httpsProxy: http://proxy.corp.example:3128}',
      check: (value, field, problems) => (checkNetworks(value, field, problems) === INVALID ? INVALID : value),
    },
    help: 'Network profiles pods (or namespaces, presets, `defaults`) choose with the `network` annotation: `httpsProxy`, `httpProxy`, `noProxy`, `caBundle` (PEM CA certificates git trusts for HTTPS), `gitConfig` (git config entries) and `env` (extra git-sync variables, checked against git-sync\'s own settings). See docs/networks.md.',
  },
  {
    path: 'tokenUsers',
    type: {
      kind: 'map',
      name: 'name → user name',
      expect: 'a map of names to user names, such as github: x-access-token',
      key: parseObjectName,
      value: parseTokenUser,
    },
    help: 'User names sent with a token (`secret-layout: token`), chosen by name with `token-user`. Given, it replaces the built-in map.',
  },
  {
    path: 'githubBaseUrl',
    type: { kind: 'string', name: 'URL', expect: 'an https URL such as https://github.corp.example/api/v3/', check: parseApiUrl },
    help: 'GitHub API base URL for `secret-layout: github-app` on GitHub Enterprise Server. Not set: git-sync\'s default, https://api.github.com/.',
  },
  {
    path: 'limits.maxResources',
    type: {
      kind: 'map',
      name: 'resource → quantity',
      expect: 'a map of cpu and memory to quantities, such as memory: 2Gi',
      key: (raw) => parseChoice(raw, POD_RESOURCES),
      value: parseQuantity,
      numbers: true,
    },
    help: "The most a pod may ask for its git-sync containers with `cpu-request`, `cpu-limit`, `memory-request` and `memory-limit` (a request and a limit alike); a larger value is refused with the maximum in the message. Never below the policy's own `resources` for that resource, which every pod gets anyway. A resource not listed has no maximum.",
  },
  {
    path: 'limits.maxRootSizeLimit',
    type: { kind: 'string', name: 'quantity', expect: 'a quantity such as 20Gi', check: parseQuantity },
    help: "The largest `root-size-limit` a pod may ask for; never below `gitSync.rootSizeLimit`. Not set: no maximum.",
  },
  {
    path: 'knownHosts',
    type: { kind: 'list', name: 'known_hosts lines', expect: 'a list of known_hosts lines, one per item, as ssh-keyscan prints them', item: parseKnownHostsLine, max: MAX_POLICY_ENTRIES },
    help: 'SSH host keys of the git hosts, for pods with `known-hosts: policy`: one known_hosts line per item, as `ssh-keyscan` prints them.',
  },
  {
    path: 'allowInsecureHostKeys',
    type: { kind: 'boolean' },
    help: 'Whether pods may turn SSH host key checking off with `known-hosts: insecure`.',
  },
  {
    path: 'excludedNamespaces',
    type: { kind: 'list', name: 'namespace names', expect: 'a list of namespace names', item: parseNamespaceName, max: MAX_POLICY_ENTRIES },
    help: "Pods in these namespaces are never injected. `kube-system` and the webhook's own namespace (`POD_NAMESPACE`) are always excluded, listed or not.",
  },
  {
    path: 'onInvalidAnnotations',
    type: { kind: 'enum', values: ['deny', 'admit'] },
    help: 'What happens to a pod whose annotations are invalid: `deny` refuses it with every problem; `admit` lets it in untouched, with the problems as warnings.',
  },
  {
    path: 'nativeSidecars',
    type: { kind: 'enum', values: ['auto', 'enabled', 'disabled'] },
    help: 'Whether `mode: auto` may choose native sidecars; `auto` asks the cluster whether it supports them.',
  },
  {
    path: 'gitSync.root',
    type: { kind: 'string', name: 'absolute path', expect: 'an absolute path such as /git', check: parseAbsolutePath },
    help: 'Where the shared volume is mounted in the git-sync containers (`GITSYNC_ROOT`).',
  },
  {
    path: 'gitSync.link',
    type: { kind: 'string', name: 'folder name', expect: 'a folder name such as repo', check: parseLinkName },
    help: 'Name of the symlink git-sync publishes inside the root (`GITSYNC_LINK`); app containers read `<mount-path>/<link>`.',
  },
  {
    path: 'gitSync.httpPort',
    type: { kind: 'integer', min: 1, max: 65535 },
    help: "Port of git-sync's HTTP endpoint, which its probes use; moved if an app container uses it.",
  },
  {
    path: 'gitSync.maxFailures',
    type: { kind: 'integer', min: -1, max: 1000 },
    help: 'Consecutive sync failures git-sync tolerates before it exits (`GITSYNC_MAX_FAILURES`); `-1` retries forever.',
  },
  {
    path: 'gitSync.user',
    type: uid,
    help: "UID the git-sync containers run as; the image's own user is 65533.",
  },
  {
    path: 'gitSync.group',
    type: gid,
    help: 'GID the git-sync containers run as.',
  },
  {
    path: 'gitSync.rootSizeLimit',
    type: { kind: 'string', name: 'quantity', expect: 'a quantity such as 1Gi', check: parseQuantity },
    help: '`sizeLimit` of the emptyDir that holds the checkout (`git-sync-root`): the kubelet evicts the pod when the checkout grows past it. Not set: no limit of its own.',
  },
  {
    path: 'resources.requests',
    type: resourceMap,
    help: 'Resource requests of the injected containers (`cpu`, `memory`, `ephemeral-storage`). Given, it replaces the built-in map.',
  },
  {
    path: 'resources.limits',
    type: resourceMap,
    help: 'Resource limits of the injected containers; no request may exceed its limit. Given, it replaces the built-in map.',
  },
  {
    path: 'securityContext.runAsNonRoot',
    type: { kind: 'fixed', value: true, why: 'would let the git-sync containers run as root; they always run as a non-root user (gitSync.user sets which)' },
    help: 'The injected containers never run as root.',
  },
  {
    path: 'securityContext.privileged',
    type: { kind: 'fixed', value: false, why: 'would give the git-sync containers full access to the node; git-sync needs no privilege' },
    help: 'The injected containers are never privileged.',
  },
  {
    path: 'securityContext.allowPrivilegeEscalation',
    type: { kind: 'fixed', value: false, why: 'would let processes in the git-sync containers gain privileges; git-sync needs none' },
    help: 'The injected containers can never gain privileges.',
  },
  {
    path: 'securityContext.readOnlyRootFilesystem',
    type: { kind: 'boolean' },
    help: "Whether the injected containers' image is read-only (git-sync writes only to its volume and `/tmp`, an emptyDir).",
  },
  {
    path: 'securityContext.seccompProfile',
    type: {
      kind: 'map',
      name: 'seccomp field → value',
      expect: 'a map such as type: RuntimeDefault, or type: Localhost with localhostProfile: profiles/git-sync.json',
      key: (raw) => parseChoice(raw, ['type', 'localhostProfile']),
      value: parseProfileValue,
    },
    help: "The injected containers' seccomp profile: `type: RuntimeDefault`, or `type: Localhost` with `localhostProfile`, a file under the kubelet's seccomp directory. `Unconfined` is refused. Capabilities are always all dropped.",
  },
];

/** The built-in value of a field: its default. */
export const fieldDefault = (field: PolicyField): unknown => valueAt(BUILTIN_POLICY, field.path.split('.'));
