/**
 * A company network, on 127.0.0.1: the git server's name (git.corp.test)
 * resolves only inside the proxy, its certificate comes from a private CA the
 * image does not trust, and it wants basic auth. The real git-sync v4.7.1 runs
 * as the injected init container (the kubelet model resolves env, mounts the
 * Secret and projects the CA bundle from the pod annotation) and clones only
 * when the policy's network profile supplies the proxy and the CA, and the
 * Secret the credentials, in whichever layout; without each one it fails, and
 * says why.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BUILTIN_POLICY, type Policy } from '../../src/policy/index.ts';
import { gitSyncImage } from './support/gitsync.ts';
import { Harness } from './support/harness.ts';
import { appFolder } from './support/pods.ts';
import { startConnectProxy, type ConnectProxy } from './support/proxy.ts';
import { createBareRepo, DAG_FILE, dagSource } from './support/repos.ts';
import { startHttpsGitServer, type HttpsGitServer } from './support/servers.ts';
import { missing } from './support/tools.ts';

const skip = missing();
if (skip) console.log(skip);

const HOST = 'git.corp.test';
const USER = 'x-access-token';
const TOKEN = 'glpat-Rotat3d';

describe.skipIf(skip)('git-sync through a proxy, trusting a private CA, with credentials', () => {
  const h = skip ? undefined! : new Harness('networks');
  let server: HttpsGitServer;
  let proxy: ConnectProxy;
  let repo: string;
  /** The policy under test: maxFailures 0 so that a failing sync exits at its first attempt. */
  let policy: Partial<Policy>;
  // The image's own trust store (the host's here): the private CA is not in it.
  const image = () => gitSyncImage();

  beforeAll(async () => {
    const srv = join(h.dir, 'srv');
    mkdirSync(join(srv, 'private'), { recursive: true });
    await createBareRepo(join(srv, 'private'), 'dags');
    server = await startHttpsGitServer(h.dir, srv, { username: USER, password: TOKEN }, { dnsNames: [HOST] });
    proxy = await startConnectProxy({ [HOST]: '127.0.0.1' });
    repo = `https://${HOST}:${new URL(server.origin).port}/private/dags.git`;
    policy = {
      gitSync: { ...BUILTIN_POLICY.gitSync, maxFailures: 0 },
      networks: {
        corp: { httpsProxy: proxy.url, caBundle: server.caCert, gitConfig: { 'http.version': 'HTTP/1.1', 'http.postBuffer': '524288000' } },
        'proxy-only': { httpsProxy: proxy.url },
        'ca-only': { caBundle: server.caCert },
      },
    };
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.close();
    await h.close();
  });

  const sync = (annotations: Record<string, string>, secret?: Record<string, string>) =>
    h.syncOnce({ 'gitsync.dev/repo': repo, ...annotations }, secret ? { secrets: { 'git-creds': secret } } : {}, image(), { policy });
  const synced = (s: Awaited<ReturnType<typeof sync>>): boolean => {
    try {
      return readFileSync(join(appFolder(s.sandbox, s.result), DAG_FILE), 'utf8') === dagSource(1);
    } catch {
      return false;
    }
  };

  test('with the profile (proxy, CA, git config) and a username/password Secret: clones through the proxy', async () => {
    const before = proxy.connects.length;
    const s = await sync({ 'gitsync.dev/network': 'corp', 'gitsync.dev/secret': 'git-creds' }, { username: USER, password: TOKEN });
    expect(s.exit.code, s.exit.output).toBe(0);
    expect(synced(s)).toBe(true);
    expect(proxy.connects.slice(before)).toContain(`${HOST}:${new URL(server.origin).port}`);
    expect(server.requests.some((r) => r.user === USER && r.status === 200)).toBe(true);
    // The CA reached git as a file projected from the pod annotation, not from any object in the namespace.
    expect(s.pod.metadata?.annotations?.['gitsync.dev/ca-bundle-data']).toBe(`${server.caCert.trim()}\n`);
  });

  test('without a network profile: the host does not even resolve', async () => {
    const s = await sync({ 'gitsync.dev/secret': 'git-creds' }, { username: USER, password: TOKEN });
    expect(s.exit.code).not.toBe(0);
    expect(s.exit.output).toContain(`Could not resolve host: ${HOST}`);
  });

  test('the proxy without the CA: the certificate is refused', async () => {
    const s = await sync({ 'gitsync.dev/network': 'proxy-only', 'gitsync.dev/secret': 'git-creds' }, { username: USER, password: TOKEN });
    expect(s.exit.code).not.toBe(0);
    expect(s.exit.output).toMatch(/SSL certificate problem|server certificate verification failed/);
  });

  test('the CA without the proxy: the host does not resolve', async () => {
    const s = await sync({ 'gitsync.dev/network': 'ca-only', 'gitsync.dev/secret': 'git-creds' }, { username: USER, password: TOKEN });
    expect(s.exit.code).not.toBe(0);
    expect(s.exit.output).toContain(`Could not resolve host: ${HOST}`);
  });

  test('the network without credentials: authentication fails', async () => {
    const s = await sync({ 'gitsync.dev/network': 'corp' });
    expect(s.exit.code).not.toBe(0);
    expect(s.exit.output).toMatch(/could not read Username|Authentication failed/);
  });

  describe('every credential layout, with no secret-layout annotation (auto)', () => {
    const layouts: Record<string, Record<string, string>> = {
      'username/password (kubernetes.io/basic-auth)': { username: USER, password: TOKEN },
      "the Airflow chart's GIT_SYNC_USERNAME/GIT_SYNC_PASSWORD": { GIT_SYNC_USERNAME: USER, GIT_SYNC_PASSWORD: TOKEN },
      "the Airflow chart's GITSYNC_USERNAME/GITSYNC_PASSWORD": { GITSYNC_USERNAME: USER, GITSYNC_PASSWORD: TOKEN },
      "the Airflow chart's four keys": { GIT_SYNC_USERNAME: USER, GIT_SYNC_PASSWORD: TOKEN, GITSYNC_USERNAME: USER, GITSYNC_PASSWORD: TOKEN },
    };
    test.each(Object.keys(layouts))('%s: syncs', async (layout) => {
      const s = await sync({ 'gitsync.dev/network': 'corp', 'gitsync.dev/secret': 'git-creds' }, layouts[layout]);
      expect(s.exit.code, s.exit.output).toBe(0);
      expect(synced(s)).toBe(true);
    });

    test('a Secret holding none of the keys: git-sync stops at once and says a password is missing, instead of syncing anonymously', async () => {
      const s = await sync({ 'gitsync.dev/network': 'corp', 'gitsync.dev/secret': 'git-creds' }, { token: TOKEN });
      expect(s.exit.code).not.toBe(0);
      expect(s.exit.output).toContain('must be specified when --username is specified');
      expect(server.requests.filter((r) => r.user === 'no-user-in-secret-git-creds')).toEqual([]);
    });
  });

  describe('secret-layout: token', () => {
    test("a Secret with only `token`, sent with the policy's user for github (x-access-token): syncs", async () => {
      const s = await sync({ 'gitsync.dev/network': 'corp', 'gitsync.dev/secret': 'git-creds', 'gitsync.dev/secret-layout': 'token' }, { token: `${TOKEN}\n` });
      expect(s.exit.code, s.exit.output).toBe(0);
      expect(synced(s)).toBe(true);
    });
    test('with token-user gitlab (oauth2), which this server does not accept: authentication fails', async () => {
      const s = await sync(
        { 'gitsync.dev/network': 'corp', 'gitsync.dev/secret': 'git-creds', 'gitsync.dev/secret-layout': 'token', 'gitsync.dev/token-user': 'gitlab' },
        { token: TOKEN },
      );
      expect(s.exit.code).not.toBe(0);
      expect(s.exit.output).toContain('Authentication failed');
      expect(server.requests.some((r) => r.user === 'oauth2')).toBe(true);
    });
  });
});
