/**
 * The SSH Secret is mounted readable by all (issue 15, item 8) and the pod's
 * fsGroup is left alone. That is safe only if OpenSSH accepts a key file
 * that others may read when the file belongs to someone else: the kubelet
 * writes Secret files owned by root, and git-sync runs as the policy's
 * non-root user. `ssh-keygen -y -f` runs the same permission check as ssh
 * (sshkey_perm_ok), so the real ssh-keygen, run as git-sync's UID on a
 * root-owned file with the mode the engine writes, settles it.
 *
 * Needs ssh-keygen, setpriv and root (to own the file as root and switch to
 * git-sync's UID). ssh-keygen also wants a passwd entry for its UID; where
 * the machine has none, it gets one in a private mount namespace (unshare),
 * never in the machine's /etc/passwd.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectPod } from '../../src/engine/index.ts';
import { mustCompile } from '../../src/policy/compile.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';

const policy = mustCompile({
  ...BUILTIN_POLICY,
  knownHosts: ['github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'],
}).engine;
const { user: UID, group: GID } = policy.gitSync;

const found = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const isRoot = process.getuid?.() === 0;
const missing = [!found('ssh-keygen') && 'ssh-keygen', !found('setpriv') && 'setpriv', !isRoot && 'root'].filter(Boolean);
const title = missing.length === 0 ? 'a root-owned SSH key with the injected mode, read by git-sync' : `a root-owned SSH key read by git-sync: skipped, needs ${missing.join(', ')}`;

type Volume = { name: string; secret?: { secretName: string; defaultMode?: number } };
type Container = { name: string; volumeMounts?: { name: string }[] };

function injectSshPod() {
  const pod = {
    metadata: { name: 'p', annotations: { 'gitsync.dev/repo': 'git@github.com:acme/dags.git', 'gitsync.dev/secret': 'deploy-key' } },
    spec: { containers: [{ name: 'app', image: 'app:1' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'db' } }] },
  };
  const r = injectPod({ pod, namespace: 'team-a' }, { policy, cluster: { nativeSidecars: true }, version: '0.0.0-test' });
  expect(r.outcome).toBe('injected');
  return r.pod as { spec: { securityContext?: unknown; volumes: Volume[]; containers: Container[]; initContainers?: Container[] } };
}

describe('the SSH Secret in an injected pod', () => {
  it('is readable by all, the pod keeps its own security context (no fsGroup), and only git-sync mounts it', () => {
    const pod = injectSshPod();
    const secret = pod.spec.volumes.find((v) => v.secret?.secretName === 'deploy-key')!;
    expect(secret.secret!.defaultMode).toBe(0o444);
    expect(pod.spec.securityContext).toBeUndefined();
    const mounting = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].filter((c) => (c.volumeMounts ?? []).some((m) => m.name === secret.name));
    expect(mounting.map((c) => c.name)).toEqual(['git-sync']);
  });
});

describe.skipIf(missing.length > 0)(title, () => {
  let dir = '';
  let passwd: string | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ssh-key-mode-'));
    chmodSync(dir, 0o755);
    const known = spawnSync('getent', ['passwd', String(UID)]).status === 0;
    if (!known) {
      passwd = join(dir, 'passwd');
      writeFileSync(passwd, `${readFileSync('/etc/passwd', 'utf8')}git-sync:x:${UID}:${GID}::/tmp:/usr/sbin/nologin\n`);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** ssh-keygen -y -f KEY as git-sync's UID and GID, without supplementary groups. */
  function asGitSync(key: string): SpawnSyncReturns<string> {
    const cmd = ['setpriv', `--reuid=${UID}`, `--regid=${GID}`, '--clear-groups', 'ssh-keygen', '-y', '-f', key];
    if (!passwd) return spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
    const script = 'mount --bind "$0" /etc/passwd && exec "$@"';
    return spawnSync('unshare', ['--mount', 'sh', '-c', script, passwd, ...cmd], { encoding: 'utf8' });
  }

  function keyPair(name: string, owner: number, mode: number): { key: string; pub: string } {
    const key = join(dir, name);
    const made = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', key], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    chownSync(key, owner, owner);
    chmodSync(key, mode);
    return { key, pub: readFileSync(`${key}.pub`, 'utf8').trim() };
  }

  it('ssh accepts the key: root owns it, git-sync is another user', () => {
    const mode = injectSshPod().spec.volumes.find((v) => v.secret)!.secret!.defaultMode!;
    const { key, pub } = keyPair('root-owned', 0, mode);
    const r = asGitSync(key);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pub);
  });

  it('the check is real: the same mode on a key git-sync owns is refused', () => {
    const { key } = keyPair('own', UID, 0o444);
    const r = asGitSync(key);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('UNPROTECTED PRIVATE KEY FILE');
  });
});
