/**
 * What the git-sync tests need from the machine, found once: the git-sync
 * binary (GIT_SYNC_BIN, never searched for), git, git http-backend, sshd and
 * ssh-keygen. `missing` is the one line a test file prints when it skips.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

function executable(path: string | undefined): path is string {
  if (!path) return false;
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function gitExecPath(): string | undefined {
  try {
    return execFileSync('git', ['--exec-path'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

const which = (name: string, dirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin']): string | undefined =>
  dirs.map((d) => `${d}/${name}`).find(executable);

export const GIT_SYNC_BIN = executable(process.env.GIT_SYNC_BIN) ? process.env.GIT_SYNC_BIN : undefined;
const execPath = gitExecPath();
export const GIT_HTTP_BACKEND = execPath && executable(`${execPath}/git-http-backend`) ? `${execPath}/git-http-backend` : undefined;
export const SSHD = which('sshd');
export const SSH_KEYGEN = which('ssh-keygen');
/** The current user is root: sshd can then run its privilege separation, and Secret files can be given another owner (kubelet.ts). */
export const IS_ROOT = process.getuid?.() === 0;

/** Why the real-git-sync tests cannot run here, as one line; undefined when they can. */
export function missing(needs: { ssh?: boolean } = {}): string | undefined {
  if (!process.env.GIT_SYNC_BIN) return 'GIT_SYNC_BIN not set: skipping the tests that run the real git-sync';
  if (!GIT_SYNC_BIN) return `GIT_SYNC_BIN=${process.env.GIT_SYNC_BIN} is not an executable file: skipping the tests that run the real git-sync`;
  if (!execPath) return 'git not found: skipping the tests that run the real git-sync';
  if (!GIT_HTTP_BACKEND) return 'git http-backend not found: skipping the tests that run the real git-sync';
  if (needs.ssh) {
    if (!SSHD || !SSH_KEYGEN) return 'sshd or ssh-keygen not found (apt-get install openssh-server openssh-client): skipping the SSH tests';
    if (!IS_ROOT) return 'not root: sshd and root-owned Secret files need root here (kubelet.ts explains): skipping the SSH tests';
  }
  return undefined;
}
