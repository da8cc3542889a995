/**
 * Memory stays under the container's limit (issue 15, item 10): the
 * compiled `serve`, run as the image runs it (dist/, with the Deployment's
 * NODE_OPTIONS), is sent four concurrent worst-case bodies of each kind an
 * endpoint can get, one kind after another, and its peak resident memory
 * (VmHWM: every thread, the preview worker included) stays below the
 * Deployment's memory limit; every body is answered with a reason from the
 * catalogue, and the process lives on.
 * Before: one /mutate body of a 1.4-million-deep array peaked at the limit,
 * two at once at 457 MiB, and a 2.9 MiB /preview list at 727 MiB.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BODY_LIMIT } from '../../src/server/errors.ts';
import { killServes, localhostCertificates, startServe } from '../support/cli.ts';
import { compiledApp, type CompiledApp } from '../support/compiled.ts';
import { reviewOf, samplePod, send } from '../support/server.ts';

const MiB = 1024 * 1024;

/** The webhook container of the shipped Deployment: its memory limit in bytes, and its NODE_OPTIONS. */
function deploymentContainer(): { limit: number; nodeOptions: string } {
  const text = readFileSync(fileURLToPath(new URL('../../manifests/base/deployment.yaml', import.meta.url)), 'utf8');
  const container = parse(text).spec.template.spec.containers[0];
  const limit = container.resources.limits.memory as string;
  const m = /^(\d+)Mi$/.exec(limit);
  if (!m) throw new Error(`unexpected memory limit ${limit}`);
  const nodeOptions = (container.env as { name: string; value?: string }[]).find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
  return { limit: Number(m[1]) * MiB, nodeOptions };
}

/** Resident memory of a process, from /proc: now (VmRSS) or at its peak (VmHWM). */
function memoryOf(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/PID/status`);
  return Number(m[1]) * 1024;
}

const SIZE = BODY_LIMIT - 16 * 1024;
const review = (pod: unknown): string => JSON.stringify(reviewOf(pod));
const podWith = (field: string): string => {
  const [head, tail] = review({ ...samplePod(), spec: { containers: [{ name: 'web', image: 'nginx' }], extra: '@@' } }).split('"@@"');
  return `${head}${field}${tail}`;
};

const nested = (): string => `${'['.repeat(BODY_LIMIT / 2 - 4096)}${']'.repeat(BODY_LIMIT / 2 - 4096)}`;
/** The most a /mutate body can make JSON.parse build: just under the limit on objects and lists, the rest numbers. */
const densest = (): string => podWith(`[${'{},'.repeat(99_000)}${'0.5,'.repeat((SIZE - 3 * 99_000) / 4)}0]`);
/** A YAML List of a hundred thousand small objects: what the yaml library needs most memory for, per byte. */
const yamlList = (): string => `apiVersion: v1\nkind: List\nitems:\n${Array.from({ length: SIZE / 24 }, (_, i) => `- {k: ${String(i).padStart(12, '0')}}`).join('\n')}\n`;
/** 0.2 MiB of YAML whose anchors expand a hundredfold. */
function aliases(): string {
  const lines = ['apiVersion: v1', 'kind: Pod', 'metadata:', '  name: x', 'anchors:'];
  for (let a = 0; a < 4; a++) lines.push(`  - &big${a} {${Array.from({ length: 6_000 }, (_, i) => `k${i}: v`).join(', ')}}`);
  lines.push('spec:', '  containers:');
  for (let i = 0; i < 99; i++) lines.push(`  - {name: c${i}, image: nginx, x: [${[0, 1, 2, 3].map((a) => `*big${a}`).join(', ')}]}`);
  return `${lines.join('\n')}\n`;
}

type Answer = { status: number; reason?: string };
const BODIES: [name: string, path: string, type: string, body: () => string, allowed: Answer[]][] = [
  ['nested brackets', '/mutate', 'application/json', () => podWith(nested()), [{ status: 400, reason: 'TOO_DEEP' }]],
  ['a million empty objects', '/mutate', 'application/json', () => podWith(`[${'{},'.repeat(SIZE / 3 - 400)}{}]`), [{ status: 413, reason: 'BODY_TOO_COMPLEX' }]],
  ['the densest body parsed', '/mutate', 'application/json', densest, [{ status: 200 }]],
  ['nested brackets (JSON)', '/preview', 'application/json', () => `{"kind":"ConfigMap","data":${nested()}}`, [{ status: 400, reason: 'TOO_DEEP' }]],
  ['nested brackets (YAML)', '/preview', 'application/yaml', () => `kind: ConfigMap\ndata: ${nested()}\n`, [{ status: 400, reason: 'TOO_DEEP' }]],
  ['a million empty objects (JSON)', '/preview', 'application/json', () => `{"kind":"ConfigMap","data":[${'{},'.repeat(SIZE / 3 - 400)}{}]}`, [{ status: 413, reason: 'BODY_TOO_COMPLEX' }]],
  // Four at once: one runs out of the worker's memory at a time, and those that waited too long are told to come back.
  ['a YAML list of many objects', '/preview', 'application/yaml', yamlList, [{ status: 413, reason: 'BODY_TOO_COMPLEX' }, { status: 429, reason: 'BUSY' }]],
  ['YAML aliases', '/preview', 'application/yaml', aliases, [{ status: 400, reason: 'INVALID_YAML' }, { status: 429, reason: 'BUSY' }]],
];

let dir: string;
let app: CompiledApp;
let certs: { cert: string; key: string };
let caCert: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitsync-injector-memory-'));
  ({ files: certs, caCert } = await localhostCertificates(dir, 'memory test CA'));
  app = await compiledApp();
}, 120_000);
afterAll(async () => {
  killServes();
  await app?.remove();
  await rm(dir, { recursive: true, force: true });
});

describe('peak memory of the compiled serve under four concurrent worst-case bodies per endpoint', () => {
  // A fresh serve per endpoint: what one endpoint's worst bodies cost, not what the other's left behind.
  test.each(['/mutate', '/preview'])('%s: every body is answered with a catalogued reason, the process lives on, and its peak stays below the Deployment memory limit', async (endpoint) => {
    const { limit, nodeOptions } = deploymentContainer();
    expect(nodeOptions).toMatch(/--max-old-space-size=\d+/);
    // /preview has a listener of its own (off unless asked for); the image's entrypoint adds --enable-source-maps.
    const serve = await startServe(['--preview-port', '0'], certs, { NODE_OPTIONS: nodeOptions }, { main: app.main, nodeArgs: ['--enable-source-maps'] });
    const pid = serve.child.pid!;
    const idle = memoryOf(pid, 'VmRSS');
    const peaks: string[] = [];
    for (const [name, path, type, make, allowed] of BODIES.filter(([, path]) => path === endpoint)) {
      const body = make();
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => send({ port: path === '/preview' ? serve.previewPort! : serve.port, ca: caCert, path, method: 'POST', headers: { 'content-type': type }, body })),
      );
      for (const answer of answers) {
        const got: Answer = answer.status === 200 ? { status: 200 } : { status: answer.status, reason: answer.json().error?.reason };
        expect(allowed, `${name} on ${path}: ${answer.text.slice(0, 300)}`).toContainEqual(got);
      }
      expect(serve.exited(), `serve exited after ${name} on ${path}`).toBe(false);
      peaks.push(`${name}: ${Math.round(memoryOf(pid, 'VmHWM') / MiB)} MiB`);
    }
    const peak = memoryOf(pid, 'VmHWM');
    console.log(`${endpoint}: serve idle ${Math.round(idle / MiB)} MiB; peak after each class: ${peaks.join('; ')}; limit ${limit / MiB} MiB`);
    expect(peak, `peak RSS ${Math.round(peak / MiB)} MiB`).toBeLessThan(limit);
    serve.child.kill('SIGKILL');
    await serve.exit;
  }, 300_000);
});
