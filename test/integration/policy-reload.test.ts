/**
 * Live reload from a policy file, against the real HTTPS server while
 * admissions keep arriving: no request fails, new requests see the new
 * policy, and an invalid edit keeps the old one, flips the metric and shows
 * on /readyz and GET /policy. Edits are made the ways they happen: written in
 * place, saved by an editor (a new file renamed over the old), and swapped
 * by the kubelet in a ConfigMap volume (the `..data` symlink).
 */
import { mkdir, mkdtemp, open, rename, rm, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { startSources, type Sources } from '../../src/app/index.ts';
import { createMetrics } from '../../src/metrics/index.ts';
import { loadBuiltinPolicy, POLICY_SETTLE_MS, PolicyError } from '../../src/policy/load.ts';
import { PolicyFileWatcher } from '../../src/policy/sources/file.ts';
import { PolicyStore } from '../../src/policy/store.ts';
import { buildHealthServer, buildPreviewServer, buildServer, webhookReadiness, type HealthServer, type PreviewServer, type WebhookServer } from '../../src/server/index.ts';
import { VERSION } from '../../src/version.ts';
import { captureLogger, decodePatch, postReview, reviewOf, samplePod, send, testCertificates } from '../support/server.ts';

const eventually = { timeout: 10_000, interval: 10 };
const image = (registry: string): string => `${registry}.example.com/git-sync/git-sync:v4.7.1`;
const policyWithImage = (registry: string): string => `image: ${image(registry)}\n`;
const INVALID = 'limits:\n  minPeriod: 5\ndefaults:\n  period: 5x\n';

interface Running {
  dir: string;
  file: string;
  sources: Sources;
  webhook: WebhookServer;
  preview: PreviewServer;
  health: HealthServer;
  port: number;
  previewPort: number;
  healthPort: number;
  ca: string;
  metrics: ReturnType<typeof createMetrics>;
}

let running: Running | undefined;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  running = undefined;
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gitsync-policy-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The settle period (a file is used once two reads this far apart agree) of
 * the tests about something else than half-written files: serve's 1 s, paid
 * at start and at every edit, made most of this file's run time. The test
 * of pauses in the middle of a write keeps serve's own.
 */
const QUICK_SETTLE_MS = 250;

/** serve's wiring, in process: the sources own the deps the HTTPS server reads. */
async function serveFile(file: string, dir: string, settleMs = QUICK_SETTLE_MS): Promise<Running> {
  const { logger } = captureLogger();
  const sources = await startSources(
    { policyFile: file, cluster: 'off', configMap: { name: 'unused', key: 'policy.yaml' } },
    { env: {}, logger, context: { cluster: {}, version: VERSION }, file: { debounceMs: 20, pollMs: 250, settleMs } },
  );
  cleanups.push(() => sources.stop());
  const metrics = createMetrics({ version: VERSION, processMetrics: false });
  sources.store.onChange(metrics.observePolicy);
  const { ca, serving } = await testCertificates();
  const webhook = buildServer({ tls: serving, deps: sources.deps, logger });
  const preview = buildPreviewServer({ tls: serving, deps: sources.deps, logger, policy: sources.store });
  const readiness = webhookReadiness(webhook, sources.deps, sources.store.current.source);
  sources.attach(readiness);
  const health = buildHealthServer({ readiness, logger, metrics });
  await webhook.listen({ host: '127.0.0.1', port: 0 });
  await preview.listen({ host: '127.0.0.1', port: 0 });
  await health.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => webhook.close(), () => preview.close(), () => health.close());
  running = {
    dir,
    file,
    sources,
    webhook,
    preview,
    health,
    port: (webhook.server.address() as AddressInfo).port,
    previewPort: (preview.server.address() as AddressInfo).port,
    healthPort: (health.server.address() as AddressInfo).port,
    ca: ca.cert,
    metrics,
  };
  return running;
}

/** The git-sync image an admission injected, or why there is none. */
async function admitOnce(r: Running): Promise<string> {
  const res = await postReview(r, reviewOf(samplePod()));
  if (res.status !== 200) return `HTTP ${res.status}`;
  const response = res.json().response as { allowed: boolean; patch?: string; status?: { message?: string } };
  if (!response.allowed) return `denied: ${response.status?.message}`;
  const added = decodePatch(response).find((op) => op.op === 'add' && op.path === '/spec/containers/-');
  return (added as { value?: { image?: string } } | undefined)?.value?.image ?? 'no git-sync container';
}

/**
 * Admissions from several clients at once until stopped (or a bound is
 * reached): what each client saw, in order. A thrown request counts as seen.
 */
function admissionsInFlight(r: Running, clients = 4, bound = 4000) {
  const seen: string[][] = Array.from({ length: clients }, () => []);
  let stop = false;
  let total = 0;
  const loops = seen.map(async (mine) => {
    while (!stop && total < bound) {
      total++;
      mine.push(await admitOnce(r).catch((e: unknown) => `request failed: ${(e as Error).message}`));
    }
  });
  const latest = () => seen.map((s) => s.at(-1));
  return {
    seen,
    latest,
    /** Resolves once every client's latest admission injected the image of `registry`. */
    allSee: (registry: string) => vi.waitFor(() => expect(latest().every((l) => l === image(registry))).toBe(true), eventually),
    async stop(): Promise<string[][]> {
      stop = true;
      await Promise.all(loops);
      expect(total).toBeLessThan(bound);
      return seen;
    },
  };
}

/** Each client's answers only ever move forward through `order`, and every answer is one of them. */
function expectMonotonic(seen: string[][], order: string[]): void {
  for (const answers of seen) {
    const positions = answers.map((a) => order.indexOf(a));
    expect(answers.filter((a) => !order.includes(a))).toEqual([]);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  }
}

/** A policy file holding policy one, served, with admissions arriving that all see it. */
async function servedUnderLoad(settleMs?: number) {
  const dir = await tempDir();
  const file = join(dir, 'policy.yaml');
  await writeFile(file, policyWithImage('one'));
  const r = await serveFile(file, dir, settleMs);
  const load = admissionsInFlight(r);
  await load.allSee('one');
  return { file, r, load };
}

const metric = async (r: Running, line: string): Promise<boolean> => (await r.metrics.render()).split('\n').includes(line);

describe('policy file reload while admissions run', () => {
  test('in-place write, editor save, invalid edit: no request fails, new requests see the new policy, the invalid one is rejected', async () => {
    const { file, r, load } = await servedUnderLoad();
    const dir = dirname(file);

    // Written in place.
    await writeFile(file, policyWithImage('two'));
    await load.allSee('two');

    // An editor's save: a new file renamed over the old one (a new inode).
    await writeFile(join(dir, '.policy.yaml.swp'), policyWithImage('three'));
    await rename(join(dir, '.policy.yaml.swp'), file);
    await load.allSee('three');
    const good = r.sources.store.current;

    // Invalid: rejected, the last good policy stays for every request after it.
    await writeFile(file, INVALID);
    await vi.waitFor(() => expect(r.sources.store.rejected).toBeDefined(), eventually);
    const countAfterRejection = load.seen.map((s) => s.length);
    await vi.waitFor(() => expect(load.seen.every((s, i) => s.length > countAfterRejection[i]! + 2)).toBe(true), eventually);
    const seen = await load.stop();

    expectMonotonic(seen, [image('one'), image('two'), image('three')]);
    expect(seen.every((s) => s.at(-1) === image('three'))).toBe(true);
    expect(r.sources.store.current).toBe(good);
    expect(r.sources.store.rejected?.problems).toEqual([
      `${file}:2:14: limits.minPeriod: 5 is not a string; use a Go duration such as 10s [POLICY_TYPE_INVALID]`,
      `${file}:4:11: defaults.period: "5x" is not a duration; use a Go duration such as 30s, 5m or 1h30m [DURATION_INVALID]`,
    ]);
    expect(await metric(r, 'gitsync_injector_policy_loads_total{result="loaded"} 2')).toBe(true);
    expect(await metric(r, 'gitsync_injector_policy_loads_total{result="rejected"} 1')).toBe(true);

    // /readyz: still ready, the rejection in its detail.
    const ready = await send({ port: r.healthPort, path: '/readyz' });
    expect(ready.status).toBe(200);
    expect(ready.json().policy).toEqual({ source: file, hash: good.hash, rejected: r.sources.store.rejected });
    // GET /policy says the same.
    const view = (await send({ port: r.previewPort, ca: r.ca, path: '/policy' })).json();
    expect(view).toMatchObject({ source: file, hash: good.hash, policy: { image: image('three') }, rejected: { source: file, problems: r.sources.store.rejected!.problems } });

    // Repaired: in force, the rejection gone.
    await writeFile(file, policyWithImage('four'));
    await vi.waitFor(async () => expect(await admitOnce(r)).toBe(image('four')), eventually);
    expect(r.sources.store.rejected).toBeUndefined();
    expect((await send({ port: r.healthPort, path: '/readyz' })).json().policy).toEqual({ source: file, hash: r.sources.store.current.hash });
  });

  test('rewritten in place with a pause (truncated, then written; half written, then the rest): no admission sees anything but the old or the new policy', async () => {
    // Serve's own settle period: the pauses below are shorter than it, which is why nothing in between is used.
    const { file, r, load } = await servedUnderLoad(POLICY_SETTLE_MS);

    // Truncated, and written 150 ms later: the empty file in between is no policy at all.
    await truncate(file, 0);
    await sleep(150);
    await writeFile(file, policyWithImage('two'));
    await load.allSee('two');

    // Half written, the rest 150 ms later. The first half is a valid policy on its own (the built-in image).
    const next = `defaults:\n  period: 3m\n${policyWithImage('three')}`;
    const half = next.indexOf('image:');
    const handle = await open(file, 'w');
    await handle.write(next.slice(0, half));
    await handle.sync();
    await sleep(150);
    await handle.write(next.slice(half));
    await handle.close();
    await load.allSee('three');

    expectMonotonic(await load.stop(), [image('one'), image('two'), image('three')]);
    // The states in between were never even judged: nothing was rejected, two policies were loaded.
    expect(r.sources.store.counts).toEqual({ loaded: 2, rejected: 0 });
  });

  test('a ConfigMap volume: the kubelet swaps the ..data symlink, and the new policy comes into force', async () => {
    const dir = await tempDir();
    // The layout the kubelet writes: policy.yaml -> ..data/policy.yaml, ..data -> ..<timestamp>.
    await mkdir(join(dir, '..2026_01_01_00_00_00.1'));
    await writeFile(join(dir, '..2026_01_01_00_00_00.1', 'policy.yaml'), policyWithImage('one'));
    await symlink('..2026_01_01_00_00_00.1', join(dir, '..data'));
    await symlink('..data/policy.yaml', join(dir, 'policy.yaml'));
    const r = await serveFile(join(dir, 'policy.yaml'), dir);
    const load = admissionsInFlight(r, 2);
    await load.allSee('one');

    await mkdir(join(dir, '..2026_01_01_00_01_00.2'));
    await writeFile(join(dir, '..2026_01_01_00_01_00.2', 'policy.yaml'), policyWithImage('two'));
    await symlink('..2026_01_01_00_01_00.2', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    await rm(join(dir, '..2026_01_01_00_00_00.1'), { recursive: true });
    await load.allSee('two');
    expectMonotonic(await load.stop(), [image('one'), image('two')]);
  });

  test('a file that disappears: the policy stays, admissions go on, and it counts again when it is back', async () => {
    const dir = await tempDir();
    const file = join(dir, 'policy.yaml');
    await writeFile(file, policyWithImage('one'));
    const r = await serveFile(file, dir);
    await unlink(file);
    await vi.waitFor(() => expect(r.sources.store.rejected?.problems).toEqual([
      expect.stringMatching(new RegExp(`^${file}: cannot read the policy file: ENOENT.* \\[POLICY_SOURCE_UNAVAILABLE\\]$`)),
    ]), eventually);
    expect(await admitOnce(r)).toBe(image('one'));
    await writeFile(file, policyWithImage('one'));
    await vi.waitFor(() => expect(r.sources.store.rejected).toBeUndefined(), eventually);
    expect(r.sources.store.counts).toEqual({ loaded: 1, rejected: 1 });
  });
});

describe('PolicyFileWatcher', () => {
  test('reports an unreadable file once per distinct error, however often it looks', async () => {
    const dir = await tempDir();
    const file = join(dir, 'policy.yaml');
    const store = new PolicyStore(loadBuiltinPolicy());
    const events: string[] = [];
    store.onChange((e) => events.push(e.type));
    const watcher = new PolicyFileWatcher({ path: file, store });
    for (let i = 0; i < 3; i++) await watcher.reload();
    expect(events).toEqual(['rejected']);
    await writeFile(file, policyWithImage('one'));
    await watcher.reload();
    await watcher.reload();
    expect(events).toEqual(['rejected', 'loaded']);
    expect(store.current).toMatchObject({ source: file, compiled: { document: { image: image('one') } } });
  });

  test('the directory removed and created again (its watch is gone): the poll still finds the new file', async () => {
    const parent = await tempDir();
    const dir = join(parent, 'policy');
    const file = join(dir, 'policy.yaml');
    await mkdir(dir);
    await writeFile(file, policyWithImage('one'));
    const store = new PolicyStore(loadBuiltinPolicy());
    const watcher = new PolicyFileWatcher({ path: file, store, debounceMs: 10, pollMs: 50 });
    cleanups.push(() => watcher.stop());
    watcher.start();
    await vi.waitFor(() => expect(store.current.compiled.document.image).toBe(image('one')), eventually);
    await rm(dir, { recursive: true });
    await mkdir(dir);
    await writeFile(file, policyWithImage('two'));
    await vi.waitFor(() => expect(store.current.compiled.document.image).toBe(image('two')), eventually);
  });

  test('a change during a read is read too: the last write always wins', async () => {
    const dir = await tempDir();
    const file = join(dir, 'policy.yaml');
    await writeFile(file, policyWithImage('one'));
    const store = new PolicyStore(loadBuiltinPolicy());
    const watcher = new PolicyFileWatcher({ path: file, store });
    const first = watcher.reload();
    await writeFile(file, policyWithImage('two'));
    const second = watcher.reload();
    await Promise.all([first, second]);
    await vi.waitFor(() => expect(store.current.compiled.document.image).toBe(image('two')), eventually);
  });
});

describe('the policy file at start', () => {
  test('invalid: serve cannot start, and every problem is named with its position', async () => {
    const dir = await tempDir();
    const file = join(dir, 'policy.yaml');
    await writeFile(file, INVALID);
    const started = startSources(
      { policyFile: file, cluster: 'off', configMap: { name: 'unused', key: 'policy.yaml' } },
      { env: {}, logger: captureLogger().logger, context: { cluster: {}, version: VERSION } },
    );
    const error = await started.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as Error).message).toBe(
      [
        `invalid policy in ${file} (2 problems):`,
        `${file}:2:14: limits.minPeriod: 5 is not a string; use a Go duration such as 10s [POLICY_TYPE_INVALID]`,
        `${file}:4:11: defaults.period: "5x" is not a duration; use a Go duration such as 30s, 5m or 1h30m [DURATION_INVALID]`,
      ].join('\n'),
    );
  });

  test('missing: serve cannot start, and the message names the file', async () => {
    const dir = await tempDir();
    const started = startSources(
      { policyFile: join(dir, 'nope.yaml'), cluster: 'off', configMap: { name: 'unused', key: 'policy.yaml' } },
      { env: {}, logger: captureLogger().logger, context: { cluster: {}, version: VERSION } },
    );
    await expect(started).rejects.toThrow(`cannot read policy file ${join(dir, 'nope.yaml')}: ENOENT`);
  });
});
