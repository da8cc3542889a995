/**
 * HTTPS: the git-sync init container of an injected pod, run the way the
 * kubelet would (support/kubelet.ts), against `git http-backend` behind HTTPS
 * with a certificate from a private CA; public, and with basic auth in each
 * Secret layout the engine wires. The app container must find the DAG file
 * where its mount (and, with the Airflow preset, AIRFLOW__CORE__DAGS_FOLDER)
 * says; wrong or missing credentials must fail visibly.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BUILTIN_POLICY } from '../../src/policy/index.ts';
import { gitSyncImage } from './support/gitsync.ts';
import { Harness, logLines } from './support/harness.ts';
import { CreateContainerConfigError, FailedMount } from './support/kubelet.ts';
import { appFolder, injectedPod } from './support/pods.ts';
import { createBareRepo, DAG_FILE, dagSource } from './support/repos.ts';
import { startHttpsGitServer, type HttpsGitServer } from './support/servers.ts';
import { missing } from './support/tools.ts';

const skip = missing();
if (skip) console.log(skip);

/** A failing init container retries (maxFailures 3 in the built-in policy, 10 s apart) before it exits. */
const FAILING = 120_000;

describe.skipIf(skip)('git-sync over HTTPS', () => {
  const h = skip ? undefined! : new Harness('https');
  let server: HttpsGitServer;
  let privateRepo: string;
  let publicRepo: string;
  const user = 'airflow';
  const password = 's3cret-Pa55';
  const image = () => gitSyncImage({ trustedCA: server.caFile });

  beforeAll(async () => {
    const srv = join(h.dir, 'srv');
    mkdirSync(join(srv, 'private'), { recursive: true });
    await createBareRepo(srv, 'public');
    await createBareRepo(join(srv, 'private'), 'dags');
    server = await startHttpsGitServer(h.dir, srv, { username: user, password });
    privateRepo = `${server.origin}/private/dags.git`;
    publicRepo = `${server.origin}/public.git`;
  });

  afterAll(async () => {
    await server?.close();
    await h.close();
  });

  test('public repository, no Secret: the file appears under the app container mount', async () => {
    const { result, sandbox, exit } = await h.syncOnce({ 'gitsync.dev/repo': publicRepo }, {}, image());
    expect(exit.code, exit.output).toBe(0);
    expect(result.injection!.path).toBe('/git/repo');
    expect(readFileSync(join(appFolder(sandbox, result), DAG_FILE), 'utf8')).toBe(dagSource(1));
  });

  test('basic-auth layout (username/password, the default): syncs with the credentials', async () => {
    const secrets = { 'git-basic': { username: user, password } };
    const { result, sandbox, exit } = await h.syncOnce({ 'gitsync.dev/repo': privateRepo, 'gitsync.dev/secret': 'git-basic' }, { secrets }, image());
    expect(exit.code, exit.output).toBe(0);
    expect(readFileSync(join(appFolder(sandbox, result), DAG_FILE), 'utf8')).toBe(dagSource(1));
    expect(server.requests.some((r) => r.user === user && r.status === 200)).toBe(true);
  });

  test('airflow preset, Secret with only GIT_SYNC_USERNAME/GIT_SYNC_PASSWORD: AIRFLOW__CORE__DAGS_FOLDER holds the DAG file', async () => {
    const secrets = { 'airflow-git': { GIT_SYNC_USERNAME: user, GIT_SYNC_PASSWORD: password } };
    const annotations = { 'gitsync.dev/repo': privateRepo, 'gitsync.dev/secret': 'airflow-git', 'gitsync.dev/preset': 'airflow', 'gitsync.dev/sub-path': 'dags' };
    const { result, sandbox, exit } = await h.syncOnce(annotations, { secrets }, image());
    expect(exit.code, exit.output).toBe(0);
    expect(sandbox.resolveEnv('app').get('AIRFLOW__CORE__DAGS_FOLDER')).toBe('/opt/airflow/dags/repo/dags');
    const dags = appFolder(sandbox, result, 'app', 'AIRFLOW__CORE__DAGS_FOLDER');
    expect(readFileSync(join(dags, 'example_dag.py'), 'utf8')).toBe(dagSource(1));
  });

  test('secret-layout airflow, Secret with only GITSYNC_USERNAME/GITSYNC_PASSWORD: syncs', async () => {
    const secrets = { 'airflow-git': { GITSYNC_USERNAME: user, GITSYNC_PASSWORD: password } };
    const annotations = { 'gitsync.dev/repo': privateRepo, 'gitsync.dev/secret': 'airflow-git', 'gitsync.dev/secret-layout': 'airflow' };
    const { result, sandbox, exit } = await h.syncOnce(annotations, { secrets }, image());
    expect(exit.code, exit.output).toBe(0);
    expect(readFileSync(join(appFolder(sandbox, result), DAG_FILE), 'utf8')).toBe(dagSource(1));
  });

  test("airflow preset, the chart's Secret with all four keys: syncs", async () => {
    const secrets = { 'airflow-git': { GIT_SYNC_USERNAME: user, GIT_SYNC_PASSWORD: password, GITSYNC_USERNAME: user, GITSYNC_PASSWORD: password } };
    const annotations = { 'gitsync.dev/repo': privateRepo, 'gitsync.dev/secret': 'airflow-git', 'gitsync.dev/preset': 'airflow' };
    const { result, sandbox, exit } = await h.syncOnce(annotations, { secrets }, image());
    expect(exit.code, exit.output).toBe(0);
    expect(readFileSync(join(appFolder(sandbox, result, 'app', 'AIRFLOW__CORE__DAGS_FOLDER'), DAG_FILE), 'utf8')).toBe(dagSource(1));
  });

  describe.concurrent('failures are visible', () => {
    test('wrong password: git-sync exits non-zero with the authentication error', { timeout: FAILING }, async () => {
      const secrets = { 'git-basic': { username: user, password: 'wrong' } };
      const { result, sandbox, exit } = await h.syncOnce({ 'gitsync.dev/repo': privateRepo, 'gitsync.dev/secret': 'git-basic' }, { secrets }, image());
      expect(exit.code).not.toBe(0);
      expect(exit.output).toContain(`Authentication failed for '${privateRepo}/'`);
      expect(logLines(exit.output).some((l) => l.msg === 'too many failures, aborting')).toBe(true);
      expect(() => readFileSync(join(appFolder(sandbox, result), DAG_FILE))).toThrow(/ENOENT/);
    });

    test('airflow layout, Secret present but holding none of its keys: syncs anonymously and fails with the authentication error', { timeout: FAILING }, async () => {
      const secrets = { 'airflow-git': { username: user, password } };
      const annotations = { 'gitsync.dev/repo': privateRepo, 'gitsync.dev/secret': 'airflow-git', 'gitsync.dev/secret-layout': 'airflow' };
      const { exit } = await h.syncOnce(annotations, { secrets }, image());
      expect(exit.code).not.toBe(0);
      expect(exit.output).toContain('Authentication failed');
    });

    test("the host's GIT_SSL_CAINFO does not reach git-sync: without the CA in the image, the private CA is not trusted", { timeout: FAILING }, async () => {
      // Control: with the host's environment plus GIT_SSL_CAINFO, git trusts the server.
      const git = await promisify(execFile)('git', ['ls-remote', publicRepo], { env: { ...process.env, GIT_SSL_CAINFO: server.caFile, GIT_CONFIG_NOSYSTEM: '1' } });
      expect(git.stdout).toContain('refs/heads/main');
      const before = process.env.GIT_SSL_CAINFO;
      process.env.GIT_SSL_CAINFO = server.caFile;
      try {
        const { exit } = await h.syncOnce({ 'gitsync.dev/repo': publicRepo }, {}, gitSyncImage());
        expect(exit.code).not.toBe(0);
        expect(exit.output).toMatch(/SSL certificate problem|server certificate verification failed|unable to get local issuer certificate/);
      } finally {
        if (before === undefined) delete process.env.GIT_SSL_CAINFO;
        else process.env.GIT_SSL_CAINFO = before;
      }
    });
  });

  const basicAuth = () => ({ 'gitsync.dev/repo': privateRepo, 'gitsync.dev/secret': 'git-basic', 'gitsync.dev/secret-layout': 'basic-auth' });
  /** maxFailures 0: a failing sync exits at its first attempt. */
  const failFast = { policy: { gitSync: { ...BUILTIN_POLICY.gitSync, maxFailures: 0 } } };

  test('basic-auth layout (password read from its file): syncs', async () => {
    const secrets = { 'git-basic': { username: user, password } };
    const { result, sandbox, exit } = await h.syncOnce(basicAuth(), { secrets }, image());
    expect(exit.code, exit.output).toBe(0);
    expect(readFileSync(join(appFolder(sandbox, result), DAG_FILE), 'utf8')).toBe(dagSource(1));
  });

  test('basic-auth layout, Secret without the username key: CreateContainerConfigError naming the key', async () => {
    const { pod } = injectedPod(basicAuth());
    await expect(h.run(pod, { secrets: { 'git-basic': { password } } }, image())).rejects.toThrow(
      new CreateContainerConfigError("couldn't find key username in Secret team-a/git-basic"),
    );
  });

  test('basic-auth layout, Secret without the password key: git-sync cannot read the password file and says so', async () => {
    const { pod } = injectedPod(basicAuth(), failFast);
    const { exit } = await h.run(pod, { secrets: { 'git-basic': { username: user } } }, image());
    expect(exit.code).not.toBe(0);
    expect(exit.output).toContain('/password');
  });

  test('basic-auth layout, no such Secret: FailedMount (the password file is in the mounted Secret)', async () => {
    const { pod } = injectedPod(basicAuth());
    await expect(h.run(pod, {}, image())).rejects.toThrow(FailedMount);
  });

  test('default (auto) layout, no such Secret: the mounted Secret makes it a FailedMount, not an anonymous sync', async () => {
    const { pod } = injectedPod({ 'gitsync.dev/repo': privateRepo, 'gitsync.dev/secret': 'git-basic' });
    await expect(h.run(pod, {}, image())).rejects.toThrow(FailedMount);
  });

  test('default (auto) layout, Secret with a user but no password: git-sync stops at once, naming what is missing', async () => {
    const { pod } = injectedPod({ 'gitsync.dev/repo': privateRepo, 'gitsync.dev/secret': 'git-basic' }, failFast);
    const { exit } = await h.run(pod, { secrets: { 'git-basic': { username: user } } }, image());
    expect(exit.code).not.toBe(0);
    expect(exit.output).toContain('$GITSYNC_PASSWORD or --password-file must be specified when --username is specified');
  });

  test('airflow layout (optional keys), no such Secret: the mounted Secret makes it a FailedMount, not an anonymous sync', async () => {
    const { pod } = injectedPod({ 'gitsync.dev/repo': privateRepo, 'gitsync.dev/secret': 'airflow-git', 'gitsync.dev/preset': 'airflow' });
    await expect(h.run(pod, {}, image())).rejects.toThrow(FailedMount);
  });
});
