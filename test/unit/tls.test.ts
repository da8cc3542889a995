import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createCA, ensureDevCertificates, issueServingCertificate, type KeyPair } from '../../src/tls/index.ts';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

describe('createCA', () => {
  let ca: KeyPair;
  beforeAll(async () => {
    ca = await createCA('gitsync-injector test CA');
  });

  test('is a self-signed CA certificate with an ECDSA P-256 key in PKCS#8', () => {
    const cert = new X509Certificate(ca.cert);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=gitsync-injector test CA');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(ca.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(ca.key);
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.checkPrivateKey(key)).toBe(true);
  });

  test('is valid now, and for ten years by default', () => {
    const cert = new X509Certificate(ca.cert);
    const now = Date.now();
    expect(cert.validFromDate.getTime()).toBeLessThanOrEqual(now);
    expect(cert.validToDate.getTime()).toBeGreaterThan(now + 9 * 365 * 24 * 3600 * 1000);
  });

  test('escapes characters that would change the meaning of the subject', async () => {
    const cert = new X509Certificate((await createCA('acme, inc=CA')).cert);
    // One CN attribute holding the whole name (Node prints attributes one per line, commas escaped).
    expect(cert.subject).toBe('CN=acme\\, inc=CA');
  });
});

describe('issueServingCertificate', () => {
  let ca: KeyPair;
  let serving: KeyPair;
  beforeAll(async () => {
    ca = await createCA('test CA');
    serving = await issueServingCertificate(ca, {
      dnsNames: ['gitsync-injector.gitsync-injector.svc', 'gitsync-injector.gitsync-injector.svc.cluster.local'],
      ipAddresses: ['10.0.0.7', 'fd00::7'],
      days: 30,
    });
  });

  test('is signed by the CA, is not a CA itself, and is for server authentication', () => {
    const cert = new X509Certificate(serving.cert);
    const caCert = new X509Certificate(ca.cert);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual([SERVER_AUTH]);
    expect(cert.subject).toBe('CN=gitsync-injector.gitsync-injector.svc');
  });

  test('names every DNS name and IP address, and no other', () => {
    const cert = new X509Certificate(serving.cert);
    expect(cert.checkHost('gitsync-injector.gitsync-injector.svc')).toBe('gitsync-injector.gitsync-injector.svc');
    expect(cert.checkHost('gitsync-injector.gitsync-injector.svc.cluster.local')).toBeDefined();
    expect(cert.checkIP('10.0.0.7')).toBe('10.0.0.7');
    expect(cert.checkIP('fd00::7')).toBeDefined();
    expect(cert.checkHost('localhost')).toBeUndefined();
    expect(cert.checkHost('other.gitsync-injector.svc')).toBeUndefined();
    expect(cert.checkIP('10.0.0.8')).toBeUndefined();
  });

  test('comes with its own P-256 private key', () => {
    const cert = new X509Certificate(serving.cert);
    const key = createPrivateKey(serving.key);
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(createPublicKey(ca.key).export({ format: 'der', type: 'spki' })).not.toEqual(createPublicKey(key).export({ format: 'der', type: 'spki' }));
  });

  test('is valid for the days asked', () => {
    const cert = new X509Certificate(serving.cert);
    const days = (cert.validToDate.getTime() - Date.now()) / (24 * 3600 * 1000);
    expect(days).toBeGreaterThan(29);
    expect(days).toBeLessThanOrEqual(30);
  });

  test('signs with an RSA CA key too, for CAs made by other tools', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaKey = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    // Only the signing key matters here; the CA certificate supplies the issuer name.
    const signed = await issueServingCertificate({ cert: ca.cert, key: rsaKey }, { dnsNames: ['example.svc'] });
    expect(new X509Certificate(signed.cert).verify(createPublicKey(privateKey))).toBe(true);
  });

  test('refuses requests it cannot honour', async () => {
    await expect(issueServingCertificate(ca, {})).rejects.toThrow('at least one DNS name or IP address');
    await expect(issueServingCertificate(ca, { ipAddresses: ['300.1.1.1'] })).rejects.toThrow('"300.1.1.1" is not an IP address');
    await expect(issueServingCertificate(ca, { dnsNames: ['bad name'] })).rejects.toThrow('"bad name" is not a DNS name');
    await expect(issueServingCertificate(ca, { dnsNames: ['a.svc'], days: 0 })).rejects.toThrow('positive number of days');
  });
});

describe('ensureDevCertificates', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitsync-injector-certs-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('writes a CA and a localhost certificate on first use, keys readable by the owner only', async () => {
    const result = await ensureDevCertificates(join(dir, 'certs'));
    expect(result.generated).toBe(true);
    for (const file of [result.caCert, result.cert]) expect((await stat(file)).mode & 0o777).toBe(0o644);
    for (const file of [result.caKey, result.key]) expect((await stat(file)).mode & 0o777).toBe(0o600);

    const cert = new X509Certificate(await readFile(result.cert));
    const caCert = new X509Certificate(await readFile(result.caCert));
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkPrivateKey(createPrivateKey(await readFile(result.key)))).toBe(true);
  });

  test('keeps existing certificates, so a CA already trusted stays valid', async () => {
    const before = await readFile(join(dir, 'certs', 'tls.crt'), 'utf8');
    const result = await ensureDevCertificates(join(dir, 'certs'));
    expect(result.generated).toBe(false);
    expect(await readFile(result.cert, 'utf8')).toBe(before);
  });

  test('makes a new set when the key is missing, tightening a key file it overwrites', async () => {
    const certs = join(dir, 'partial');
    await ensureDevCertificates(certs);
    await rm(join(certs, 'tls.key'));
    await writeFile(join(certs, 'ca.key'), 'old', { mode: 0o644 });
    const result = await ensureDevCertificates(certs);
    expect(result.generated).toBe(true);
    expect((await stat(result.caKey)).mode & 0o777).toBe(0o600);
    expect(new X509Certificate(await readFile(result.cert)).checkPrivateKey(createPrivateKey(await readFile(result.key)))).toBe(true);
  });
});
