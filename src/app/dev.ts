/**
 * What `serve --dev` adds for a developer's laptop: a serving certificate
 * for localhost kept in the repository's certs/ folder (generated on first
 * start, then reused so a CA the developer trusts stays valid), and
 * ready-to-paste requests to try the webhook and the preview with.
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.ts';
import { ensureDevCertificates } from '../tls/index.ts';

/** The repository's certs/ folder: two levels up from both src/app and dist/app. */
export const DEV_CERTS_DIR = fileURLToPath(new URL('../../certs/', import.meta.url));

/** Makes sure certs/ holds the development certificate, saying so when it had to be generated. */
export async function prepareDevCertificates(logger: Logger): Promise<void> {
  const certs = await ensureDevCertificates(DEV_CERTS_DIR);
  if (certs.generated) logger.info({ dir: DEV_CERTS_DIR, caCert: certs.caCert }, 'development certificates generated for localhost and 127.0.0.1');
}

/** A ready-to-paste request for --dev: the sample pod from the README, sent as an AdmissionReview. */
export function devCurl(port: number): string {
  const caCert = `${DEV_CERTS_DIR}ca.crt`;
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'dev-1',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'default',
      operation: 'CREATE',
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { generateName: 'web-', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/site.git' } },
        spec: { containers: [{ name: 'web', image: 'nginx' }] },
      },
    },
  };
  return `curl --cacert ${caCert} -H 'Content-Type: application/json' https://localhost:${port}/mutate -d '${JSON.stringify(review)}'`;
}

/** For --dev: the sample manifests in test/fixtures through /preview, on the preview listener. */
export function devPreviewCurl(port: number): string {
  return `curl --cacert ${DEV_CERTS_DIR}ca.crt --data-binary @test/fixtures/manifests/mixed.yaml https://localhost:${port}/preview`;
}
