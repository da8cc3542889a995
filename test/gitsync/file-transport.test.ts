/**
 * file:// repositories. The engine refuses them (src/engine/values/repo.ts:
 * only https://, ssh:// and scp-style URLs), so this is checked at the
 * harness level only: the injected container of a pod for an https://
 * repository, with GITSYNC_REPO changed to a file:// URL of a local bare
 * repository, syncs it where the app container's mount says. It exercises
 * the kubelet model and git-sync without any network.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BUILTIN_POLICY, mustCompile } from '../../src/policy/index.ts';
import { formatProblem, injectPod } from '../../src/engine/index.ts';
import { gitSyncImage } from './support/gitsync.ts';
import { Harness } from './support/harness.ts';
import { appFolder, firstGitSync, injectedPod } from './support/pods.ts';
import { createBareRepo, dagSource, type BareRepo } from './support/repos.ts';
import { missing } from './support/tools.ts';

const skip = missing();
if (skip) console.log(skip);

describe.skipIf(skip)('git-sync with a file:// repository (harness level)', () => {
  const h = skip ? undefined! : new Harness('file');
  let repo: BareRepo;

  beforeAll(async () => {
    repo = await createBareRepo(h.dir, 'dags');
  });
  afterAll(() => h.close());

  test('the engine refuses file:// URLs', () => {
    const pod = { metadata: { name: 'p', annotations: { 'gitsync.dev/repo': `file://${repo.path}` } }, spec: { containers: [{ name: 'app', image: 'x' }] } };
    const result = injectPod({ pod, namespace: 'team-a' }, { policy: mustCompile(BUILTIN_POLICY).engine, cluster: {}, version: 'test' });
    expect(result.outcome).toBe('denied');
    expect(result.errors.map(formatProblem).join('\n')).toContain('uses file://, which is not supported');
  });

  test('the injected container, pointed at file://, puts the file under the app container mount', async () => {
    const { pod, result } = injectedPod({ 'gitsync.dev/repo': 'https://git.example.com/acme/dags.git', 'gitsync.dev/sub-path': 'dags', 'gitsync.dev/env': 'DAGS' });
    const container = pod.spec!.initContainers!.find((c) => c.name === firstGitSync(pod))!;
    container.env = container.env!.map((e) => (e.name === 'GITSYNC_REPO' ? { name: e.name, value: `file://${repo.path}` } : e));
    const { sandbox, exit } = await h.run(pod, {}, gitSyncImage());
    expect(exit.code, exit.output).toBe(0);
    expect(readFileSync(join(appFolder(sandbox, result, 'app', 'DAGS'), 'example_dag.py'), 'utf8')).toBe(dagSource(1));
    expect(sandbox.resolveEnv('app').get('DAGS')).toBe(result.injection!.path);
  });
});
