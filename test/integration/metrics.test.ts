/**
 * /metrics on the health port: what Prometheus scrapes matches what was sent,
 * request for request, through the servers as `serve` wires them and through
 * the real command.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { ADMISSION_OUTCOMES, PASS_REASONS, type AdmissionDeps } from '../../src/admission/index.ts';
import { SKIP_REASONS } from '../../src/engine/index.ts';
import { ADMISSION_DURATION_BUCKETS, admissionReason, createMetrics, type Metrics } from '../../src/metrics/index.ts';
import { loadBuiltinPolicy } from '../../src/policy/load.ts';
import { PolicyStore } from '../../src/policy/store.ts';
import { buildHealthServer, buildServer, webhookReadiness } from '../../src/server/index.ts';
import { certificatePaths, writeCertificates } from '../../src/tls/index.ts';
import { VERSION } from '../../src/version.ts';
import { badPod, captureLogger, engineContext, postReview, reviewOf, samplePod, send, testCertificates } from '../support/server.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  samples: Sample[];
  help: Map<string, string>;
  type: Map<string, string>;
}

/** Parses the Prometheus text format (version 0.0.4). */
function parseExposition(text: string): Exposition {
  const exposition: Exposition = { samples: [], help: new Map(), type: new Map() };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'HELP' ? exposition.help : exposition.type).set(meta[2]!, meta[3]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    exposition.samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return exposition;
}

/** The value of the one sample with this name and exactly these labels; undefined when there is none. */
function value(exposition: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const matches = exposition.samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()));
  if (matches.length > 1) throw new Error(`${matches.length} samples of ${name} ${JSON.stringify(labels)}`);
  return matches[0]?.value;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The webhook and health servers with metrics, wired as serve wires them. */
async function start(deps: Partial<AdmissionDeps> = {}): Promise<{ port: number; healthPort: number; ca: string; metrics: Metrics }> {
  const { ca, serving } = await testCertificates();
  const { logger } = captureLogger();
  const metrics = createMetrics({ version: VERSION });
  const fullDeps: AdmissionDeps = { ctx: engineContext(), namespaceAnnotations: () => undefined, ...deps };
  const webhook = buildServer({ tls: serving, deps: fullDeps, logger, onAdmission: metrics.observeAdmission });
  const health = buildHealthServer({ readiness: webhookReadiness(webhook, fullDeps, 'built-in'), logger, metrics });
  await webhook.listen({ host: '127.0.0.1', port: 0 });
  await health.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(async () => {
    await webhook.close();
    await health.close();
  });
  return { port: (webhook.server.address() as AddressInfo).port, healthPort: (health.server.address() as AddressInfo).port, ca: ca.cert, metrics };
}

async function scrape(healthPort: number): Promise<Exposition> {
  const res = await send({ port: healthPort, path: '/metrics' });
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(res.text);
}

/** Each kind of request the webhook meets, how many of it to send, and the series it must count. */
const TRAFFIC: { what: string; count: number; body: () => unknown; outcome: string; reason: string }[] = [
  { what: 'an opted-in pod', count: 5, body: () => reviewOf(samplePod()), outcome: 'injected', reason: '' },
  { what: 'a pod with a second repository', count: 2, body: () => reviewOf(samplePod({ 'gitsync.dev/plugins.repo': 'https://github.com/acme/plugins.git' })), outcome: 'injected', reason: '' },
  { what: 'bad annotations', count: 3, body: () => reviewOf(badPod()), outcome: 'denied', reason: 'DURATION_INVALID,VALUE_NOT_ALLOWED' },
  { what: 'a pod that did not opt in', count: 2, body: () => reviewOf({ metadata: { name: 'plain' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } }), outcome: 'skipped', reason: 'not-opted-in' },
  { what: 'a pod that opted out', count: 1, body: () => reviewOf(samplePod({ 'gitsync.dev/inject': 'false' })), outcome: 'skipped', reason: 'opted-out' },
  { what: 'a pod UPDATE', count: 2, body: () => reviewOf(samplePod(), { operation: 'UPDATE' }), outcome: 'allowed', reason: 'not-create' },
  {
    what: 'another kind',
    count: 1,
    body: () => reviewOf({}, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' } }),
    outcome: 'allowed',
    reason: 'not-a-pod',
  },
  { what: 'a subresource', count: 1, body: () => reviewOf(samplePod(), { subResource: 'status' }), outcome: 'allowed', reason: 'subresource' },
  { what: 'a review without a request', count: 2, body: () => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), outcome: 'invalid', reason: '' },
  { what: 'a pod CREATE without the pod', count: 1, body: () => reviewOf(undefined), outcome: 'invalid', reason: '' },
  { what: 'an internal error', count: 1, body: () => reviewOf(samplePod(), { namespace: 'explodes' }), outcome: 'error', reason: '' },
];

describe('/metrics', () => {
  test('admissions by outcome and reason, and the latency histogram, count exactly the requests sent', async () => {
    const s = await start({
      namespaceAnnotations: (ns) => {
        if (ns === 'explodes') throw new Error('namespace lookup failed');
        return undefined;
      },
    });
    for (const traffic of TRAFFIC) {
      for (let i = 0; i < traffic.count; i++) await postReview(s, traffic.body());
    }
    const m = await scrape(s.healthPort);

    const total = TRAFFIC.reduce((sum, t) => sum + t.count, 0);
    const admissions = m.samples.filter((x) => x.name === 'gitsync_injector_admissions_total');
    expect(admissions.reduce((sum, x) => sum + x.value, 0)).toBe(total);
    for (const t of TRAFFIC) {
      const expected = TRAFFIC.filter((u) => u.outcome === t.outcome && u.reason === t.reason).reduce((sum, u) => sum + u.count, 0);
      expect(value(m, 'gitsync_injector_admissions_total', { outcome: t.outcome, reason: t.reason }), t.what).toBe(expected);
    }
    // Five pods with one repository, two with two.
    expect(value(m, 'gitsync_injector_repositories_injected_total')).toBe(5 + 2 * 2);

    for (const outcome of new Set(TRAFFIC.map((t) => t.outcome))) {
      const sent = TRAFFIC.filter((t) => t.outcome === outcome).reduce((sum, t) => sum + t.count, 0);
      expect(value(m, 'gitsync_injector_admission_duration_seconds_count', { outcome }), outcome).toBe(sent);
      const buckets = m.samples.filter((x) => x.name === 'gitsync_injector_admission_duration_seconds_bucket' && x.labels.outcome === outcome);
      expect(buckets.map((b) => b.labels.le)).toEqual([...ADMISSION_DURATION_BUCKETS.map(String), '+Inf']);
      // Cumulative buckets never decrease, and the last holds every observation.
      expect(buckets.map((b) => b.value)).toEqual([...buckets.map((b) => b.value)].sort((a, b) => a - b));
      expect(buckets.at(-1)!.value).toBe(sent);
    }
  });

  test('every reason the admission adapter lets a request pass for is a label value of its own, and sent above', () => {
    expect(new Set(TRAFFIC.filter((t) => t.outcome === 'allowed').map((t) => t.reason))).toEqual(new Set(PASS_REASONS));
    for (const reason of PASS_REASONS) expect(admissionReason({ outcome: 'allowed', reason })).toBe(reason);
    for (const reason of Object.keys(SKIP_REASONS)) expect(admissionReason({ outcome: 'skipped', reason })).toBe(reason);
    // Free text never becomes a label value.
    expect(admissionReason({ outcome: 'allowed', reason: 'request.kind is 7' })).toBe('other');
    expect(admissionReason({ outcome: 'skipped', reason: 'whatever' })).toBe('other');
  });

  test('every admission outcome has a latency series from the start', async () => {
    const m = await scrape((await start()).healthPort);
    for (const outcome of ADMISSION_OUTCOMES) expect(value(m, 'gitsync_injector_admission_duration_seconds_count', { outcome }), outcome).toBe(0);
  });

  test("the policy store's own events are counted when metrics listen to it", async () => {
    const s = await start();
    const store = new PolicyStore(loadBuiltinPolicy());
    store.onChange(s.metrics.observePolicy);
    store.apply('defaults:\n  period: 2m\n', '/etc/gitsync-injector/policy.yaml');
    store.apply('defaults:\n  period: 5x\n', '/etc/gitsync-injector/policy.yaml');
    const m = await scrape(s.healthPort);
    expect(value(m, 'gitsync_injector_policy_loads_total', { result: 'loaded' })).toBe(1);
    expect(value(m, 'gitsync_injector_policy_loads_total', { result: 'rejected' })).toBe(1);
    expect(value(m, 'gitsync_injector_policy_info', { source: '/etc/gitsync-injector/policy.yaml', hash: store.current.hash })).toBe(1);
  });

  test('before any request: zero series, build info, process metrics, and every name documented', async () => {
    const s = await start();
    const m = await scrape(s.healthPort);
    expect(value(m, 'gitsync_injector_admissions_total', { outcome: 'injected', reason: '' })).toBe(0);
    expect(value(m, 'gitsync_injector_admissions_total', { outcome: 'error', reason: '' })).toBe(0);
    expect(value(m, 'gitsync_injector_admission_duration_seconds_count', { outcome: 'denied' })).toBe(0);
    expect(value(m, 'gitsync_injector_policy_loads_total', { result: 'rejected' })).toBe(0);
    expect(value(m, 'gitsync_injector_certificate_reloads_total', { result: 'failure' })).toBe(0);
    expect(value(m, 'gitsync_injector_repositories_injected_total')).toBe(0);
    expect(value(m, 'gitsync_injector_log_lines_dropped_total')).toBe(0);
    expect(value(m, 'gitsync_injector_build_info', { version: VERSION, node: process.version })).toBe(1);
    expect(value(m, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(m.type.get('nodejs_eventloop_lag_seconds')).toBe('gauge');

    const ours = [...m.type.keys()].filter((name) => name.startsWith('gitsync_injector_'));
    expect(ours.sort()).toEqual([
      'gitsync_injector_admission_duration_seconds',
      'gitsync_injector_admissions_total',
      'gitsync_injector_build_info',
      'gitsync_injector_certificate_expiration_timestamp_seconds',
      'gitsync_injector_certificate_reloads_total',
      'gitsync_injector_log_lines_dropped_total',
      'gitsync_injector_policy_info',
      'gitsync_injector_policy_loads_total',
      'gitsync_injector_repositories_injected_total',
    ]);
    // Prometheus conventions: counters end in _total, units are base units in the name, help for each.
    for (const name of ours) {
      expect(m.help.get(name)?.length, name).toBeGreaterThan(20);
      if (m.type.get(name) === 'counter') expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
    }
    expect(m.type.get('gitsync_injector_admission_duration_seconds')).toBe('histogram');
  });

  test('policy loads and rejections, and certificate reloads, are counted; the policy and certificate in use are shown', async () => {
    const s = await start();
    s.metrics.observePolicy({ type: 'loaded', source: 'built-in', hash: 'aaaaaaaaaaaa' });
    s.metrics.observePolicy({ type: 'rejected', source: 'configmap gitsync-injector/gitsync-injector-policy key policy.yaml' });
    s.metrics.observePolicy({ type: 'loaded', source: 'configmap gitsync-injector/gitsync-injector-policy key policy.yaml', hash: 'bbbbbbbbbbbb' });
    const notAfter = new Date('2027-01-02T03:04:05Z');
    s.metrics.certificateInUse(new Date('2026-12-01T00:00:00Z'));
    s.metrics.observeCertificate({ result: 'failure' });
    s.metrics.observeCertificate({ result: 'success', notAfter });

    const m = await scrape(s.healthPort);
    expect(value(m, 'gitsync_injector_policy_loads_total', { result: 'loaded' })).toBe(2);
    expect(value(m, 'gitsync_injector_policy_loads_total', { result: 'rejected' })).toBe(1);
    // Only the policy in force is shown.
    expect(m.samples.filter((x) => x.name === 'gitsync_injector_policy_info')).toEqual([
      { name: 'gitsync_injector_policy_info', labels: { source: 'configmap gitsync-injector/gitsync-injector-policy key policy.yaml', hash: 'bbbbbbbbbbbb' }, value: 1 },
    ]);
    expect(value(m, 'gitsync_injector_certificate_reloads_total', { result: 'success' })).toBe(1);
    expect(value(m, 'gitsync_injector_certificate_reloads_total', { result: 'failure' })).toBe(1);
    expect(value(m, 'gitsync_injector_certificate_expiration_timestamp_seconds')).toBe(notAfter.getTime() / 1000);
  });

  test('each server counts its own requests', async () => {
    const a = await start();
    const b = await start();
    for (let i = 0; i < 3; i++) await postReview(a, reviewOf(samplePod()));
    await postReview(b, reviewOf(samplePod()));
    expect(value(await scrape(a.healthPort), 'gitsync_injector_admissions_total', { outcome: 'injected', reason: '' })).toBe(3);
    expect(value(await scrape(b.healthPort), 'gitsync_injector_admissions_total', { outcome: 'injected', reason: '' })).toBe(1);
  });
});

describe('serve: /metrics', () => {
  const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  let dir: string | undefined;
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('counts the admissions sent to the command, its policy load and its certificate', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitsync-injector-metrics-'));
    const paths = certificatePaths(dir);
    const { ca, serving } = await testCertificates();
    await writeCertificates(paths, ca, serving);
    const proc = spawn(process.execPath, [MAIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--health-port', '0'], {
      env: { PATH: process.env.PATH ?? '', GITSYNC_INJECTOR_TLS_CERT: paths.cert, GITSYNC_INJECTOR_TLS_KEY: paths.key },
    });
    child = proc;
    const exit = new Promise<number | null>((resolve) => proc.on('close', resolve));
    const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let buffer = '';
      proc.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        for (let i = buffer.indexOf('\n'); i !== -1; i = buffer.indexOf('\n')) {
          const line = JSON.parse(buffer.slice(0, i)) as Record<string, unknown>;
          buffer = buffer.slice(i + 1);
          if (line.msg === 'gitsync-injector started') resolve(line);
        }
      });
      void exit.then((code) => reject(new Error(`serve exited with ${code}`)));
    });
    const port = Number(new URL(started.webhook as string).port);
    const healthPort = Number(new URL(started.health as string).port);

    for (let i = 0; i < 4; i++) await postReview({ port, ca: ca.cert }, reviewOf(samplePod()));
    await postReview({ port, ca: ca.cert }, reviewOf(badPod()));
    const m = await scrape(healthPort);
    expect(value(m, 'gitsync_injector_admissions_total', { outcome: 'injected', reason: '' })).toBe(4);
    expect(value(m, 'gitsync_injector_admissions_total', { outcome: 'denied', reason: 'DURATION_INVALID,VALUE_NOT_ALLOWED' })).toBe(1);
    expect(value(m, 'gitsync_injector_policy_loads_total', { result: 'loaded' })).toBe(1);
    expect(value(m, 'gitsync_injector_policy_info', { source: 'built-in', hash: (started.policy as { hash: string }).hash })).toBe(1);
    const notAfter = new Date(new X509Certificate(serving.cert).validTo).getTime() / 1000;
    expect(value(m, 'gitsync_injector_certificate_expiration_timestamp_seconds')).toBe(notAfter);
    expect(value(m, 'gitsync_injector_build_info', { version: VERSION, node: process.version })).toBe(1);

    proc.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
