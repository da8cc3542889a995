/**
 * Fuzzing the webhook with bodies and framing no API server would send:
 * random bytes, truncated and deeply nested JSON, numbers JSON cannot hold,
 * duplicate keys, invalid UTF-8, wrong content types, and Content-Length or
 * chunked framing that lies. Nothing may get a 5xx, crash or hang the server;
 * a body the server can read still gets a well-formed review with its uid.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT, HTTP_ERRORS, type HttpErrorReason } from '../../src/server/index.ts';
import { POLICIES, pathsOf, replaceAt, runs } from '../support/arbitraries.ts';
import { postReview, reviewOf, samplePod, send, startServers, type TestServers } from '../support/server.ts';
import { expectWellFormedAnswer, sentBytes } from './answers.ts';
import { errorsIn, rawExchange, requestHead } from '../support/raw-client.ts';

let servers: TestServers;
beforeAll(async () => {
  servers = await startServers({ ctx: { policy: POLICIES.sshReady.engine, cluster: {}, version: '0.0.0-fuzz' } });
});
afterAll(async () => {
  await servers.close();
});

const POLICY = { prefix: POLICIES.sshReady.engine.prefix, image: POLICIES.sshReady.document.image };

/** Reviews the byte-level cases start from: one that injects, one that is denied, one that is skipped. */
const REVIEWS = [
  reviewOf(samplePod({ 'gitsync.dev/ref': 'main', 'gitsync.dev/sub-path': 'site' }), { uid: 'inject-me' }),
  reviewOf(samplePod({ 'gitsync.dev/period': '5x' }), { uid: 'deny-me' }),
  reviewOf({ metadata: { name: 'plain' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } }, { uid: 'skip-me' }),
];
const reviewArb = fc.constantFrom(...REVIEWS);

function post(body: string | Buffer, contentType = 'application/json') {
  return send({ port: servers.port, ca: servers.ca, path: '/mutate', method: 'POST', headers: { 'content-type': contentType }, body });
}

async function expectAnswered(body: string | Buffer, contentType?: string) {
  const res = await post(body, contentType);
  expectWellFormedAnswer(res, sentBytes(body), POLICY);
  return res;
}

/** The server still does its job: a valid review gets its patch, and nothing was logged as an internal error. */
async function expectStillServing(): Promise<void> {
  const res = await postReview(servers, REVIEWS[0]!);
  expect(res.status).toBe(200);
  expect(res.json<{ response: { uid: string; patch?: string } }>().response).toMatchObject({ uid: 'inject-me', patch: expect.any(String) });
  expect(servers.lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
}

/** JSON text of `value` with `raw` (not JSON-escaped) in place of the member at `path`. */
function withRawMember(value: unknown, path: readonly (string | number)[], raw: string): string {
  const marker = '\u0000raw-member\u0000';
  return JSON.stringify(replaceAt(value, path, marker)).replace(JSON.stringify(marker), raw);
}

describe('bodies', () => {
  it('random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => {
        await expectAnswered(Buffer.from(bytes));
      }),
      { numRuns: runs(150) },
    );
  });

  it('a review cut short anywhere is a 400 that says the JSON is broken', async () => {
    const cut = reviewArb.chain((review) => {
      const text = JSON.stringify(review);
      return fc.integer({ min: 1, max: text.length - 1 }).map((at) => text.slice(0, at));
    });
    await fc.assert(
      fc.asyncProperty(cut, async (text) => {
        const res = await expectAnswered(text);
        expect(res.status).toBe(400);
        expect(res.json<{ error: { reason: string } }>().error.reason).toBe('INVALID_JSON');
      }),
      { numRuns: runs(100) },
    );
  });

  it('deeply nested JSON, alone or inside the review', async () => {
    const nested = fc.record({
      depth: fc.integer({ min: 1, max: 300_000 }),
      open: fc.constantFrom('[', '{"a":'),
      where: fc.constantFrom('top', 'request', 'pod spec', 'container'),
      review: reviewArb,
    });
    await fc.assert(
      fc.asyncProperty(nested, async ({ depth, open, where, review }) => {
        const close = open === '[' ? ']' : '}';
        const deep = `${open.repeat(depth)}${open === '[' ? '' : '1'}${close.repeat(depth)}`;
        const path = { top: [], request: ['request', 'extra'], 'pod spec': ['request', 'object', 'spec', 'extra'], container: ['request', 'object', 'spec', 'containers', 0, 'extra'] }[where];
        const text = path.length === 0 ? deep : withRawMember(review, path, deep);
        expect(Buffer.byteLength(text)).toBeLessThan(BODY_LIMIT);
        await expectAnswered(text);
      }),
      { numRuns: runs(25) },
    );
  });

  it('numbers JSON cannot hold exactly, in any member', async () => {
    const huge = fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890', '1e-400', '-0', '0.30000000000000004', '1E+2', '9007199254740993', `${'9'.repeat(5000)}`);
    const cases = reviewArb.chain((review) => fc.tuple(fc.constant(review), fc.constantFrom(...pathsOf(review)), huge));
    await fc.assert(
      fc.asyncProperty(cases, async ([review, path, number]) => {
        await expectAnswered(withRawMember(review, path, number));
      }),
      { numRuns: runs(150) },
    );
  });

  it('duplicate keys: the answer follows the value JSON.parse keeps (the last)', async () => {
    const cases = reviewArb.chain((review) => {
      const objects = [[], ...pathsOf(review)].filter((p) => {
        let node: unknown = review;
        for (const k of p) node = (node as Record<string | number, unknown>)[k];
        return typeof node === 'object' && node !== null && !Array.isArray(node) && Object.keys(node).length > 0;
      });
      return fc.tuple(fc.constant(review), fc.constantFrom(...objects), fc.nat(), fc.jsonValue({ maxDepth: 2 }), fc.boolean());
    });
    await fc.assert(
      fc.asyncProperty(cases, async ([review, path, pick, other, otherFirst]) => {
        let node: unknown = review;
        for (const k of path) node = (node as Record<string | number, unknown>)[k];
        const keys = Object.keys(node as object);
        const key = keys[pick % keys.length]!;
        // The same key twice in one object, the other value before or after the original.
        const members = keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify((node as Record<string, unknown>)[k])}`);
        const dup = `${JSON.stringify(key)}:${JSON.stringify(other)}`;
        const object = `{${(otherFirst ? [dup, ...members] : [...members, dup]).join(',')}}`;
        await expectAnswered(path.length === 0 ? object : withRawMember(review, path, object));
      }),
      { numRuns: runs(150) },
    );
  });

  it('invalid UTF-8 anywhere in the body', async () => {
    const invalid = fc.constantFrom(
      [0xff],
      [0xfe, 0xff],
      [0xc0, 0x80], // overlong NUL
      [0xe0, 0x80, 0x80], // overlong
      [0x80], // lone continuation byte
      [0xe2, 0x82], // truncated sequence
      [0xed, 0xa0, 0x80], // UTF-16 surrogate encoded as UTF-8 (CESU)
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xef, 0xbb, 0xbf], // a BOM, valid UTF-8 but not JSON
    );
    const cases = reviewArb.chain((review) => {
      const bytes = Buffer.from(JSON.stringify(review));
      return fc.tuple(fc.constant(bytes), fc.array(fc.tuple(fc.nat(bytes.length), invalid), { minLength: 1, maxLength: 4 }));
    });
    await fc.assert(
      fc.asyncProperty(cases, async ([bytes, insertions]) => {
        let body = bytes;
        for (const [at, seq] of [...insertions].sort((a, b) => b[0] - a[0])) body = Buffer.concat([body.subarray(0, at), Buffer.from(seq), body.subarray(at)]);
        await expectAnswered(body);
      }),
      { numRuns: runs(150) },
    );
  });

  it('content types other than application/json are a 415; application/json with parameters is read', async () => {
    const types = fc.oneof(
      fc.constantFrom(
        'application/json; charset=utf-8',
        'Application/JSON',
        'application/json;charset=latin1',
        'application/json, text/plain',
        'application/jsonx',
        'application/json-patch+json',
        'application/merge-patch+json',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'text/json',
        ' application/json',
        'application/json ',
        '',
        ';',
        '*/*',
        'application/*',
        'application',
        'application/vnd.kubernetes.protobuf',
      ),
      // Anything a client may put in a header (visible ASCII, spaces, tabs).
      fc.stringMatching(/^[\t\x20-\x7e]{0,60}$/),
    );
    await fc.assert(
      fc.asyncProperty(types, reviewArb, async (type, review) => {
        const res = await expectAnswered(JSON.stringify(review), type);
        expect([200, 400, 415]).toContain(res.status);
      }),
      { numRuns: runs(150) },
    );
  });
});

describe('framing that lies', () => {
  const body = JSON.stringify(REVIEWS[0]);
  const framings: [string, (string | Buffer)[], { end?: boolean; expect?: number }][] = [
    ['Content-Length shorter than the body', [requestHead({ 'content-type': 'application/json', 'content-length': 20 }), body], {}],
    ['Content-Length longer than the body, then the client half-closes', [requestHead({ 'content-type': 'application/json', 'content-length': body.length + 100 }), body], { end: true }],
    ['Content-Length not a number', [requestHead({ 'content-type': 'application/json', 'content-length': 'lots' }), body], {}],
    ['negative Content-Length', [requestHead({ 'content-type': 'application/json', 'content-length': -1 }), body], {}],
    ['two different Content-Lengths', [requestHead({ 'content-type': 'application/json', 'content-length': `${body.length}\r\nContent-Length: 3` }), body], {}],
    ['Content-Length and chunked together', [requestHead({ 'content-type': 'application/json', 'content-length': body.length, 'transfer-encoding': 'chunked' }), body], {}],
    ['a chunk size that is not hex', [requestHead({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }), `zz\r\n${body}\r\n0\r\n\r\n`], {}],
    ['a chunk longer than its size', [requestHead({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }), `4\r\n${body}\r\n0\r\n\r\n`], {}],
    ['chunked without the last chunk, then the client half-closes', [requestHead({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }), `${body.length.toString(16)}\r\n${body}\r\n`], { end: true }],
    ['a valid chunked body is answered', [requestHead({ 'content-type': 'application/json', 'transfer-encoding': 'chunked', connection: 'close' }), `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`], { expect: 200 }],
    ['a Content-Length above the limit is refused before the body is read', [requestHead({ 'content-type': 'application/json', 'content-length': BODY_LIMIT + 1 }), body], { expect: 413 }],
    ['garbage instead of a request line', ['\u0000\u0001GARBAGE\r\n\r\n'], {}],
    ['an HTTP/2 preface on an HTTP/1.1 connection', ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'], {}],
    ['a header line without a colon', ['POST /mutate HTTP/1.1\r\nHost: localhost\r\nnonsense\r\n\r\n'], {}],
    ['headers that never end, then the client half-closes', ['POST /mutate HTTP/1.1\r\nHost: localhost\r\nX-A: b\r\n'], { end: true }],
  ];

  it.each(framings)('%s', async (_name, chunks, options) => {
    const result = await rawExchange(servers, chunks, { end: options.end, waitMs: 3000 });
    for (const status of result.statuses) expect(status, result.text.slice(0, 300)).toBeLessThan(500);
    // Whatever refused it said why in the catalogue's words.
    for (const { code, reason } of errorsIn(result.text)) expect(HTTP_ERRORS[reason as HttpErrorReason]?.status, reason).toBe(code);
    if (options.expect !== undefined) expect(result.statuses[0], result.text.slice(0, 300)).toBe(options.expect);
    else expect(result.statuses.length > 0 || result.closedByServer, 'the server neither answered nor closed the connection').toBe(true);
    await expectStillServing();
  });
});

it('after all of it the server answers a valid review, and logged no internal error', async () => {
  await expectStillServing();
});
