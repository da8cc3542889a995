/**
 * End to end, host mode: the webhook runs here, in the test process, with a
 * fresh CA; the cluster in KUBECONFIG calls it by URL
 * (https://GITSYNC_E2E_WEBHOOK_HOST:PORT/mutate) for pods in a throwaway
 * namespace, and the checks (support/checks.ts) compare what the API server
 * stores with what the webhook's /preview predicted. See support/config.ts
 * for the configuration.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe } from 'vitest';
import type { AdmissionDeps } from '../../src/admission/index.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { mustCompile } from '../../src/policy/compile.ts';
import { buildPreviewServer, buildServer, type WebhookServer } from '../../src/server/index.ts';
import { createCA, issueServingCertificate } from '../../src/tls/index.ts';
import { VERSION } from '../../src/version.ts';
import { captureLogger } from '../support/server.ts';
import { defineClusterChecks, waitUntilCalled, type ClusterTarget } from './support/checks.ts';
import { Cleanup } from './support/cleanup.ts';
import { readConfig, webhookUrl, type E2EConfig } from './support/config.ts';
import { Kubectl } from './support/kubectl.ts';
import { previewClient } from './support/preview.ts';
import { hostWebhookConfiguration, hostWebhookName } from './support/webhook-config.ts';

const config = readConfig(process.env);
const enabled = !('kind' in config) && config.modes.includes('host');
const id = randomBytes(3).toString('hex');
const name = `gitsync-e2e-${id}`;

/** The built-in policy with GitHub's host key, so that the SSH shapes inject rather than being denied for want of host keys. */
const POLICY = mustCompile({
  ...BUILTIN_POLICY,
  knownHosts: ['github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'],
}).engine;

describe.skipIf(!enabled)(`host mode: the webhook on this host, called by the cluster in KUBECONFIG (namespace ${name})`, () => {
  const cfg = config as E2EConfig;
  const cleanup = new Cleanup();
  let target: ClusterTarget | undefined;

  beforeAll(async () => {
    const kubectl = new Kubectl(cfg.kubeconfig, cfg.timeoutMs);
    await kubectl.must(['version']);

    // A fresh CA, made as the certs command makes its own (that command names Services; this webhook is
    // reached by address): valid for the address the cluster dials, and for localhost, which the test uses.
    const ca = await createCA(`gitsync-injector e2e CA ${id}`, { days: 1 });
    const dialled = isIP(cfg.webhookHost) ? { ipAddresses: [cfg.webhookHost] } : { dnsNames: [cfg.webhookHost] };
    const serving = await issueServingCertificate(ca, {
      dnsNames: [...new Set(['localhost', ...(dialled.dnsNames ?? [])])],
      ipAddresses: [...new Set(['127.0.0.1', ...(dialled.ipAddresses ?? [])])],
      days: 1,
    });

    const { logger, lines } = captureLogger();
    const deps: AdmissionDeps = { ctx: { policy: POLICY, cluster: {}, version: VERSION }, namespaceAnnotations: () => undefined };
    const server: WebhookServer = buildServer({ tls: serving, deps, logger });
    await server.listen({ host: cfg.listenHost, port: cfg.webhookPort });
    cleanup.add('the webhook server', () => server.close());
    const { port } = server.server.address() as AddressInfo;
    // /preview has a listener of its own, on loopback: only this process reads it.
    const preview = buildPreviewServer({ tls: serving, deps, logger });
    await preview.listen({ host: '127.0.0.1', port: 0 });
    cleanup.add('the preview server', () => preview.close());
    const previewPort = (preview.server.address() as AddressInfo).port;

    await kubectl.must(['create', 'namespace', name]);
    if (!cfg.keepNamespace) cleanup.add(`namespace ${name}`, () => kubectl.must(['delete', 'namespace', name, '--ignore-not-found', '--wait=false']));
    cleanup.add(`mutatingwebhookconfiguration ${name}`, () => kubectl.must(['delete', 'mutatingwebhookconfiguration', name, '--ignore-not-found']), { first: true });
    const url = webhookUrl(cfg.webhookHost, port);
    await kubectl.must(['create', '-f', '-'], { input: JSON.stringify(hostWebhookConfiguration({ name, namespace: name, url, caCert: ca.cert })) });

    // The cluster reaches the webhook at `url`; the test process reads the preview on loopback.
    target = {
      kubectl,
      namespace: name,
      webhookName: hostWebhookName(name),
      preview: previewClient({ host: '127.0.0.1', port: previewPort, ca: ca.cert, servername: 'localhost', namespace: name }),
      statusAnnotation: `${POLICY.prefix}status`,
      admissionLines: () => lines,
      timeoutMs: cfg.timeoutMs,
    };
    await waitUntilCalled(target, `the API server calling ${url}`);
  });

  afterAll(() => cleanup.run());

  defineClusterChecks(() => {
    if (!target) throw new Error('the host-mode setup did not finish; see the beforeAll error');
    return target;
  });
});
