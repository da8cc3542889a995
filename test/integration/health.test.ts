/** The probes' plain-HTTP server: liveness while the process runs, readiness while the webhook can serve. */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { buildHealthServer, buildServer, webhookReadiness } from '../../src/server/index.ts';
import { captureLogger, engineContext, send, startServers, testCertificates, type TestServers } from '../support/server.ts';

let servers: TestServers | undefined;
afterEach(async () => {
  await servers?.close().catch(() => undefined);
  servers = undefined;
});

const probe = (port: number, path: string) => send({ port, path });

describe('health server', () => {
  test('/healthz answers 200 while the process runs', async () => {
    servers = await startServers();
    const res = await probe(servers.healthPort, '/healthz');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  test('/readyz is 200 with the policy in force and the version while the webhook listens', async () => {
    servers = await startServers();
    const res = await probe(servers.healthPort, '/readyz');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      ready: true,
      checks: { webhook: { ok: true } },
      policy: { source: 'built-in', hash: servers.deps.ctx.policy.hash },
      version: servers.deps.ctx.version,
    });
  });

  test('/readyz is 503 once shutting down, and says so', async () => {
    servers = await startServers();
    servers.readiness.shutDown();
    const res = await probe(servers.healthPort, '/readyz');
    expect(res.status).toBe(503);
    expect(res.json()).toMatchObject({ ready: false, checks: { webhook: { ok: true }, shutdown: { ok: false, message: expect.stringContaining('shutting down') } } });
    // Liveness is unaffected: the process is still running.
    expect((await probe(servers.healthPort, '/healthz')).status).toBe(200);
  });

  test('/readyz is 503 while the webhook is not listening', async () => {
    const { serving } = await testCertificates();
    const { logger } = captureLogger();
    const deps = { ctx: engineContext(), namespaceAnnotations: () => undefined };
    const webhook = buildServer({ tls: serving, deps, logger });
    const health = buildHealthServer({ readiness: webhookReadiness(webhook, deps, 'built-in'), logger });
    await health.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (health.server.address() as AddressInfo).port;
      const res = await probe(port, '/readyz');
      expect(res.status).toBe(503);
      expect(res.json()).toMatchObject({ ready: false, checks: { webhook: { ok: false, message: 'the HTTPS server is not listening' } } });
    } finally {
      await health.close();
      await webhook.close();
    }
  });

  test('a check added later takes part, and a replaced policy shows at once', async () => {
    servers = await startServers();
    servers.readiness.check('policy-reload', () => ({ ok: false, message: 'policy.yaml:3: invalid; the last good policy stays in force' }));
    servers.deps.ctx = { ...servers.deps.ctx, policy: { ...servers.deps.ctx.policy, hash: 'abcdef123456' } };
    const res = await probe(servers.healthPort, '/readyz');
    expect(res.status).toBe(503);
    expect(res.json()).toMatchObject({ ready: false, checks: { 'policy-reload': { ok: false } }, policy: { hash: 'abcdef123456' } });
  });

  test('a check that throws makes the replica unready instead of failing the probe', async () => {
    servers = await startServers();
    servers.readiness.check('flaky', () => {
      throw new Error('no answer');
    });
    const res = await probe(servers.healthPort, '/readyz');
    expect(res.status).toBe(503);
    expect(res.json()).toMatchObject({ checks: { flaky: { ok: false, message: 'the check failed: no answer' } } });
  });

  test('probes are not logged, and an unknown path is a JSON 404', async () => {
    servers = await startServers();
    const before = servers.lines.length;
    await probe(servers.healthPort, '/healthz');
    await probe(servers.healthPort, '/readyz');
    expect(servers.lines.length).toBe(before);
    const res = await probe(servers.healthPort, '/metrics-typo');
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({ error: { code: 404, reason: 'NOT_FOUND', message: 'no route GET /metrics-typo' } });
  });
});
