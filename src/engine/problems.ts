/**
 * Problems are what the engine has to say to people: errors that stop an
 * injection and warnings that accompany one. Each has a stable code (for
 * scripts, dashboards and documentation), the annotation or field it is
 * about, the offending value and a sentence that says what is allowed.
 */

/**
 * Every code the engine can emit, with a one-line description for the docs.
 * The policy's own codes (a policy that does not load) are in policy/problems.ts.
 */
export const PROBLEM_CODES = {
  // errors: the pod is denied (or admitted untouched, if the policy says so)
  REPO_REQUIRED: 'the pod opted in but no repository is set on the pod, its namespace or its preset',
  REPO_INVALID: 'the repository is not an https://, ssh:// or scp-style git URL',
  REPO_CREDENTIALS_IN_URL: 'the repository URL carries a password or token, or an @ anywhere but after an ssh user name',
  REF_INVALID: 'the ref is not a valid branch or tag name, HEAD, or a full 40-hex commit',
  DURATION_INVALID: 'the value is not a Go duration such as 30s or 5m',
  INTEGER_INVALID: 'the value is not a whole number in range',
  QUANTITY_INVALID: 'the value is not a Kubernetes quantity such as 100m, 64Mi or 1Gi',
  VALUE_NOT_ALLOWED: 'the value is not one of the allowed values',
  PATH_INVALID: 'the path is not absolute, contains .. or characters Kubernetes refuses',
  MOUNT_PATH_NOT_ALLOWED: 'the mount path is a system directory (/etc, /usr, /tmp…) or inside one that holds programs, libraries, devices or secrets (/usr/bin, /proc, /var/run…)',
  NAME_INVALID: 'the value is not a valid Kubernetes object or container name',
  SECRET_KEY_INVALID: 'the value is not a valid Secret key name',
  ENV_NAME_INVALID: 'the value is not a valid environment variable name',
  ENV_NAME_NOT_ALLOWED: 'the env variable changes how programs are found, loaded or configured (PATH, LD_PRELOAD, PYTHONPATH, HOME, KUBERNETES_*…)',
  PRESET_UNKNOWN: 'the preset is not defined by the policy',
  CONTAINER_NOT_FOUND: 'a container named in the containers annotation is not in the pod',
  MOUNT_PATH_IN_USE: 'an app container already mounts something at the mount path',
  SSH_NEEDS_SECRET: 'an SSH repository needs a Secret with the private key',
  KNOWN_HOSTS_UNAVAILABLE: 'known-hosts: policy but the policy lists no host keys',
  INSECURE_HOST_KEYS_FORBIDDEN: 'known-hosts: insecure but the policy does not allow it',
  NATIVE_SIDECARS_UNSUPPORTED: 'mode: native but the cluster does not support native sidecars',
  RESERVED_ANNOTATION: 'the pod sets an annotation that only the injector may write',
  PROCESS_NAMESPACE_SHARED: 'the pod shares its process namespace between containers (shareProcessNamespace) or with the node (hostPID), where its containers could read git-sync\'s credentials through /proc',
  REPO_NOT_ALLOWED: 'the repository matches none of the policy\'s allowed repository patterns',
  SETTING_ENFORCED: 'the pod or namespace sets a value that the policy enforces strictly',
  DEPTH_ABOVE_MAXIMUM: 'the clone depth is above the policy maximum (0, full history, is above any maximum)',
  MODE_NOT_ALLOWED: 'the mode is not one the policy allows, or auto finds none of the allowed modes usable',
  FILTER_NOT_ALLOWED: 'the partial clone filter is not one the policy allows (allowedFilters)',
  SUB_PATH_OUTSIDE_SPARSE: 'sub-path is outside every folder of sparse-paths, so the app would find no files there',
  RESOURCE_ABOVE_MAXIMUM: 'a CPU or memory request or limit, or the root size limit, is above the policy maximum',
  RESOURCE_REQUEST_ABOVE_LIMIT: 'a request of the git-sync containers would be above their limit, which Kubernetes refuses',
  DIALECT_UNSUPPORTED: 'the setting cannot be expressed for git-sync v3, the policy\'s dialect',
  URL_INVALID: 'the value is not a plain http(s) URL without credentials, query or fragment',
  SECRET_REQUIRED: 'the secret layout reads a token or private key from a Secret, but no secret is set',
  TOKEN_USER_UNKNOWN: 'token-user names no user in the policy\'s tokenUsers',
  GITHUB_APP_INCOMPLETE: 'secret-layout github-app without an app id or client id (or with both), or without an installation id',
  NETWORK_UNKNOWN: 'the network profile is not defined by the policy',
  SYNC_TIMEOUT_ABOVE_MAXIMUM: 'the sync timeout is above the policy maximum',
  MAX_FAILURES_ABOVE_MAXIMUM: 'max-failures is above the policy maximum (-1, retry forever, needs the policy to allow it)',
  REPOSITORY_NAME_INVALID: 'the name in a per-repository annotation (<name>.repo) is not a short DNS label, or is init or begins with init-',
  TOO_MANY_REPOSITORIES: 'the pod asks for more repositories than the policy allows per pod (limits.maxRepositories)',
  MOUNT_PATHS_OVERLAP: 'two repositories of the pod would be mounted at the same path, or one inside the other',
  ENV_NAME_DUPLICATE: 'two repositories of the pod would set the same env variable in one container',
  WEBHOOK_HOST_NOT_ALLOWED: 'the webhook URL names a host other than the pod itself that the policy does not list',
  // warnings: the pod is injected, with a note
  UNKNOWN_ANNOTATION: 'an annotation with the prefix is not one the injector knows',
  PERIOD_RAISED: 'the period is below the policy minimum and was raised to it',
  PRESET_OVERRIDE: 'the preset replaced a value that the namespace set',
  ENFORCED_VALUE_USED: 'the pod or namespace set a value that the policy enforces; the policy\'s value was used',
  SETTING_IGNORED: 'a setting has no effect for this repository or mode',
  ENV_ALREADY_SET: 'an app container already sets the env variable; it was left as is',
  ENV_FROM_MAY_SET: 'an app container has envFrom, which may set the env variable; the injected value takes precedence over it',
  REF_LOOKS_ABBREVIATED: 'the ref looks like an abbreviated commit, which git-sync cannot fetch',
  SIDECAR_KEEPS_POD_RUNNING: 'a classic sidecar keeps a run-to-completion pod from finishing',
  ANNOTATIONS_ON_WORKLOAD: 'annotations with the prefix are on a workload\'s own metadata, which the injector never sees; they belong on its pod template',
} as const;

export type ProblemCode = keyof typeof PROBLEM_CODES;

/**
 * Errors that are the policy refusing a pod that is otherwise well-formed
 * (HTTP 403 Forbidden in the admission response), as opposed to a value that
 * is wrong in itself (400 Bad Request).
 */
export const POLICY_REFUSALS: ReadonlySet<ProblemCode> = new Set<ProblemCode>([
  'REPO_NOT_ALLOWED',
  'SETTING_ENFORCED',
  'DEPTH_ABOVE_MAXIMUM',
  'MODE_NOT_ALLOWED',
  'INSECURE_HOST_KEYS_FORBIDDEN',
  'SYNC_TIMEOUT_ABOVE_MAXIMUM',
  'MAX_FAILURES_ABOVE_MAXIMUM',
  'WEBHOOK_HOST_NOT_ALLOWED',
  'FILTER_NOT_ALLOWED',
  'RESOURCE_ABOVE_MAXIMUM',
  'TOO_MANY_REPOSITORIES',
]);

export interface Problem {
  code: ProblemCode;
  /** The annotation key (with prefix) or field path the problem is about. */
  field: string;
  /** The offending value as the user wrote it, when there is one. */
  value?: string;
  /** A full sentence for people: what is wrong and what is allowed. */
  message: string;
}

/**
 * Characters that change how text reads without being seen: the bidirectional
 * embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), the
 * direction marks (U+200E, U+200F, U+061C), and the zero-width ones
 * (U+200B–U+200D, U+2060–U+2064, U+FEFF).
 */
export const INVISIBLE_CHARS = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;
const INVISIBLE_ALL = new RegExp(INVISIBLE_CHARS.source, 'g');

/** A character as a message writes it: U+202E. */
export const codePoint = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Values are quoted in messages; very long ones are cut so a message stays
 * readable, and invisible characters are written as \u escapes, so that a
 * message shows the value as it is stored, not as a terminal would reorder it.
 */
export function quote(value: string, max = 80): string {
  const shown = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(shown).replace(INVISIBLE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line per problem, as users see it in kubectl output and logs. */
export function formatProblem(p: Problem): string {
  return `${p.field}: ${p.message} [${p.code}]`;
}
