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
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gitSyncImage } from './support/gitsync.ts';
import { Harness, type Synced } from './support/harness.ts';
import { appFolder } from './support/pods.ts';
import { createBareRepo, dagSource } from './support/repos.ts';
import { startHttpsGitServer, type HttpsGitServer } from './support/servers.ts';
import { sparseCheckoutFile } from '../../src/engine/values/sparse.ts';
import { GIT_HTTP_BACKEND, missing } from './support/tools.ts';

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

  test('a filter without sparse-paths saves nothing: the checkout needs every file', async () => {
    const r = await sync('filtering', { 'gitsync.dev/filter': 'blob:none', 'gitsync.dev/env': 'DAGS' }, 'filter blob:none alone (no sparse-paths)');
    expect(r.files).toContain('data/raw.bin');
    expect(r.bytes).toBeGreaterThan(full * 0.9);
  });

  test('sparse-paths with blob:none, server without uploadpack.allowFilter: git drops the filter silently and downloads everything', async () => {
    const r = await sync('plain', SPARSE, 'sparse-paths + blob:none, no uploadpack.allowFilter');
    expect(r.exit.output).not.toMatch(/level":\s*"?error/);
    expect(r.files).toEqual(['README.md', 'dags', 'dags/example_dag.py', 'plugins', 'plugins/shared', 'plugins/shared/hooks.py']);
    expect(r.bytes).toBeGreaterThan(full * 0.9);
  });
});

/**
 * The file the injector writes is git's cone format, which git reads in cone
 * mode (what git-sync's `git sparse-checkout init` turns on with current git)
 * and, with the same meaning, in non-cone mode (older git): the checkout
 * does not depend on the git in the image. Needs only git.
 */
// GIT_HTTP_BACKEND is found through git itself: set, git is installed.
describe.skipIf(!GIT_HTTP_BACKEND)('the cone-format file means the same to git in cone and non-cone mode', () => {
  test('nested folders, parents, top-level files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gitsync-cone-'));
    try {
      const files = {
        'README.md': 'r\n',
        'data/top.txt': 't\n',
        'data/airflow/x.py': 'x\n',
        'data/airflow/dags/a.py': 'a\n',
        'data/airflow/dags/team/b.py': 'b\n',
        'data/airflow/include/c.sql': 'c\n',
        'data/other/d.txt': 'd\n',
        'data-2/e.txt': 'e\n',
        'plugins/shared/p.py': 'p\n',
        'plugins/big/m.bin': 'm\n',
      };
      const repo = await createBareRepo(dir, 'mono', files);
      const file = join(dir, 'sparse-checkout');
      writeFileSync(file, sparseCheckoutFile(['data/airflow/dags', 'plugins/shared']));
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', HOME: dir };
      const checkout = async (cone: boolean): Promise<string[]> => {
        const work = join(dir, cone ? 'cone' : 'non-cone');
        await run('git', ['clone', '--quiet', '--no-checkout', repo.path, work], { env });
        await run('git', ['-C', work, 'config', 'core.sparseCheckout', 'true'], { env });
        await run('git', ['-C', work, 'config', 'core.sparseCheckoutCone', String(cone)], { env });
        copyFileSync(file, join(work, '.git', 'info', 'sparse-checkout'));
        await run('git', ['-C', work, 'checkout', '--quiet', 'main'], { env });
        return (readdirSync(work, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => !f.startsWith('.git') && f.includes('.')).sort();
      };
      const expected = ['README.md', 'data/airflow/dags/a.py', 'data/airflow/dags/team/b.py', 'data/airflow/x.py', 'data/top.txt', 'plugins/shared/p.py'];
      expect(await checkout(true)).toEqual(expected);
      expect(await checkout(false)).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
