/**
 * The policy document's schema, as data: every field of `Policy` once, with
 * its kind of value and its help text. Defaults are not repeated here; they
 * are read from BUILTIN_POLICY. Validation, merging over the built-in policy
 * and the README's policy reference all come from this table, so a new policy
 * field is a new row (and its value in the built-in policy).
 */
import { quote, type Problem } from '../engine/problems.ts';
import { closest } from '../engine/suggest.ts';
import { parseDuration } from '../engine/values/duration.ts';
import { parseAbsolutePath } from '../engine/values/path.ts';
import { parseChoice } from '../engine/values/choice.ts';
import { ok } from '../engine/values/result.ts';
import { BUILTIN_POLICY } from './builtin.ts';
import { compilePolicy, type CompiledPolicy } from './compile.ts';
import { normaliseRepoPattern } from './repo-patterns.ts';
import {
  parseAnnotationPrefix,
  parseEnforcedKey,
  parseImage,
  parseKnownHostsLine,
  parseLinkName,
  parseNamespaceName,
  parseProfileValue,
  parseQuantity,
  quantityValue,
} from './schema-formats.ts';
import { CONCRETE_MODES } from './semantics.ts';
import { INVALID, checkField, isMap, typeProblem, typeText, type FieldType } from './schema-types.ts';
import type { Policy } from './types.ts';

export interface PolicyField {
  /** Dotted path in the document; the parts before the last one are plain groups of fields. */
  path: string;
  type: FieldType;
  /** One or two sentences for the README. */
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
    type: { kind: 'presets' },
    help: 'Named bundles of annotation values that a pod selects with the `preset` annotation. They are merged by name with the built-in presets: redefining one replaces it.',
  },
  {
    path: 'allowedRepos',
    type: {
      kind: 'list',
      name: 'repository patterns',
      expect: 'a list of repository patterns such as github.com/acme/*, gitlab.example.com/data/** or github.com/acme/dags',
      item: normaliseRepoPattern,
    },
    help: 'Repositories pods may sync: `host/org/repo` (one repository), `host/org/*` (every repository directly under `org`), `host/group/**` (under `group`, at any depth). https, ssh:// and scp-style URLs of a repository are the same repository. Empty: any repository.',
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
    type: {
      kind: 'string',
      name: 'duration',
      expect: 'a Go duration such as 10s',
      check: (raw) => {
        const d = parseDuration(raw);
        return d.ok ? ok(raw) : d;
      },
    },
    help: 'Periods below this are raised to it, with a warning.',
  },
  {
    path: 'limits.maxDepth',
    type: { kind: 'integer', min: 1, max: 1_000_000 },
    help: 'The deepest clone a pod may ask for; a deeper `depth`, or `0` (the full history), is refused. Not set: no maximum.',
  },
  {
    path: 'limits.allowedModes',
    type: {
      kind: 'list',
      name: 'modes',
      expect: `a list of modes out of ${CONCRETE_MODES.join(', ')}`,
      item: (raw) => parseChoice(raw, CONCRETE_MODES),
    },
    help: '`mode` values pods may ask for; any other is refused. `auto` is always allowed and picks among these.',
  },
  {
    path: 'knownHosts',
    type: { kind: 'list', name: 'known_hosts lines', expect: 'a list of known_hosts lines, one per item, as ssh-keyscan prints them', item: parseKnownHostsLine },
    help: 'SSH host keys of the git hosts, for pods with `known-hosts: policy`: one known_hosts line per item, as `ssh-keyscan` prints them.',
  },
  {
    path: 'allowInsecureHostKeys',
    type: { kind: 'boolean' },
    help: 'Whether pods may turn SSH host key checking off with `known-hosts: insecure`.',
  },
  {
    path: 'excludedNamespaces',
    type: { kind: 'list', name: 'namespace names', expect: 'a list of namespace names', item: parseNamespaceName },
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

function valueAt(root: unknown, path: string): unknown {
  let node = root;
  for (const part of path.split('.')) node = isMap(node) ? node[part] : undefined;
  return node;
}

/** The built-in value of a field: its default. */
export const fieldDefault = (field: PolicyField): unknown => valueAt(BUILTIN_POLICY, field.path);

// --- the README reference ---------------------------------------------------

const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (s: string): string => `\`${s}\``;

function defaultText(value: unknown): string {
  if (value === undefined) return 'none';
  if (Array.isArray(value)) return value.length ? value.map((v) => code(String(v))).join(', ') : 'none';
  if (isMap(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return 'none';
    // A map of maps (presets) is shown by its names; a map of values in full.
    return entries.map(([k, v]) => code(isMap(v) ? k : `${k}: ${String(v)}`)).join(', ');
  }
  return code(String(value));
}

/** The policy reference as a Markdown table: field, type, default, meaning. */
export function policyReferenceTable(fields: readonly PolicyField[] = POLICY_FIELDS): string {
  const rows = fields.map((f) => `| ${code(f.path)} | ${cell(typeText(f.type))} | ${cell(defaultText(fieldDefault(f)))} | ${cell(f.help)} |`);
  return ['| field | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

// --- validation ---------------------------------------------------------------

/** Fields and groups of fields by name, one level of the document. */
type Level = Map<string, PolicyField | Level>;

function levels(fields: readonly PolicyField[]): Level {
  const top: Level = new Map();
  for (const field of fields) {
    const parts = field.path.split('.');
    let level = top;
    for (const part of parts.slice(0, -1)) {
      let next = level.get(part);
      if (!(next instanceof Map)) level.set(part, (next = new Map()));
      level = next;
    }
    level.set(parts.at(-1)!, field);
  }
  return top;
}

const TOP = levels(POLICY_FIELDS);
/** Every field and group path, for suggestions. */
const ALL_PATHS = [...new Set(POLICY_FIELDS.flatMap((f) => f.path.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'))))];
const lastPart = (path: string): string => path.slice(path.lastIndexOf('.') + 1);

function suggestField(key: string, prefix: string, level: Level): string | undefined {
  const sibling = closest(key, [...level.keys()]);
  if (sibling !== undefined) return `${prefix}${sibling}`;
  // A field written at the wrong level ("minPeriod" at the top) is found by its last part, in any case.
  const match = closest(key.toLowerCase(), ALL_PATHS.map((p) => lastPart(p).toLowerCase()));
  return ALL_PATHS.find((p) => lastPart(p).toLowerCase() === match);
}

function unknownField(key: string, prefix: string, level: Level): Problem {
  const hint = suggestField(key, prefix, level);
  const message = hint ? `is not a policy field; did you mean ${hint}?` : `is not a policy field; use one of ${[...level.keys()].join(', ')}`;
  return { code: 'POLICY_FIELD_UNKNOWN', field: `${prefix}${key}`, value: key, message };
}

/**
 * Checks one level of the document and writes the good values into `out`,
 * which starts as the built-in values of that level.
 */
function checkLevel(doc: Record<string, unknown>, level: Level, prefix: string, out: Record<string, unknown>, problems: Problem[]): void {
  for (const [key, value] of Object.entries(doc)) {
    // Parsed YAML never holds undefined; a document built in code that does means "not given" (limits.maxDepth).
    if (value === undefined) continue;
    const field = `${prefix}${key}`;
    const node = level.get(key);
    if (node === undefined) {
      problems.push(unknownField(key, prefix, level));
    } else if (node instanceof Map) {
      // A heading with everything under it commented out is an empty map in YAML terms: nothing given.
      if (value === null) continue;
      if (!isMap(value)) problems.push(typeProblem(field, value, 'a map', `a map with ${[...node.keys()].join(', ')}`));
      else checkLevel(value, node, `${field}.`, (out[key] ??= {}) as Record<string, unknown>, problems);
    } else {
      const checked = checkField(node.type, value, field, out[key], problems);
      if (checked !== INVALID) out[key] = checked;
    }
  }
}

/** A request above its limit makes the API server refuse every injected pod. */
function checkRequestsWithinLimits(policy: Policy, problems: Problem[]): void {
  const { requests = {}, limits = {} } = policy.resources;
  for (const [name, request] of Object.entries(requests)) {
    const limit = limits[name];
    if (limit !== undefined && quantityValue(request) > quantityValue(limit)) {
      problems.push({
        code: 'POLICY_VALUE_INVALID',
        field: `resources.requests.${name}`,
        value: request,
        message: `${quote(request)} is more than the limit ${quote(limit)} (resources.limits.${name}); Kubernetes refuses a request above its limit`,
      });
    }
  }
}

export interface PolicyValidation {
  /** The merged policy, when there is no problem. */
  policy?: Policy;
  /** The merged policy compiled, when there is no problem. */
  compiled?: CompiledPolicy;
  problems: Problem[];
}

/**
 * Validates a policy document (parsed YAML or JSON) and merges it over the
 * built-in policy: fields not given keep their built-in value, presets merge
 * by name. Every problem is reported at once: a bad field is replaced by its
 * built-in value so the rest of the document, down to the annotation values
 * in defaults and presets, is still checked. An empty document (null) is the
 * built-in policy.
 */
export function validatePolicyDocument(doc: unknown): PolicyValidation {
  const problems: Problem[] = [];
  const merged = structuredClone(BUILTIN_POLICY) as unknown as Record<string, unknown>;
  if (isMap(doc)) checkLevel(doc, TOP, '', merged, problems);
  else if (doc !== null && doc !== undefined) problems.push(typeProblem('', doc, 'a map of policy fields', `a map with ${[...TOP.keys()].join(', ')}`));
  // Every field went through its row, so the merged object has the shape of a Policy.
  const policy = merged as unknown as Policy;
  if (!problems.some((p) => p.field.startsWith('resources.'))) checkRequestsWithinLimits(policy, problems);
  const compiled = compilePolicy(policy);
  if (!compiled.ok) problems.push(...compiled.problems);
  return compiled.ok && problems.length === 0 ? { policy, compiled: compiled.compiled, problems } : { problems };
}

