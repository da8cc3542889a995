/**
 * The container image, checked without a Docker engine: the Dockerfile is
 * parsed into stages and instructions and held to what the image promises
 * (multi-stage, current Node.js LTS, compiled output and production
 * dependencies only, non-root, no shell at run time, exec-form entrypoint,
 * the server's ports), the build context is an allow-list, and the compiled
 * output runs with the image's own entrypoint and only production
 * dependencies imported.
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { serveConfig } from '../../src/app/index.ts';
import { VERSION } from '../../src/version.ts';
import { compiledApp, ROOT, type CompiledApp } from '../support/compiled.ts';

interface Instruction {
  keyword: string;
  /** The arguments as written, continuation lines joined. */
  args: string;
  line: number;
}

interface Stage {
  from: string;
  name?: string;
  /** FROM --platform=…, as written. */
  platform?: string;
  instructions: Instruction[];
}

/** Dockerfile syntax as far as these checks need it: comments, line continuations, one instruction per logical line. */
function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (pending === undefined && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    // Comment lines inside a continued instruction are skipped, as Docker does.
    if (pending !== undefined && line.trimStart().startsWith('#')) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    pending = pending ? { text: `${pending.text} ${body.trim()}`, line: pending.line } : { text: body.trim(), line: i + 1 };
    if (!continued) {
      const m = /^(\S+)\s*(.*)$/.exec(pending.text)!;
      instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: pending.line });
      pending = undefined;
    }
  });
  if (pending) throw new Error(`line ${(pending as { line: number }).line}: the file ends inside a continued instruction`);
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const m = /^(?:--platform=(\S+)\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!m) throw new Error(`line ${instruction.line}: cannot read FROM ${instruction.args}`);
      stages.push({ from: m[2]!, ...(m[3] ? { name: m[3] } : {}), ...(m[1] ? { platform: m[1] } : {}), instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${instruction.line}: ${instruction.keyword} before the first FROM`);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

/** An exec-form argument list (a JSON array of strings); undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const all = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);

let stages: Stage[];
let build: Stage;
let runtime: Stage;
let pkg: { version: string; dependencies: Record<string, string>; devDependencies: Record<string, string>; engines: { node: string } };

beforeAll(async () => {
  stages = parseDockerfile(await readFile(join(ROOT, 'Dockerfile'), 'utf8'));
  build = stages[0]!;
  runtime = stages.at(-1)!;
  pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
});

describe('parseDockerfile', () => {
  test('reads stages, joins continued lines and skips comments', () => {
    const parsed = parseDockerfile('# syntax=docker/dockerfile:1\nARG V=1\nFROM --platform=$BUILDPLATFORM a:1 AS one\nRUN x \\\n  # note\n  && y\nFROM b\nUSER 1\n');
    expect(parsed).toEqual([
      { from: 'a:1', name: 'one', platform: '$BUILDPLATFORM', instructions: [{ keyword: 'RUN', args: 'x && y', line: 4 }] },
      { from: 'b', instructions: [{ keyword: 'USER', args: '1', line: 8 }] },
    ]);
    expect(() => parseDockerfile('USER 1\n')).toThrow('USER before the first FROM');
  });
});

describe('Dockerfile', () => {
  test('has a build stage and a separate runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build.name).toBe('build');
    expect(runtime.name).toBeUndefined();
  });

  test('both stages run the Node.js major the project pins (the current LTS, 24)', () => {
    const pinned = Number(/^\^?(\d+)\./.exec(pkg.devDependencies.node ?? '')?.[1]);
    expect(pinned).toBe(24);
    expect(Number(/>=\s*(\d+)/.exec(pkg.engines.node)![1])).toBe(pinned);
    expect(build.from).toMatch(new RegExp(`^node:${pinned}(?:[.-]|$)`));
    expect(runtime.from).toBe(`gcr.io/distroless/nodejs${pinned}-debian12:nonroot`);
  });

  test('compiles with the build tsconfig and keeps production dependencies only', () => {
    const runs = all(build, 'RUN').map((r) => r.args).join('\n');
    expect(runs).toMatch(/\bnpm ci\b/);
    expect(runs).toMatch(/\bnpx tsc -p tsconfig\.build\.json\b/);
    expect(runs).toMatch(/\bnpm prune --omit=dev\b/);
  });

  test('the build stage may run on the builder platform: no production dependency has a native addon', async () => {
    expect(build.platform).toBe('$BUILDPLATFORM');
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
    const production = Object.entries(lock.packages).filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev !== true);
    expect(production.length).toBeGreaterThan(0);
    for (const [path] of production) {
      const files = await readdir(join(ROOT, path), { recursive: true }).catch(() => [] as string[]);
      expect(files.filter((f) => f.endsWith('.node') || f.endsWith('binding.gyp')), path).toEqual([]);
    }
  });

  test('the runtime stage copies only the compiled output, production node_modules and package.json, from the build stage', () => {
    const copies = all(runtime, 'COPY').map((c) => c.args);
    expect(copies).toEqual(['--from=build /src/package.json ./', '--from=build /src/node_modules ./node_modules', '--from=build /src/dist ./dist']);
    expect(all(runtime, 'ADD')).toEqual([]);
  });

  test('needs no shell at run time: no RUN, and every command in exec form', () => {
    expect(all(runtime, 'RUN')).toEqual([]);
    for (const keyword of ['ENTRYPOINT', 'CMD']) {
      const [instruction, ...more] = all(runtime, keyword);
      expect(more, keyword).toEqual([]);
      expect(execForm(instruction!.args), `${keyword} ${instruction!.args}`).toBeDefined();
    }
    expect(all(runtime, 'HEALTHCHECK')).toEqual([]);
  });

  test('runs as a numeric non-root user, so the kubelet can enforce runAsNonRoot', () => {
    const users = all(runtime, 'USER');
    expect(users.length).toBe(1);
    const [uid, gid] = users[0]!.args.split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
  });

  test("exposes the server's default ports and runs serve through the compiled CLI", async () => {
    const config = serveConfig([], {});
    const exposed = all(runtime, 'EXPOSE').flatMap((e) => e.args.split(/\s+/)).map((p) => Number(p.replace(/\/tcp$/, '')));
    expect(exposed.sort()).toEqual([config.healthPort, config.port].sort());
    const entrypoint = execForm(all(runtime, 'ENTRYPOINT')[0]!.args)!;
    expect(entrypoint[0]).toBe('/nodejs/bin/node');
    // The compiled CLI is where the build tsconfig puts src/cli/main.ts.
    const tsconfig = JSON.parse(await readFile(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { outDir: string; rootDir: string } };
    expect(tsconfig.compilerOptions).toMatchObject({ outDir: 'dist', rootDir: 'src' });
    expect(entrypoint.at(-1)).toBe('dist/cli/main.js');
    expect(execForm(all(runtime, 'CMD')[0]!.args)).toEqual(['serve']);
    expect(all(runtime, 'WORKDIR').map((w) => w.args)).toEqual(['/app']);
  });
});

describe('.dockerignore', () => {
  test('is an allow-list that admits exactly what the build stage copies', async () => {
    const patterns = (await readFile(join(ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(patterns[0]).toBe('*');
    const allowed = patterns.slice(1).map((p) => {
      expect(p.startsWith('!'), p).toBe(true);
      return p.slice(1).replace(/\/$/, '');
    });
    const copied = all(build, 'COPY').flatMap((c) => c.args.split(/\s+/).slice(0, -1).map((s) => s.replace(/\/$/, '')));
    expect(copied.sort()).toEqual(allowed.sort());
    // Keys (certs/, the certs command's files under manifests/) and node_modules never enter the context.
    for (const secret of ['certs', 'manifests', 'node_modules', '.git', 'test']) expect(allowed).not.toContain(secret);
  });
});

describe('the compiled output', () => {
  let compiled: CompiledApp;
  let app: string;
  beforeAll(async () => {
    // The image's /app: dist/ from the build tsconfig, package.json, node_modules.
    compiled = await compiledApp();
    app = compiled.dir;
  }, 120_000);
  afterAll(async () => {
    await compiled.remove();
  });

  /** Runs the image's ENTRYPOINT with these arguments, with this Node.js in place of /nodejs/bin/node. */
  const entrypoint = (args: string[]): string => {
    const [, ...rest] = execForm(all(runtime, 'ENTRYPOINT')[0]!.args)!;
    return execFileSync(process.execPath, [...rest, ...args], { cwd: app, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 });
  };

  test('runs with the entrypoint: --version, and the commands the manifests use', () => {
    expect(entrypoint(['--version'])).toBe(`${VERSION}\n`);
    expect(entrypoint(['serve', '--help'])).toContain('Usage: gitsync-injector serve');
    expect(entrypoint(['certs', '--help'])).toContain('Usage: gitsync-injector certs');
  });

  test('imports nothing but Node.js built-ins and production dependencies', async () => {
    const files = (await readdir(join(app, 'dist'), { recursive: true })).filter((f) => f.endsWith('.js'));
    expect(files).toContain(join('cli', 'main.js'));
    const imported = new Set<string>();
    for (const file of files) {
      const code = await readFile(join(app, 'dist', file), 'utf8');
      for (const [, spec] of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) {
        if (spec!.startsWith('.') || spec!.startsWith('node:')) continue;
        imported.add(spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!);
      }
    }
    expect(imported.size).toBeGreaterThan(0);
    for (const name of imported) expect(Object.keys(pkg.dependencies), `${name} is imported by dist/ but is not a production dependency`).toContain(name);
  });
});
