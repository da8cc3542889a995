/**
 * The certificates from src/tls, served by the webhook: clients that check
 * them (Node's TLS, and kubectl, which uses Go's crypto/x509 like the API
 * server) accept them for the names they were issued for, and only those.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createCA } from '../../src/tls/index.ts';
import { send, startServers, type TestServers } from '../support/server.ts';

let servers: TestServers;
beforeAll(async () => {
  servers = await startServers();
});
afterAll(async () => {
  await servers.close();
});

const get = (host: string, options: { ca?: string; servername?: string } = {}) =>
  send({ port: servers.port, host, path: '/mutate', ca: options.ca ?? servers.ca, servername: options.servername });

describe('serving certificate', () => {
  test.each(['localhost', '127.0.0.1'])('verifies for %s against the CA', async (host) => {
    // Any HTTP answer means the TLS handshake, certificate checks included, succeeded.
    expect((await get(host)).status).toBe(404);
  });

  test('is refused for a name it was not issued for', async () => {
    await expect(get('127.0.0.1', { servername: 'gitsync-injector.other.svc' })).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  test('is refused by a client that trusts another CA', async () => {
    const other = await createCA('some other CA');
    await expect(get('localhost', { ca: other.cert })).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  test('the server speaks HTTP/1.1 over TLS 1.2 or later, as the API server expects', async () => {
    const socket = connect({ host: '127.0.0.1', port: servers.port, servername: 'localhost', ca: servers.ca, ALPNProtocols: ['h2', 'http/1.1'] });
    try {
      await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
      expect(socket.alpnProtocol).not.toBe('h2');
      expect(['TLSv1.2', 'TLSv1.3']).toContain(socket.getProtocol());
    } finally {
      socket.destroy();
    }
  });

  test('TLS 1.1 is refused', async () => {
    const socket = connect({ host: '127.0.0.1', port: servers.port, servername: 'localhost', ca: servers.ca, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
    try {
      await expect(new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject))).rejects.toBeInstanceOf(Error);
    } finally {
      socket.destroy();
    }
  });
});

describe('kubectl (Go crypto/x509, as the API server uses)', async () => {
  const run = promisify(execFile);
  const kubectl = await run('kubectl', ['version', '--client']).then(
    () => true,
    () => false,
  );
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitsync-injector-kubectl-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** kubectl's stderr for a GET of /mutate (a 404 from the webhook when TLS checks pass). */
  async function kubectlGet(host: string, caPem: string): Promise<string> {
    const caFile = join(dir, `ca-${Math.random().toString(36).slice(2)}.crt`);
    await writeFile(caFile, caPem);
    const args = ['--kubeconfig=/dev/null', `--server=https://${host}:${servers.port}`, `--certificate-authority=${caFile}`, '--token=unused', '--request-timeout=10s', 'get', '--raw', '/mutate'];
    return run('kubectl', args).then(
      () => '',
      (error: { stderr?: string }) => error.stderr ?? '',
    );
  }

  test.skipIf(!kubectl).each(['localhost', '127.0.0.1'])('verifies the certificate for %s', async (host) => {
    const stderr = await kubectlGet(host, servers.ca);
    expect(stderr).not.toMatch(/x509|certificate/i);
    expect(stderr).toContain('NotFound');
  });

  test.skipIf(!kubectl)('refuses it against another CA', async () => {
    const other = await createCA('some other CA');
    expect(await kubectlGet('localhost', other.cert)).toMatch(/x509: certificate signed by unknown authority/);
  });
});
