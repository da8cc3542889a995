/**
 * What the webhook-free export does with each annotation, as data: exported
 * exactly, exported with a named difference, or served only by the webhook.
 * The export's checks read the envelope (the values it serves) from here,
 * and docs/webhook-free.md's feature table is generated from it.
 *
 * An envelope is a regex that means the same in RE2 (the API server) and
 * JavaScript, chosen so that every value inside it is one the engine passes
 * through unchanged (or, for durations, one whose output a check computes
 * and a property test compares with the engine's). A value outside it is
 * not guessed at: the pod is refused with a message that says the webhook
 * serves it. A smaller envelope that is exact beats a larger one that drifts.
 */
import type { AnnotationKey } from '../engine/index.ts';

export type Decision = 'exported' | 'difference' | 'webhook-only';

export interface AnnotationExport {
  decision: Decision;
  /** Values a pod or namespace may write for the export to serve it (exported rows). */
  envelope?: RegExp;
  /** What the envelope allows, for messages and the docs. */
  allowed?: string;
  /** Whether the value may carry a secret: messages never repeat a value outside the envelope. */
  secret?: boolean;
  /** The difference, or why it is webhook-only; for the docs. */
  note: string;
}

// The last label starts with a letter: a host whose last label is a number is read as an IPv4 address by URL parsers.
const HOST = '(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.){0,10}[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?';
const PORT = '(?::[1-9][0-9]{0,3})?';
const REPO_PATH = '[A-Za-z0-9_][A-Za-z0-9._~+-]{0,99}(?:/[A-Za-z0-9_][A-Za-z0-9._~+-]{0,99}){0,9}';
const DNS_SUBDOMAIN = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?){0,3}';
const DNS_LABEL = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';
const PATH_SEGMENT = '[A-Za-z0-9_][A-Za-z0-9._-]{0,62}';

export const REPO_HTTPS = new RegExp(`^https://${HOST}${PORT}/${REPO_PATH}$`);
export const REPO_SSH = new RegExp(`^(?:ssh://git@${HOST}${PORT}/|git@${HOST}:)${REPO_PATH}$`);

const webhookOnly = (note: string): AnnotationExport => ({ decision: 'webhook-only', note });

export const ANNOTATION_EXPORT: Record<AnnotationKey, AnnotationExport> = {
  inject: { decision: 'exported', envelope: /^(?:true|false)$/, allowed: 'true or false', note: 'opts in and out as with the webhook, from the pod, the preset, the namespace or the policy' },
  repo: {
    decision: 'exported',
    envelope: new RegExp(`${REPO_HTTPS.source}|${REPO_SSH.source}`),
    allowed: 'https://host/org/repo.git, ssh://git@host/org/repo.git or git@host:org/repo.git, with a lower-case host, no port above 9999, no credentials',
    secret: true,
    note: 'one repository per pod; per-repository annotations (`<name>.repo`, several repositories) are webhook-only',
  },
  ref: {
    decision: 'exported',
    envelope: /^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}(?:[./][A-Za-z0-9_-]{1,100}){0,9}$/,
    allowed: "a branch, tag or commit of letters, digits, '_' and '-', parts joined by '/' or '.'",
    note: 'the abbreviated-commit warning is webhook-only',
  },
  secret: { decision: 'exported', envelope: new RegExp(`^${DNS_SUBDOMAIN}$`), allowed: 'a Secret name', note: 'named, never read, as with the webhook' },
  'secret-layout': {
    decision: 'exported',
    envelope: /^(?:auto|basic-auth|airflow|token)$/,
    allowed: 'auto, basic-auth, airflow or token',
    note: '`github-app` is webhook-only',
  },
  'token-user': { decision: 'exported', envelope: new RegExp(`^${DNS_SUBDOMAIN}$`), allowed: "a name from the policy's tokenUsers", note: '' },
  'github-app-id': webhookOnly('GitHub App credentials are served by the webhook only'),
  'github-app-client-id': webhookOnly('GitHub App credentials are served by the webhook only'),
  'github-app-installation-id': webhookOnly('GitHub App credentials are served by the webhook only'),
  'github-app-key': webhookOnly('GitHub App credentials are served by the webhook only'),
  'ssh-key': { decision: 'exported', envelope: /^[A-Za-z0-9_-][-._A-Za-z0-9]{0,252}$/, allowed: "a Secret key of letters, digits, '-', '_' and '.', not starting with '.'", note: '' },
  'known-hosts': { decision: 'exported', envelope: /^(?:policy|secret|insecure)$/, allowed: 'policy, secret or insecure', note: "the policy's host keys are published in an annotation, as the webhook does" },
  period: {
    decision: 'exported',
    envelope: /^(?:[0-9]{1,2}h(?:[0-9]{1,4}m)?(?:[0-9]{1,5}s)?|[0-9]{1,4}m(?:[0-9]{1,5}s)?|[0-9]{1,5}s)$/,
    allowed: 'whole hours, minutes and seconds, such as 30s, 5m or 1h30m',
    note: "raised to the policy minimum as the webhook does; the PERIOD_RAISED warning is webhook-only",
  },
  depth: { decision: 'exported', envelope: /^(?:0|[1-9][0-9]{0,5})$/, allowed: '0 or a whole number without leading zeros', note: '' },
  submodules: { decision: 'exported', envelope: /^(?:off|shallow|recursive)$/, allowed: 'off, shallow or recursive', note: '' },
  'sub-path': {
    decision: 'exported',
    envelope: new RegExp(`^${PATH_SEGMENT}(?:/${PATH_SEGMENT}){0,15}$`),
    allowed: "folders of letters, digits, '.', '_' and '-', not starting with '.', joined by single '/'",
    note: '',
  },
  'sparse-paths': webhookOnly('sparse checkout needs the sparse-checkout file the webhook writes from the validated list'),
  filter: webhookOnly('partial clone filters depend on sparse-paths and the policy'),
  'mount-path': {
    decision: 'exported',
    envelope: new RegExp(`^(?:/${PATH_SEGMENT}){1,16}$`),
    allowed: "an absolute path of folders of letters, digits, '.', '_' and '-', without a trailing '/'",
    note: '',
  },
  containers: { decision: 'exported', envelope: new RegExp(`^${DNS_LABEL}(?:, ?${DNS_LABEL}){0,19}$`), allowed: "container names joined by ',' or ', '", note: '' },
  mode: {
    decision: 'exported',
    envelope: /^(?:auto|sidecar|native|init-only)$/,
    allowed: 'auto, sidecar, native or init-only',
    note: "`auto` chooses as the webhook does; native sidecar support is a fact given at export (the webhook reads it from the nodes); the SIDECAR_KEEPS_POD_RUNNING warning is webhook-only",
  },
  'sync-timeout': {
    decision: 'exported',
    envelope: /^(?:[0-9]{1,2}h(?:[0-9]{1,4}m)?(?:[0-9]{1,5}s)?|[0-9]{1,4}m(?:[0-9]{1,5}s)?|[0-9]{1,5}s)$/,
    allowed: 'whole hours, minutes and seconds, such as 90s or 5m',
    note: 'checked against the policy maximum as the webhook does',
  },
  'max-failures': { decision: 'exported', envelope: /^(?:-1|0|[1-9][0-9]{0,2})$/, allowed: '-1, 0 or a whole number up to 999 without leading zeros', note: 'checked against the policy maximum as the webhook does' },
  'webhook-url': webhookOnly('host checks against the policy are served by the webhook only'),
  'touch-file': webhookOnly('served by the webhook only in this version'),
  network: webhookOnly("network profiles (proxies, CA bundles, git config) are served by the webhook only"),
  preset: { decision: 'exported', envelope: new RegExp(`^${DNS_SUBDOMAIN}$`), allowed: 'a preset of the policy', note: "a preset's values are baked into the export" },
  env: {
    decision: 'exported',
    envelope: /^[A-Z_][A-Z0-9_]{0,127}$/,
    allowed: "upper-case letters, digits and '_', not starting with a digit",
    note: 'an app container that already sets the variable keeps its own, as with the webhook; the ENV_ALREADY_SET and ENV_FROM_MAY_SET warnings are webhook-only',
  },
  'cpu-request': webhookOnly('quantities compared with the policy maximum are served by the webhook only'),
  'cpu-limit': webhookOnly('quantities compared with the policy maximum are served by the webhook only'),
  'memory-request': webhookOnly('quantities compared with the policy maximum are served by the webhook only'),
  'memory-limit': webhookOnly('quantities compared with the policy maximum are served by the webhook only'),
  'root-size-limit': webhookOnly('quantities compared with the policy maximum are served by the webhook only'),
};

/** Behaviour that is not one annotation: how the export stands on each, for the docs table. */
export const OTHER_FEATURES: readonly { feature: string; decision: Decision; note: string }[] = [
  { feature: 'status annotation', decision: 'difference', note: 'written with `"engine":"admission-policy"` in place of `config`: CEL has no hash; `policy` is the exported policy\'s hash, so `audit` and `uninject` read it as usual' },
  { feature: 'several repositories (`<name>.` annotations)', decision: 'webhook-only', note: 'a pod that uses them is refused with a message naming them' },
  { feature: 'names already used by the pod', decision: 'webhook-only', note: 'the webhook renames its containers and volumes (`git-sync-2`); the export refuses a pod that already uses or refers to one of the names it adds' },
  { feature: "git-sync's port already used by the pod", decision: 'webhook-only', note: 'the webhook moves the port; the export refuses the pod' },
  { feature: 'hostNetwork pods', decision: 'webhook-only', note: 'the host port the webhook declares is not exported' },
  { feature: 'warnings (`PERIOD_RAISED`, `ENFORCED_VALUE_USED`, `SETTING_IGNORED`, …)', decision: 'difference', note: 'the API server gives no warnings for an injected pod; `check` and the preview still show them' },
  { feature: 'suggestions for misspelt annotations (`UNKNOWN_ANNOTATION`)', decision: 'difference', note: 'no warning: unknown annotations are ignored, as the webhook ignores them' },
  { feature: 'YAML-level warnings (duplicate keys…)', decision: 'webhook-only', note: 'the API server sees JSON; `inject` and `check` still give them' },
  { feature: '`onInvalidAnnotations: admit`', decision: 'exported', note: 'the ValidatingAdmissionPolicy binding uses `validationActions: [Warn]`: the pod is admitted untouched, with the problems as warnings' },
  { feature: '`nativeSidecars: auto`', decision: 'difference', note: 'the export needs the answer: `--native-sidecars supported|unsupported`, or read from the nodes with `--kubeconfig`/`--context`' },
  { feature: 'policy `dialect: v3`', decision: 'webhook-only', note: 'the export refuses such a policy' },
  { feature: 'policy `allowedRepos`', decision: 'exported', note: 'patterns become anchored regexes over the repository URL' },
];
