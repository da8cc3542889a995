/**
 * Serving certificate rotation under load: the webhook keeps answering every
 * request while its certificate files change, new connections get the new
 * certificate, and files that cannot be served never replace the pair in use.
 * The files are laid out as the kubelet lays out a Secret volume (tls.crt ->
 * ..data/tls.crt, ..data -> a timestamped directory, swapped atomically), and
 * also rewritten in place, one file after the other.
 */
import { Agent, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createMetrics, type Metrics } from '../../src/metrics/index.ts';
import { buildServer, type WebhookServer } from '../../src/server/index.ts';
import { secureContextOptions } from '../../src/server/webhook.ts';
import { createCA, issueServingCertificate, type KeyPair } from '../../src/tls/index.ts';
import { checkCertificatePair, watchCertificate, type CertificateWatcher, type CertificateWatcherOptions } from '../../src/tls/reload.ts';
import { captureLogger, engineContext, reviewOf, samplePod } from '../support/server.ts';

let ca: KeyPair;
let first: KeyPair;
let second: KeyPair;
let third: KeyPair;

beforeAll(async () => {
  ca = await createCA('reload test CA');
  const names = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
  [first, second, third] = await Promise.all([issueServingCertificate(ca, names), issueServingCertificate(ca, names), issueServingCertificate(ca, names)]);
});

const fingerprint = (pair: KeyPair): string => checkCertificatePair({ cert: Buffer.from(pair.cert), key: Buffer.from(pair.key) }, { cert: 'tls.crt', key: 'tls.key' }).fingerprint256;

/** A directory laid out like a Secret volume; `swap` replaces its content the way the kubelet's atomic writer does. */
class SecretVolume {
  readonly dir: string;
  #generation = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  get files(): { cert: string; key: string } {
    return { cert: join(this.dir, 'tls.crt'), key: join(this.dir, 'tls.key') };
  }

  static async create(pair: KeyPair): Promise<SecretVolume> {
    const volume = new SecretVolume(await mkdtemp(join(tmpdir(), 'gitsync-injector-reload-')));
    const data = await volume.#writeGeneration({ 'tls.crt': pair.cert, 'tls.key': pair.key });
    await symlink(data, join(volume.dir, '..data'));
    await symlink('..data/tls.crt', join(volume.dir, 'tls.crt'));
    await symlink('..data/tls.key', join(volume.dir, 'tls.key'));
    return volume;
  }

  async #writeGeneration(content: Record<string, string>): Promise<string> {
    const name = `..2026_01_01_00_00_0${this.#generation++}`;
    await mkdir(join(this.dir, name));
    for (const [file, text] of Object.entries(content)) await writeFile(join(this.dir, name, file), text);
    return name;
  }

  /** New content, swapped in with one rename of the `..data` symlink; absent keys are absent files. */
  async swap(content: Record<string, string>): Promise<void> {
    const old = await readlink(join(this.dir, '..data'));
    const data = await this.#writeGeneration(content);
    await symlink(data, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    await rm(join(this.dir, old), { recursive: true });
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}

interface Harness {
  webhook: WebhookServer;
  watcher: CertificateWatcher;
  metrics: Metrics;
  lines: Record<string, unknown>[];
  port: number;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The webhook, serving `pair` from `files`, with a watcher wired as serve wires it. */
async function start(pair: KeyPair, files: { cert: string; key: string }, watch: Partial<CertificateWatcherOptions> = {}): Promise<Harness> {
  const { logger, lines } = captureLogger();
  const metrics = createMetrics({ version: 'test', processMetrics: false });
  const tls = { cert: Buffer.from(pair.cert), key: Buffer.from(pair.key) };
  const webhook = buildServer({ tls, deps: { ctx: engineContext(), namespaceAnnotations: () => undefined }, logger, onAdmission: metrics.observeAdmission });
  await webhook.listen({ host: '127.0.0.1', port: 0 });
  const watcher = watchCertificate({
    files,
    current: checkCertificatePair(tls, files),
    logger,
    apply: (next) => webhook.server.setSecureContext(secureContextOptions(next)),
    onReload: metrics.observeCertificate,
    intervalMs: 100,
    settleMs: 50,
    debounceMs: 20,
    ...watch,
  });
  cleanups.push(async () => {
    watcher.close();
    await webhook.close();
  });
  return { webhook, watcher, metrics, lines, port: (webhook.server.address() as AddressInfo).port };
}

interface Answer {
  status: number;
  uid: string;
  /** The certificate the server presented on this request's connection. */
  fingerprint256: string;
}

/** POSTs an admission over `agent` (false: a new connection), trusting only the test CA. */
function admit(port: number, uid: string, agent: Agent | false): Promise<Answer> {
  const body = JSON.stringify(reviewOf(samplePod(), { uid }));
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/mutate', method: 'POST', ca: ca.cert, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const fingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { response: { uid: string } };
          resolve({ status: res.statusCode ?? 0, uid: review.response.uid, fingerprint256 });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Requests in a loop until `stop()` returns true after a request, over a
 * keep-alive agent and over new connections alternately. Every request is
 * recorded; an error is recorded as a failure, never thrown.
 */
async function loadUntil(port: number, stop: (answers: Answer[]) => boolean, maxRequests = 5000): Promise<{ answers: Answer[]; failures: string[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  const answers: Answer[] = [];
  const failures: string[] = [];
  let n = 0;
  const worker = async (fresh: boolean): Promise<void> => {
    while (n < maxRequests && !stop(answers)) {
      const uid = `req-${n++}`;
      try {
        const answer = await admit(port, uid, fresh ? false : agent);
        if (answer.status !== 200 || answer.uid !== uid) failures.push(`${uid}: status ${answer.status}, uid ${answer.uid}`);
        answers.push(answer);
      } catch (error) {
        failures.push(`${uid}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all([worker(false), worker(false), worker(true), worker(true)]);
  agent.destroy();
  return { answers, failures };
}

async function reloads(metrics: Metrics): Promise<Record<string, number>> {
  const metric = metrics.registry.getSingleMetric('gitsync_injector_certificate_reloads_total');
  const values = (await metric!.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels.result), v.value]));
}

/** Polls `probe` until it holds; bounded, so a reload that never happens fails the test instead of hanging it. */
async function eventually(probe: () => Promise<boolean> | boolean, what: string, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting: ${what}`);
}

describe('certificate rotation under load', () => {
  test('a Secret volume update (..data swap): no request fails, new connections get the new certificate', async () => {
    const volume = await SecretVolume.create(first);
    cleanups.push(() => volume.remove());
    const h = await start(first, volume.files);

    let rotated = false;
    let counted = 0;
    let onNewCertificate = 0;
    const { answers, failures } = await loadUntil(h.port, (answers) => {
      if (!rotated && answers.length >= 50) {
        rotated = true;
        void volume.swap({ 'tls.crt': second.cert, 'tls.key': second.key });
      }
      // Stop once 100 requests went over connections that got the new certificate.
      for (; counted < answers.length; counted++) if (answers[counted]!.fingerprint256 === fingerprint(second)) onNewCertificate++;
      return onNewCertificate >= 100;
    });

    expect(failures).toEqual([]);
    const seen = new Set(answers.map((a) => a.fingerprint256));
    expect(seen).toEqual(new Set([fingerprint(first), fingerprint(second)]));
    expect(h.watcher.current.fingerprint256).toBe(fingerprint(second));
    expect(await reloads(h.metrics)).toEqual({ success: 1, failure: 0 });
    expect(h.lines.filter((l) => l.msg === 'serving certificate reloaded')).toEqual([
      expect.objectContaining({ level: 'info', fingerprint256: fingerprint(second), subjectAltName: 'DNS:localhost, IP Address:127.0.0.1' }),
    ]);
  });

  test('files rewritten in place one after the other: the half-written state is neither served nor reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gitsync-injector-reload-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
    await writeFile(files.cert, first.cert);
    await writeFile(files.key, first.key);
    // The settle period is far longer than the gap between the two writes.
    const h = await start(first, files, { settleMs: 5_000 });

    await writeFile(files.cert, second.cert);
    await h.watcher.check();
    // The new certificate with the old key does not match: not served, not yet reported.
    expect(h.watcher.current.fingerprint256).toBe(fingerprint(first));
    await writeFile(files.key, second.key);
    await eventually(() => h.watcher.current.fingerprint256 === fingerprint(second), 'the new pair is served');

    const { answers, failures } = await loadUntil(h.port, (a) => a.length >= 20);
    expect(failures).toEqual([]);
    expect(new Set(answers.map((a) => a.fingerprint256))).toEqual(new Set([fingerprint(second)]));
    expect(await reloads(h.metrics)).toEqual({ success: 1, failure: 0 });
    expect(h.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });
});

describe('files that cannot be served keep the pair in use', () => {
  const other = async (): Promise<KeyPair> => createCA('unrelated');
  test.each([
    ['a certificate that is not PEM', async () => ({ 'tls.crt': 'not a certificate\n', 'tls.key': second.key }), 'does not hold a PEM certificate'],
    ['a key that is not PEM', async () => ({ 'tls.crt': second.cert, 'tls.key': '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }), 'does not hold a PEM private key'],
    ['a key of another certificate', async () => ({ 'tls.crt': second.cert, 'tls.key': (await other()).key }), 'does not belong to the certificate'],
    ['no files at all', async () => ({}), 'cannot read the certificate'],
  ])('%s: logged and counted once, the old certificate still served; a good pair later is loaded', async (_name, content, message) => {
    const volume = await SecretVolume.create(first);
    cleanups.push(() => volume.remove());
    const h = await start(first, volume.files);

    await volume.swap(await content());
    await eventually(async () => (await reloads(h.metrics)).failure === 1, 'the failure is counted');
    // More checks of the same bad files report nothing new.
    await h.watcher.check();
    await h.watcher.check();
    expect(await reloads(h.metrics)).toEqual({ success: 0, failure: 1 });
    const warnings = h.lines.filter((l) => l.level === 'warn');
    expect(warnings).toEqual([expect.objectContaining({ msg: 'serving certificate not reloaded; the previous one stays in use', error: expect.stringContaining(message) })]);

    const { answers, failures } = await loadUntil(h.port, (a) => a.length >= 20);
    expect(failures).toEqual([]);
    expect(new Set(answers.map((a) => a.fingerprint256))).toEqual(new Set([fingerprint(first)]));

    await volume.swap({ 'tls.crt': third.cert, 'tls.key': third.key });
    await eventually(() => h.watcher.current.fingerprint256 === fingerprint(third), 'the good pair is served');
    const after = await loadUntil(h.port, (a) => a.length >= 10);
    expect(after.failures).toEqual([]);
    expect(new Set(after.answers.map((a) => a.fingerprint256))).toEqual(new Set([fingerprint(third)]));
    expect(await reloads(h.metrics)).toEqual({ success: 1, failure: 1 });
  });
});

describe('change detection', () => {
  test('a change is found from file system events alone, without waiting for the periodic read', async () => {
    const volume = await SecretVolume.create(first);
    cleanups.push(() => volume.remove());
    // The periodic read would come only after the test's own bound.
    const h = await start(first, volume.files, { intervalMs: 600_000 });
    await volume.swap({ 'tls.crt': second.cert, 'tls.key': second.key });
    await eventually(() => h.watcher.current.fingerprint256 === fingerprint(second), 'the event-driven reload');
  });

  test('bad files, then the pair in service again, then bad files again: each bad spell is reported', async () => {
    const volume = await SecretVolume.create(first);
    cleanups.push(() => volume.remove());
    const h = await start(first, volume.files);
    const bad = { 'tls.crt': second.cert, 'tls.key': third.key };
    await volume.swap(bad);
    await eventually(async () => (await reloads(h.metrics)).failure === 1, 'the first bad spell is counted');
    await volume.swap({ 'tls.crt': first.cert, 'tls.key': first.key });
    await h.watcher.check();
    await volume.swap(bad);
    await eventually(async () => (await reloads(h.metrics)).failure === 2, 'the second bad spell is counted');
    expect(h.watcher.current.fingerprint256).toBe(fingerprint(first));
    expect(await reloads(h.metrics)).toEqual({ success: 0, failure: 2 });
  });

  test('a closed watcher applies nothing', async () => {
    const volume = await SecretVolume.create(first);
    cleanups.push(() => volume.remove());
    const h = await start(first, volume.files);
    h.watcher.close();
    await volume.swap({ 'tls.crt': second.cert, 'tls.key': second.key });
    await h.watcher.check();
    expect(h.watcher.current.fingerprint256).toBe(fingerprint(first));
    const answer = await admit(h.port, 'closed-1', false);
    expect(answer.fingerprint256).toBe(fingerprint(first));
  });
});
