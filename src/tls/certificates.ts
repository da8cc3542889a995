/**
 * A small certificate authority for the webhook: a CA, and serving
 * certificates it signs for the names the API server dials
 * (`<service>.<namespace>.svc`, or localhost for development). ECDSA P-256
 * with SHA-256, which Node's TLS, Go's crypto/x509 (the API server, kubectl)
 * and curl all accept. Everything is PEM text: certificates as X.509, keys
 * as unencrypted PKCS#8.
 */
import { createPrivateKey, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509 registers its algorithms with tsyringe, which needs the Reflect
// metadata API; its README asks for this polyfill, loaded before the library.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type SigningAlgorithm = webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams | webcrypto.RsaHashedImportParams;

x509.cryptoProvider.set(webcrypto);

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates are valid from a little in the past, so a node whose clock runs behind still accepts them. */
const BACKDATE_MS = 60 * 60 * 1000;

/** A certificate and its private key, both PEM. */
export interface KeyPair {
  cert: string;
  key: string;
}

export interface CAOptions {
  /** How long the CA is valid; default 10 years. */
  days?: number;
}

export interface ServingOptions {
  /** DNS names, e.g. `gitsync-injector.gitsync-injector.svc`; the first is also the subject CN. */
  dnsNames?: string[];
  /** IPv4 or IPv6 addresses. */
  ipAddresses?: string[];
  /** How long the certificate is valid; default 1 year. */
  days?: number;
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function keyToPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** Imports a PEM private key for signing, whatever its type: the CA may come from elsewhere than createCA. */
async function importSigningKey(pem: string): Promise<{ key: CryptoKey; algorithm: SigningAlgorithm }> {
  const keyObject = createPrivateKey(pem);
  if (keyObject.asymmetricKeyType === 'ec') {
    const curves: Record<string, { namedCurve: string; hash: string }> = {
      prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
      secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
      secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
    };
    const curve = curves[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) throw new Error(`the CA key uses curve ${keyObject.asymmetricKeyDetails?.namedCurve}; supported are P-256, P-384 and P-521`);
    const key = keyObject.toCryptoKey({ name: 'ECDSA', namedCurve: curve.namedCurve }, false, ['sign']);
    return { key, algorithm: { name: 'ECDSA', hash: curve.hash } };
  }
  if (keyObject.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { key: keyObject.toCryptoKey(algorithm, false, ['sign']), algorithm };
  }
  throw new Error(`the CA key is of type ${keyObject.asymmetricKeyType}; supported are EC and RSA keys`);
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(days) || days <= 0) throw new Error(`certificate validity must be a positive number of days, not ${days}`);
  const now = Date.now();
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + days * DAY_MS) };
}

/** DN strings are comma-separated; escape the characters that would change their meaning. */
const cn = (name: string): string => `CN=${name.replace(/[\\,+"<>;=#]/g, (c) => `\\${c}`)}`;

export async function createCA(commonName: string, options: CAOptions = {}): Promise<KeyPair> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: cn(commonName),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    ...validity(options.days ?? 3650),
    extensions: [
      // pathLength 0: this CA signs serving certificates only, never other CAs.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyToPem(keys.privateKey) };
}

export async function issueServingCertificate(ca: KeyPair, options: ServingOptions): Promise<KeyPair> {
  const dnsNames = options.dnsNames ?? [];
  const ipAddresses = options.ipAddresses ?? [];
  const subject = dnsNames[0] ?? ipAddresses[0];
  if (subject === undefined) throw new Error('a serving certificate needs at least one DNS name or IP address');
  const badIp = ipAddresses.find((ip) => isIP(ip) === 0);
  if (badIp !== undefined) throw new Error(`${JSON.stringify(badIp)} is not an IP address`);
  const badName = dnsNames.find((n) => !/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(n));
  if (badName !== undefined) throw new Error(`${JSON.stringify(badName)} is not a DNS name`);

  const caCert = new x509.X509Certificate(ca.cert);
  const signer = await importSigningKey(ca.key);
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    subject: cn(subject),
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    ...validity(options.days ?? 365),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      // ECDHE key exchange: the key only signs the handshake.
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyToPem(keys.privateKey) };
}
