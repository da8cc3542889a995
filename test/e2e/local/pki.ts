/**
 * Certificates for the local control plane, made with the project's own
 * certificate code (src/tls: ECDSA P-256, PEM) rather than openssl: a CA, the
 * API server's serving certificate, and an admin client certificate.
 * src/tls makes serving certificates only; the client certificate is made
 * here with the same library, because only tests need one.
 */
import { webcrypto } from 'node:crypto';
import { createCA, issueServingCertificate, type KeyPair } from '../../../src/tls/index.ts';
// src/tls/index.ts (imported above) loads reflect-metadata, which @peculiar/x509 needs first, and sets its crypto provider.
import * as x509 from '@peculiar/x509';

export interface LocalCertificates {
  ca: KeyPair;
  /** The API server's: 127.0.0.1, localhost, and the names pods use for it. */
  serving: KeyPair;
}

/** A day is plenty: the control plane lives for one run. */
const DAYS = 1;

export async function issueLocalCertificates(): Promise<LocalCertificates> {
  const ca = await createCA('gitsync-injector local control plane CA', { days: DAYS });
  const serving = await issueServingCertificate(ca, {
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    // 10.96.0.1: the `kubernetes` Service's address in --service-cluster-ip-range 10.96.0.0/16.
    ipAddresses: ['127.0.0.1', '10.96.0.1'],
    days: DAYS,
  });
  return { ca, serving };
}

const escape = (value: string): string => value.replace(/[\\,+"<>;=#]/g, (c) => `\\${c}`);

/**
 * A client certificate signed by `ca` (whose key is ECDSA P-256, as createCA makes it). The API
 * server reads the user from CN and the groups from O: O=system:masters is cluster-admin.
 */
export async function issueClientCertificate(ca: KeyPair, options: { commonName: string; organizations: string[] }): Promise<KeyPair> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' } as const;
  const caCert = new x509.X509Certificate(ca.cert);
  const signingKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.key), algorithm, false, ['sign']);
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    subject: [`CN=${escape(options.commonName)}`, ...options.organizations.map((o) => `O=${escape(o)}`)].join(', '),
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    notBefore: new Date(now - 60 * 60 * 1000),
    notAfter: new Date(now + DAYS * 24 * 60 * 60 * 1000),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  const key = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  return { cert: cert.toString('pem'), key };
}
