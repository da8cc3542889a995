/**
 * The webhook over real HTTPS, as the API server talks to it: the server's
 * certificate is checked against our own CA, never skipped.
 */
import { Agent, request } from 'node:https';
import fastJsonPatch from 'fast-json-patch';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BODY_LIMIT } from '../../src/server/index.ts';
import { badPod, decodePatch, engineContext, postReview, reviewOf, samplePod, send, startServers, type TestServers } from '../support/server.ts';

const { applyPatch } = fastJsonPatch;

interface ReviewBody {
  apiVersion: string;
  kind: string;
  response: { uid: string; allowed: boolean; patchType?: string; patch?: string; warnings?: string[]; status?: { code: number; message: string } };
}

let servers: TestServers;
beforeAll(async () => {
  servers = await startServers();
});
afterAll(async () => {
  await servers.close();
});

const admissionLines = (uid: string) => servers.lines.filter((l) => l.msg === 'admission' && l.uid === uid);

describe('POST /mutate', () => {
  test('a Pod CREATE gets a JSON Patch that adds git-sync', async () => {
    const pod = samplePod();
    const res = await postReview(servers, reviewOf(pod, { uid: 'inject-1' }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json<ReviewBody>();
    expect(body).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'inject-1', allowed: true, patchType: 'JSONPatch' } });
    const patched = applyPatch(structuredClone(pod), decodePatch(body.response), true).newDocument as { spec: { containers: { image?: string }[]; initContainers?: { image?: string }[] } };
    const images = [...patched.spec.containers, ...(patched.spec.initContainers ?? [])].map((c) => c.image ?? '');
    expect(images.some((i) => i.includes('git-sync'))).toBe(true);
  });

  test('the query the API server appends (?timeout=10s) is ignored', async () => {
    const res = await send({
      port: servers.port,
      ca: servers.ca,
      path: '/mutate?timeout=10s',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(reviewOf(samplePod(), { uid: 'query-1' })),
    });
    expect(res.status).toBe(200);
    expect(res.json<ReviewBody>().response).toMatchObject({ uid: 'query-1', allowed: true, patchType: 'JSONPatch' });
  });

  test('bad annotations are denied with every error in the message', async () => {
    const res = await postReview(servers, reviewOf(badPod(), { uid: 'deny-1' }));
    expect(res.status).toBe(200);
    const { response } = res.json<ReviewBody>();
    expect(response.uid).toBe('deny-1');
    expect(response.allowed).toBe(false);
    expect(response.status?.code).toBe(400);
    expect(response.status?.message).toContain('team-a/web-*');
    expect(response.status?.message).toContain('gitsync.dev/period');
    expect(response.status?.message).toContain('gitsync.dev/mode');
  });

  test('an UPDATE is allowed untouched', async () => {
    const res = await postReview(servers, reviewOf(badPod(), { uid: 'update-1', operation: 'UPDATE', oldObject: badPod() }));
    expect(res.status).toBe(200);
    expect(res.json<ReviewBody>().response).toEqual({ uid: 'update-1', allowed: true });
  });

  test('another kind is allowed untouched', async () => {
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { a: 'b' } };
    const res = await postReview(
      servers,
      reviewOf(configMap, { uid: 'cm-1', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' } }),
    );
    expect(res.status).toBe(200);
    expect(res.json<ReviewBody>().response).toEqual({ uid: 'cm-1', allowed: true });
  });

  test('a dry run is answered like a real request', async () => {
    const real = await postReview(servers, reviewOf(samplePod(), { uid: 'dry-1', dryRun: false }));
    const dry = await postReview(servers, reviewOf(samplePod(), { uid: 'dry-1', dryRun: true }));
    expect(dry.json()).toEqual(real.json());
  });

  test('a review without a request is a 400 with a well-formed review', async () => {
    const res = await postReview(servers, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
    expect(res.status).toBe(400);
    expect(res.json<ReviewBody>()).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: '', allowed: false, status: { code: 400, message: expect.stringContaining('request is missing') } },
    });
  });

  test.each(['application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON'])('accepts content type %s', async (type) => {
    const res = await postReview(servers, reviewOf(samplePod(), { uid: 'ct-1' }), { 'content-type': type });
    expect(res.status).toBe(200);
    expect(res.json<ReviewBody>().response.allowed).toBe(true);
  });
});

describe('body size', () => {
  /** A review for a pod with a large env value (annotations past 256 KiB the API server refuses), padded to exactly `size` bytes of JSON. */
  function reviewOfSize(size: number, uid: string): string {
    const pad = (n: number) => {
      const pod = samplePod() as { spec: { containers: Record<string, unknown>[] } };
      pod.spec.containers[0]!.env = [{ name: 'BLOB', value: 'x'.repeat(n) }];
      return JSON.stringify(reviewOf(pod, { uid }));
    };
    const text = pad(size - pad(0).length);
    expect(Buffer.byteLength(text)).toBe(size);
    return text;
  }

  test('a pod of exactly 3 MiB, the API server limit, is admitted', async () => {
    const res = await postReview(servers, reviewOfSize(BODY_LIMIT, 'big-1'));
    expect(res.status).toBe(200);
    expect(res.json<ReviewBody>().response).toMatchObject({ uid: 'big-1', allowed: true, patchType: 'JSONPatch' });
  });

  test('one byte more is refused with 413 and a JSON error', async () => {
    const res = await postReview(servers, reviewOfSize(BODY_LIMIT + 1, 'big-2'));
    expect(res.status).toBe(413);
    expect(res.json()).toEqual({ error: { code: 413, reason: 'BODY_TOO_LARGE', message: expect.stringContaining('3 MiB') } });
  });

  test('so is a chunked body that grows past the limit', async () => {
    const res = await send({
      port: servers.port,
      ca: servers.ca,
      path: '/mutate',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: `{"pad":"${'y'.repeat(BODY_LIMIT)}"}`,
    });
    expect(res.status).toBe(413);
    expect(res.json().error.reason).toBe('BODY_TOO_LARGE');
  });
});

describe('logging', () => {
  test('one line per admission, with what happened and never what the pod holds', async () => {
    const secret = 'hunter2-do-not-log';
    const pod = samplePod({ 'example.com/token': secret });
    (pod.spec as { containers: Record<string, unknown>[] }).containers[0]!.env = [{ name: 'PASSWORD', value: secret }];
    await postReview(servers, reviewOf(pod, { uid: 'log-1' }));
    const lines = admissionLines('log-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      uid: 'log-1',
      namespace: 'team-a',
      pod: 'web-*',
      operation: 'CREATE',
      kind: 'Pod',
      outcome: 'injected',
      reason: '',
      dryRun: false,
      warnings: 0,
    });
    expect(typeof lines[0]!.durationMs).toBe('number');
    expect(JSON.stringify(servers.lines)).not.toContain(secret);
  });

  test('a denial logs the error codes as its reason', async () => {
    await postReview(servers, reviewOf(badPod(), { uid: 'log-2' }));
    expect(admissionLines('log-2')).toEqual([expect.objectContaining({ outcome: 'denied', reason: 'DURATION_INVALID,VALUE_NOT_ALLOWED' })]);
  });
});

describe('failures inside the injector', () => {
  test('an engine exception is a 500 status in a 200 review, logged with its stack', async () => {
    const broken = await startServers({
      ctx: { ...engineContext(), policy: { ...engineContext().policy, excludedNamespaces: undefined as unknown as ReadonlySet<string> } },
    });
    try {
      const res = await postReview(broken, reviewOf(samplePod(), { uid: 'boom-1' }));
      expect(res.status).toBe(200);
      const { response } = res.json<ReviewBody>();
      expect(response).toMatchObject({ uid: 'boom-1', allowed: false, status: { code: 500 } });
      expect(response.status?.message).toContain("see the injector's logs");
      const line = broken.lines.find((l) => l.uid === 'boom-1');
      expect(line).toMatchObject({ level: 'error', outcome: 'error' });
      expect((line!.err as { stack: string }).stack).toMatch(/TypeError/);
    } finally {
      await broken.close();
    }
  });
});

describe('shutdown', () => {
  test('a request in flight when the server closes is answered, and its connection closed after', async () => {
    const local = await startServers();
    const agent = new Agent({ keepAlive: true, ca: local.ca });
    try {
      const body = JSON.stringify(reviewOf(samplePod(), { uid: 'drain-1' }));
      let closing: Promise<void> | undefined;
      const answer = new Promise<{ status: number; connection?: string; text: string }>((resolve, reject) => {
        const req = request(
          { host: 'localhost', port: local.port, path: '/mutate', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, text }));
          },
        );
        req.on('error', reject);
        // Once the server holds the request (headers in, body still coming), start closing, then finish the body.
        local.webhook.server.once('request', () => {
          local.readiness.shutDown();
          closing = local.close();
          setImmediate(() => req.end(body.slice(20)));
        });
        req.write(body.slice(0, 20));
      });
      const res = await answer;
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text).response).toMatchObject({ uid: 'drain-1', allowed: true, patchType: 'JSONPatch' });
      expect(res.connection).toBe('close');
      await closing;
      expect(local.webhook.server.listening).toBe(false);
    } finally {
      agent.destroy();
    }
  });
});
