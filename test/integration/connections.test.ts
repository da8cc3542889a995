/**
 * Open connections are capped on every listener a pod can reach: past the
 * cap a new connection is closed as it arrives, the ones already open go on
 * being served, and the log says so. Without it, any pod that reaches the
 * Service could open thousands of keep-alive TLS connections (about 50 KB
 * each) and take the webhook past its memory limit.
 */
import { connect, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, expect, test } from 'vitest';
import { buildHealthServer, buildServer, HEALTH_MAX_CONNECTIONS, HEALTH_TIMEOUT_MS, MAX_CONNECTIONS, webhookReadiness } from '../../src/server/index.ts';
import { captureLogger, engineContext, send, testCertificates } from '../support/server.ts';

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

/** A TLS connection: 'open' once its handshake is done, 'closed' when the server closes it first. */
function open(port: number, ca: string): Promise<{ socket: TLSSocket; state: 'open' | 'closed' }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca });
    socket.once('secureConnect', () => resolve({ socket, state: 'open' }));
    socket.once('error', () => resolve({ socket, state: 'closed' }));
    socket.once('close', () => resolve({ socket, state: 'closed' }));
  });
}

test('the webhook serves the connections it has and closes those past its cap as they arrive, saying so', async () => {
  const { ca, serving } = await testCertificates();
  const { logger, lines } = captureLogger();
  const app = buildServer({ tls: serving, deps: { ctx: engineContext(), namespaceAnnotations: () => undefined }, logger, maxConnections: 2 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => app.close());
  const port = (app.server.address() as AddressInfo).port;

  const first = await open(port, ca.cert);
  const second = await open(port, ca.cert);
  expect([first.state, second.state]).toEqual(['open', 'open']);
  const third = await open(port, ca.cert);
  expect(third.state).toBe('closed');
  expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', dropped: 1, maxConnections: 2 }));

  // Once one of them goes, a new connection is served again.
  await new Promise<void>((resolve) => first.socket.once('close', () => resolve()).end());
  await expect.poll(async () => (await send({ port, ca: ca.cert, path: '/mutate' }).catch(() => ({ status: 0 }))).status, { timeout: 10_000 }).toBe(404);
  second.socket.destroy();
  third.socket.destroy();
});

test('the defaults: the webhook and the health server are capped, and the health server closes idle and slow connections', () => {
  const { logger } = captureLogger();
  const webhook = buildServer({ tls: { key: '', cert: '' }, deps: { ctx: engineContext(), namespaceAnnotations: () => undefined }, logger });
  expect(webhook.server.maxConnections).toBe(MAX_CONNECTIONS);
  const health = buildHealthServer({ readiness: webhookReadiness(webhook, { ctx: engineContext(), namespaceAnnotations: () => undefined }, 'built-in'), logger });
  expect(health.server.maxConnections).toBe(HEALTH_MAX_CONNECTIONS);
  expect(health.server.timeout).toBe(HEALTH_TIMEOUT_MS);
  expect(health.server.requestTimeout).toBe(HEALTH_TIMEOUT_MS);
  expect(health.server.keepAliveTimeout).toBe(HEALTH_TIMEOUT_MS);
});
