/**
 * Certificates on disk: the development set that `serve --dev` creates on
 * first start, in the layout cert-manager and Kubernetes TLS Secrets use
 * (tls.crt, tls.key, ca.crt).
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
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

/**
 * Writes a CA and a serving certificate; keys are readable by their owner
 * only. Without `ca` the CA's files are left as they are (a renewal: the CA
 * key is never rewritten, so no interrupted run can lose it).
 */
export async function writeCertificates(paths: CertificatePaths, ca: KeyPair | undefined, serving: KeyPair): Promise<void> {
  if (ca) {
    await replaceFile(paths.caKey, ca.key, 0o600);
    await replaceFile(paths.caCert, ca.cert, 0o644);
  }
  await replaceFile(paths.key, serving.key, 0o600);
  await replaceFile(paths.cert, serving.cert, 0o644);
}

/**
 * Puts `data` at `path` with `mode`, whole or not at all: written to a new
 * file beside it first (created exclusively, so never through a link planted
 * under that name), then renamed over it. A symbolic link at `path` is
 * replaced, never followed, so a key never lands in a file someone pointed
 * it at; and the old file stays until the new one is complete.
 */
export async function replaceFile(path: string, data: string, mode: number): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temporary, 'wx', mode);
  try {
    await file.writeFile(data);
    // The mode given to open is masked by the umask; the one asked for is meant.
    await file.chmod(mode);
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await file.close();
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
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
