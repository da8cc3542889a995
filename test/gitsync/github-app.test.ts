/**
 * GitHub App authentication end to end: the real git-sync v4.7.1 runs as the
 * injected init container of a `secret-layout: github-app` pod (env exactly
 * as the engine wrote it, resolved by the kubelet model, the App's private
 * key mounted from the Secret), asks a fake GitHub API (support/github-api.ts:
 * HTTPS on 127.0.0.1, a private CA, the policy's githubBaseUrl pointing at it)
 * for an installation token with a JWT it signs with that key, and clones
 * from a git server that accepts only that token. With another App's key or
 * another installation the token request is refused and nothing is cloned.
 * The token request is git-sync's own (Go), not git's: a private CA given
 * only to git (http.sslCAInfo) fails it with "x509: certificate signed by
 * unknown authority", which is why a network profile's caBundle is also
 * named in SSL_CERT_FILE (src/engine/network.ts); the last test shows it.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BUILTIN_POLICY, type Policy } from '../../src/policy/index.ts';
import { createCA } from '../../src/tls/index.ts';
import { gitSyncImage } from './support/gitsync.ts';
import { newGitHubApp, startFakeGitHubApi, type FakeGitHubApi, type GitHubApp } from './support/github-api.ts';
import { Harness } from './support/harness.ts';
import { appFolder } from './support/pods.ts';
import { createBareRepo, DAG_FILE, dagSource } from './support/repos.ts';
import { startHttpsGitServer, type HttpsGitServer } from './support/servers.ts';
import { missing } from './support/tools.ts';

const skip = missing();
if (skip) console.log(skip);

const TOKEN = 'ghs_16C7e42F292c6912E7710c838347Ae178B4a';
const IDS = { appId: '123456', clientId: 'Iv23liAbCdEfGh012345', installationId: '45678901' };

describe.skipIf(skip)('GitHub App authentication with the real git-sync', () => {
  const h = skip ? undefined! : new Harness('github-app');
  let app: GitHubApp;
  let api: FakeGitHubApi;
  let server: HttpsGitServer;
  let repo: string;
  let policy: Partial<Policy>;
  let image: ReturnType<typeof gitSyncImage>;

  beforeAll(async () => {
    const ca = await createCA('gitsync-injector GitHub test CA');
    app = newGitHubApp(IDS);
    api = await startFakeGitHubApi(ca, app, TOKEN);
    const srv = join(h.dir, 'srv');
    mkdirSync(join(srv, 'private'), { recursive: true });
    await createBareRepo(join(srv, 'private'), 'dags');
    // The git server wants the installation token as the password, whatever the user, as GitHub does: git-sync v4.7.1 sends the user "-".
    server = await startHttpsGitServer(h.dir, srv, { username: 'x-access-token', password: TOKEN }, { ca, anyUser: true });
    repo = `${server.origin}/private/dags.git`;
    // maxFailures 0: a refused token fails at the first attempt.
    policy = { gitSync: { ...BUILTIN_POLICY.gitSync, maxFailures: 0 }, githubBaseUrl: api.baseUrl };
    // The image trusts the private CA (an image built FROM git-sync with the company CA added), for git and for git-sync's own HTTPS client.
    image = gitSyncImage({ trustedCA: server.caFile });
  });
  afterAll(async () => {
    await api?.close();
    await server?.close();
    await h.close();
  });

  const sync = (ids: Record<string, string>, privateKey = app.privateKey) =>
    h.syncOnce(
      { 'gitsync.dev/repo': repo, 'gitsync.dev/secret': 'dags-github-app', 'gitsync.dev/secret-layout': 'github-app', ...ids },
      { secrets: { 'dags-github-app': { githubAppPrivateKey: privateKey } } },
      image,
      { policy },
    );
  const synced = (s: Awaited<ReturnType<typeof sync>>): boolean => {
    try {
      return readFileSync(join(appFolder(s.sandbox, s.result), DAG_FILE), 'utf8') === dagSource(1);
    } catch {
      return false;
    }
  };
  const tokenRequests = (from: number) => api.requests.slice(from);

  test('app id: git-sync signs a JWT with the key from the Secret, gets the installation token and clones with it', async () => {
    const before = api.requests.length;
    const s = await sync({ 'gitsync.dev/github-app-id': IDS.appId, 'gitsync.dev/github-app-installation-id': IDS.installationId });
    const env = Object.fromEntries((s.pod.spec!.initContainers![0]!.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      GITSYNC_GITHUB_APP_PRIVATE_KEY_FILE: '/etc/git-secret/githubAppPrivateKey',
      GITSYNC_GITHUB_APP_APPLICATION_ID: IDS.appId,
      GITSYNC_GITHUB_APP_INSTALLATION_ID: IDS.installationId,
      GITSYNC_GITHUB_BASE_URL: api.baseUrl,
    });
    expect(s.exit.code, s.exit.output).toBe(0);
    expect(synced(s)).toBe(true);
    const [request] = tokenRequests(before);
    expect(request).toMatchObject({ path: `/api/v3/app/installations/${IDS.installationId}/access_tokens`, status: 201, claims: { iss: IDS.appId } });
    expect(server.requests.some((r) => r.user === '-' && r.status === 200)).toBe(true);
  });

  test('client id instead of app id: the JWT names the client id and is accepted', async () => {
    const before = api.requests.length;
    const s = await sync({ 'gitsync.dev/github-app-client-id': IDS.clientId, 'gitsync.dev/github-app-installation-id': IDS.installationId });
    expect(s.exit.code, s.exit.output).toBe(0);
    expect(synced(s)).toBe(true);
    expect(tokenRequests(before)[0]).toMatchObject({ status: 201, claims: { iss: IDS.clientId } });
  });

  test("another App's private key in the Secret: the JWT does not verify, no token, nothing cloned", async () => {
    const before = api.requests.length;
    const gitBefore = server.requests.length;
    const other = newGitHubApp(IDS);
    const s = await sync({ 'gitsync.dev/github-app-id': IDS.appId, 'gitsync.dev/github-app-installation-id': IDS.installationId }, other.privateKey);
    expect(s.exit.code).not.toBe(0);
    expect(synced(s)).toBe(false);
    expect(tokenRequests(before)[0]).toMatchObject({ status: 401, refused: 'JWT signature does not verify with the App key' });
    expect(s.exit.output).toMatch(/credential refresh failed.*401/);
    expect(server.requests.slice(gitBefore).filter((r) => r.status === 200)).toEqual([]);
  });

  test('another installation id: GitHub answers 404, nothing cloned', async () => {
    const before = api.requests.length;
    const s = await sync({ 'gitsync.dev/github-app-id': IDS.appId, 'gitsync.dev/github-app-installation-id': '99999999' });
    expect(s.exit.code).not.toBe(0);
    expect(synced(s)).toBe(false);
    expect(tokenRequests(before)[0]).toMatchObject({ path: '/api/v3/app/installations/99999999/access_tokens', status: 404 });
    expect(s.exit.output).toMatch(/credential refresh failed.*404/);
  });

  test("GitHub Enterprise Server behind a private CA: the network profile's caBundle is trusted by git and by git-sync's token request", async () => {
    const before = api.requests.length;
    const s = await h.syncOnce(
      {
        'gitsync.dev/repo': repo,
        'gitsync.dev/network': 'corp',
        'gitsync.dev/secret': 'dags-github-app',
        'gitsync.dev/secret-layout': 'github-app',
        'gitsync.dev/github-app-id': IDS.appId,
        'gitsync.dev/github-app-installation-id': IDS.installationId,
      },
      { secrets: { 'dags-github-app': { githubAppPrivateKey: app.privateKey } } },
      // The stock image: it does not trust the private CA; only the profile's bundle does.
      gitSyncImage(),
      { policy: { ...policy, networks: { corp: { caBundle: server.caCert } } } },
    );
    expect(s.exit.code, s.exit.output).toBe(0);
    expect(synced(s)).toBe(true);
    expect(tokenRequests(before)[0]).toMatchObject({ status: 201 });
  });
});
