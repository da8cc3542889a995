/**
 * Credentials by reference. The injector never reads a Secret: it names one,
 * and Kubernetes reports a missing Secret or key in the pod's events. Each
 * layout users already have is wired so that it works as it is.
 *
 * How git-sync is told about them depends on the policy's dialect
 * (dialect.ts); with v4, the default:
 *
 * HTTPS
 *   basic-auth  keys username/password (type kubernetes.io/basic-auth):
 *               GITSYNC_USERNAME/GITSYNC_PASSWORD from those keys, required,
 *               so a missing key is a CreateContainerConfigError naming it.
 *   airflow     the chart's GITSYNC_USERNAME/GITSYNC_PASSWORD and/or
 *               GIT_SYNC_USERNAME/GIT_SYNC_PASSWORD: each key is passed under
 *               its own name, optional, so either pair alone works. git-sync v4
 *               reads GIT_SYNC_USERNAME/PASSWORD as aliases of the same two
 *               settings; they are the only GIT_SYNC_* names ever emitted, and
 *               no v3 setting that changes behaviour (branch, rev, wait, dest)
 *               ever is. Because every key is optional, the Secret is also
 *               mounted, so that a missing Secret still fails visibly
 *               (FailedMount) instead of syncing anonymously.
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
 *   the mount, not the mode: only the git-sync containers mount the Secret, and
 *   every process in them is git-sync. An earlier design used 0440 and gave
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
import { WRITTEN_ANNOTATIONS } from './annotations.ts';
import { publishedPath, type PublishedFile } from './published.ts';

export const SECRET_MOUNT = '/etc/git-secret';
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

/** A warning for a setting the pod wrote that has no effect for this repository. */
function ignored(settings: Settings, key: 'secret-layout' | 'ssh-key' | 'known-hosts', why: string): Problem[] {
  const s = settings[key];
  if (!s || s.source !== 'pod') return [];
  return [{ code: 'SETTING_IGNORED', field: s.field, value: s.raw, message: `${quote(s.raw)} has no effect: ${why}` }];
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
      wiring.warnings.push(...ignored(settings, 'secret-layout', 'no secret is set'));
      return wiring;
    }
    const auth = policy.dialect.basicAuth(secret, settings['secret-layout']?.value ?? 'basic-auth');
    wiring.env.push(...auth.env);
    // Mounted only so that a missing Secret is reported; git-sync does not read the files.
    if (auth.mountSecret) wiring.secretVolume = secretVolume(SECRET_FILE_MODE);
    return wiring;
  }

  // SSH
  wiring.warnings.push(...ignored(settings, 'secret-layout', 'the repository uses SSH'));
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

