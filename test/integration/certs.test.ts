/**
 * `gitsync-injector certs`: the files the self-signed overlay needs. The
 * serving certificate must verify against the CA for both names the API
 * server may dial, and the webhook must serve TLS with it to a client that
 * trusts only that CA and asks for the Service's name.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { runCli, type CliRun } from '../support/cli.ts';
import { UsageError } from '../../src/args.ts';
import { certsOptions, CertsError, generateCertificates } from '../../src/cli/certs.ts';
import { buildServer, type WebhookServer } from '../../src/server/index.ts';
import { createCA } from '../../src/tls/index.ts';
import { captureLogger, engineContext, reviewOf, samplePod, send } from '../support/server.ts';



const cli = (args: string[]): Promise<CliRun> => runCli(args);

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gitsync-injector-certs-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
const freshDir = (): string => join(root, `out-${n++}`, 'nested');
const FILES = ['ca.crt', 'ca.key', 'tls.crt', 'tls.key', 'ca-bundle'];

async function readAll(dir: string): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(FILES.map(async (f) => [f, await readFile(join(dir, f), 'utf8')] as const)));
}

const servers: WebhookServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

describe('certs', () => {
  test('writes a CA and a serving certificate that verifies for both Service names, and the caBundle', async () => {
    const out = freshDir();
    const run = await cli(['certs', '--service', 'gitsync-injector', '--namespace', 'gitsync-injector', '--out', out]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('gitsync-injector.gitsync-injector.svc and gitsync-injector.gitsync-injector.svc.cluster.local');
    for (const f of FILES) expect(run.stdout).toContain(join(out, f));

    const files = await readAll(out);
    const ca = new X509Certificate(files['ca.crt']!);
    const serving = new X509Certificate(files['tls.crt']!);
    expect(ca.ca).toBe(true);
    expect(serving.ca).toBe(false);
    expect(serving.checkIssued(ca)).toBe(true);
    expect(serving.verify(ca.publicKey)).toBe(true);
    for (const name of ['gitsync-injector.gitsync-injector.svc', 'gitsync-injector.gitsync-injector.svc.cluster.local']) {
      expect(serving.checkHost(name), name).toBe(name);
    }
    expect(serving.checkHost('gitsync-injector.other.svc')).toBeUndefined();
    expect(serving.checkPrivateKey(createPrivateKey(files['tls.key']!))).toBe(true);
    expect(ca.checkPrivateKey(createPrivateKey(files['ca.key']!))).toBe(true);
    expect(serving.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
    // The caBundle is the CA certificate's PEM, base64-encoded.
    expect(Buffer.from(files['ca-bundle']!.trim(), 'base64').toString('utf8')).toBe(files['ca.crt']);
    // Keys are for their owner only.
    for (const key of ['ca.key', 'tls.key']) expect((await stat(join(out, key))).mode & 0o777).toBe(0o600);
  });

  test('the webhook serves TLS with them to a client that trusts only the CA and dials the Service name', async () => {
    const out = freshDir();
    expect((await cli(['certs', '--service', 'webhook', '--namespace', 'platform', '--out', out])).code).toBe(0);
    const files = await readAll(out);
    const { logger } = captureLogger();
    const webhook = buildServer({ tls: { cert: files['tls.crt']!, key: files['tls.key']! }, deps: { ctx: engineContext(), namespaceAnnotations: () => undefined }, logger });
    servers.push(webhook);
    await webhook.listen({ host: '127.0.0.1', port: 0 });
    const port = (webhook.server.address() as AddressInfo).port;
    // The caBundle, decoded, is what the API server trusts.
    const caBundle = Buffer.from(files['ca-bundle']!.trim(), 'base64').toString('utf8');

    for (const servername of ['webhook.platform.svc', 'webhook.platform.svc.cluster.local']) {
      const res = await send({ port, host: '127.0.0.1', servername, ca: caBundle, path: '/mutate', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(reviewOf(samplePod(), { uid: servername })) });
      expect(res.status).toBe(200);
      expect(res.json().response).toMatchObject({ uid: servername, allowed: true });
    }
    // Only those names: a client dialling another name refuses the certificate.
    await expect(send({ port, host: '127.0.0.1', servername: 'localhost', ca: caBundle, path: '/healthz' })).rejects.toThrow(/altnames/);
  });

  test('refuses to replace existing files without --renew or --force, and changes nothing', async () => {
    const out = freshDir();
    const args = ['certs', '--service', 'gitsync-injector', '--namespace', 'gitsync-injector', '--out', out];
    expect((await cli(args)).code).toBe(0);
    const before = await readAll(out);
    const run = await cli(args);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`${join(out, 'ca.crt')}, ${join(out, 'ca.key')}, ${join(out, 'tls.crt')}, ${join(out, 'tls.key')}, ${join(out, 'ca-bundle')} already exist; nothing was written`);
    expect(run.stderr).toContain('--renew');
    expect(run.stderr).toContain('--force');
    expect(await readAll(out)).toEqual(before);
  });

  test('one file in the way is enough to refuse', async () => {
    const out = join(root, `single-${n++}`);
    const args = ['--service', 'a', '--namespace', 'b', '--out', out];
    await generateCertificates(certsOptions(args));
    for (const f of FILES.filter((f) => f !== 'tls.key')) await rm(join(out, f));
    await expect(generateCertificates(certsOptions(args))).rejects.toThrow(`${join(out, 'tls.key')} already exists; nothing was written`);
  });

  test('--renew issues a new serving certificate from the same CA: the caBundle does not change', async () => {
    const out = freshDir();
    const args = ['certs', '--service', 'gitsync-injector', '--namespace', 'gitsync-injector', '--out', out];
    expect((await cli(args)).code).toBe(0);
    const before = await readAll(out);
    const run = await cli([...args, '--renew', '--days', '30']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Renewed the serving certificate from the CA in /);
    const after = await readAll(out);
    expect(after['ca.crt']).toBe(before['ca.crt']);
    expect(after['ca.key']).toBe(before['ca.key']);
    expect(after['ca-bundle']).toBe(before['ca-bundle']);
    expect(after['tls.crt']).not.toBe(before['tls.crt']);
    expect(after['tls.key']).not.toBe(before['tls.key']);
    const serving = new X509Certificate(after['tls.crt']!);
    expect(serving.verify(new X509Certificate(after['ca.crt']!).publicKey)).toBe(true);
    const days = (new Date(serving.validTo).getTime() - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(30);
  });

  /** The command's work in-process: the same code as the CLI, without a process per case. */
  const generate = (args: string[]) => generateCertificates(certsOptions(args));

  test('--force replaces everything with a new CA', async () => {
    const out = freshDir();
    const args = ['--service', 'gitsync-injector', '--namespace', 'gitsync-injector', '--out', out];
    await generate(args);
    const before = await readAll(out);
    await expect(generate(args)).rejects.toThrow(CertsError);
    const result = await generate([...args, '--force']);
    expect(result.newCA).toBe(true);
    const after = await readAll(out);
    for (const f of FILES) expect(after[f], f).not.toBe(before[f]);
    expect(new X509Certificate(after['tls.crt']!).verify(new X509Certificate(after['ca.crt']!).publicKey)).toBe(true);
  });

  test('--renew leaves the CA\'s files as they are, not rewritten: no interrupted renewal can lose the CA key', async () => {
    const out = freshDir();
    const args = ['--service', 'gitsync-injector', '--namespace', 'gitsync-injector', '--out', out];
    await generate(args);
    const stats = async () => Promise.all(['ca.key', 'ca.crt', 'ca-bundle'].map(async (f) => ({ f, ...(await stat(join(out, f))) })));
    const before = await stats();
    await generate([...args, '--renew']);
    const after = await stats();
    for (const [i, b] of before.entries()) expect({ f: b.f, ino: after[i]!.ino, mtime: after[i]!.mtimeMs }).toEqual({ f: b.f, ino: b.ino, mtime: b.mtimeMs });
  });

  test('a file replaced through a symbolic link is replaced itself: the key never lands where the link points', async () => {
    const out = freshDir();
    const args = ['--service', 'gitsync-injector', '--namespace', 'gitsync-injector', '--out', out];
    await generate(args);
    const elsewhere = join(root, `elsewhere-${n++}`);
    await writeFile(elsewhere, 'not a key\n', { mode: 0o644 });
    await rm(join(out, 'tls.key'));
    await symlink(elsewhere, join(out, 'tls.key'));
    await generate([...args, '--renew']);
    expect(await readFile(elsewhere, 'utf8')).toBe('not a key\n');
    expect((await stat(elsewhere)).mode & 0o777).toBe(0o644);
    const key = await lstat(join(out, 'tls.key'));
    expect(key.isFile()).toBe(true);
    expect(key.mode & 0o777).toBe(0o600);
    expect((await readdir(out)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('--renew without a usable CA in DIR says what is missing', async () => {
    const out = freshDir();
    const args = ['--service', 'a', '--namespace', 'b', '--out', out];
    await expect(generate([...args, '--renew'])).rejects.toThrow(`--renew needs the CA from an earlier run, but ${join(out, 'ca.crt')} cannot be read`);

    await generate(args);
    // A serving certificate is not a CA.
    await writeFile(join(out, 'ca.crt'), await readFile(join(out, 'tls.crt')));
    await writeFile(join(out, 'ca.key'), await readFile(join(out, 'tls.key')));
    await expect(generate([...args, '--renew'])).rejects.toThrow('is not a CA certificate');

    await generate([...args, '--force']);
    // A CA with someone else's key.
    await writeFile(join(out, 'ca.key'), (await createCA('someone else')).key);
    await expect(generate([...args, '--renew'])).rejects.toThrow(`the key in ${join(out, 'ca.key')} does not belong to the CA certificate`);
  });

  test('a cluster domain other than cluster.local', async () => {
    const out = freshDir();
    const result = await generate(['--service', 'wh', '--namespace', 'ns', '--out', out, '--cluster-domain', 'corp.example.']);
    expect(result.dnsNames).toEqual(['wh.ns.svc', 'wh.ns.svc.corp.example']);
    const serving = new X509Certificate(await readFile(join(out, 'tls.crt')));
    expect(serving.subjectAltName).toBe('DNS:wh.ns.svc, DNS:wh.ns.svc.corp.example');
  });

  test.each([
    [[], '--service is required'],
    [['--service', 'a'], '--namespace is required'],
    [['--service', 'a', '--namespace', 'b'], '--out is required'],
    [['--service', 'Web_hook', '--namespace', 'b', '--out', 'x'], '--service: "Web_hook" is not a Service name'],
    [['--service', '1webhook', '--namespace', 'b', '--out', 'x'], '--service: "1webhook" is not a Service name'],
    [['--service', 'a'.repeat(64), '--namespace', 'b', '--out', 'x'], 'is not a Service name'],
    [['--service', 'a', '--namespace', 'B', '--out', 'x'], '--namespace: "B" is not a namespace name'],
    [['--service', 'a', '--namespace', 'b', '--out', 'x', '--days', '0'], '--days: "0" is not a whole number of days'],
    [['--service', 'a', '--namespace', 'b', '--out', 'x', '--days', 'soon'], '--days: "soon" is not a whole number of days'],
    [['--service', 'a', '--namespace', 'b', '--out', 'x', '--cluster-domain', 'bad domain'], '--cluster-domain: "bad domain" is not a DNS domain'],
    [['--service', 'a', '--namespace', 'b', '--out', 'x', '--renew', '--force'], '--renew keeps the CA and --force replaces it'],
    [['--service', 'a', '--namespace', 'b', '--out', 'x', '--frobnicate'], 'unknown option --frobnicate'],
  ])('bad invocation %j: a usage error that names the flag', (args, message) => {
    expect(() => certsOptions(args)).toThrow(UsageError);
    expect(() => certsOptions(args)).toThrow(message);
  });

  test('a bad invocation exits 2 with the reason in one line and a hint, not the whole usage', async () => {
    const run = await cli(['certs', '--service', 'Web_hook', '--namespace', 'b', '--out', 'x']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('gitsync-injector certs: --service: "Web_hook" is not a Service name');
    expect(run.stderr).toContain("Run 'gitsync-injector certs --help' for its options.");
    expect(run.stderr).not.toContain('Usage:');
  });

  test('is listed in the command help', async () => {
    const run = await cli(['--help']);
    expect(run.stdout).toMatch(/^ {2}certs +create the CA and serving certificate/m);
  });
});
