/**
 * The image's /app, built the way the Dockerfile builds it: dist/ from the
 * build tsconfig, package.json and node_modules (linked). What runs in a
 * cluster is this compiled JavaScript, not the TypeScript sources, whose
 * type stripping alone takes some 30 MiB more memory in every thread.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CompiledApp {
  /** The /app folder. */
  dir: string;
  /** dist/cli/main.js in it. */
  main: string;
  remove(): Promise<void>;
}

export async function compiledApp(): Promise<CompiledApp> {
  const dir = await mkdtemp(join(tmpdir(), 'gitsync-injector-image-'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  await cp(join(ROOT, 'package.json'), join(dir, 'package.json'));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { dir, main: join(dir, 'dist', 'cli', 'main.js'), remove: () => rm(dir, { recursive: true, force: true }) };
}
