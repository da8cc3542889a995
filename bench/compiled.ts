/**
 * The servers as the image runs them: compiled JavaScript, built like the
 * Dockerfile builds dist/ (tsconfig.build.json), with the heap flags of the
 * shipped Deployment. Running the TypeScript sources instead costs each
 * process Node's type stripping (some 28 MiB resident), which production
 * never pays, and without the flags V8 sizes the heap for a machine rather
 * than for the container's memory limit.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Compiles src/ and bench/ into `dir` and returns the path of the compiled bench/server.js. */
export function compileServers(dir: string): string {
  const out = join(dir, 'app');
  const config = join(dir, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.build.json'),
      // typeRoots: @types/node is found from the repository, not from this temporary folder.
      compilerOptions: { rootDir: ROOT, outDir: out, sourceMap: false, typeRoots: [join(ROOT, 'node_modules', '@types')] },
      include: [join(ROOT, 'src'), join(ROOT, 'bench')],
      exclude: [join(ROOT, 'src', 'playground')],
    }),
  );
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`compiling the servers failed:\n${stdout?.toString() ?? ''}${stderr?.toString() ?? ''}`);
  }
  // As in the image: package.json beside dist/ (the version, and "type": "module"), and the dependencies.
  copyFileSync(join(ROOT, 'package.json'), join(out, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
  return join(out, 'bench', 'server.js');
}

/** NODE_OPTIONS of the webhook container in manifests/base/deployment.yaml: the heap flags production runs with. */
export function deploymentNodeOptions(): string {
  const text = readFileSync(join(ROOT, 'manifests', 'base', 'deployment.yaml'), 'utf8');
  const container = parse(text).spec.template.spec.containers[0] as { env?: { name: string; value?: string }[] };
  const options = container.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
  if (options === undefined) throw new Error('manifests/base/deployment.yaml sets no NODE_OPTIONS for the webhook container');
  return options;
}
