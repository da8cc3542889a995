/**
 * A deeply nested body is refused before it is parsed: four concurrent
 * bodies of nested brackets at the body limit (1.5 million levels), on each
 * endpoint, sent to a real `serve` process, leave its peak resident memory
 * (VmHWM, threads and the preview worker included) below the Deployment's
 * memory limit. Parsed first, one such body on /mutate peaked at that limit.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BODY_LIMIT } from '../../src/server/errors.ts';
import { killServes, localhostCertificates, startServe, type ServeProcess } from '../support/cli.ts';
import { reviewOf, samplePod, send } from '../support/server.ts';

const MiB = 1024 * 1024;

/** The webhook container's memory limit in the shipped Deployment, in bytes. */
function deploymentMemoryLimit(): number {
  const text = readFileSync(fileURLToPath(new URL('../../manifests/base/deployment.yaml', import.meta.url)), 'utf8');
  const limit = parse(text).spec.template.spec.containers[0].resources.limits.memory as string;
  const m = /^(\d+)Mi$/.exec(limit);
  if (!m) throw new Error(`unexpected memory limit ${limit}`);
  return Number(m[1]) * MiB;
}

/** Peak resident set size of a process, from /proc. */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error('no VmHWM in /proc/PID/status');
  return Number(m[1]) * 1024;
}

const review = (pod: unknown): string => JSON.stringify(reviewOf(pod));
const podWith = (field: string): string => {
  const [head, tail] = review({ ...samplePod(), spec: { containers: [{ name: 'web', image: 'nginx' }], extra: '@@' } }).split('"@@"');
  return `${head}${field}${tail}`;
};

const nested = (): string => `${'['.repeat(BODY_LIMIT / 2 - 4096)}${']'.repeat(BODY_LIMIT / 2 - 4096)}`;

const BODIES: [path: string, type: string, body: () => string][] = [
  ['/mutate', 'application/json', () => podWith(nested())],
  ['/preview', 'application/json', () => `{"kind":"ConfigMap","data":${nested()}}`],
  ['/preview', 'application/yaml', () => `kind: ConfigMap\ndata: ${nested()}\n`],
];

let dir: string;
let certs: { cert: string; key: string };
let caCert: string;
let serve: ServeProcess;
let limit: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitsync-injector-memory-'));
  ({ files: certs, caCert } = await localhostCertificates(dir, 'memory test CA'));
  limit = deploymentMemoryLimit();
});
afterAll(async () => {
  killServes();
  await rm(dir, { recursive: true, force: true });
});

describe('peak memory of a serve process under four concurrent deeply nested bodies per endpoint', () => {
  test('every body is refused as TOO_DEEP and the peak stays below the Deployment memory limit', async () => {
    // /preview has a listener of its own (off unless asked for).
    serve = await startServe(['--preview-port', '0'], certs);
    const pid = serve.child.pid!;
    for (const [path, type, make] of BODIES) {
      const body = make();
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => send({ port: path === '/preview' ? serve.previewPort! : serve.port, ca: caCert, path, method: 'POST', headers: { 'content-type': type }, body })),
      );
      for (const answer of answers) expect(answer.json(), `${path} ${type}`).toMatchObject({ error: { code: 400, reason: 'TOO_DEEP' } });
    }
    expect(serve.exited()).toBe(false);
    const peak = peakRss(pid);
    expect(peak, `peak RSS ${Math.round(peak / MiB)} MiB`).toBeLessThan(limit);
  }, 120_000);
});
