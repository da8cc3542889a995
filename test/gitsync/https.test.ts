/**
 * HTTPS: git-sync from an injected pod, against `git http-backend` behind
 * HTTPS with a private CA, public and with basic auth in each Secret layout.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gitSyncImage, runToExit, stopAll } from './support/gitsync.ts';
import { CreateContainerConfigError, PodSandbox, type Fixtures } from './support/kubelet.ts';
import { appFolder, firstGitSync, injectedPod } from './support/pods.ts';
import { createBareRepo, DAG_FILE, dagSource } from './support/repos.ts';
import { startHttpsGitServer, type HttpsGitServer } from './support/servers.ts';
import { missing } from './support/tools.ts';

const skip = missing();
if (skip) console.log(skip);

describe.skipIf(skip)('git-sync over HTTPS', () => {
  let dir: string;
  let server: HttpsGitServer;
  const sandboxes: PodSandbox[] = [];
  const creds = { username: 'airflow', password: 's3cret-Pa55' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gitsync-https-'));
    const srv = join(dir, 'srv');
    mkdirSync(join(srv, 'private'), { recursive: true });
    await createBareRepo(srv, 'public');
    await createBareRepo(join(srv, 'private'), 'dags');
    server = await startHttpsGitServer(dir, srv, creds);
  });

  afterAll(async () => {
    await stopAll();
    await server?.close();
    for (const s of sandboxes) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Injects, sets up the pod's volumes, runs its first git-sync to its exit. */
  async function syncOnce(annotations: Record<string, string>, fixtures: Fixtures, image = gitSyncImage({ trustedCA: server.caFile })) {
    const { pod, result } = injectedPod(annotations);
    const sandbox = PodSandbox.create(pod, { namespace: 'team-a', fixtures });
    sandboxes.push(sandbox);
    const exit = await runToExit(sandbox.process(firstGitSync(pod), image));
    return { pod, result, sandbox, exit };
  }

  test('public repository, no Secret: the file appears under the app container mount', async () => {
    const { result, sandbox, exit } = await syncOnce({ 'gitsync.dev/repo': `${server.origin}/public.git` }, {});
    expect(exit.code, exit.output).toBe(0);
    expect(readFileSync(join(appFolder(sandbox, result), DAG_FILE), 'utf8')).toBe(dagSource(1));
  });
});
