/**
 * Work per request is bounded: while hostile input is being handled, on
 * any endpoint or through a policy reload, an ordinary admission to the
 * same `serve` process is not held up. Each class of input that once
 * stalled the event loop for seconds is sent four times at once, in three
 * bursts (the policy is reloaded instead), and ordinary admissions are
 * timed meanwhile; their
 * p50, p99 and maximum are printed for each class. The bound asserted is
 * generous (1 s; the goal is a p99 under 50 ms on an idle machine), so the
 * test is about stalls, not timing noise.
 *
 * What no bound removes: a body of 3 MiB (the API server's limit) must be
 * parsed with JSON.parse on the event loop, tens of milliseconds; bodies
 * that large are read one per turn of the loop, so an ordinary admission
 * waits for one of them at most, never for a burst.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { MAX_POLICY_ENTRIES } from '../../src/policy/schema.ts';
import { killServes, localhostCertificates, startServe, type ServeProcess } from '../support/cli.ts';
import { largePolicy } from '../support/large-policy.ts';
import { decodePatch, postReview, reviewOf, samplePod, send } from '../support/server.ts';

const STALL_MS = 1_000;

let dir: string;
let policyFile: string;
let serve: ServeProcess;
let ca: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitsync-injector-stalls-'));
  const certs = await localhostCertificates(dir, 'stalls test CA');
  ca = certs.caCert;
  policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, 'allowedRepos: [github.com/acme/*]\ndefaults:\n  period: 30s\n');
  serve = await startServe(['--preview-port', '0', '--policy', policyFile], certs.files);
}, 60_000);
afterAll(async () => {
  killServes();
  await rm(dir, { recursive: true, force: true });
});

/** 35k unknown annotations with 60-character names: each once cost a "did you mean" over every known name. */
function unknownAnnotations(): string {
  const annotations: Record<string, string> = {};
  for (let i = 0; i < 35_000; i++) annotations[`gitsync.dev/${'x'.repeat(52)}${String(i).padStart(8, '0')}`] = 'v';
  return JSON.stringify(reviewOf(samplePod(annotations)));
}

/** A containers annotation of 40k names on a pod of 10k containers: once a list scan per name. */
function longContainerList(): string {
  const names = Array.from({ length: 40_000 }, (_, i) => `c${i}`);
  const pod = samplePod({ 'gitsync.dev/containers': names.join(',') }) as { spec: { containers: unknown[] } };
  pod.spec.containers = names.slice(0, 10_000).map((name) => ({ name, image: 'nginx' }));
  return JSON.stringify(reviewOf(pod));
}

/** A pod carrying a million empty objects in a field of its own: 3 MiB, which JSON.parse would build into 70 MiB; refused by the scan before it. */
function millionObjects(): string {
  const [head, tail] = JSON.stringify(reviewOf({ ...samplePod(), spec: { containers: [{ name: 'web', image: 'nginx' }], extra: '@@' } })).split('"@@"');
  return `${head}[${'{},'.repeat(1_040_000)}{}]${tail}`;
}

/** The most a body can make JSON.parse build: just under the limit on objects and lists, the rest of 3 MiB numbers. */
function densest(): string {
  const [head, tail] = JSON.stringify(reviewOf({ ...samplePod(), spec: { containers: [{ name: 'web', image: 'nginx' }], extra: '@@' } })).split('"@@"');
  return `${head}[${'{},'.repeat(99_000)}${'0.5,'.repeat(710_000)}0]${tail}`;
}

/** 0.2 MiB of YAML whose anchors, each aliased within the yaml library's per-anchor limit, expand a hundredfold. */
function aliasExpansion(): string {
  const lines = ['apiVersion: v1', 'kind: Pod', 'metadata:', '  name: x', '  annotations: {gitsync.dev/repo: "https://github.com/acme/site.git"}', 'anchors:'];
  for (let a = 0; a < 4; a++) lines.push(`  - &big${a} {${Array.from({ length: 6_000 }, (_, i) => `k${i}: v`).join(', ')}}`);
  lines.push('spec:', '  containers:');
  for (let i = 0; i < 99; i++) lines.push(`  - {name: c${i}, image: nginx, x: [${[0, 1, 2, 3].map((a) => `*big${a}`).join(', ')}]}`);
  return `${lines.join('\n')}\n`;
}

/** The GITSYNC_PERIOD an ordinary admission injects: which policy answered it. */
function periodOf(response: { patch?: string }): string | undefined {
  const sidecar = decodePatch(response).find((op) => op.op === 'add' && op.path === '/spec/containers/-') as { value?: { env?: { name: string; value: string }[] } } | undefined;
  return sidecar?.value?.env?.find((e) => e.name === 'GITSYNC_PERIOD')?.value;
}

/** Ordinary admissions, one after another, until `during` settles: how long each took, and the period each injected. */
async function ordinaryAdmissions(during: Promise<unknown>): Promise<{ latencies: number[]; periods: (string | undefined)[] }> {
  const ordinary = reviewOf(samplePod());
  let done = false;
  const stop = (): void => {
    done = true;
  };
  during.then(stop, stop);
  const latencies: number[] = [];
  const periods: (string | undefined)[] = [];
  while (!done) {
    const start = performance.now();
    const res = await postReview({ port: serve.port, ca }, ordinary);
    latencies.push(performance.now() - start);
    const response = res.json().response as { allowed: boolean; patch?: string };
    expect(response.allowed).toBe(true);
    periods.push(periodOf(response));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { latencies, periods };
}

/** Prints the percentiles of ordinary admissions for a class and holds the bound. */
function holdsBound(name: string, latencies: number[]): void {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!);
  console.log(`${name}: ordinary admissions n=${sorted.length} p50=${at(0.5)} ms p99=${at(0.99)} ms max=${at(1)} ms`);
  expect(sorted.length).toBeGreaterThan(0);
  expect(sorted.at(-1), `ordinary admissions took ${latencies.map(Math.round).join(', ')} ms`).toBeLessThan(STALL_MS);
}

const CLASSES: [name: string, path: string, type: string, body: () => string, expected: number[]][] = [
  ['unknown annotations', '/mutate', 'application/json', unknownAnnotations, [200]],
  ['a long containers list', '/mutate', 'application/json', longContainerList, [200]],
  ['a million empty objects', '/mutate', 'application/json', millionObjects, [413]],
  ['the densest body still parsed', '/mutate', 'application/json', densest, [200]],
  // Previews are worked on one at a time: on a busy machine the last may be told to come back (429).
  ['YAML aliases', '/preview', 'application/yaml', aliasExpansion, [400, 429]],
];

/**
 * A run is repeated when it passes the bound: on a machine busy with other
 * work the operating system alone can delay an answer that long, while the
 * stalls this test is about (seconds, every time) fail every run.
 */
const RUNS = { retry: 2, timeout: 120_000 };

describe('an ordinary admission is not held up while hostile bodies are answered', () => {
  test.each(CLASSES)('%s on %s, four at once', RUNS, async (name, path, type, make, expected) => {
    const body = make();
    const port = path === '/preview' ? serve.previewPort! : serve.port;
    const burst = () => Promise.all(Array.from({ length: 4 }, () => send({ port, ca, path, method: 'POST', headers: { 'content-type': type }, body })));
    // Three bursts of four, one after another: enough ordinary admissions meanwhile to tell a percentile.
    const hostile = (async () => [...(await burst()), ...(await burst()), ...(await burst())])();
    const { latencies } = await ordinaryAdmissions(hostile);
    for (const res of await hostile) expect(expected, res.text.slice(0, 300)).toContain(res.status);
    holdsBound(name, latencies);
  });
});

describe('a policy reloaded from its file while admissions run', () => {
  const count = (prefix: string): number => serve.lines.filter((l) => String(l.msg).startsWith(prefix)).length;
  const eventually = { timeout: 60_000, interval: 20 };
  let attempt = 0;

  test('one at every limit comes into force', RUNS, async () => {
    // 1 MiB: a thousand presets, repository patterns, RSA host keys and excluded namespaces.
    const before = count('policy loaded');
    const loaded = (async () => {
      await writeFile(policyFile, largePolicy({ period: '45s' }));
      await vi.waitFor(() => expect(count('policy loaded')).toBe(before + 1), eventually);
    })();
    const { latencies, periods } = await ordinaryAdmissions(loaded);
    holdsBound('a policy at every limit reloaded', latencies);
    // Admissions saw the old policy, then the new one.
    expect([...new Set(periods)].filter((p) => p !== '45s').every((p) => p === '30s')).toBe(true);
    await vi.waitFor(async () => expect(periodOf((await postReview({ port: serve.port, ca }, reviewOf(samplePod()))).json().response)).toBe('45s'), eventually);
  });

  test('one of 20,000 presets is refused by name, and the last good stays', RUNS, async () => {
    // What once held admissions up for 6.7 s.
    const presets = Array.from({ length: 20_000 }, (_, i) => `  p${i}:\n    period: 30s\n    ref: main\n`).join('');
    const rejected = `policy from ${policyFile} rejected`;
    const before = count(rejected);
    const refused = (async () => {
      // A text of its own for each run: the same text again would be known, and not judged again.
      await writeFile(policyFile, `defaults:\n  period: 50s\npresets:\n${presets}# run ${++attempt}\n`);
      await vi.waitFor(() => expect(count(rejected)).toBe(before + 1), eventually);
    })();
    const { latencies, periods } = await ordinaryAdmissions(refused);
    holdsBound('a policy of 20,000 presets reloaded, and refused', latencies);
    expect(new Set(periods)).toEqual(new Set(['45s']));
    const rejection = serve.lines.findLast((l) => String(l.msg).startsWith(rejected));
    expect(rejection?.problems).toEqual([`${policyFile}:4:3: presets: has 20000 presets; a policy may have at most ${MAX_POLICY_ENTRIES} [POLICY_TOO_LARGE]`]);
  });
});
