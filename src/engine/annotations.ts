/**
 * The annotation contract, as data. Every annotation the injector reads is
 * defined once here: its key (without the prefix), what it holds, what is
 * allowed, its built-in default and its help text. Parsing, defaults,
 * validation, error messages and the docs' annotation table all come
 * from this table; nothing else in the code names an annotation key.
 */
import { parseChoice } from './values/choice.ts';
import { parseDuration } from './values/duration.ts';
import { parseInteger } from './values/integer.ts';
import { parseContainerList, parseEnvName, parseObjectName, parseSecretKey } from './values/names.ts';
import { parseMountPath, parseRelativePath } from './values/path.ts';
import { FILTER_FORMS, parseFilter } from './values/filter.ts';
import { parseQuantity } from './values/quantity.ts';
import { parseRef } from './values/ref.ts';
import { displayRepo, parseRepo } from './values/repo.ts';
import { displayWebhookUrl, parseWebhookUrl } from './values/webhook.ts';
import { fail, ok, type Parsed } from './values/result.ts';
import { MAX_SPARSE_PATHS, parseSparsePaths } from './values/sparse.ts';
import { quote } from './problems.ts';

export const MODES = ['auto', 'sidecar', 'native', 'init-only'] as const;
export const SUBMODULES = ['off', 'shallow', 'recursive'] as const;
export const KNOWN_HOSTS = ['policy', 'secret', 'insecure'] as const;
export const SECRET_LAYOUTS = ['auto', 'basic-auth', 'airflow', 'token', 'github-app'] as const;
/** The Secret key of a GitHub App's private key unless the pod names another (Argo CD's and Flux's name). */
export const GITHUB_APP_KEY = 'githubAppPrivateKey';

/** A GitHub App client id, such as Iv1.0123456789abcdef or Iv23liAbCdEf. */
function parseClientId(raw: string): Parsed<string> {
  if (/^[A-Za-z0-9.]{1,64}$/.test(raw)) return ok(raw);
  return fail('VALUE_NOT_ALLOWED', `${quote(raw)} is not a GitHub App client id; use the id shown on the app's settings page, such as Iv1.0123456789abcdef`);
}

/**
 * A file name in git-sync's root: one name (git-sync does not create folders
 * for it), not one of git-sync's own hidden entries. Whether it is the link
 * itself depends on the policy and is checked in plan.ts.
 */
function parseTouchFile(raw: string): Parsed<string> {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(raw)) {
    return fail('PATH_INVALID', `${quote(raw)} is not a file name; use letters, digits, '.', '_' and '-', not starting with '.', without '/', such as synced`);
  }
  return ok(raw);
}

export type Scope = 'pod' | 'repository' | 'distinct';

export interface AnnotationDef<T> {
  /** What the value is, for the docs ("duration", "git URL"). */
  type: string;
  /** What a valid value looks like, for the docs. */
  allowed: string;
  /** The built-in default as an annotation value; undefined means "not set". */
  default?: string;
  /** How the docs describe the default when it is not a plain value. */
  defaultText?: string;
  /** One or two sentences for people. */
  help: string;
  /**
   * Whether a named repository has its own value, `<name>.<key>`
   * (repositories.ts): `pod` = one value for the whole pod, never qualified;
   * `repository` = one per repository, and a named repository falls back to
   * the policy's default and enforcement like the main one; `distinct` = one
   * per repository that must differ between them, so a named repository
   * never takes the policy's (or the main repository's) value.
   */
  scope: Scope;
  parse(raw: string): Parsed<T>;
  /** How messages show a value of an annotation that may carry a secret: never with the secret. */
  display?(raw: string): string;
}

function parseBool(raw: string): Parsed<boolean> {
  if (raw === 'true') return ok(true);
  if (raw === 'false') return ok(false);
  return fail('VALUE_NOT_ALLOWED', `${quote(raw)} is not allowed; use true or false`);
}

/** A row for one resource quantity of the git-sync containers; the policy sets the default and the maximum. */
const resourceRow = (what: string, policyField: string) =>
  def({
    type: 'quantity',
    allowed: 'a Kubernetes quantity, at most the policy maximum (`limits.maxResources`)',
    defaultText: `the policy's \`${policyField}\``,
    help: `The ${what} of the git-sync containers, for a repository that needs more (or less) than the policy gives every pod.`,
    scope: 'repository',
    parse: parseQuantity,
  });

/** Keeps whether a row has a `default` in its type, so that settings with one are typed as always present. */
const def = <T, const D extends AnnotationDef<T>>(d: D & AnnotationDef<T>): D => d;

export const ANNOTATIONS = {
  inject: def({
    scope: 'pod',
    type: 'boolean',
    allowed: '`true`, `false`',
    defaultText: 'opt in by setting `repo`',
    help: '`true` opts a pod in when its namespace or preset supplies the repo; `false` opts it out even if it sets `repo`.',
    parse: parseBool,
  }),
  repo: def({
    scope: 'distinct',
    type: 'git URL',
    allowed: '`https://host/org/repo.git`, `ssh://git@host/org/repo.git`, `git@host:org/repo.git`; no credentials in the URL (no `@` but the one after an ssh user name)',
    defaultText: 'none: required',
    help: 'The repository to sync. Setting it opts the pod in.',
    parse: parseRepo,
    display: displayRepo,
  }),
  ref: def({
    scope: 'repository',
    type: 'git ref',
    allowed: 'a branch or tag name, `HEAD`, or a full 40-hex commit',
    default: 'HEAD',
    help: "What to check out. `HEAD` follows the remote's default branch.",
    parse: parseRef,
  }),
  secret: def({
    scope: 'repository',
    type: 'Secret name',
    allowed: "a Secret name in the pod's namespace",
    defaultText: 'none: public repository',
    help: 'The Secret with the credentials: HTTPS user and password, or an SSH private key. The injector only names it; it never reads it.',
    parse: parseObjectName,
  }),
  'secret-layout': def({
    scope: 'repository',
    type: 'choice',
    allowed: SECRET_LAYOUTS.map((v) => `\`${v}\``).join(', '),
    default: 'auto',
    help: 'Which keys hold the HTTPS credentials (docs/credentials.md): `auto` = any of the layouts below that hold a user and a password; `basic-auth` = `username`/`password`, password read from the file so a rotated Secret is used at the next sync; `airflow` = the Airflow chart\'s `GITSYNC_*` and/or `GIT_SYNC_*` pairs; `token` = one `token` key, with the user name `token-user` names; `github-app` = a GitHub App\'s private key (docs/github-app.md).',
    parse: (raw) => parseChoice(raw, SECRET_LAYOUTS),
  }),
  'token-user': def({
    scope: 'repository',
    type: 'name',
    allowed: 'a name from the policy\'s `tokenUsers` (built in: `github` = x-access-token, `gitlab` = oauth2, `bitbucket` = x-token-auth)',
    default: 'github',
    help: 'With `secret-layout: token`, the user name sent with the token, chosen by name from the policy\'s list.',
    parse: parseObjectName,
  }),
  'github-app-id': def({
    scope: 'repository',
    type: 'integer',
    allowed: 'a whole number: the app id on the GitHub App\'s settings page',
    defaultText: 'none',
    help: 'With `secret-layout: github-app`: the app id (or set `github-app-client-id`).',
    parse: (raw) => parseInteger(raw, 1, 9_999_999_999),
  }),
  'github-app-client-id': def({
    scope: 'repository',
    type: 'GitHub App client id',
    allowed: 'letters, digits and `.`, such as `Iv1.0123456789abcdef`',
    defaultText: 'none',
    help: 'With `secret-layout: github-app`: the app\'s client id, instead of `github-app-id`.',
    parse: parseClientId,
  }),
  'github-app-installation-id': def({
    scope: 'repository',
    type: 'integer',
    allowed: 'a whole number: the id of the app\'s installation on the organisation or repository',
    defaultText: 'none: required with `secret-layout: github-app`',
    help: 'With `secret-layout: github-app`: which installation of the app grants access to the repository.',
    parse: (raw) => parseInteger(raw, 1, 9_999_999_999),
  }),
  'github-app-key': def({
    scope: 'repository',
    type: 'Secret key',
    allowed: 'a key name in the Secret',
    default: GITHUB_APP_KEY,
    help: 'With `secret-layout: github-app`: the key in the Secret that holds the app\'s private key (PEM).',
    parse: parseSecretKey,
  }),
  'ssh-key': def({
    scope: 'repository',
    type: 'Secret key',
    allowed: 'a key name in the Secret',
    defaultText: 'whichever of `gitSshKey`, `ssh`, `ssh-privatekey` exists',
    help: 'The key in the Secret that holds the SSH private key, when it is not one of the usual names.',
    parse: parseSecretKey,
  }),
  'known-hosts': def({
    scope: 'repository',
    type: 'choice',
    allowed: KNOWN_HOSTS.map((v) => `\`${v}\``).join(', '),
    default: 'policy',
    help: "Where SSH host keys come from: the policy's list, the Secret's `known_hosts` key, or nowhere (`insecure`, only if the policy allows it).",
    parse: (raw) => parseChoice(raw, KNOWN_HOSTS),
  }),
  period: def({
    scope: 'repository',
    type: 'duration',
    allowed: 'a Go duration such as `30s`, `5m`, `1h`; at least the policy minimum',
    default: '60s',
    help: 'How often the sidecar syncs.',
    parse: parseDuration,
  }),
  depth: def({
    scope: 'repository',
    type: 'integer',
    allowed: '`0` (full history) or a positive whole number',
    default: '1',
    help: 'Clone depth.',
    parse: (raw) => parseInteger(raw, 0, 1_000_000),
  }),
  submodules: def({
    scope: 'repository',
    type: 'choice',
    allowed: SUBMODULES.map((v) => `\`${v}\``).join(', '),
    default: 'off',
    help: 'Whether to check out submodules.',
    parse: (raw) => parseChoice(raw, SUBMODULES),
  }),
  'sub-path': def({
    scope: 'repository',
    type: 'relative path',
    allowed: 'a folder inside the repository, without `..`',
    defaultText: 'repository root',
    help: 'The folder the app should read; it is part of the path given by `env`.',
    parse: parseRelativePath,
  }),
  'sparse-paths': def({
    scope: 'repository',
    type: 'list',
    allowed: `comma-separated folders inside the repository, without \`..\` or wildcards; at most ${MAX_SPARSE_PATHS}`,
    defaultText: 'none: the whole repository (`sub-path` alone does not narrow the checkout)',
    help: "Check out only these folders (and the files at the top of the repository): git's cone-mode sparse checkout. With a filter (by default `blob:none`, if the policy allows it), only their files are downloaded.",
    parse: parseSparsePaths,
  }),
  filter: def({
    scope: 'repository',
    type: 'partial clone filter',
    allowed: `${FILTER_FORMS}, one the policy allows (\`allowedFilters\`)`,
    defaultText: '`blob:none` with `sparse-paths`, if the policy allows it; else none',
    help: "git's partial clone filter: what the server leaves out of the clone. Needs a server that allows filters (`uploadpack.allowFilter`); git ignores it silently otherwise.",
    parse: parseFilter,
  }),
  'mount-path': def({
    scope: 'distinct',
    type: 'absolute path',
    allowed: 'an absolute path without `..`, not a system directory (`/`, `/etc`, `/usr`, `/tmp`, …) nor inside one that holds programs, libraries, devices or secrets (`/usr/bin`, `/proc`, `/var/run`, …)',
    default: '/git',
    help: 'Where app containers see the synced tree (read-only). The files are at `<mount-path>/<link>/<sub-path>`; the link is `repo`.',
    parse: parseMountPath,
  }),
  containers: def({
    scope: 'repository',
    type: 'list',
    allowed: "comma-separated names of the pod's containers",
    defaultText: 'all app containers',
    help: 'Which app containers get the mount and the env variable.',
    parse: parseContainerList,
  }),
  mode: def({
    scope: 'pod',
    type: 'choice',
    allowed: MODES.map((v) => `\`${v}\``).join(', '),
    default: 'auto',
    help: '`sidecar`: init container + classic sidecar; `native`: one init container with `restartPolicy: Always`; `init-only`: sync once. `auto` picks init-only for `restartPolicy` Never/OnFailure, else native where the cluster supports it, else sidecar.',
    parse: (raw) => parseChoice(raw, MODES),
  }),
  'sync-timeout': def({
    scope: 'repository',
    type: 'duration',
    allowed: 'a Go duration such as `2m`; at most the policy maximum (built in: 10m)',
    default: '120s',
    help: 'How long one sync (fetch and checkout) may take before git-sync gives it up.',
    parse: parseDuration,
  }),
  'max-failures': def({
    scope: 'repository',
    type: 'integer',
    allowed: '`-1` (retry forever) or a whole number; at most the policy maximum (built in: 10)',
    defaultText: "the policy's `gitSync.maxFailures` (built in: 3)",
    help: 'Consecutive failed syncs git-sync tolerates before it exits (and the kubelet restarts it).',
    parse: (raw) => (raw === '-1' ? ok(-1) : parseInteger(raw, 0, 1000)),
  }),
  'webhook-url': def({
    scope: 'repository',
    type: 'URL',
    allowed: 'an http(s) URL on `localhost`, `127.0.0.1` or `[::1]`, or on a host the policy lists in `limits.webhookHosts`',
    defaultText: 'none',
    help: "A URL git-sync calls (POST, header `Gitsync-Hash`) after each sync, such as the app's reload endpoint. Only the continuous git-sync calls it.",
    parse: parseWebhookUrl,
    display: displayWebhookUrl,
  }),
  'touch-file': def({
    scope: 'repository',
    type: 'relative path',
    allowed: 'a file name (letters, digits, `.`, `_`, `-`), not starting with `.`',
    defaultText: 'none',
    help: 'A file git-sync touches after each sync; app containers see it at `<mount-path>/<touch-file>` and can watch it.',
    parse: parseTouchFile,
  }),
  network: def({
    scope: 'repository',
    type: 'name',
    allowed: "a network profile defined in the policy's `networks`",
    defaultText: 'none (direct connections, the image\'s CAs)',
    help: 'Which of the policy\'s network profiles git-sync uses: proxy, CA bundle, git config and environment (docs/networks.md).',
    parse: parseObjectName,
  }),
  preset: def({
    scope: 'pod',
    type: 'name',
    allowed: 'a preset defined by the policy (built in: `airflow`)',
    defaultText: 'none',
    help: 'A named bundle of defaults from the policy. Pod annotations still win over it.',
    parse: parseObjectName,
  }),
  env: def({
    scope: 'distinct',
    type: 'env name',
    allowed: 'an environment variable name',
    defaultText: 'none (the `airflow` preset: `AIRFLOW__CORE__DAGS_FOLDER`)',
    help: 'An env variable set in the app containers to the synced folder, `<mount-path>/<link>/<sub-path>`.',
    parse: parseEnvName,
  }),
  'cpu-request': resourceRow('CPU request', 'resources.requests.cpu'),
  'cpu-limit': resourceRow('CPU limit', 'resources.limits.cpu'),
  'memory-request': resourceRow('memory request', 'resources.requests.memory'),
  'memory-limit': resourceRow('memory limit', 'resources.limits.memory'),
  'root-size-limit': def({
    scope: 'repository',
    type: 'quantity',
    allowed: 'a Kubernetes quantity, at most the policy maximum (`limits.maxRootSizeLimit`)',
    defaultText: "the policy's `gitSync.rootSizeLimit`",
    help: 'The `sizeLimit` of the volume that holds the checkout (`git-sync-root`): the kubelet evicts the pod when the checkout grows past it.',
    parse: parseQuantity,
  }),
} as const;

export type AnnotationKey = keyof typeof ANNOTATIONS;
export const ANNOTATION_KEYS = Object.keys(ANNOTATIONS) as AnnotationKey[];

/** The parsed value type of each annotation. */
export type AnnotationValues = {
  [K in AnnotationKey]: (typeof ANNOTATIONS)[K] extends AnnotationDef<infer T> ? T : never;
};

/** Annotations with a built-in default: after resolution they always have a value. */
export type DefaultedKey = { [K in AnnotationKey]: (typeof ANNOTATIONS)[K] extends { default: string } ? K : never }[AnnotationKey];

/** Raw annotation values, as written on pods, namespaces, presets and policy defaults. */
export type RawAnnotations = Partial<Record<AnnotationKey, string>>;

/** A preset's values: the main repository's, and a named repository's as `<name>.<key>` (`plugins.env`). */
export type RawPresetAnnotations = RawAnnotations & Partial<Record<`${string}.${AnnotationKey}`, string>>;

/** Annotations the injector writes itself; a pod that sets one is refused. */
export const WRITTEN_ANNOTATIONS = {
  status: 'status',
  knownHosts: 'known-hosts-data',
  caBundle: 'ca-bundle-data',
  sparseCheckout: 'sparse-checkout-data',
} as const;

export type WrittenAnnotation = (typeof WRITTEN_ANNOTATIONS)[keyof typeof WRITTEN_ANNOTATIONS];

export const isAnnotationKey = (key: string): key is AnnotationKey => Object.hasOwn(ANNOTATIONS, key);

/** A raw value as problems may show it (in `value` and in messages): without any credentials it may carry. */
export function shownValue(key: AnnotationKey, raw: string): string {
  const def: AnnotationDef<unknown> = ANNOTATIONS[key];
  return def.display ? def.display(raw) : raw;
}
