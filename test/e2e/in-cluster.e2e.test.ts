/**
 * End to end, in-cluster mode: gitsync-injector installed from manifests/ as
 * a platform team installs it (overlay self-signed, certificates from the
 * `certs` command, the image in GITSYNC_E2E_IMAGE), then the same checks as
 * the host mode (support/checks.ts) in a throwaway namespace, against the
 * installed webhook's /preview, turned on as docs/install.md says (its
 * preview listener, off as shipped, on the pod's loopback) and reached
 * through `kubectl port-forward`.
 *
 * It installs into the namespace gitsync-injector and registers the shipped
 * webhook configuration for the whole cluster, so it is meant for kind or
 * another disposable cluster, and refuses to run where gitsync-injector is
 * already installed. Everything it installed is removed afterwards, the
 * webhook configuration first.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { parseDocument } from 'yaml';
import { generateCertificates } from '../../src/cli/certs.ts';
import { defineClusterChecks, waitUntilCalled, type ClusterTarget } from './support/checks.ts';
import { Cleanup } from './support/cleanup.ts';
import { readConfig, type E2EConfig } from './support/config.ts';
import { Kubectl } from './support/kubectl.ts';
import { kustomizeImage } from './support/kustomize.ts';
import { previewClient } from './support/preview.ts';

const config = readConfig(process.env);
const enabled = !('kind' in config) && config.modes.includes('in-cluster');
const id = randomBytes(3).toString('hex');
const name = `gitsync-e2e-${id}`;

/** Fixed by the manifests: the namespace, Service, Deployment and webhook configuration are all called this. */
const INSTALL = 'gitsync-injector';
/** The webhook of the shipped configuration that handles namespaces without the gitsync.dev/injection label. */
const WEBHOOK = 'pods.gitsync.dev';
const MANIFESTS = join(import.meta.dirname, '..', '..', 'manifests');
/** Files the certs command writes into the self-signed overlay: never copied from a developer's working tree. */
const CERT_FILES = /overlays[/\\]self-signed[/\\](ca\.crt|ca\.key|tls\.crt|tls\.key|ca-bundle)$/;

/** The preview listener's port, turned on by the patch docs/install.md gives. */
const PREVIEW_PORT = 8444;

/** Starts `kubectl port-forward` to the webhook's preview port and resolves with the local port. */
function portForward(cfg: E2EConfig, cleanup: Cleanup): Promise<number> {
  const child = spawn('kubectl', ['port-forward', '-n', INSTALL, `deployment/${INSTALL}`, '--address', '127.0.0.1', `:${PREVIEW_PORT}`], {
    env: { ...process.env, KUBECONFIG: cfg.kubeconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanup.add('kubectl port-forward', async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`kubectl port-forward did not start within 30 s: ${output}`)), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const port = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output)?.[1];
      if (port) {
        clearTimeout(timer);
        resolve(Number(port));
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kubectl port-forward exited (${code}): ${output}`));
    });
  });
}

describe.skipIf(!enabled)(`in-cluster mode: gitsync-injector installed from manifests/ with image ${enabled ? (config as E2EConfig).image : ''} (namespace ${name})`, () => {
  const cfg = config as E2EConfig;
  const cleanup = new Cleanup();
  let target: ClusterTarget | undefined;

  beforeAll(async () => {
    const kubectl = new Kubectl(cfg.kubeconfig, cfg.timeoutMs);
    await kubectl.must(['version']);
    for (const kind of ['namespace', 'mutatingwebhookconfiguration']) {
      const existing = await kubectl.run(['get', kind, INSTALL]);
      if (existing.code === 0) {
        throw new Error(`${kind} ${INSTALL} already exists: the in-cluster mode installs gitsync-injector and removes it afterwards, so it only runs on a cluster without an install`);
      }
    }

    // The manifests as shipped, with certificates of its own and the image under test.
    const dir = mkdtempSync(join(tmpdir(), 'gitsync-injector-e2e-'));
    cleanup.add(`the temporary folder ${dir}`, async () => rmSync(dir, { recursive: true, force: true }));
    cpSync(MANIFESTS, join(dir, 'manifests'), { recursive: true, filter: (source) => !CERT_FILES.test(source) });
    const overlay = join(dir, 'manifests', 'overlays', 'self-signed');
    const certs = await generateCertificates({ service: INSTALL, namespace: INSTALL, out: overlay, clusterDomain: 'cluster.local', days: 1, renew: false, force: false });
    const kustomization = parseDocument(readFileSync(join(overlay, 'kustomization.yaml'), 'utf8'));
    kustomization.set('images', [kustomizeImage(INSTALL, cfg.image!)]);
    kustomization.set('patches', [
      {
        target: { kind: 'Deployment', name: INSTALL },
        patch: JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: INSTALL },
          spec: { template: { spec: { containers: [{ name: 'webhook', env: [{ name: 'GITSYNC_INJECTOR_PREVIEW_PORT', value: String(PREVIEW_PORT) }] }] } } },
        }),
      },
    ]);
    writeFileSync(join(overlay, 'kustomization.yaml'), kustomization.toString());

    cleanup.add('the installation', () => kubectl.must(['delete', '-k', overlay, '--ignore-not-found', `--timeout=${Math.round(cfg.timeoutMs / 1000)}s`]));
    cleanup.add(`mutatingwebhookconfiguration ${INSTALL}`, () => kubectl.must(['delete', 'mutatingwebhookconfiguration', INSTALL, '--ignore-not-found']), { first: true });
    await kubectl.must(['apply', '-k', overlay]);
    await kubectl.must(['rollout', 'status', '-n', INSTALL, `deployment/${INSTALL}`, `--timeout=${Math.round(cfg.timeoutMs / 1000)}s`]);

    const port = await portForward(cfg, cleanup);
    await kubectl.must(['create', 'namespace', name]);
    if (!cfg.keepNamespace) cleanup.add(`namespace ${name}`, () => kubectl.must(['delete', 'namespace', name, '--ignore-not-found', '--wait=false']));

    target = {
      kubectl,
      namespace: name,
      webhookName: WEBHOOK,
      preview: previewClient({ host: '127.0.0.1', port, ca: readFileSync(certs.files.caCert, 'utf8'), servername: `${INSTALL}.${INSTALL}.svc`, namespace: name }),
      statusAnnotation: 'gitsync.dev/status',
      timeoutMs: cfg.timeoutMs,
    };
    await waitUntilCalled(target, 'the API server calling the installed webhook');
  });

  afterAll(() => cleanup.run());

  defineClusterChecks(() => {
    if (!target) throw new Error('the in-cluster setup did not finish; see the beforeAll error');
    return target;
  });
});
