/**
 * SSH: the git-sync init container of an injected pod, run the way the
 * kubelet would, against an sshd on 127.0.0.1 with key auth: host keys from
 * the policy (downwardAPI file) or from the Secret, each default key name and
 * a custom one; a wrong key and a wrong host key fail visibly.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gitSyncImage } from './support/gitsync.ts';
import { Harness } from './support/harness.ts';
import { appFolder, injectedPod } from './support/pods.ts';
import { createBareRepo, DAG_FILE, dagSource, type BareRepo } from './support/repos.ts';
import { sshKeyPair, startSshGitServer, type SshGitServer, type SshKeyPair } from './support/servers.ts';
import { missing } from './support/tools.ts';

const skip = missing({ ssh: true });
if (skip) console.log(skip);

const FAILING = 120_000;

describe.skipIf(skip)('git-sync over SSH', () => {
  const h = skip ? undefined! : new Harness('ssh');
  let server: SshGitServer;
  let repo: BareRepo;
  let key: SshKeyPair;
  let otherKey: SshKeyPair;
  let url: string;
  const image = gitSyncImage();
  const policyWithHostKeys = () => ({ knownHosts: [server.knownHostsLine] });

  beforeAll(async () => {
    key = await sshKeyPair(h.dir, 'deploy');
    otherKey = await sshKeyPair(h.dir, 'stranger');
    repo = await createBareRepo(h.dir, 'dags');
    server = await startSshGitServer(h.dir, [key.publicKey]);
    url = server.url(repo.path);
  });

  afterAll(async () => {
    await server?.close();
    await h.close();
  });

  test('host keys from the policy (downwardAPI file), key gitSshKey: the file appears under the app container mount', async () => {
    const secrets = { 'git-ssh': { gitSshKey: key.privateKey } };
    const { pod, result, sandbox, exit } = await h.syncOnce({ 'gitsync.dev/repo': url, 'gitsync.dev/secret': 'git-ssh' }, { secrets }, image, {
      policy: policyWithHostKeys(),
    });
    expect(exit.code, `${exit.output}\n${server.output()}`).toBe(0);
    expect(readFileSync(join(appFolder(sandbox, result), DAG_FILE), 'utf8')).toBe(dagSource(1));
    // What the kubelet wrote: the policy's line from the pod annotation, and the key with the Secret volume's mode (0444, no fsGroup: issue 15 item 8).
    const gitSync = pod.spec!.initContainers![0]!.name;
    expect(readFileSync(sandbox.hostPath(gitSync, '/etc/git-known-hosts/known_hosts')!, 'utf8').trim()).toBe(server.knownHostsLine);
    expect(statSync(sandbox.hostPath(gitSync, '/etc/git-secret/gitSshKey')!).mode & 0o777).toBe(0o444);
  });

  test('known-hosts: secret (host keys from the Secret)', async () => {
    const secrets = { 'git-ssh': { ssh: key.privateKey, known_hosts: `${server.knownHostsLine}\n` } };
    const { result, sandbox, exit } = await h.syncOnce({ 'gitsync.dev/repo': url, 'gitsync.dev/secret': 'git-ssh', 'gitsync.dev/known-hosts': 'secret' }, { secrets }, image);
    expect(exit.code, exit.output).toBe(0);
    expect(readFileSync(join(appFolder(sandbox, result), DAG_FILE), 'utf8')).toBe(dagSource(1));
  });

  test.each(['gitSshKey', 'ssh', 'ssh-privatekey'])('default key name %s alone in the Secret', async (name) => {
    const secrets = { 'git-ssh': { [name]: key.privateKey } };
    const { result, sandbox, exit } = await h.syncOnce({ 'gitsync.dev/repo': url, 'gitsync.dev/secret': 'git-ssh' }, { secrets }, image, { policy: policyWithHostKeys() });
    expect(exit.code, exit.output).toBe(0);
    expect(readFileSync(join(appFolder(sandbox, result), DAG_FILE), 'utf8')).toBe(dagSource(1));
  });

  test('custom ssh-key name, with the Airflow preset, sub-path and a pod fsGroup of 0', async () => {
    const secrets = { 'git-ssh': { deploy_key: key.privateKey } };
    const annotations = { 'gitsync.dev/repo': url, 'gitsync.dev/secret': 'git-ssh', 'gitsync.dev/ssh-key': 'deploy_key', 'gitsync.dev/preset': 'airflow', 'gitsync.dev/sub-path': 'dags' };
    const { result, sandbox, exit } = await h.syncOnce(annotations, { secrets }, image, { policy: policyWithHostKeys(), fsGroup: 0 });
    expect(exit.code, exit.output).toBe(0);
    const dags = appFolder(sandbox, result, 'app', 'AIRFLOW__CORE__DAGS_FOLDER');
    expect(readFileSync(join(dags, 'example_dag.py'), 'utf8')).toBe(dagSource(1));
  });

  describe.concurrent('failures are visible', () => {
    test('a key the server does not accept: git-sync exits non-zero, ssh says permission denied', { timeout: FAILING }, async () => {
      const secrets = { 'git-ssh': { gitSshKey: otherKey.privateKey } };
      const { exit } = await h.syncOnce({ 'gitsync.dev/repo': url, 'gitsync.dev/secret': 'git-ssh' }, { secrets }, image, { policy: policyWithHostKeys() });
      expect(exit.code).not.toBe(0);
      expect(exit.output).toContain('Permission denied (publickey)');
    });

    test('a custom ssh-key name the Secret lacks: fails (ssh has no key to offer)', { timeout: FAILING }, async () => {
      const secrets = { 'git-ssh': { gitSshKey: key.privateKey } };
      const annotations = { 'gitsync.dev/repo': url, 'gitsync.dev/secret': 'git-ssh', 'gitsync.dev/ssh-key': 'deploy_key' };
      const { exit } = await h.syncOnce(annotations, { secrets }, image, { policy: policyWithHostKeys() });
      expect(exit.code).not.toBe(0);
      expect(exit.output).toContain('Permission denied (publickey)');
    });

    test('a host key that is not the server’s: host key verification fails', { timeout: FAILING }, async () => {
      const wrongHostKey = `[127.0.0.1]:${server.port} ${otherKey.publicKey.trim().split(' ').slice(0, 2).join(' ')}`;
      const secrets = { 'git-ssh': { gitSshKey: key.privateKey } };
      const { exit } = await h.syncOnce({ 'gitsync.dev/repo': url, 'gitsync.dev/secret': 'git-ssh' }, { secrets }, image, { policy: { knownHosts: [wrongHostKey] } });
      expect(exit.code).not.toBe(0);
      expect(exit.output).toContain('Host key verification failed');
    });
  });

  test('the engine refuses an SSH repository without a Secret (nothing to run)', () => {
    expect(() => injectedPod({ 'gitsync.dev/repo': url }, { policy: policyWithHostKeys() })).toThrow(/SSH_NEEDS_SECRET|needs a private key/);
  });
});
