/**
 * Password rotation with the real git-sync v4.7.1 in continuous mode: the
 * server's password changes and the Secret with it, and the kubelet swaps
 * the mounted files (..data renamed to a new folder, kubelet.ts
 * updateSecret) while git-sync runs. With `secret-layout: basic-auth` (a
 * password file) the next commit is synced with the new password, git-sync
 * never restarted; with `auto` (the password in env, fixed when the
 * container started) every fetch after the rotation is refused until the
 * container restarts, as docs/credentials.md says.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BUILTIN_POLICY } from '../../src/policy/index.ts';
import { gitSyncImage, startGitSync, waitUntil } from './support/gitsync.ts';
import { Harness } from './support/harness.ts';
import { appFolder, injectedPod } from './support/pods.ts';
import { createBareRepo, DAG_FILE, dagSource, type BareRepo } from './support/repos.ts';
import { startHttpsGitServer, type HttpsGitServer } from './support/servers.ts';
import { missing } from './support/tools.ts';

const skip = missing();
if (skip) console.log(skip);

const USER = 'airflow';
const OLD = 'before-R0tation';
const NEW = 'after-R0tation';

const readOrNull = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

describe.skipIf(skip)('a rotated password, while git-sync runs', () => {
  const h = skip ? undefined! : new Harness('rotation');
  let server: HttpsGitServer;
  const repos: Record<string, BareRepo> = {};
  const options = {
    policy: { limits: { ...BUILTIN_POLICY.limits, minPeriod: '1s', allowedModes: ['sidecar', 'native', 'init-only'] as ('sidecar' | 'native' | 'init-only')[] } },
  };

  beforeAll(async () => {
    const srv = join(h.dir, 'srv');
    mkdirSync(join(srv, 'private'), { recursive: true });
    for (const name of ['file', 'env']) repos[name] = await createBareRepo(join(srv, 'private'), name);
    server = await startHttpsGitServer(h.dir, srv, { username: USER, password: OLD });
  });
  afterAll(async () => {
    await server?.close();
    await h.close();
  });

  /** Starts the native sidecar of a pod syncing `name` with the Secret in `layout`, and waits for the first sync. */
  async function running(name: string, layout: string) {
    const { pod, result } = injectedPod(
      { 'gitsync.dev/repo': `${server.origin}/private/${name}.git`, 'gitsync.dev/mode': 'native', 'gitsync.dev/period': '1s', 'gitsync.dev/secret': 'git-creds', 'gitsync.dev/secret-layout': layout },
      options,
    );
    const sandbox = await h.sandbox(pod, { secrets: { 'git-creds': { username: USER, password: OLD } } });
    const proc = startGitSync(sandbox.process(result.injection!.initContainers[0]!, gitSyncImage({ trustedCA: server.caFile })));
    const dag = join(appFolder(sandbox, result), DAG_FILE);
    await waitUntil(() => readOrNull(dag) === dagSource(1), 'first sync', proc);
    return { sandbox, proc, dag };
  }

  /** The server and the Secret change together, as when a password is rotated. */
  const rotate = (sandbox: Awaited<ReturnType<typeof running>>['sandbox']): void => {
    server.setPassword(NEW);
    sandbox.updateSecret('git-creds', { username: USER, password: NEW });
  };

  test('basic-auth (password file): the next commit is synced with the new password, git-sync never restarted', async () => {
    const { sandbox, proc, dag } = await running('file', 'basic-auth');
    expect(sandbox.resolveEnv(sandbox.pod.spec!.initContainers![0]!.name).get('GITSYNC_PASSWORD_FILE')).toBe('/etc/git-secret/password');
    rotate(sandbox);
    const rotatedAt = server.requests.length;
    await repos.file!.commit({ [DAG_FILE]: dagSource(2) }, 'after the rotation');
    await waitUntil(() => readOrNull(dag) === dagSource(2), 'the commit pushed after the rotation', proc);
    expect(proc.running()).toBe(true);
    expect(server.requests.slice(rotatedAt).some((r) => r.path.startsWith('/private/file.git') && r.status === 200)).toBe(true);
    await proc.stop();
  });

  test('auto (password in env): after the rotation every fetch is refused and the commit is not synced', async () => {
    server.setPassword(OLD);
    const { sandbox, proc, dag } = await running('env', 'auto');
    rotate(sandbox);
    const rotatedAt = server.requests.length;
    await repos.env!.commit({ [DAG_FILE]: dagSource(2) }, 'after the rotation');
    const refused = () => server.requests.slice(rotatedAt).filter((r) => r.path.startsWith('/private/env.git') && r.status === 401 && r.user === USER);
    // Two refused syncs, a period apart: the old password, again and again.
    await waitUntil(() => refused().length >= 2, 'two fetches refused after the rotation', proc);
    expect(readOrNull(dag)).toBe(dagSource(1));
    expect(server.requests.slice(rotatedAt).filter((r) => r.path.startsWith('/private/env.git') && r.status === 200)).toEqual([]);
    await proc.stop();
  });
});
