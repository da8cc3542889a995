/**
 * Which environment variables a policy's network profile may hand git-sync,
 * checked against git-sync v4.7.1's own settings (`git-sync --man`). A
 * misspelled GITSYNC_ name is silently ignored by git-sync, a v3 GIT_SYNC_
 * name is read in preference to its v4 equivalent, and a name the injector
 * sets itself would be overridden or override it; each is refused when the
 * policy is loaded, with what to use instead. Messages complete "<field>: …".
 */
import { parseEnvName, quote } from '../engine/index.ts';

/**
 * git-sync v4.7.1's settings by environment name (without GITSYNC_), as its
 * manual lists them. `owned`: the injector sets it from an annotation, the
 * credentials or the policy, so the policy cannot set it again here.
 */
const GITSYNC_SETTINGS: Record<string, { owned: string } | { owned?: undefined }> = {
  ADD_USER: {},
  ASKPASS_URL: {},
  COOKIE_FILE: {},
  CREDENTIAL: {},
  DEPTH: { owned: 'the depth annotation' },
  ERROR_FILE: {},
  EXECHOOK_BACKOFF: {},
  EXECHOOK_COMMAND: {},
  EXECHOOK_TIMEOUT: {},
  FILTER: { owned: "the filter and sparse-paths annotations (within the policy's allowedFilters)" },
  GIT: {},
  GIT_CONFIG: { owned: 'gitConfig (and caBundle) of the profile' },
  GIT_GC: {},
  GITHUB_BASE_URL: { owned: 'githubBaseUrl' },
  GITHUB_APP_PRIVATE_KEY_FILE: { owned: 'secret-layout: github-app' },
  GITHUB_APP_INSTALLATION_ID: { owned: 'the github-app-installation-id annotation' },
  GITHUB_APP_APPLICATION_ID: { owned: 'the github-app-id annotation' },
  GITHUB_APP_CLIENT_ID: { owned: 'the github-app-client-id annotation' },
  GROUP_WRITE: {},
  HTTP_BIND: { owned: 'gitSync.httpPort' },
  HTTP_METRICS: {},
  HTTP_PPROF: {},
  INIT_MAX_FAILURES: {},
  INIT_PERIOD: {},
  LINK: { owned: 'gitSync.link' },
  MAX_FAILURES: { owned: 'the max-failures annotation (and gitSync.maxFailures)' },
  ONE_TIME: { owned: 'the mode' },
  PASSWORD: { owned: 'the secret and secret-layout annotations' },
  PASSWORD_FILE: { owned: 'the secret and secret-layout annotations' },
  PERIOD: { owned: 'the period annotation' },
  REF: { owned: 'the ref annotation' },
  REPO: { owned: 'the repo annotation' },
  ROOT: { owned: 'gitSync.root' },
  SPARSE_CHECKOUT_FILE: { owned: 'the sparse-paths annotation' },
  SSH_KEY_FILE: { owned: 'the secret and ssh-key annotations' },
  SSH_KNOWN_HOSTS: { owned: 'the known-hosts annotation' },
  SSH_KNOWN_HOSTS_FILE: { owned: 'the known-hosts annotation' },
  STALE_WORKTREE_TIMEOUT: {},
  SUBMODULES: { owned: 'the submodules annotation' },
  SYNC_ON_SIGNAL: {},
  SYNC_TIMEOUT: { owned: 'the sync-timeout annotation' },
  TOUCH_FILE: { owned: 'the touch-file annotation' },
  USERNAME: { owned: 'the secret and secret-layout annotations' },
  VERBOSE: {},
  WEBHOOK_BACKOFF: {},
  WEBHOOK_METHOD: {},
  WEBHOOK_SUCCESS_STATUS: {},
  WEBHOOK_TIMEOUT: {},
  WEBHOOK_URL: { owned: 'the webhook-url annotation' },
};

/** Names the profile sets through its own fields, and variables git-sync sets for git itself. Compared case-insensitively. */
const OTHER_OWNED: Record<string, string> = {
  HTTPS_PROXY: 'is set from httpsProxy of the profile',
  HTTP_PROXY: 'is set from httpProxy of the profile',
  NO_PROXY: 'is set from noProxy of the profile',
  ALL_PROXY: 'would route every connection; use httpsProxy and httpProxy of the profile',
  GIT_SSL_CAINFO: 'would override every http.sslCAInfo; use caBundle of the profile (or gitConfig)',
  GIT_SSL_CAPATH: 'would change which CAs git trusts; use caBundle of the profile (or gitConfig)',
  GIT_SSL_NO_VERIFY: 'would turn TLS verification off for every host; if the platform really wants that, say so per host in gitConfig (http.<url>.sslVerify)',
  SSL_CERT_FILE: "is set from caBundle of the profile (git-sync's own HTTPS requests, GitHub App tokens, trust it)",
  SSL_CERT_DIR: "would change which CAs git-sync's own HTTPS requests trust; use caBundle of the profile",
  GIT_SSH_COMMAND: 'is set by git-sync itself, from the SSH settings',
  GIT_SSH: 'would replace the ssh git-sync configures',
  GIT_ASKPASS: 'is how git-sync hands git its credentials',
  GIT_TERMINAL_PROMPT: 'is set by git-sync itself',
  GIT_CONFIG_GLOBAL: 'would hide the git config git-sync writes (credentials, gitConfig); use gitConfig of the profile',
  GIT_CONFIG_SYSTEM: 'would change the git config every git command reads; use gitConfig of the profile',
  GIT_CONFIG_NOSYSTEM: 'would change the git config every git command reads; use gitConfig of the profile',
  GIT_CONFIG_COUNT: 'sets git config behind gitConfig\'s back; use gitConfig of the profile',
  GIT_CONFIG_PARAMETERS: 'sets git config behind gitConfig\'s back; use gitConfig of the profile',
  HOME: "is where git-sync writes its git config (the image's /tmp)",
};

/** Why a policy may not give git-sync this variable, completing "<field>: "NAME" …", or undefined when it may. */
export function gitSyncEnvProblem(name: string): string | undefined {
  const upper = name.toUpperCase();
  if (upper.startsWith('GIT_SYNC_')) {
    const v4 = `GITSYNC_${upper.slice('GIT_SYNC_'.length)}`;
    return `is a git-sync v3 name, which git-sync v4 reads in preference to its v4 equivalent (${v4}) and would change a setting the injector makes; use ${v4} if it is one git-sync v4 has and the injector does not set`;
  }
  if (upper.startsWith('GITSYNC_')) {
    if (name !== upper) return `is not a git-sync setting (git-sync's names are upper-case); use ${upper}`;
    const setting = GITSYNC_SETTINGS[upper.slice('GITSYNC_'.length)];
    if (!setting) return 'is not a git-sync v4 setting (git-sync ignores unknown names without a word); see `git-sync --man` for the names';
    if (setting.owned) return `is set by the injector from ${setting.owned}; set that instead`;
    return undefined;
  }
  if (upper.startsWith('GIT_CONFIG_KEY_') || upper.startsWith('GIT_CONFIG_VALUE_')) return "sets git config behind gitConfig's back; use gitConfig of the profile";
  const other = OTHER_OWNED[upper];
  if (other) return other;
  const parsed = parseEnvName(name);
  if (!parsed.ok && parsed.code === 'ENV_NAME_INVALID') return "is not a valid environment variable name; use letters, digits and '_', not starting with a digit";
  return undefined;
}

export const envProblemMessage = (name: string, why: string): string => `${quote(name)} ${why}`;
