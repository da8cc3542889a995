/**
 * Sparse checkout and partial clone with the real git-sync v4.7.1, against
 * `git http-backend` behind HTTPS on 127.0.0.1: a monorepo with a small dags/
 * folder and a few MB of random data in other top-level folders, served
 * twice, by a server that allows filters (uploadpack.allowFilter) and by one
 * that does not. Every pod is injected by the real engine and run by the
 * kubelet model (support/kubelet.ts), so git-sync reads exactly the
 * sparse-checkout file and filter the injector configured, the file
 * projected from the pod's annotation by its downwardAPI volume.
 *
 * Measured: the bytes of every response body the server sent for the pod's
 * sync (the pack and the lazy fetch of the blobs the checkout needs), printed
 * for each case.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gitSyncImage } from './support/gitsync.ts';
import { Harness, type Synced } from './support/harness.ts';
import { appFolder } from './support/pods.ts';
import { createBareRepo, dagSource } from './support/repos.ts';
import { startHttpsGitServer, type HttpsGitServer } from './support/servers.ts';
import { missing } from './support/tools.ts';

const skip = missing();
if (skip) console.log(skip);

const MB = 1024 * 1024;
/** Random, so that neither git nor zlib can make it smaller: what a full clone must send. */
const FILES = {
  'README.md': '# monorepo\n',
  'dags/example_dag.py': dagSource(1),
  'plugins/shared/hooks.py': 'HOOKS = []\n',
  'plugins/big/model.bin': randomBytes(1 * MB),
  'data/raw.bin': randomBytes(3 * MB),
  'ml/weights.bin': randomBytes(2 * MB),
};
const TOTAL = Object.values(FILES).reduce((n, f) => n + f.length, 0);
const SPARSE = { 'gitsync.dev/sparse-paths': 'dags,plugins/shared', 'gitsync.dev/sub-path': 'dags', 'gitsync.dev/env': 'DAGS' };

const run = promisify(execFile);
const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

describe.skipIf(skip)('sparse checkout and partial clone with the real git-sync', () => {
  const h = skip ? undefined! : new Harness('sparse');
  let server: HttpsGitServer;
  const image = () => gitSyncImage({ trustedCA: server.caFile });
  const measured: string[] = [];

  beforeAll(async () => {
    const srv = join(h.dir, 'srv');
    mkdirSync(srv, { recursive: true });
    const filtering = await createBareRepo(srv, 'filtering', FILES);
    await createBareRepo(srv, 'plain', FILES);
    await run('git', ['--git-dir', filtering.path, 'config', 'uploadpack.allowFilter', 'true'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', HOME: h.dir } });
    server = await startHttpsGitServer(h.dir, srv, { username: 'unused', password: 'unused' });
  });

  afterAll(async () => {
    if (measured.length) console.log(`bytes sent by the git server per pod (repository ${kb(TOTAL)} of files):\n${measured.join('\n')}`);
    await server?.close();
    await h.close();
  });

  /** Syncs a pod for `repo` and returns it with the bytes the server sent for it. */
  async function sync(repo: 'filtering' | 'plain', annotations: Record<string, string>, label: string): Promise<Synced & { bytes: number; files: string[] }> {
    server.requests.length = 0;
    const synced = await h.syncOnce({ 'gitsync.dev/repo': `${server.origin}/${repo}.git`, ...annotations }, {}, image());
    expect(synced.exit.code, synced.exit.output).toBe(0);
    const bytes = server.requests.filter((r) => r.path.startsWith(`/${repo}.git/`)).reduce((n, r) => n + r.bytes, 0);
    measured.push(`  ${label.padEnd(58)} ${kb(bytes).padStart(12)}`);
    // What the app container sees at <mount-path>/<link>: the checkout.
    const root = realpathSync(synced.sandbox.hostPath('app', synced.result.injection!.path.replace(/\/dags$/, ''))!);
    const files = (readdirSync(root, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => !f.startsWith('.git')).sort();
    return { ...synced, bytes, files };
  }

  let full: number;

  test('control: a full clone sends every file (today\'s default, depth 1)', async () => {
    const r = await sync('filtering', { 'gitsync.dev/env': 'DAGS' }, 'full clone (no sparse-paths)');
    full = r.bytes;
    expect(full).toBeGreaterThan(TOTAL * 0.95);
    expect(r.files).toContain('data/raw.bin');
  });

  test('sparse-paths with the default filter (blob:none), server allows filters: only the listed folders, a few KiB', async () => {
    const r = await sync('filtering', SPARSE, 'sparse-paths + blob:none, uploadpack.allowFilter=true');
    const gitSync = (r.pod.spec!.initContainers ?? []).find((c) => c.name === 'git-sync-init')!;
    expect(gitSync.env).toContainEqual({ name: 'GITSYNC_FILTER', value: 'blob:none' });
    expect(r.files).toEqual(['README.md', 'dags', 'dags/example_dag.py', 'plugins', 'plugins/shared', 'plugins/shared/hooks.py']);
    expect(readFileSync(join(appFolder(r.sandbox, r.result, 'app', 'DAGS'), 'example_dag.py'), 'utf8')).toBe(dagSource(1));
    expect(r.bytes).toBeLessThan(full / 50);
  });

  test('sparse-paths without a filter (filter: none): the same checkout, but every file is still downloaded', async () => {
    const r = await sync('filtering', { ...SPARSE, 'gitsync.dev/filter': 'none' }, 'sparse-paths, filter: none');
    expect(r.files).toEqual(['README.md', 'dags', 'dags/example_dag.py', 'plugins', 'plugins/shared', 'plugins/shared/hooks.py']);
    expect(r.bytes).toBeGreaterThan(full * 0.9);
  });

  test('sparse-paths with blob:none, server without uploadpack.allowFilter: git drops the filter silently and downloads everything', async () => {
    const r = await sync('plain', SPARSE, 'sparse-paths + blob:none, no uploadpack.allowFilter');
    expect(r.exit.output).not.toMatch(/level":\s*"?error/);
    expect(r.files).toEqual(['README.md', 'dags', 'dags/example_dag.py', 'plugins', 'plugins/shared', 'plugins/shared/hooks.py']);
    expect(r.bytes).toBeGreaterThan(full * 0.9);
  });
});
