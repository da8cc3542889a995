/**
 * Clients that misbehave in time rather than in content: ones that stop half
 * way through a body and wait, ones that trickle a request a few bytes at a
 * time, ones that hang up before the answer, ones that open a TLS connection
 * and send nothing. Whatever they do, the server keeps answering everyone
 * else at once, never answers 5xx and logs no internal error. Every case is
 * bounded: clients give up after a fixed time (the server's own timeouts are
 * 10 s for headers and 30 s for a whole request, longer than a test should
 * wait).
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICIES, runs } from '../support/arbitraries.ts';
import { postReview, reviewOf, samplePod, startServers, type TestServers } from '../support/server.ts';
import { openTls, rawExchange, requestHead } from '../support/raw-client.ts';

let servers: TestServers;
beforeAll(async () => {
  servers = await startServers({ ctx: { policy: POLICIES.sshReady.engine, cluster: {}, version: '0.0.0-fuzz' } });
});
afterAll(async () => {
  await servers.close();
});

const BODY = JSON.stringify(reviewOf(samplePod(), { uid: 'slow-1' }));
const HEAD = requestHead({ 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) });
/** How long a well-behaved request may take while others misbehave; far above its usual few milliseconds. */
const PROMPT_MS = 5000;

/** A valid review, answered with its uid within PROMPT_MS. */
async function expectPromptAnswer(uid: string): Promise<void> {
  const answer = postReview(servers, reviewOf(samplePod(), { uid }));
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${PROMPT_MS} ms`)), PROMPT_MS).unref());
  const res = await Promise.race([answer, timeout]);
  expect(res.status).toBe(200);
  expect(res.json<{ response: { uid: string; patch?: string } }>().response).toMatchObject({ uid, patch: expect.any(String) });
}

const noInternalErrors = () => expect(servers.lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);

describe('slow and partial clients', () => {
  it('clients stalled mid-headers or mid-body do not hold up anyone else', async () => {
    const stallAt = fc.array(fc.integer({ min: 1, max: HEAD.length + BODY.length - 1 }), { minLength: 1, maxLength: 20 });
    await fc.assert(
      fc.asyncProperty(stallAt, async (cuts) => {
        const request = HEAD + BODY;
        const stalled = await Promise.all(cuts.map((at) => openTls(servers).then((socket) => (socket.write(request.slice(0, at)), socket))));
        try {
          await expectPromptAnswer('while-stalled');
        } finally {
          for (const socket of stalled) socket.destroy();
        }
      }),
      { numRuns: runs(15) },
    );
    noInternalErrors();
  });

  it('a client that stops mid-body and closes its side gets a 4xx or a closed connection, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: BODY.length - 1 }), async (at) => {
        const result = await rawExchange(servers, [HEAD, BODY.slice(0, at)], { end: true, waitMs: 3000 });
        expect(result.closedByServer || result.statuses.length > 0).toBe(true);
        for (const status of result.statuses) expect(status).toBeGreaterThanOrEqual(400);
        for (const status of result.statuses) expect(status).toBeLessThan(500);
      }),
      { numRuns: runs(30) },
    );
    noInternalErrors();
  });

  it('a request trickled a few bytes at a time is answered normally', async () => {
    const pieces = fc.integer({ min: 8, max: 40 });
    await fc.assert(
      fc.asyncProperty(pieces, async (count) => {
        const request = `${HEAD.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}${BODY}`;
        const size = Math.ceil(request.length / count);
        const chunks = Array.from({ length: Math.ceil(request.length / size) }, (_, i) => request.slice(i * size, (i + 1) * size));
        const result = await rawExchange(servers, chunks, { gapMs: 10, waitMs: 5000 });
        expect(result.statuses).toEqual([200]);
        expect(result.text).toContain('"uid":"slow-1"');
      }),
      { numRuns: runs(5) },
    );
  });

  it('clients that hang up before reading their answer leave the server unharmed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }), async (count) => {
        await Promise.all(
          Array.from({ length: count }, async () => {
            const socket = await openTls(servers);
            socket.on('error', () => {});
            socket.write(HEAD + BODY);
            socket.destroy();
          }),
        );
        await expectPromptAnswer('after-hangups');
      }),
      { numRuns: runs(10) },
    );
    noInternalErrors();
  });

  it('TLS connections that never send a request, and TCP connections that never finish the handshake, are harmless', async () => {
    const idle = await Promise.all(Array.from({ length: 20 }, () => openTls(servers)));
    const halfOpen = Array.from({ length: 20 }, () => connect({ host: '127.0.0.1', port: servers.port }).on('error', () => {}));
    try {
      await expectPromptAnswer('beside-idle');
    } finally {
      for (const socket of [...idle, ...halfOpen]) socket.destroy();
    }
    noInternalErrors();
  });
});
