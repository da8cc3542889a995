/**
 * Bare git repositories for the servers to serve, with a DAG file under
 * dags/, and a way to push another commit to one. git runs with a clean
 * environment (no system or global config of the host).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const DAG_FILE = 'dags/example_dag.py';
export const dagSource = (version: number): string =>
  `from airflow import DAG\n\n# version ${version}\nwith DAG(dag_id="example_v${version}", schedule=None):\n    pass\n`;

export interface BareRepo {
  /** Absolute path of the bare repository. */
  path: string;
  /** Commits these files (path → content) on top of the branch and pushes; returns the new commit. */
  commit(files: Record<string, string | Uint8Array>, message: string): Promise<string>;
}

export async function createBareRepo(dir: string, name: string, files: Record<string, string | Uint8Array> = { [DAG_FILE]: dagSource(1), 'README.md': '# DAGs\n' }): Promise<BareRepo> {
  const home = join(dir, `.home-${name}`);
  mkdirSync(home, { recursive: true });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
  };
  const git = async (cwd: string, ...args: string[]): Promise<string> => (await run('git', args, { cwd, env })).stdout.trim();
  const path = join(dir, `${name}.git`);
  const work = join(dir, `.work-${name}`);
  mkdirSync(path, { recursive: true });
  mkdirSync(work, { recursive: true });
  await git(path, 'init', '--quiet', '--bare', '--initial-branch=main');
  await git(work, 'init', '--quiet', '--initial-branch=main');

  const commit = async (content: Record<string, string | Uint8Array>, message: string): Promise<string> => {
    for (const [file, text] of Object.entries(content)) {
      mkdirSync(dirname(join(work, file)), { recursive: true });
      writeFileSync(join(work, file), text);
    }
    await git(work, 'add', '--all');
    await git(work, 'commit', '--quiet', '-m', message);
    await git(work, 'push', '--quiet', path, 'HEAD:refs/heads/main');
    return git(work, 'rev-parse', 'HEAD');
  };
  await commit(files, 'first commit');
  return { path, commit };
}
