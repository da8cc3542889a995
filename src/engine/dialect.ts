/**
 * git-sync dialects: how each major version of git-sync is told the same
 * settings. The containers (gitsync.ts) and the credentials (credentials.ts)
 * decide *what* git-sync must do; a dialect only says how that version spells
 * it. v4 (the default) gets GITSYNC_* names only, never a v3 name that would
 * override its v4 equivalent. v3 is for clusters that pin a git-sync v3
 * image: its own names, with every setting whose v3 default differs from what
 * the injector means (root /tmp/git, full-history depth, branch master) set
 * explicitly.
 *
 * Facts from git-sync's release-3.x main.go: --branch (default master) is
 * cloned with `git clone -b`, so it may name a branch or a tag; --rev HEAD
 * then follows that branch, any other --rev is looked up as refs/tags/<rev>;
 * --wait is in seconds (a float); --ssh-key-file is a single file; --username
 * needs a password as well.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import type { SECRET_LAYOUTS } from './annotations.ts';
import { quote } from './problems.ts';
import { formatDuration } from './values/duration.ts';
import { fail, ok, type Parsed } from './values/result.ts';

export type DialectName = 'v4' | 'v3';
export type SecretLayout = (typeof SECRET_LAYOUTS)[number];
export type EnvPair = readonly [name: string, value: string];

/** Where the credential Secret is mounted in the git-sync containers. */
export const SECRET_MOUNT = '/etc/git-secret';

/** HTTPS credentials, as credentials.ts decided them from the settings and the policy. */
export type HttpsAuth =
  | { layout: 'auto' | 'basic-auth' | 'airflow' }
  /** `username`: the policy's user name for the token (x-access-token…). */
  | { layout: 'token'; username: string }
  | {
      layout: 'github-app';
      /** Exactly one of appId and clientId. */
      appId?: number | undefined;
      clientId?: string | undefined;
      installationId: number;
      /** The Secret key holding the private key. */
      key: string;
      /** The GitHub API base URL, for GitHub Enterprise Server; undefined: git-sync's default, api.github.com. */
      baseUrl?: string | undefined;
    };

/**
 * What the credential variables need: `mountSecret` means git-sync reads
 * files from the Secret, or the keys are optional references and the Secret
 * must be mounted for a missing Secret to fail visibly (FailedMount) instead
 * of syncing anonymously.
 */
export interface AuthWiring {
  env: V1EnvVar[];
  mountSecret: boolean;
}

export interface Dialect {
  readonly name: DialectName;
  /** Names of the settings that differ between versions only in spelling. */
  readonly names: {
    readonly repo: string;
    readonly root: string;
    readonly link: string;
    readonly depth: string;
    readonly submodules: string;
    readonly maxFailures: string;
    readonly oneTime: string;
    readonly period: string;
    readonly httpBind: string;
    readonly syncTimeout: string;
    readonly touchFile: string;
    readonly webhookUrl: string;
    readonly gitConfig: string;
    /** Partial and sparse checkout; undefined where this version cannot do it. */
    readonly sparseCheckoutFile: string | undefined;
    readonly filter: string | undefined;
  };
  /** The period as this version parses it. */
  period(ms: number): string;
  /** The sync timeout as this version parses it. */
  syncTimeout(ms: number): string;
  /** What to check out; fails (with a message completing "<ref annotation>: …") when this version cannot express the ref. */
  ref(ref: string): Parsed<EnvPair[]>;
  /** HTTPS credentials from a Secret; fails (a message completing "<secret-layout>: …") when this version cannot use them. */
  httpsAuth(secret: string, auth: HttpsAuth): Parsed<AuthWiring>;
  /** SSH: the candidate key files in order of preference; the known_hosts file, or undefined to turn host key checking off. */
  ssh(keyFiles: readonly string[], knownHostsFile: string | undefined): V1EnvVar[];
}

const fromSecret = (name: string, secret: string, key: string, optional: boolean): V1EnvVar => ({
  name,
  valueFrom: { secretKeyRef: optional ? { name: secret, key, optional: true } : { name: secret, key } },
});

const literal = (name: string, value: string): V1EnvVar => ({ name, value });

/**
 * The `auto` layout: every key name users store a user and a password under,
 * read in order into the names git-sync reads, all optional. The kubelet
 * resolves `env` in order, a later entry replaces an earlier one of the same
 * name, and an optional reference to a missing key is skipped; git-sync v4
 * reads GIT_SYNC_USERNAME/PASSWORD in preference to GITSYNC_USERNAME/PASSWORD.
 * So: the chart's GIT_SYNC_* pair wins, then its GITSYNC_* pair, then
 * username/password. The first entry is a stand-in user name that only
 * stays when the Secret holds no user at all: git-sync then stops at once
 * ("… must be specified when --username is specified") instead of syncing
 * anonymously without a word. The repeated names cost an API server warning
 * each ("hides previous definition"); docs/credentials.md weighs this.
 */
function autoLayout(secret: string, user: string, password: string): V1EnvVar[] {
  const [newUser, newPassword] = ['GITSYNC_USERNAME', 'GITSYNC_PASSWORD'];
  const [oldUser, oldPassword] = ['GIT_SYNC_USERNAME', 'GIT_SYNC_PASSWORD'];
  return [
    literal(user, `no-user-in-secret-${secret}`),
    fromSecret(user, secret, 'username', true),
    fromSecret(user, secret, newUser, true),
    fromSecret(user === newUser ? oldUser : user, secret, oldUser, true),
    fromSecret(password, secret, 'password', true),
    fromSecret(password, secret, newPassword, true),
    fromSecret(password === newPassword ? oldPassword : password, secret, oldPassword, true),
  ];
}

const unsupported = (what: string): Parsed<never> =>
  fail('DIALECT_UNSUPPORTED', `${what} needs git-sync v4; the policy's dialect is v3; use secret-layout auto, basic-auth, airflow or token`);

const V4: Dialect = {
  name: 'v4',
  names: {
    repo: 'GITSYNC_REPO',
    root: 'GITSYNC_ROOT',
    link: 'GITSYNC_LINK',
    depth: 'GITSYNC_DEPTH',
    submodules: 'GITSYNC_SUBMODULES',
    maxFailures: 'GITSYNC_MAX_FAILURES',
    oneTime: 'GITSYNC_ONE_TIME',
    period: 'GITSYNC_PERIOD',
    httpBind: 'GITSYNC_HTTP_BIND',
    syncTimeout: 'GITSYNC_SYNC_TIMEOUT',
    touchFile: 'GITSYNC_TOUCH_FILE',
    webhookUrl: 'GITSYNC_WEBHOOK_URL',
    gitConfig: 'GITSYNC_GIT_CONFIG',
    sparseCheckoutFile: 'GITSYNC_SPARSE_CHECKOUT_FILE',
    filter: 'GITSYNC_FILTER',
  },
  period: formatDuration,
  syncTimeout: formatDuration,
  ref: (ref) => ok([['GITSYNC_REF', ref]]),
  httpsAuth(secret, auth) {
    switch (auth.layout) {
      case 'auto':
        return ok({ env: autoLayout(secret, 'GITSYNC_USERNAME', 'GITSYNC_PASSWORD'), mountSecret: true });
      case 'basic-auth':
        // The password from its file, which git-sync reads again before each
        // sync: a rotated Secret is used without a restart. A missing key fails
        // visibly either way (CreateContainerConfigError, or git-sync cannot read the file).
        return ok({
          env: [fromSecret('GITSYNC_USERNAME', secret, 'username', false), literal('GITSYNC_PASSWORD_FILE', `${SECRET_MOUNT}/password`)],
          mountSecret: true,
        });
      case 'airflow': {
        // The Airflow chart's keys, each under its own name and optional, so either
        // pair alone works: v4 reads GIT_SYNC_USERNAME/PASSWORD as aliases of the
        // same two settings. No v3 setting that changes behaviour is ever emitted.
        const names = ['GITSYNC_USERNAME', 'GITSYNC_PASSWORD', 'GIT_SYNC_USERNAME', 'GIT_SYNC_PASSWORD'];
        return ok({ env: names.map((name) => fromSecret(name, secret, name, true)), mountSecret: true });
      }
      case 'token':
        return ok({ env: [literal('GITSYNC_USERNAME', auth.username), literal('GITSYNC_PASSWORD_FILE', `${SECRET_MOUNT}/token`)], mountSecret: true });
      case 'github-app': {
        const env = [literal('GITSYNC_GITHUB_APP_PRIVATE_KEY_FILE', `${SECRET_MOUNT}/${auth.key}`)];
        if (auth.appId !== undefined) env.push(literal('GITSYNC_GITHUB_APP_APPLICATION_ID', String(auth.appId)));
        if (auth.clientId !== undefined) env.push(literal('GITSYNC_GITHUB_APP_CLIENT_ID', auth.clientId));
        env.push(literal('GITSYNC_GITHUB_APP_INSTALLATION_ID', String(auth.installationId)));
        if (auth.baseUrl !== undefined) env.push(literal('GITSYNC_GITHUB_BASE_URL', auth.baseUrl));
        return ok({ env, mountSecret: true });
      }
    }
  },
  ssh(keyFiles, knownHostsFile) {
    // v4 takes a colon-separated list; ssh skips the files that do not exist.
    const env: V1EnvVar[] = [{ name: 'GITSYNC_SSH_KEY_FILE', value: keyFiles.join(':') }];
    if (knownHostsFile === undefined) env.push({ name: 'GITSYNC_SSH_KNOWN_HOSTS', value: 'false' });
    else env.push({ name: 'GITSYNC_SSH_KNOWN_HOSTS_FILE', value: knownHostsFile });
    return env;
  },
};

const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const V3_REFS = 'use a branch name (main), or a tag written as refs/tags/<tag>';

/**
 * A ref in v3 terms. Branches: --branch <name>, --rev HEAD. Tags: --branch and
 * --rev both the tag (clone -b accepts a tag; later syncs look the rev up
 * under refs/tags). A plain name cannot be told apart from a tag here, so it
 * is a branch; tags are written refs/tags/<tag>, which v4 accepts as well.
 */
function v3Ref(ref: string): Parsed<EnvPair[]> {
  if (ref === 'HEAD') {
    return fail(
      'DIALECT_UNSUPPORTED',
      `${quote(ref)} (the remote's default branch) cannot be followed by git-sync v3, the policy's dialect, which needs the branch by name; ${V3_REFS}`,
    );
  }
  if (FULL_SHA.test(ref)) {
    return fail('DIALECT_UNSUPPORTED', `${quote(ref)} is a commit, which git-sync v3, the policy's dialect, cannot fetch without its branch; ${V3_REFS}`);
  }
  const tag = /^refs\/tags\/(.+)$/.exec(ref)?.[1];
  if (tag !== undefined) return ok([['GIT_SYNC_BRANCH', tag], ['GIT_SYNC_REV', tag]]);
  if (ref.startsWith('refs/') && !ref.startsWith('refs/heads/')) {
    return fail('DIALECT_UNSUPPORTED', `${quote(ref)} is neither a branch nor a tag, which is all git-sync v3, the policy's dialect, can check out; ${V3_REFS}`);
  }
  return ok([['GIT_SYNC_BRANCH', ref.replace(/^refs\/heads\//, '')], ['GIT_SYNC_REV', 'HEAD']]);
}

const V3: Dialect = {
  name: 'v3',
  names: {
    repo: 'GIT_SYNC_REPO',
    root: 'GIT_SYNC_ROOT',
    link: 'GIT_SYNC_DEST',
    depth: 'GIT_SYNC_DEPTH',
    submodules: 'GIT_SYNC_SUBMODULES',
    maxFailures: 'GIT_SYNC_MAX_SYNC_FAILURES',
    oneTime: 'GIT_SYNC_ONE_TIME',
    period: 'GIT_SYNC_WAIT',
    httpBind: 'GIT_SYNC_HTTP_BIND',
    syncTimeout: 'GIT_SYNC_TIMEOUT',
    touchFile: 'GIT_SYNC_TOUCH_FILE',
    webhookUrl: 'GIT_SYNC_WEBHOOK_URL',
    gitConfig: 'GIT_SYNC_GIT_CONFIG',
    // --filter is v4.7.0+; sparse checkout is not offered for v3, whose handling of it is not verified here.
    sparseCheckoutFile: undefined,
    filter: undefined,
  },
  // Seconds, as a float: 1500 ms is "1.5".
  period: (ms) => String(ms / 1000),
  // Whole seconds (v3's --timeout is an int), rounded up so that no timeout becomes 0.
  syncTimeout: (ms) => String(Math.ceil(ms / 1000)),
  ref: v3Ref,
  httpsAuth(secret, auth) {
    // v3 reads only GIT_SYNC_USERNAME/PASSWORD and refuses a user without a
    // password. With a known layout both keys are required: a missing one is a
    // CreateContainerConfigError naming it, and the Secret need not be mounted.
    switch (auth.layout) {
      case 'auto':
        return ok({ env: autoLayout(secret, 'GIT_SYNC_USERNAME', 'GIT_SYNC_PASSWORD'), mountSecret: true });
      case 'basic-auth':
      case 'airflow': {
        const [user, password] = auth.layout === 'basic-auth' ? ['username', 'password'] : ['GIT_SYNC_USERNAME', 'GIT_SYNC_PASSWORD'];
        return ok({ env: [fromSecret('GIT_SYNC_USERNAME', secret, user, false), fromSecret('GIT_SYNC_PASSWORD', secret, password, false)], mountSecret: false });
      }
      case 'token':
        return ok({ env: [literal('GIT_SYNC_USERNAME', auth.username), fromSecret('GIT_SYNC_PASSWORD', secret, 'token', false)], mountSecret: false });
      case 'github-app':
        return unsupported('"github-app" (GitHub App authentication)');
    }
  },
  ssh(keyFiles, knownHostsFile) {
    // v3 takes one key file: the first candidate (the pod's ssh-key, else gitSshKey, the Airflow chart's key).
    const env: V1EnvVar[] = [
      { name: 'GIT_SYNC_SSH', value: 'true' },
      { name: 'GIT_SSH_KEY_FILE', value: keyFiles[0]! },
      { name: 'GIT_KNOWN_HOSTS', value: knownHostsFile === undefined ? 'false' : 'true' },
    ];
    if (knownHostsFile !== undefined) env.push({ name: 'GIT_SSH_KNOWN_HOSTS_FILE', value: knownHostsFile });
    return env;
  },
};

export const DIALECTS: Readonly<Record<DialectName, Dialect>> = { v4: V4, v3: V3 };
