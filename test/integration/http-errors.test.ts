/**
 * Client mistakes over real HTTPS: each gets a 4xx with a JSON body that says
 * what was wrong, and none a 5xx.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HTTP_ERRORS, type HttpErrorReason } from '../../src/server/index.ts';
import { rawExchange, requestHead } from '../support/raw-client.ts';
import { postReview, reviewOf, samplePod, send, startServers, type TestServers } from '../support/server.ts';

let servers: TestServers;
beforeAll(async () => {
  servers = await startServers();
});
afterAll(async () => {
  await servers.close();
});

const mutate = (body: string | undefined, headers: Record<string, string> = {}) =>
  send({ port: servers.port, ca: servers.ca, path: '/mutate', method: 'POST', headers, body });

function expectError(res: { status: number; headers: Record<string, unknown>; json(): unknown }, status: number, reason: HttpErrorReason): string {
  // Each reason comes with the one status the catalogue gives it.
  expect(HTTP_ERRORS[reason].status).toBe(status);
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json() as { error: { code: number; reason: string; message: string } };
  expect(body).toEqual({ error: { code: status, reason, message: expect.any(String) } });
  return body.error.message;
}

describe('malformed requests', () => {
  test("malformed JSON is a 400 carrying the parser's message", async () => {
    const message = expectError(await mutate('{"apiVersion": "admission.k8s.io/v1",', { 'content-type': 'application/json' }), 400, 'INVALID_JSON');
    expect(message).toMatch(/^the body is not valid JSON: .*JSON/);
  });

  test('an empty body is a 400', async () => {
    expectError(await mutate('', { 'content-type': 'application/json' }), 400, 'EMPTY_BODY');
  });

  test('a __proto__ key is refused with a 400', async () => {
    const body = '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","__proto__":{"allowed":true}}';
    expectError(await mutate(body, { 'content-type': 'application/json' }), 400, 'FORBIDDEN_JSON_KEY');
  });

  test('so is a constructor.prototype key', async () => {
    expectError(await mutate('{"constructor":{"prototype":{"polluted":true}}}', { 'content-type': 'application/json' }), 400, 'FORBIDDEN_JSON_KEY');
  });

  test.each(['text/plain', 'application/yaml', 'application/x-www-form-urlencoded', 'application/json-patch+json'])(
    'content type %s is a 415 that names it',
    async (type) => {
      const message = expectError(await mutate(JSON.stringify(reviewOf(samplePod())), { 'content-type': type }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expect(message).toContain(type);
      expect(message).toContain('application/json');
    },
  );

  test('a body without a content type is a 415', async () => {
    const message = expectError(await mutate(JSON.stringify(reviewOf(samplePod()))), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(message).toContain('without a content type');
  });

  test('JSON that is not an AdmissionReview is a 400 answered with a review', async () => {
    const res = await postReview(servers, { hello: 'world' });
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ kind: 'AdmissionReview', response: { uid: '', allowed: false, status: { code: 400 } } });
  });
});

describe('routes', () => {
  test('an unknown path is a 404 in JSON', async () => {
    const message = expectError(await send({ port: servers.port, ca: servers.ca, path: '/nope' }), 404, 'NOT_FOUND');
    expect(message).toBe('no route GET /nope');
  });

  test('GET /mutate is a 404 in JSON', async () => {
    expectError(await send({ port: servers.port, ca: servers.ca, path: '/mutate' }), 404, 'NOT_FOUND');
  });

  test('a malformed URL is a 400 in JSON', async () => {
    expectError(await send({ port: servers.port, ca: servers.ca, path: '/%zz' }), 400, 'BAD_URL');
  });

  test("a request fastify refuses for a reason of its own is BAD_REQUEST, never fastify's code", async () => {
    const exchange = await rawExchange({ port: servers.port, ca: servers.ca }, [requestHead({ 'Content-Length': 2 }).replace('POST', 'QUERY'), '{}'], { waitMs: 1000 });
    expect(exchange.statuses).toEqual([400]);
    const body = JSON.parse(exchange.text.slice(exchange.text.indexOf('\r\n\r\n') + 4));
    expect(body).toEqual({ error: { code: 400, reason: 'BAD_REQUEST', message: expect.stringContaining('Content-Type') } });
    // The framework's code stays in the log, for whoever reads it.
    expect(servers.lines).toContainEqual(expect.objectContaining({ msg: 'request rejected', reason: 'BAD_REQUEST', code: 'FST_ERR_ROUTE_MISSING_CONTENT_TYPE' }));
  });
});

describe('nothing a client sends yields a 5xx', () => {
  const bodies: [string, string][] = [
    ['a number', '42'],
    ['a string', '"AdmissionReview"'],
    ['null', 'null'],
    ['an array of reviews', JSON.stringify([reviewOf(samplePod())])],
    ['a review whose request is a string', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: 'pod' })],
    ['a request of wrong types', JSON.stringify(reviewOf(samplePod(), { kind: 7, resource: [], operation: {}, namespace: 3, dryRun: 'yes' }))],
    ['a pod of wrong types', JSON.stringify(reviewOf({ metadata: 'x', spec: { containers: 'web' } }))],
    ['a pod whose containers are not objects', JSON.stringify(reviewOf({ metadata: { annotations: { 'gitsync.dev/repo': 'https://a/b.git' } }, spec: { containers: [1, null] } }))],
    ['annotations that are not strings', JSON.stringify(reviewOf({ metadata: { annotations: { 'gitsync.dev/repo': 5 } }, spec: { containers: [{ name: 'a' }] } }))],
    ['deep nesting', `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['a lone surrogate', '{"apiVersion":"\\ud800"}'],
    ['binary', '\u0000\u0001\u0002\u00ff'],
  ];

  test.each(bodies)('%s', async (_name, body) => {
    const res = await mutate(body, { 'content-type': 'application/json' });
    expect(res.status).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(500);
    expect(() => res.json()).not.toThrow();
  });
});

describe('requests the HTTP parser refuses', () => {
  const bodyOf = (text: string): unknown => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));

  test.each([
    ['broken chunked framing', [requestHead({ 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }), 'zz\r\n{}\r\n0\r\n\r\n']],
    ['two different Content-Length headers', [requestHead({ 'Content-Type': 'application/json', 'Content-Length': 2, 'content-length': 3 }), '{}']],
    ['a garbage request line', ['NOT HTTP AT ALL\r\n\r\n']],
  ])('%s: 400 with the JSON error body, and the connection closed', async (_, chunks) => {
    const exchange = await rawExchange({ port: servers.port, ca: servers.ca }, chunks);
    expect(exchange.statuses).toEqual([400]);
    expect(exchange.text).toMatch(/\r\ncontent-type: application\/json; charset=utf-8\r\n/i);
    expect(bodyOf(exchange.text)).toEqual({ error: { code: 400, reason: 'MALFORMED_REQUEST', message: expect.stringContaining('not valid HTTP/1.1') } });
    expect(exchange.closedByServer).toBe(true);
  });
});
