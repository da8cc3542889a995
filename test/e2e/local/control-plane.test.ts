/**
 * `npm run cluster:local` (run.ts and control-plane.ts), run as users run it,
 * as a child process: it starts a control plane the command can use through
 * KUBECONFIG, and whatever ends the run (the command's exit, a failure while
 * starting, a signal) it leaves no process and no folder behind. A process is
 * gone when `kill(pid, 0)` fails with ESRCH.
 *
 * The error cases use no real binaries and run everywhere. The cases with a
 * real control plane need KUBEBUILDER_ASSETS (etcd and kube-apiserver, with
 * kube-controller-manager if present) and are skipped, with one line, where
 * it does not name them.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { findAssets, MissingAssetsError } from './control-plane.ts';

const RUN = join(import.meta.dirname, 'run.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The processes it said it started, by name. */
  pids: Map<string, number>;
  /** The temporary folder it said it used. */
  dir?: string;
}

/**
 * Runs `npm run cluster:local -- ...command` (node run.ts) with `env`; `onStdout` sees the command's
 * output as it comes, with the child, so a test can signal it. Bounded: killed after 150 s.
 */
function runLocal(command: string[], env: Record<string, string | undefined>, onStdout?: (text: string, kill: (signal: NodeJS.Signals) => void) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN, '--', ...command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      onStdout?.(stdout, (signal) => child.kill(signal));
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('close', (code) => {
      clearTimeout(timer);
      const pids = new Map([...stderr.matchAll(/started (\S+) \(pid (\d+)\)/g)].map((m) => [m[1]!, Number(m[2])] as const));
      const dir = /starting in (\S+)/.exec(stderr)?.[1];
      resolve({ code, stdout, stderr, pids, ...(dir && { dir }) });
    });
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
};

/** Nothing it started is left: every process it named is gone, and so is its folder. */
function expectNothingLeft(run: Run, names: string[]): void {
  expect([...run.pids.keys()].sort(), run.stderr).toEqual([...names].sort());
  for (const [name, pid] of run.pids) expect(alive(pid), `${name} (pid ${pid}) still runs`).toBe(false);
  expect(run.dir, run.stderr).toEqual(expect.stringContaining('gitsync-injector-control-plane-'));
  expect(existsSync(run.dir!), `${run.dir} is still there`).toBe(false);
}

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function assetsFolder(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'gitsync-injector-assets-'));
  scratch.push(dir);
  for (const [name, script] of Object.entries(files)) {
    writeFileSync(join(dir, name), script);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

describe('without the binaries', () => {
  test('a missing binary is one line naming KUBEBUILDER_ASSETS, and nothing is started', async () => {
    const empty = assetsFolder();
    const run = await runLocal(['true'], { KUBEBUILDER_ASSETS: empty });
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toEqual([`cluster:local: KUBEBUILDER_ASSETS=${empty} has no executable etcd or kube-apiserver: it must hold etcd and kube-apiserver (kube-controller-manager optional)`]);
    expect(run.pids.size).toBe(0);
  });

  test('KUBEBUILDER_ASSETS unset is refused the same way', async () => {
    const run = await runLocal(['true'], { KUBEBUILDER_ASSETS: undefined });
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^cluster:local: KUBEBUILDER_ASSETS is not set: /)]);
    expect(() => findAssets({ KUBEBUILDER_ASSETS: assetsFolder({ etcd: '' }) })).toThrow(MissingAssetsError);
  });

  test('when a component fails to start, the error shows its last lines, and what was started is stopped', async () => {
    // Stand-ins: an "etcd" that just waits, and an API server that dies at once.
    const dir = assetsFolder({
      etcd: '#!/bin/sh\nexec sleep 300\n',
      'kube-apiserver': '#!/bin/sh\necho "E1122 cannot listen: stand-in failure" >&2\nexit 3\n',
    });
    const run = await runLocal(['echo', 'never runs'], { KUBEBUILDER_ASSETS: dir });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('could not start: kube-apiserver exited (3)');
    expect(run.stderr).toContain('E1122 cannot listen: stand-in failure');
    expectNothingLeft(run, ['etcd', 'kube-apiserver']);
  });
});

const assets = (() => {
  try {
    return findAssets(process.env);
  } catch {
    return undefined;
  }
})();
if (!assets) console.log('control plane: real-binary cases skipped: KUBEBUILDER_ASSETS does not name a folder with etcd and kube-apiserver');
const started = assets ? ['etcd', 'kube-apiserver', ...(assets.controllerManager ? ['kube-controller-manager'] : [])] : [];

describe.skipIf(!assets)('with the binaries in KUBEBUILDER_ASSETS', () => {
  test('the command reaches the API server through KUBECONFIG; its exit code is passed on; then nothing is left', { timeout: 180_000 }, async () => {
    const run = await runLocal(['sh', '-c', 'kubectl get --raw /readyz && echo && kubectl auth can-i "*" "*" && exit 3'], {});
    expect(run.code, run.stderr).toBe(3);
    // /readyz answers ok; the admin client certificate (O=system:masters) may do anything.
    expect(run.stdout).toBe('ok\nyes\n');
    expectNothingLeft(run, started);
  });

  test('SIGTERM while the command runs: the command gets it, everything stops, exit code 143', { timeout: 180_000 }, async () => {
    let signalled = false;
    const run = await runLocal(['sh', '-c', 'echo running; exec sleep 120'], {}, (stdout, kill) => {
      if (!signalled && stdout.includes('running')) {
        signalled = true;
        kill('SIGTERM');
      }
    });
    expect(signalled, run.stderr).toBe(true);
    expect(run.code, run.stderr).toBe(143);
    expect(run.stderr).toContain('SIGTERM: stopping');
    expectNothingLeft(run, started);
  });
});
