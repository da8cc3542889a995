/**
 * The one place that builds the running application from a ServeConfig:
 * the policy store and its sources, the cluster caches, the serving
 * certificate and its reload, the webhook's HTTPS server, the health
 * server, the metrics joining them. Everything else only builds one part;
 * the command only parses flags and waits for a signal.
 */
import type { AddressInfo } from 'node:net';
import type { Env } from '../args.ts';
import { droppedLogLines, type Logger } from '../log.ts';
import { createMetrics } from '../metrics/index.ts';
import {
  buildHealthServer,
  buildPreviewServer,
  buildServer,
  secureContextOptions,
  webhookReadiness,
  type HealthServer,
  type PreviewServer,
  type Readiness,
  type WebhookServer,
} from '../server/index.ts';
import { CertificateError, CertificateReadError, readCertificatePair, watchCertificate, type CertificateWatcher, type CheckedCertificate } from '../tls/index.ts';
import { VERSION } from '../version.ts';
import type { ServeConfig } from './config.ts';
import { devCurl, devPreviewCurl, prepareDevCertificates } from './dev.ts';
import { startSources, type Sources } from './sources.ts';

/** The running application: what lifecycle drains and closes, in order, on a signal. */
export interface App {
  config: ServeConfig;
  logger: Logger;
  webhook: WebhookServer;
  /** The /preview and /policy listener, when it is on. */
  preview?: PreviewServer;
  health: HealthServer;
  readiness: Readiness;
  certificates: CertificateWatcher;
  sources: Sources;
}

export interface StartOptions {
  /** The environment: POD_NAMESPACE and how to reach the cluster. */
  env: Env;
  logger: Logger;
}

/** Fails startup with one clear log line; the caller exits 1. */
class StartupError extends Error {}

/** The serving certificate, read and checked through the TLS module; what is wrong becomes one log line. */
async function readServingCertificate(config: ServeConfig): Promise<CheckedCertificate> {
  try {
    return await readCertificatePair({ cert: config.tlsCert, key: config.tlsKey });
  } catch (error) {
    if (error instanceof CertificateReadError) {
      const hint = config.dev ? '' : '; mount the serving certificate there, point --tls-cert and --tls-key at it, or run with --dev';
      throw new StartupError(`cannot read the TLS ${error.what} ${error.file}: ${error.reason}${hint}`);
    }
    if (error instanceof CertificateError) throw unusableCertificate(config, error);
    throw error;
  }
}

const unusableCertificate = (config: ServeConfig, error: unknown): StartupError =>
  new StartupError(`the TLS certificate or key cannot be used (${config.tlsCert}, ${config.tlsKey}): ${(error as Error).message}`);

/** The policy and, in a cluster, the watchers; what stops serve from starting becomes one log line. */
async function startWatching(config: ServeConfig, env: Env, logger: Logger): Promise<Sources> {
  try {
    // POD_NAMESPACE (the downward API) names the webhook's own namespace, which is never injected.
    return await startSources(config.sources, { env, logger, context: { cluster: {}, version: VERSION, webhookNamespace: env.POD_NAMESPACE } });
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
}

function url(scheme: string, server: WebhookServer | PreviewServer | HealthServer): string {
  const address = server.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

/**
 * Starts everything and resolves with the running application once both
 * servers listen. When something cannot start, it logs why (fatal), closes
 * what had started and resolves with undefined: the command exits 1.
 */
export async function startApp(config: ServeConfig, options: StartOptions): Promise<App | undefined> {
  const { env, logger } = options;
  let webhook: WebhookServer | undefined;
  let health: HealthServer | undefined;
  let preview: PreviewServer | undefined;
  let sources: Sources | undefined;
  try {
    if (config.devCertificates) await prepareDevCertificates(logger);
    // Checked before anything starts: a pair the server cannot use fails at once, not after the watchers are up.
    const certificate = await readServingCertificate(config);
    sources = await startWatching(config, env, logger);
    // policyPending reads only the sources' own state, never `this`: it can be handed on alone.
    const { deps, store, policyPending } = sources;
    const { source, hash } = store.current;
    const metrics = createMetrics({ version: VERSION, droppedLogLines: () => droppedLogLines(logger) });
    metrics.observePolicy({ type: 'loaded', source, hash });
    store.onChange(metrics.observePolicy);
    try {
      webhook = buildServer({ tls: certificate, deps, logger, onAdmission: metrics.observeAdmission, policyPending });
      if (config.preview) preview = buildPreviewServer({ tls: certificate, deps, logger, policy: store, policyPending });
    } catch (error) {
      throw unusableCertificate(config, error);
    }
    const readiness = webhookReadiness(webhook, deps, source);
    sources.attach(readiness);
    health = buildHealthServer({ readiness, logger, metrics });
    metrics.certificateInUse(certificate.notAfter);
    await webhook.listen({ host: config.host, port: config.port, listenTextResolver: (address) => `webhook listening at ${address}` });
    await health.listen({ host: config.host, port: config.healthPort, listenTextResolver: (address) => `health server listening at ${address}` });
    if (preview && config.preview) {
      await preview.listen({ ...config.preview, listenTextResolver: (address) => `preview listening at ${address} (/preview, /policy)` });
    }
    logger.info(
      {
        version: VERSION,
        webhook: `${url('https', webhook)}/mutate`,
        health: url('http', health),
        preview: preview ? url('https', preview) : 'off',
        policy: { source, hash },
        certificate: { file: config.tlsCert, notAfter: certificate.notAfter, subjectAltName: certificate.subjectAltName },
      },
      'gitsync-injector started',
    );
    if (config.devCertificates) {
      const port = (webhook.server.address() as AddressInfo).port;
      const previewPort = preview ? (preview.server.address() as AddressInfo).port : undefined;
      process.stderr.write(`\nTry it:\n\n${devCurl(port)}\n\n${previewPort === undefined ? '' : `Preview a manifest:\n\n${devPreviewCurl(previewPort)}\n\n`}`);
    }
    // cert-manager and the kubelet replace the files in place; new handshakes get the new pair.
    const servers = [webhook.server, ...(preview ? [preview.server] : [])];
    const certificates = watchCertificate({
      files: { cert: config.tlsCert, key: config.tlsKey },
      current: certificate,
      logger,
      apply: (pair) => {
        for (const server of servers) server.setSecureContext(secureContextOptions(pair));
      },
      onReload: metrics.observeCertificate,
    });
    const app: App = { config, logger, webhook, health, readiness, certificates, sources };
    if (preview) app.preview = preview;
    return app;
  } catch (error) {
    if (error instanceof StartupError) logger.fatal(error.message);
    else logger.fatal({ err: error }, `startup failed: ${(error as Error).message}`);
    await Promise.allSettled([webhook?.close(), preview?.close(), health?.close(), sources?.stop()]);
    return undefined;
  }
}
