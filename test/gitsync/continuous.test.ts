/**
 * Continuous mode: the git-sync sidecar of an injected pod (native, and the
 * classic sidecar after its init container) keeps the app container's view
 * fresh: its HTTP endpoint (the startup probe's target) answers 200 after the
 * first sync, a pushed commit appears under the app's mount, and it stops on
 * SIGTERM as the kubelet stops it.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BUILTIN_POLICY } from '../../src/policy/index.ts';
import { gitSyncImage, runToExit, startGitSync, waitUntil } from './support/gitsync.ts';
import { Harness } from './support/harness.ts';
import { appFolder, injectedPod } from './support/pods.ts';
import { createBareRepo, DAG_FILE, dagSource, type BareRepo } from './support/repos.ts';
import { startHttpsGitServer, type HttpsGitServer } from './support/servers.ts';
import { missing } from './support/tools.ts';

const skip = missing();
if (skip) console.log(skip);

const readOrNull = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/** GET http://127.0.0.1:port/ → status, or 0 when nothing answers. */
async function probe(port: number): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/`)).status;
  } catch {
    return 0;
  }
}

describe.skipIf(skip)('git-sync in continuous mode', () => {
  const h = skip ? undefined! : new Harness('continuous');
  let server: HttpsGitServer;
  let repos: Record<string, BareRepo>;
  // The policy's minimum period is lowered so that a second sync comes soon; everything else is built in.
  const options = { policy: { limits: { ...BUILTIN_POLICY.limits, minPeriod: '1s', maxDepth: undefined, allowedModes: ['sidecar', 'native', 'init-only'] as ('sidecar' | 'native' | 'init-only')[] } } };

  beforeAll(async () => {
    const srv = join(h.dir, 'srv');
    mkdirSync(srv, { recursive: true });
    repos = { native: await createBareRepo(srv, 'native'), sidecar: await createBareRepo(srv, 'sidecar') };
    server = await startHttpsGitServer(h.dir, srv, { username: 'unused', password: 'unused' });
  });

  afterAll(async () => {
    await server?.close();
    await h.close();
  });

  async function followsPushes(name: 'native' | 'sidecar', mode: string): Promise<void> {
    const { pod, result } = injectedPod({ 'gitsync.dev/repo': `${server.origin}/${name}.git`, 'gitsync.dev/mode': mode, 'gitsync.dev/period': '1s' }, options);
    expect(result.injection!.mode).toBe(mode);
    const sandbox = await h.sandbox(pod, {});
    const image = gitSyncImage({ trustedCA: server.caFile });
    if (mode === 'sidecar') {
      // The init container runs to completion first.
      const init = await runToExit(sandbox.process(result.injection!.initContainers[0]!, image));
      expect(init.code, init.output).toBe(0);
    }
    const sidecarName = mode === 'native' ? result.injection!.initContainers[0]! : result.injection!.containers[0]!;
    const sidecar = sandbox.container(sidecarName);
    if (mode === 'native') expect(sidecar.restartPolicy).toBe('Always');
    const port = sandbox.hostPort(sidecar.livenessProbe!.httpGet!.port as number);
    const proc = startGitSync(sandbox.process(sidecarName, image));
    const dag = join(appFolder(sandbox, result), DAG_FILE);
    await waitUntil(() => readOrNull(dag) === dagSource(1), 'first sync', proc);
    await waitUntil(async () => (await probe(port)) === 200, 'HTTP 200 from the probes\' endpoint', proc);

    await repos[name]!.commit({ [DAG_FILE]: dagSource(2) }, 'second commit');
    await waitUntil(() => readOrNull(dag) === dagSource(2), 'the pushed commit under the app mount', proc);
    expect(proc.running()).toBe(true);
    const exit = await proc.stop();
    expect(exit.signal === 'SIGTERM' || exit.code === 0 || exit.code === 143, proc.output()).toBe(true);
  }

  test('native sidecar: first sync, then a pushed commit appears', () => followsPushes('native', 'native'));
  test('init container + classic sidecar: first sync, then a pushed commit appears', () => followsPushes('sidecar', 'sidecar'));
});
