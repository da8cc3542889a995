/** GET /policy on the preview listener: the policy in force, its source and hash, and a pending rejection. */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { loadBuiltinPolicy, loadPolicyText } from '../../src/policy/load.ts';
import { PolicyStore } from '../../src/policy/store.ts';
import { buildPreviewServer, type PreviewServer } from '../../src/server/index.ts';
import { captureLogger, engineContext, send, testCertificates } from '../support/server.ts';

let preview: PreviewServer | undefined;
afterEach(async () => {
  await preview?.close();
  preview = undefined;
});

async function serveStore(store?: PolicyStore) {
  const { ca, serving } = await testCertificates();
  const deps = { ctx: engineContext(), namespaceAnnotations: () => undefined };
  preview = buildPreviewServer({ tls: serving, deps, logger: captureLogger().logger, ...(store ? { policy: store } : {}) });
  await preview.listen({ host: '127.0.0.1', port: 0 });
  const port = (preview.server.address() as AddressInfo).port;
  return (headers: Record<string, string> = {}, method = 'GET') => send({ port, ca: ca.cert, path: '/policy', headers, method });
}

describe('GET /policy', () => {
  test('JSON by default: the policy in force with its source, hash and since when', async () => {
    const store = new PolicyStore(loadBuiltinPolicy());
    store.apply('defaults:\n  period: 2m\n', '/etc/gitsync-injector/policy.yaml');
    const get = await serveStore(store);
    const res = await get();
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers.vary).toBe('accept');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual({
      source: '/etc/gitsync-injector/policy.yaml',
      hash: store.current.hash,
      since: store.current.since,
      policy: JSON.parse(JSON.stringify(store.current.compiled.document)),
    });
  });

  test('shows the last rejected edit while it is pending', async () => {
    const store = new PolicyStore(loadBuiltinPolicy());
    store.apply('defaults:\n  period: 5x\n', 'configmap gitsync-injector/gitsync-injector-policy key policy.yaml', 'policy.yaml');
    const res = await (await serveStore(store))();
    expect(res.json()).toMatchObject({
      source: 'built-in',
      rejected: {
        source: 'configmap gitsync-injector/gitsync-injector-policy key policy.yaml',
        at: expect.any(String),
        problems: ['policy.yaml:2:11: defaults.period: "5x" is not a duration; use a Go duration such as 30s, 5m or 1h30m [DURATION_INVALID]'],
      },
    });
  });

  test('YAML when asked for: a policy file with the same hash, source and hash in comments', async () => {
    const store = new PolicyStore(loadBuiltinPolicy());
    const res = await (await serveStore(store))({ accept: 'application/yaml' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/yaml; charset=utf-8');
    expect(res.text).toMatch(/^# gitsync-injector policy\n# source: built-in\n# hash: [0-9a-f]{12}\n/);
    expect(loadPolicyText(res.text, 'effective.yaml').compiled?.engine.hash).toBe(store.current.hash);
    expect(parse(res.text)).toEqual(JSON.parse(JSON.stringify(store.current.compiled.document)));
  });

  test.each([
    ['application/yaml;q=0.5, */*;q=0.5', 'application/yaml'],
    ['application/json, application/yaml', 'application/json'],
    ['application/yaml;q=0.4, */*;q=0.5', 'application/json'],
  ])('Accept %s is negotiated as /preview negotiates it: %s', async (accept, type) => {
    const res = await (await serveStore(new PolicyStore(loadBuiltinPolicy())))({ accept });
    expect(res.headers['content-type']).toMatch(new RegExp(`^${type}`));
  });

  test('HEAD answers like GET without a body', async () => {
    const res = await (await serveStore(new PolicyStore(loadBuiltinPolicy())))({}, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
  });

  test('a server built without a store has no /policy', async () => {
    const res = await (await serveStore())();
    expect(res.status).toBe(404);
  });
});
