/**
 * Runs git-sync (GIT_SYNC_BIN) as a local process with exactly the
 * environment its container would have: the image's variables, then the
 * container's as the kubelet resolved them (kubelet.ts), and nothing from the
 * host's environment. A machine-wide GIT_SSL_CAINFO, HTTPS_PROXY or
 * GIT_SSH_COMMAND must not reach it, as none would reach a container.
 *
 * Every wait is bounded; the bound only catches stalls. Every process started
 * here is killed by stopAll() (afterAll).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { ContainerProcess, Image } from './kubelet.ts';
import { GIT_SYNC_BIN } from './tools.ts';

/** Upper bound of any wait: generous, it only turns a stall into a failure. */
export const STALL_MS = 60_000;

const IMAGE_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/**
 * registry.k8s.io/git-sync/git-sync:v4.7.1: ENTRYPOINT /git-sync, ENV
 * HOME=/tmp and GITSYNC_ROOT=/git, and a PATH. Two variables stand in for the
 * image's files: GIT_CONFIG_NOSYSTEM (the image has no /etc/gitconfig; the
 * host may) and, when `trustedCA` (a host file) is given, SSL_CERT_FILE and
 * GIT_SSL_CAINFO naming the image's trust store
 * /etc/ssl/certs/ca-certificates.crt, which is that file: an image built FROM
 * git-sync with a company CA added would have it. The injector has no CA
 * setting yet, so HTTPS tests use this.
 */
export function gitSyncImage(options: { trustedCA?: string } = {}): Image {
  const env: [string, string][] = [
    ['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    ['HOME', '/tmp'],
    ['GITSYNC_ROOT', '/git'],
    ['GIT_CONFIG_NOSYSTEM', '1'],
  ];
  const files: Record<string, string> = {};
  if (options.trustedCA) {
    files[IMAGE_CA_BUNDLE] = options.trustedCA;
    env.push(['SSL_CERT_FILE', IMAGE_CA_BUNDLE], ['GIT_SSL_CAINFO', IMAGE_CA_BUNDLE]);
  }
  return { entrypoint: [GIT_SYNC_BIN!], env, programs: { '/git-sync': GIT_SYNC_BIN! }, files };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GitSyncProcess {
  /** stdout and stderr so far. */
  output(): string;
  exited: Promise<Exit>;
  running(): boolean;
  stop(): Promise<Exit>;
}

const live = new Set<ChildProcess>();

export function startGitSync(p: ContainerProcess): GitSyncProcess {
  const child = spawn(p.argv[0]!, p.argv.slice(1), { env: p.env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    output: () => out,
    exited,
    running,
    async stop() {
      if (running()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const exit = await exited;
        clearTimeout(timer);
        return exit;
      }
      return exited;
    },
  };
}

/** Runs a one-time git-sync (an init container) to its exit; a stall past STALL_MS kills it and fails. */
export async function runToExit(p: ContainerProcess): Promise<Exit & { output: string }> {
  const proc = startGitSync(p);
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), STALL_MS)));
  const result = await Promise.race([proc.exited, stalled]);
  clearTimeout(timer);
  if (result === 'stalled') {
    await proc.stop();
    throw new Error(`git-sync did not exit within ${STALL_MS / 1000}s:\n${proc.output()}`);
  }
  return { ...result, output: proc.output() };
}

/** Waits until `check` holds; fails with `what` and the process's output after STALL_MS or when it exits first. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, proc?: GitSyncProcess): Promise<void> {
  const deadline = Date.now() + STALL_MS;
  while (!(await check())) {
    if (proc && !proc.running()) throw new Error(`git-sync exited before ${what}:\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${STALL_MS / 1000}s${proc ? `:\n${proc.output()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * git-sync caches HTTPS credentials with `git credential-cache`, whose daemon
 * detaches and outlives git-sync (in a pod it dies with the container). Ask
 * each daemon under a pod's folders to exit, through its own socket.
 */
export function stopCredentialCaches(podDir: string): void {
  let sockets: string[] = [];
  try {
    sockets = readdirSync(podDir, { recursive: true, encoding: 'utf8' })
      .filter((p) => p.endsWith(`${sep}credential${sep}socket`) || p.endsWith(`.git-credential-cache${sep}socket`))
      .map((p) => join(podDir, p));
  } catch {
    return;
  }
  for (const socket of sockets) {
    try {
      execFileSync('git', ['credential-cache', '--socket', socket, 'exit'], { stdio: 'ignore', timeout: 10_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    } catch {
      // already gone
    }
  }
}

/** Kills every git-sync still running (afterAll). */
export async function stopAll(): Promise<void> {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}
