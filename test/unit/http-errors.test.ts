/**
 * The catalogue of HTTP error reasons (src/server/http-errors.ts) against
 * what the server actually sends, from two sides:
 *
 * - the source: every reason string the server code can put in an error
 *   body is catalogued, and every catalogued reason occurs in the code (no
 *   dead rows);
 * - the wire: each reason is caused for real, mostly over HTTPS, and
 *   arrives with the catalogued status. The causes are a Record over the
 *   reasons, so a reason added to the catalogue does not compile until a
 *   test here causes it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { fastify, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, expectTypeOf, test } from 'vitest';
import { MAX_COLLECTIONS, type AdmissionDeps } from '../../src/admission/index.ts';
import { PreviewWorker, WorkerLimitError, type InputErrorReason } from '../../src/preview/index.ts';
import { clientErrorHandler, errorResponder, installErrorHandling } from '../../src/server/errors.ts';
import { BODY_LIMIT, HTTP_ERRORS, httpErrorTable, HttpError, type HttpErrorReason } from '../../src/server/index.ts';
import { MAX_PREVIEW_OBJECTS, registerPreview } from '../../src/server/preview.ts';
import { rawExchange, requestHead, type RawExchange } from '../support/raw-client.ts';
import { captureLogger, engineContext, postReview, reviewOf, samplePod, send, startServers, testCertificates, type Response, type TestServers } from '../support/server.ts';

const REASONS = Object.keys(HTTP_ERRORS) as HttpErrorReason[];
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * Codes the server matches on but never sends: fastify's (FST_ERR_…),
 * Node's HTTP parser's (HPE_…), Node's own (ERR_…) and system errors
 * (ECONNRESET). Anything else in UPPER_SNAKE in src/server is a reason.
 */
const MATCHED_NOT_SENT = /^(?:FST_ERR_|HPE_|ERR_)|^E[A-Z]+$/;

/** Reason strings in the source, each with the files it occurs in. */
function reasonsInSource(): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const add = (reason: string, file: string): void => {
    if (!found.has(reason)) found.set(reason, new Set());
    found.get(reason)!.add(relative(SRC, file));
  };
  for (const file of sourceFiles(SRC)) {
    const rel = relative(SRC, file);
    if (rel === join('server', 'http-errors.ts')) continue;
    const text = readFileSync(file, 'utf8');
    // Anywhere: what is handed to the error helpers.
    for (const m of text.matchAll(/\b(?:new HttpError|errorBody)\(\s*'([^']+)'/g)) add(m[1]!, file);
    // The server: every UPPER_SNAKE literal, whatever builds the body from it.
    if (rel.startsWith(`server${'/'}`)) {
      for (const m of text.matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})'/g)) if (!MATCHED_NOT_SENT.test(m[1]!)) add(m[1]!, file);
    }
    // The preview's parser: InputError reasons, which /preview sends as they are.
    if (rel.startsWith(`preview${'/'}`)) {
      for (const m of text.matchAll(/new InputError\([^,]+,\s*'([^']+)'/g)) add(m[1]!, file);
      const union = /type InputErrorReason\s*=([^;]+);/.exec(text);
      for (const m of union?.[1]!.matchAll(/'([^']+)'/g) ?? []) add(m[1]!, file);
    }
  }
  return found;
}

describe('the catalogue', () => {
  test('every reason is a stable UPPER_SNAKE code with one status and one sentence', () => {
    for (const [reason, { status, meaning }] of Object.entries(HTTP_ERRORS)) {
      expect(reason).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      // Only the injector's own failure or state is a 5xx; everything else is the client's to fix.
      if (reason === 'INTERNAL') expect(status).toBe(500);
      else if (reason === 'POLICY_NOT_LOADED') expect(status).toBe(503);
      else expect(status, reason).toBeGreaterThanOrEqual(400), expect(status, reason).toBeLessThan(500);
      expect(meaning, reason).toMatch(/^[A-Z/"].*\.$/);
      expect(meaning.length, reason).toBeLessThan(200);
    }
  });

  test('the docs table has one row per reason, in order, with its status', () => {
    const lines = httpErrorTable().split('\n');
    expect(lines.slice(0, 2)).toEqual(['| reason | status | meaning |', '|---|---|---|']);
    expect(lines.slice(2).map((line) => /^\| `([A-Z_]+)` \| (\d{3}) \| .+ \|$/.exec(line)?.slice(1))).toEqual(
      REASONS.map((reason) => [reason, String(HTTP_ERRORS[reason].status)]),
    );
  });

  test('HttpError takes its status from the catalogue', () => {
    expect(new HttpError('BUSY', 'x')).toMatchObject({ reason: 'BUSY', statusCode: 429, message: 'x' });
    // Only catalogued reasons compile; the parser's reasons are among them.
    expectTypeOf<InputErrorReason>().toExtend<HttpErrorReason>();
    expectTypeOf<'NOT_A_REASON'>().not.toExtend<HttpErrorReason>();
  });
});

describe('the source', () => {
  const found = reasonsInSource();

  test('finds the reasons at all (the scan is not vacuous)', () => {
    // One reason, three paths: fastify's empty-body error, the webhook's JSON parser, /preview.
    expect(found.get('EMPTY_BODY')).toEqual(new Set([join('server', 'errors.ts'), join('server', 'webhook.ts'), join('server', 'preview.ts')]));
    expect(found.get('TOO_DEEP')).toEqual(new Set([join('preview', 'parse.ts'), join('server', 'webhook.ts')]));
    expect(found.size).toBeGreaterThanOrEqual(15);
  });

  test('every reason the server can send is catalogued', () => {
    const uncatalogued = [...found].filter(([reason]) => !Object.hasOwn(HTTP_ERRORS, reason)).map(([reason, files]) => `${reason} (${[...files].join(', ')})`);
    expect(uncatalogued).toEqual([]);
  });

  test('every catalogued reason occurs in the source (no dead rows)', () => {
    expect(REASONS.filter((reason) => !found.has(reason))).toEqual([]);
  });
});

interface Answer {
  status: number;
  body: unknown;
}

const fromResponse = (res: Response): Answer => ({ status: res.status, body: res.json() });
const fromRaw = (exchange: RawExchange): Answer => ({ status: exchange.statuses[0] ?? 0, body: JSON.parse(exchange.text.slice(exchange.text.indexOf('\r\n\r\n') + 4)) });

type App = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>;

/**
 * /preview as the webhook registers it, with deps or a worker of the test's
 * choosing: for the reasons that need a full queue, a slow worker or a bug.
 */
async function previewServer(deps: AdmissionDeps, worker: PreviewWorker): Promise<{ app: App; port: number; ca: string; lines: Record<string, unknown>[] }> {
  const { ca, serving } = await testCertificates();
  const { logger, lines } = captureLogger();
  const respond = errorResponder(logger);
  const app = fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({ https: serving, loggerInstance: logger, frameworkErrors: respond });
  installErrorHandling(app, respond);
  registerPreview(app, deps, { worker });
  app.addHook('onClose', async () => worker.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, port: (app.server.address() as AddressInfo).port, ca: ca.cert, lines };
}

let servers: TestServers;
const extra: App[] = [];
const closers: (() => Promise<void>)[] = [];
beforeAll(async () => {
  servers = await startServers();
});
afterAll(async () => {
  await servers.close();
  for (const app of extra) await app.close();
  for (const close of closers) await close();
});

const target = () => ({ port: servers.port, ca: servers.ca });
const mutate = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  send({ port: servers.port, ca: servers.ca, path: '/mutate', method: 'POST', headers, body }).then(fromResponse);
const preview = (body: string, headers: Record<string, string> = { 'content-type': 'text/plain' }, query = '') =>
  send({ port: servers.previewPort, ca: servers.ca, path: `/preview${query}`, method: 'POST', headers, body }).then(fromResponse);

async function previewThrough(deps: AdmissionDeps, worker: PreviewWorker): Promise<Answer> {
  const s = await previewServer(deps, worker);
  extra.push(s.app);
  return fromResponse(await send({ port: s.port, ca: s.ca, path: '/preview', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(samplePod()) }));
}

const okDeps = (): AdmissionDeps => ({ ctx: engineContext(), namespaceAnnotations: () => undefined });

/**
 * A worker that reads bodies as the real one does, and runs out of memory
 * writing any YAML answer: what hundreds of injected objects do to the real
 * worker's 40 MiB, without sending them.
 */
class OutOfRoomForYaml extends PreviewWorker {
  override async yaml(): Promise<string> {
    throw new WorkerLimitError('the job needs more than 40 MiB');
  }
}

/** How to make the server send each reason; more than one way where several endpoints send it. */
const CAUSES: Record<HttpErrorReason, readonly [what: string, answer: () => Promise<Answer>][]> = {
  MALFORMED_REQUEST: [['a garbage request line', async () => fromRaw(await rawExchange(target(), ['NOT HTTP AT ALL\r\n\r\n']))]],
  HEADERS_TOO_LARGE: [['a 20 kB header', async () => fromRaw(await rawExchange(target(), [requestHead({ 'x-big': 'a'.repeat(20_000), 'content-length': 0 })]))]],
  REQUEST_TIMEOUT: [
    // The server's timeouts are 10 s and more; Node hands the handler this error when one passes.
    [
      'a request that did not arrive in time',
      async () => {
        const socket = new PassThrough();
        const written = new Promise<string>((resolve) => {
          let text = '';
          socket.on('data', (d: Buffer) => (text += d.toString()));
          socket.on('end', () => resolve(text));
        });
        clientErrorHandler(Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
        const text = await written;
        return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]), body: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) };
      },
    ],
  ],
  BAD_URL: [['a malformed %-escape', async () => fromResponse(await send({ ...target(), path: '/%zz' }))]],
  NOT_FOUND: [
    ['an unknown path', async () => fromResponse(await send({ ...target(), path: '/nope' }))],
    ['an unknown path on the health port', async () => fromResponse(await send({ port: servers.healthPort, path: '/nope' }))],
    ['/preview on the webhook port, which serves /mutate only', async () => fromResponse(await send({ ...target(), path: '/preview', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }))],
    ['/mutate on the preview port', async () => fromResponse(await send({ port: servers.previewPort, ca: servers.ca, path: '/mutate', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }))],
  ],
  BAD_CONTENT_LENGTH: [
    // Node's parser frames bodies by Content-Length itself, so over a socket a short body is MALFORMED_REQUEST or a wait; fastify's inject reaches the check.
    [
      'a body shorter than its Content-Length',
      async () => {
        const res = await servers.webhook.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json', 'content-length': '10' }, payload: '{}' });
        return { status: res.statusCode, body: res.json() };
      },
    ],
  ],
  BAD_REQUEST: [
    ['a QUERY request without a content type', async () => fromRaw(await rawExchange(target(), [requestHead({ 'content-length': 2 }).replace('POST', 'QUERY'), '{}'], { waitMs: 1000 }))],
  ],
  BODY_TOO_LARGE: [
    [
      '/mutate: a Content-Length above the limit',
      async () => fromRaw(await rawExchange(target(), [requestHead({ 'content-type': 'application/json', 'content-length': BODY_LIMIT + 1 }), '{}'], { waitMs: 1000 })),
    ],
    ['/preview: a body above the limit', () => preview('a'.repeat(BODY_LIMIT + 1))],
  ],
  UNSUPPORTED_MEDIA_TYPE: [
    ['/mutate: text/plain', () => mutate('{}', { 'content-type': 'text/plain' })],
    ['/mutate: no content type', () => mutate('{}', {})],
    ['/preview: application/xml', () => preview('<pod/>', { 'content-type': 'application/xml' })],
  ],
  EMPTY_BODY: [
    ['/mutate', () => mutate('')],
    ['/preview', () => preview('  \n')],
  ],
  INVALID_JSON: [
    ['/mutate', () => mutate('{"apiVersion":')],
    ['/preview', () => preview('{"kind": "Pod",, }', { 'content-type': 'application/json' })],
  ],
  INVALID_YAML: [['/preview', () => preview('kind: Pod\nkind: Service\n')]],
  TOO_DEEP: [
    ['/mutate', () => mutate(`${'['.repeat(500)}${']'.repeat(500)}`)],
    ['/preview', () => preview(`${'['.repeat(500)}${']'.repeat(500)}`)],
  ],
  FORBIDDEN_JSON_KEY: [['/mutate', () => mutate('{"__proto__": {"allowed": true}}')]],
  INVALID_NAMESPACE: [['/preview', () => preview(JSON.stringify(samplePod()), undefined, '?namespace=Not_A_Namespace')]],
  INVALID_MODE: [['/preview', () => preview(JSON.stringify(samplePod()), undefined, '?mode=webhookless')]],
  INVALID_PREVIEW_REQUEST: [['/preview: a PreviewRequest without manifests', () => preview(JSON.stringify({ apiVersion: 'gitsync.dev/v1', kind: 'PreviewRequest', yaml: 'yes' }))]],
  INVALID_POLICY: [
    ['/preview: a PreviewRequest whose policy has a bad field', () => preview(JSON.stringify({ apiVersion: 'gitsync.dev/v1', kind: 'PreviewRequest', manifests: JSON.stringify(samplePod()), policy: 'limits:\n  minPeriod: soon\n' }))],
  ],
  TOO_MANY_OBJECTS: [['/preview', () => preview(JSON.stringify({ kind: 'List', items: Array.from({ length: MAX_PREVIEW_OBJECTS + 1 }, () => ({})) }))]],
  BODY_TOO_COMPLEX: [
    ['/mutate: more objects and lists than any pod', () => mutate(`[${'{},'.repeat(MAX_COLLECTIONS)}{}]`)],
    ['/preview with a worker allowed 1 ms', () => previewThrough(okDeps(), new PreviewWorker({ timeoutMs: 1 }))],
  ],
  ANSWER_TOO_LARGE: [
    [
      '/preview asking for YAML, whose answer the worker runs out of memory writing',
      async () => {
        const s = await previewServer(okDeps(), new OutOfRoomForYaml());
        extra.push(s.app);
        const headers = { 'content-type': 'application/json', accept: 'application/yaml' };
        return fromResponse(await send({ port: s.port, ca: s.ca, path: '/preview', method: 'POST', headers, body: JSON.stringify(samplePod()) }));
      },
    ],
  ],
  BUSY: [['/preview with no room in the queue', () => previewThrough(okDeps(), new PreviewWorker({ maxQueued: 0 }))]],
  POLICY_NOT_LOADED: [
    [
      '/mutate before the policy source has been read',
      async () => {
        const s = await startServers({}, { policyPending: () => 'the policy from configmap ns/cm key policy.yaml has not been read yet' });
        closers.push(s.close);
        return fromResponse(await postReview(s, reviewOf(samplePod())));
      },
    ],
    [
      '/preview before the policy source has been read',
      async () => {
        const s = await startServers({}, { policyPending: () => 'the policy from configmap ns/cm key policy.yaml has not been read yet' });
        closers.push(s.close);
        return fromResponse(await send({ port: s.previewPort, ca: s.ca, path: '/preview', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(samplePod()) }));
      },
    ],
  ],
  INTERNAL: [
    [
      '/preview whose policy cannot be read (a bug)',
      () =>
        previewThrough(
          {
            get ctx(): never {
              throw new Error('a bug');
            },
            namespaceAnnotations: () => undefined,
          },
          new PreviewWorker(),
        ),
    ],
  ],
};

describe('the wire: each reason arrives with its catalogued status', () => {
  test.each(REASONS.flatMap((reason) => CAUSES[reason].map(([what, answer]) => [reason, what, answer] as const)))('%s: %s', async (reason, _what, answer) => {
    const { status, body } = await answer();
    expect(body).toEqual({ error: expect.objectContaining({ code: HTTP_ERRORS[reason].status, reason, message: expect.any(String) }) });
    expect(status).toBe(HTTP_ERRORS[reason].status);
  });
});
