/**
 * /preview and /policy on a listener of their own. /mutate's port, which the
 * Service exposes to the whole cluster, serves admission only; the preview
 * listener is off unless asked for (on, on loopback, with --dev), so that
 * nothing in the cluster can read any namespace's defaults through
 * `?namespace=` or spend the webhook's CPU on previews.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { UsageError } from '../../src/args.ts';
import { DEV_PREVIEW_PORT, serveConfig } from '../../src/app/index.ts';
import { loadBuiltinPolicy } from '../../src/policy/load.ts';
import { PolicyStore } from '../../src/policy/store.ts';
import type { CertificatePaths } from '../../src/tls/index.ts';
import { killServes, localhostCertificates, startServe } from '../support/cli.ts';
import { postReview, reviewOf, samplePod, send, startServers, type TestServers } from '../support/server.ts';

const POD = JSON.stringify(samplePod());
const previewOn = (port: number, ca: string) => send({ port, ca, path: '/preview', method: 'POST', headers: { 'content-type': 'application/json' }, body: POD });
const policyOn = (port: number, ca: string) => send({ port, ca, path: '/policy' });

describe('the listeners, as serve wires them', () => {
  let servers: TestServers;
  beforeAll(async () => {
    servers = await startServers({}, { policy: new PolicyStore(loadBuiltinPolicy()) });
  });
  afterAll(async () => {
    await servers.close();
  });

  test("/mutate's port answers 404 for /preview and /policy: it serves admission only", async () => {
    for (const res of [await previewOn(servers.port, servers.ca), await policyOn(servers.port, servers.ca)]) {
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({ error: { code: 404, reason: 'NOT_FOUND' } });
    }
    expect((await postReview(servers, reviewOf(samplePod()))).status).toBe(200);
  });

  test('the preview port answers /preview and /policy, and 404 for /mutate', async () => {
    const preview = await previewOn(servers.previewPort, servers.ca);
    expect(preview.status).toBe(200);
    expect(preview.json()).toMatchObject({ summary: { objects: 1, injected: 1 } });
    const policy = await policyOn(servers.previewPort, servers.ca);
    expect(policy.status).toBe(200);
    expect(policy.json()).toMatchObject({ source: 'built-in' });
    expect((await postReview({ port: servers.previewPort, ca: servers.ca }, reviewOf(samplePod()))).status).toBe(404);
  });
});

describe('serve --preview-port, --preview-host', () => {
  test('off by default outside --dev; on with --dev, on 127.0.0.1:8444', () => {
    expect(serveConfig([], {}).preview).toBeUndefined();
    expect(serveConfig(['--dev'], {}).preview).toEqual({ host: '127.0.0.1', port: DEV_PREVIEW_PORT });
    expect(serveConfig(['--dev', '--preview-port', 'off'], {}).preview).toBeUndefined();
    expect(serveConfig([], { GITSYNC_INJECTOR_PREVIEW_PORT: 'off' }).preview).toBeUndefined();
  });

  test('turned on by flag or environment: on loopback unless told otherwise', () => {
    expect(serveConfig(['--preview-port', '9444'], {}).preview).toEqual({ host: '127.0.0.1', port: 9444 });
    expect(serveConfig([], { GITSYNC_INJECTOR_PREVIEW_PORT: '8444', GITSYNC_INJECTOR_PREVIEW_HOST: '0.0.0.0' }).preview).toEqual({ host: '0.0.0.0', port: 8444 });
  });

  test.each([
    [['--preview-port', '8443'], '--preview-port and --port are both 8443; they need different ports'],
    [['--preview-port', '8081'], '--preview-port and --health-port are both 8081; they need different ports'],
    [['--preview-port', 'http'], '--preview-port: "http" is not a port number (0-65535)'],
    [['--preview-host', '0.0.0.0'], '--preview-host is set but the preview listener is off; set --preview-port (or GITSYNC_INJECTOR_PREVIEW_PORT) too'],
  ])('%j is refused: %s', (args, message) => {
    expect(() => serveConfig(args, {})).toThrow(new UsageError(message));
  });
});

describe('serve as a process', () => {
  let dir: string;
  let certs: CertificatePaths;
  let caCert: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitsync-preview-listener-'));
    ({ files: certs, caCert } = await localhostCertificates(dir, 'preview listener test CA'));
  });
  afterEach(() => killServes());
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('without --dev or --preview-port there is no preview listener, and /mutate\'s port has no /preview or /policy', async () => {
    const s = await startServe([], certs);
    expect(s.lines.at(-1)).toMatchObject({ msg: 'gitsync-injector started', preview: 'off' });
    expect(s.previewPort).toBeUndefined();
    expect(s.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('preview listening'))).toBe(false);
    expect((await previewOn(s.port, caCert)).status).toBe(404);
    expect((await policyOn(s.port, caCert)).status).toBe(404);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });

  test('--preview-port: /preview and /policy there, with the serving certificate; SIGTERM closes it too', async () => {
    const s = await startServe(['--preview-port', '0'], certs);
    expect(s.previewPort).toBeGreaterThan(0);
    expect(s.lines).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/^preview listening at https:\/\/127\.0\.0\.1:\d+ \(\/preview, \/policy\)$/) }));
    expect((await previewOn(s.previewPort!, caCert)).status).toBe(200);
    expect((await policyOn(s.previewPort!, caCert)).json()).toMatchObject({ source: 'built-in' });
    expect((await previewOn(s.port, caCert)).status).toBe(404);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    await expect(previewOn(s.previewPort!, caCert)).rejects.toThrow(/ECONNREFUSED/);
  });
});
