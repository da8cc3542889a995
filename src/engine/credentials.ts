/**
 * Credentials by reference. The injector never reads a Secret: it names one,
 * and Kubernetes reports a missing Secret or key in the pod's events. Each
 * layout users already have is wired so that it works as it is.
 *
 * How git-sync is told about them depends on the policy's dialect
 * (dialect.ts); with v4, the default:
 *
 * HTTPS (docs/credentials.md has the table)
 *   auto        the default: username/password, the Airflow chart's
 *               GITSYNC_* pair, its GIT_SYNC_* pair, or all four keys, read
 *               as optional references in order (dialect.ts autoLayout); a
 *               Secret holding no user makes git-sync stop at once, and a
 *               missing Secret is a FailedMount (it is mounted).
 *   basic-auth  username (required) and the password read from its file,
 *               which git-sync reads again before each sync: rotation works.
 *   airflow     the chart's GITSYNC_USERNAME/GITSYNC_PASSWORD and/or
 *               GIT_SYNC_USERNAME/GIT_SYNC_PASSWORD, each under its own name,
 *               optional, so either pair alone works; no duplicate names.
 *   token       one `token` key, read from its file, with the user name the
 *               policy's tokenUsers gives for `token-user`.
 *   github-app  a GitHub App's private key from the Secret, the app (or
 *               client) id and installation id from annotations: git-sync
 *               asks GitHub for a short-lived token itself.
 *
 * SSH
 *   The whole Secret is mounted read-only at /etc/git-secret with mode 0444
 *   and git-sync is given every usual key name (gitSshKey, ssh,
 *   ssh-privatekey) or the one the pod names; ssh skips names that do not
 *   exist (git-sync v3 takes one file: the first of these).
 *   Why 0444 is safe, and why the pod's fsGroup is left alone: the kubelet
 *   writes Secret files owned by root. OpenSSH refuses a key that others may
 *   read ("UNPROTECTED PRIVATE KEY FILE") only when the file is owned by the
 *   user running ssh, so git-sync (UID 65533, never root: runAsNonRoot) reads
 *   a root-owned 0444 key without complaint (test/unit/ssh-key-mode.test.ts
 *   shows it with the real ssh-keygen). Who else can read it is decided by
 *   the mount, not the mode: only the git-sync containers mount the Secret,
 *   every process in them is git-sync, and a pod whose containers share a
 *   process namespace (where /proc would reach it) is refused (plan.ts,
 *   SHARED_PROCESS_FIELDS). An earlier design used 0440 and gave
 *   pods without one fsGroup 65533 so git-sync could read through the group;
 *   that made the kubelet re-group every volume of the pod, PVCs included,
 *   for no gain (docs/decisions.md).
 *
 *   Host keys: `policy` projects the policy's known_hosts lines from a pod
 *   annotation through a downwardAPI volume, so no object has to exist in the
 *   pod's namespace and nothing needs RBAC on Secrets; `secret` reads the
 *   Secret's known_hosts key; `insecure` turns checking off where allowed.
 */
import type { V1EnvVar, V1Volume } from '@kubernetes/client-node';
import { quote, type Problem } from './problems.ts';
import type { Settings } from './settings.ts';
import type { GitRepo } from './values/repo.ts';
import type { EnginePolicy } from './context.ts';
import { SECRET_MOUNT, type HttpsAuth } from './dialect.ts';
import { WRITTEN_ANNOTATIONS } from './annotations.ts';
import { publishedPath, type PublishedFile } from './published.ts';

export { SECRET_MOUNT };
export const KNOWN_HOSTS_MOUNT = '/etc/git-known-hosts';
export const SSH_KEY_NAMES = ['gitSshKey', 'ssh', 'ssh-privatekey'] as const;
/** Mode of the mounted Secret files: readable by every user of the git-sync containers, the only ones that mount them. */
export const SECRET_FILE_MODE = 0o444;

export interface CredentialWiring {
  env: V1EnvVar[];
  /** Volumes to add, by role; their names are chosen later. */
  secretVolume?: Omit<V1Volume, 'name'>;
  /** The policy's known_hosts lines, published on the pod (published.ts) for `known-hosts: policy`. */
  knownHosts?: PublishedFile;
  errors: Problem[];
  warnings: Problem[];
}

type CredentialKey = 'secret-layout' | 'ssh-key' | 'known-hosts' | 'token-user' | 'github-app-id' | 'github-app-client-id' | 'github-app-installation-id' | 'github-app-key';
const TOKEN_KEYS = ['token-user'] as const;
const GITHUB_APP_KEYS = ['github-app-id', 'github-app-client-id', 'github-app-installation-id', 'github-app-key'] as const;

/** A warning for a setting the pod wrote that has no effect for this repository. */
function ignored(settings: Settings, key: CredentialKey, why: string): Problem[] {
  const s = settings[key];
  if (!s || s.source !== 'pod') return [];
  return [{ code: 'SETTING_IGNORED', field: s.field, value: s.raw, message: `${quote(s.raw)} has no effect: ${why}` }];
}
const ignoredAll = (settings: Settings, keys: readonly CredentialKey[], why: string): Problem[] => keys.flatMap((k) => ignored(settings, k, why));

/** The HTTPS credentials the settings ask for, or the problems that stop them. */
function httpsAuth(settings: Settings, policy: EnginePolicy, errors: Problem[], warnings: Problem[]): HttpsAuth | undefined {
  const layout = settings['secret-layout'];
  const prefix = policy.prefix;
  if (layout.value !== 'token') warnings.push(...ignoredAll(settings, TOKEN_KEYS, `secret-layout is ${layout.value}, not token`));
  if (layout.value !== 'github-app') warnings.push(...ignoredAll(settings, GITHUB_APP_KEYS, `secret-layout is ${layout.value}, not github-app`));
  switch (layout.value) {
    case 'auto':
    case 'basic-auth':
    case 'airflow':
      return { layout: layout.value };
    case 'token': {
      const user = settings['token-user'];
      const username = policy.tokenUsers.get(user.value);
      if (username === undefined) {
        const known = [...policy.tokenUsers.keys()];
        errors.push({
          code: 'TOKEN_USER_UNKNOWN',
          field: user.field,
          value: user.raw,
          message: `${quote(user.raw)} is not one of the policy's token users; use one of ${known.length ? known.join(', ') : '(none defined: ask the platform team to add tokenUsers)'}`,
        });
        return undefined;
      }
      return { layout: 'token', username };
    }
    case 'github-app': {
      const appId = settings['github-app-id'];
      const clientId = settings['github-app-client-id'];
      const installation = settings['github-app-installation-id'];
      const before = errors.length;
      if (!appId && !clientId) {
        errors.push({
          code: 'GITHUB_APP_INCOMPLETE',
          field: layout.field,
          value: layout.raw,
          message: `"github-app" needs the app: set ${prefix}github-app-id (or ${prefix}github-app-client-id)`,
        });
      } else if (appId && clientId) {
        errors.push({
          code: 'GITHUB_APP_INCOMPLETE',
          field: clientId.field,
          value: clientId.raw,
          message: `names the app a second time (${prefix}github-app-id is ${quote(appId.raw)}); set only one of them`,
        });
      }
      if (!installation) {
        errors.push({
          code: 'GITHUB_APP_INCOMPLETE',
          field: layout.field,
          value: layout.raw,
          message: `"github-app" needs the installation: set ${prefix}github-app-installation-id (the number at the end of the installation's settings URL)`,
        });
      }
      if (errors.length > before || !installation) return undefined;
      return {
        layout: 'github-app',
        appId: appId?.value,
        clientId: clientId?.value,
        installationId: installation.value,
        key: settings['github-app-key'].value,
        baseUrl: policy.githubBaseUrl,
      };
    }
  }
}

export function wireCredentials(repo: GitRepo, settings: Settings, policy: EnginePolicy): CredentialWiring {
  const secret = settings.secret?.value;
  const wiring: CredentialWiring = { env: [], errors: [], warnings: [] };
  const secretVolume = (defaultMode?: number): Omit<V1Volume, 'name'> => ({
    secret: defaultMode === undefined ? { secretName: secret! } : { secretName: secret!, defaultMode },
  });

  if (repo.transport === 'https') {
    wiring.warnings.push(...ignored(settings, 'ssh-key', 'the repository uses HTTPS'), ...ignored(settings, 'known-hosts', 'the repository uses HTTPS'));
    if (secret === undefined) {
      const layout = settings['secret-layout'];
      if (layout.value === 'github-app' || layout.value === 'token') {
        wiring.errors.push({
          code: 'SECRET_REQUIRED',
          field: layout.field,
          value: layout.raw,
          message: `${quote(layout.raw)} reads ${layout.value === 'token' ? 'the token' : "the app's private key"} from a Secret; set ${policy.prefix}secret to the Secret's name`,
        });
        return wiring;
      }
      const why = 'no secret is set';
      wiring.warnings.push(...ignored(settings, 'secret-layout', why), ...ignoredAll(settings, [...TOKEN_KEYS, ...GITHUB_APP_KEYS], why));
      return wiring;
    }
    const auth = httpsAuth(settings, policy, wiring.errors, wiring.warnings);
    if (!auth) return wiring;
    const layout = settings['secret-layout'];
    const wired = policy.dialect.httpsAuth(secret, auth);
    if (!wired.ok) {
      wiring.errors.push({ code: wired.code, field: layout.field, value: layout.raw, message: wired.message });
      return wiring;
    }
    wiring.env.push(...wired.value.env);
    if (wired.value.mountSecret) wiring.secretVolume = secretVolume(SECRET_FILE_MODE);
    return wiring;
  }

  // SSH
  const sshWhy = 'the repository uses SSH';
  wiring.warnings.push(...ignored(settings, 'secret-layout', sshWhy), ...ignoredAll(settings, [...TOKEN_KEYS, ...GITHUB_APP_KEYS], sshWhy));
  const repoField = settings.repo!.field;
  if (secret === undefined) {
    wiring.errors.push({
      code: 'SSH_NEEDS_SECRET',
      field: repoField,
      value: repo.url,
      message: `${quote(repo.url)} is an SSH repository, which needs a private key; set ${policy.prefix}secret to a Secret holding it (key gitSshKey, ssh or ssh-privatekey), or use an https:// URL`,
    });
    return wiring;
  }
  wiring.secretVolume = secretVolume(SECRET_FILE_MODE);
  const keyName = settings['ssh-key']?.value;
  const keyFiles = (keyName ? [keyName] : SSH_KEY_NAMES).map((k) => `${SECRET_MOUNT}/${k}`);

  const knownHosts = settings['known-hosts'];
  /** The known_hosts file git-sync reads; undefined turns host key checking off. */
  let knownHostsFile: string | undefined;
  switch (knownHosts.value) {
    case 'policy':
      if (!policy.knownHostsData) {
        wiring.errors.push({
          code: 'KNOWN_HOSTS_UNAVAILABLE',
          field: knownHosts.field,
          value: knownHosts.raw,
          message: `"policy" needs SSH host keys from the policy, which lists none; ask the platform team to add the host's keys, or set ${policy.prefix}known-hosts: secret and add a known_hosts key to the Secret`,
        });
        break;
      }
      wiring.knownHosts = {
        annotation: WRITTEN_ANNOTATIONS.knownHosts,
        volume: 'git-sync-known-hosts',
        mountPath: KNOWN_HOSTS_MOUNT,
        file: 'known_hosts',
        data: policy.knownHostsData,
      };
      knownHostsFile = publishedPath(wiring.knownHosts);
      break;
    case 'secret':
      knownHostsFile = `${SECRET_MOUNT}/known_hosts`;
      break;
    case 'insecure':
      if (!policy.allowInsecureHostKeys) {
        wiring.errors.push({
          code: 'INSECURE_HOST_KEYS_FORBIDDEN',
          field: knownHosts.field,
          value: knownHosts.raw,
          message: `"insecure" turns off SSH host key checking, which the policy does not allow; use policy or secret`,
        });
        break;
      }
      // No known_hosts file: host key checking off.
      break;
  }
  // After an error nothing is injected; never wire host key checking off by mistake.
  if (wiring.errors.length === 0) wiring.env.push(...policy.dialect.ssh(keyFiles, knownHostsFile));
  return wiring;
}

