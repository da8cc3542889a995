/**
 * Certificates on disk: the development set that `serve --dev` creates on
 * first start, in the layout cert-manager and Kubernetes TLS Secrets use
 * (tls.crt, tls.key, ca.crt).
 */
import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCA, issueServingCertificate, type KeyPair } from './certificates.ts';

export interface CertificatePaths {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

export const certificatePaths = (dir: string): CertificatePaths => ({
  caCert: join(dir, 'ca.crt'),
  caKey: join(dir, 'ca.key'),
  cert: join(dir, 'tls.crt'),
  key: join(dir, 'tls.key'),
});

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** Writes a CA and a serving certificate; keys are readable by their owner only. */
export async function writeCertificates(paths: CertificatePaths, ca: KeyPair, serving: KeyPair): Promise<void> {
  await writeKey(paths.caKey, ca.key);
  await writeKey(paths.key, serving.key);
  await writeFile(paths.caCert, ca.cert, { mode: 0o644 });
  await writeFile(paths.cert, serving.cert, { mode: 0o644 });
}

async function writeKey(path: string, pem: string): Promise<void> {
  // The mode option only applies to new files; an existing file keeps its own, so tighten it first.
  if (await exists(path)) await chmod(path, 0o600);
  await writeFile(path, pem, { mode: 0o600 });
}

/**
 * Makes sure `dir` holds a serving certificate for localhost and 127.0.0.1.
 * Existing files are kept as they are, so a CA a developer already trusts
 * stays valid across restarts.
 */
export async function ensureDevCertificates(dir: string): Promise<CertificatePaths & { generated: boolean }> {
  const paths = certificatePaths(dir);
  if ((await exists(paths.cert)) && (await exists(paths.key))) return { ...paths, generated: false };
  await mkdir(dir, { recursive: true });
  const ca = await createCA('gitsync-injector development CA');
  const serving = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] });
  await writeCertificates(paths, ca, serving);
  return { ...paths, generated: true };
}
