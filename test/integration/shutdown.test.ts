/**
 * Graceful shutdown of the real command: `serve` under a steady stream of
 * admissions gets SIGTERM, as the kubelet sends it. It keeps serving through
 * the shutdown delay (unready, answering with Connection: close), then stops
 * listening, finishes what is in flight and exits 0. No request the server
 * accepted goes unanswered.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { CertificatePaths } from '../../src/tls/index.ts';
import { killServes, localhostCertificates, type ServeProcess, startServe } from '../support/cli.ts';
import { reviewOf, samplePod, send } from '../support/server.ts';


let dir: string;
let certs: CertificatePaths;
let caCert: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitsync-injector-shutdown-'));
  ({ files: certs, caCert } = await localhostCertificates(dir, 'shutdown test CA'));
});
afterEach(() => {
  killServes();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const serve = (args: string[]): Promise<ServeProcess> => startServe(args, certs);

interface Outcome {
  uid: string;
  /** Whether the request was sent after SIGTERM. */
  afterSignal: boolean;
  status?: number;
  answeredUid?: string;
  connection?: string;
  error?: string;
}

function admit(port: number, uid: string, agent: Agent): Promise<Omit<Outcome, 'afterSignal'>> {
  const body = JSON.stringify(reviewOf(samplePod(), { uid }));
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/mutate', method: 'POST', ca: caCert, servername: 'localhost', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (error: NodeJS.ErrnoException) => resolve({ uid, error: error.code ?? error.message }));
        res.on('end', () => {
          const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { response?: { uid?: string } };
          resolve({ uid, status: res.statusCode, answeredUid: review.response?.uid, connection: res.headers.connection });
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ uid, error: error.code ?? error.message }));
    req.end(body);
  });
}

/**
 * Clients sending admissions back to back over keep-alive connections, the way
 * the API server does, until the server refuses connections or has exited.
 */
function clients(server: ServeProcess, signalled: () => boolean, workers = 6, maxPerWorker = 3000): Promise<Outcome[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: workers });
  const outcomes: Outcome[] = [];
  let n = 0;
  const worker = async (): Promise<void> => {
    for (let i = 0; i < maxPerWorker && !server.exited(); i++) {
      const afterSignal = signalled();
      const outcome = { ...(await admit(server.port, `shutdown-${n++}`, agent)), afterSignal };
      outcomes.push(outcome);
      if (outcome.error === 'ECONNREFUSED') return;
    }
  };
  return Promise.all(Array.from({ length: workers }, worker)).then(() => {
    agent.destroy();
    return outcomes;
  });
}

const admissionUids = (lines: Record<string, unknown>[]): string[] => lines.filter((l) => l.msg === 'admission').map((l) => l.uid as string);

async function eventually(probe: () => Promise<boolean>, what: string, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting: ${what}`);
}

describe('serve: SIGTERM under load', () => {
  test('serves through the shutdown delay, drains, exits 0, and answers every request it accepted', async () => {
    const server = await serve(['--shutdown-delay', '1s', '--shutdown-timeout', '10s']);
    let signalled = false;
    const load = clients(server, () => signalled);

    // Some traffic first, then the kubelet's signal.
    await eventually(async () => admissionUids(server.lines).length >= 100, 'the first admissions');
    signalled = true;
    server.child.kill('SIGTERM');
    // Unready at once, while the webhook still answers.
    await eventually(async () => (await send({ port: server.healthPort, path: '/readyz' })).status === 503, '/readyz to report shutting down');

    const outcomes = await load;
    expect(await server.exit).toBe(0);

    // Every request the server accepted (and logged) was answered, to the request that sent it.
    const answered = new Map(outcomes.filter((o) => o.status !== undefined).map((o) => [o.uid, o]));
    const accepted = admissionUids(server.lines);
    expect(accepted.length).toBeGreaterThan(100);
    for (const uid of accepted) expect(answered.get(uid), uid).toMatchObject({ status: 200, answeredUid: uid });
    // Nothing answered with anything but a 200 for itself.
    for (const o of answered.values()) expect(o).toMatchObject({ status: 200, answeredUid: o.uid });
    // Requests that failed never reached the server: refused after the listener closed,
    // or a connection the server closed as idle just as the client reused it.
    const failed = outcomes.filter((o) => o.error !== undefined);
    for (const o of failed) {
      expect(accepted).not.toContain(o.uid);
      expect(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'socket hang up']).toContain(o.error);
    }

    // The delay served requests sent after the signal, and told their clients to reconnect.
    const servedAfterSignal = outcomes.filter((o) => o.afterSignal && o.status === 200);
    expect(servedAfterSignal.length).toBeGreaterThan(0);
    expect(servedAfterSignal.some((o) => o.connection === 'close')).toBe(true);

    const messages = server.lines.map((l) => l.msg);
    const order = ['shutting down: unready, still serving while endpoints update', 'shutting down: draining in-flight admissions', 'stopped'];
    const positions = order.map((m) => messages.indexOf(m));
    expect(positions.every((p) => p >= 0), JSON.stringify(messages)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(server.lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
  });

  test('N admissions then SIGTERM: exactly N admission lines, none lost in the asynchronous log', async () => {
    const server = await serve([]);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const n = 400;
    // Eight at a time, so lines are logged while earlier writes are still under way.
    const uids = Array.from({ length: n }, (_, i) => `flush-${i}`);
    const answers: Omit<Outcome, 'afterSignal'>[] = [];
    for (let i = 0; i < n; i += 8) answers.push(...(await Promise.all(uids.slice(i, i + 8).map((uid) => admit(server.port, uid, agent)))));
    agent.destroy();
    expect(answers.filter((a) => a.status === 200)).toHaveLength(n);
    // Signalled right after the last answer, with no pause for the log to catch up.
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
    expect(admissionUids(server.lines).sort()).toEqual([...uids].sort());
    expect(server.lines.at(-1)?.msg).toBe('stopped');
  });

  test('SIGINT (a person at a terminal) skips the shutdown delay', async () => {
    const server = await serve(['--shutdown-delay', '1h']);
    server.child.kill('SIGINT');
    expect(await server.exit).toBe(0);
    expect(server.lines.map((l) => l.msg)).not.toContain('shutting down: unready, still serving while endpoints update');
  });

  test('a second signal during the delay exits at once', async () => {
    const server = await serve(['--shutdown-delay', '1h']);
    server.child.kill('SIGTERM');
    await eventually(async () => server.lines.some((l) => l.msg === 'shutting down: unready, still serving while endpoints update'), 'the delay to begin');
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(143);
  });

  test('a request still in flight at the shutdown timeout is cut, and the process exits 0', async () => {
    const server = await serve(['--shutdown-timeout', '1s']);
    // A client that announces a body and never finishes sending it.
    const socket = connect({ host: '127.0.0.1', port: server.port, ca: caCert, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    socket.on('error', () => {});
    socket.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion":');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // Give the server a moment to read the headers: from then on the request is in flight.
    await new Promise((r) => setTimeout(r, 200));

    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);
    await closed;
    expect(server.lines.map((l) => l.msg)).toContain('requests still in flight at the shutdown timeout; closing their connections');
  });
});
