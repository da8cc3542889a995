/**
 * `gitsync-injector serve`: the webhook's HTTPS server and the probes'
 * HTTP server, configured by flags or the environment, with a graceful
 * shutdown the Deployment's rolling updates can rely on.
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { SOURCE_FLAGS, SOURCE_USAGE, sourcesConfig, type SourcesConfig } from '../cluster/config.ts';
import { startSources, type Sources } from '../cluster/start.ts';
import { parseDuration } from '../engine/values/duration.ts';
import { createLogger, isLogLevel, LOG_LEVELS, type Logger, type LogLevel } from '../log.ts';
import { createMetrics } from '../metrics/index.ts';
import { buildHealthServer, buildServer, webhookReadiness, type HealthServer, type WebhookServer } from '../server/index.ts';
import { secureContextOptions } from '../server/webhook.ts';
import { ensureDevCertificates } from '../tls/index.ts';
import { checkCertificatePair, watchCertificate, type CertificateWatcher, type CheckedCertificate } from '../tls/reload.ts';
import { VERSION } from '../version.ts';
import { parseFlags, parsePort, setting, UsageError, type Env, type Sourced } from '../args.ts';
import type { Command } from './commands.ts';

/** The repository's certs/ folder: two levels up from both src/cli and dist/cli. */
const DEV_CERTS_DIR = fileURLToPath(new URL('../../certs/', import.meta.url));
const DEFAULT_TLS_DIR = '/etc/gitsync-injector/tls';

const USAGE = `Usage: gitsync-injector serve [options]

Runs the admission webhook (HTTPS, POST /mutate) and the health server
(HTTP, GET /healthz, /readyz and /metrics). Every option can also be set with
the environment variable shown; a flag wins over the environment. The TLS
files are reloaded when they change.

Options:
  --host ADDR          address to bind              GITSYNC_INJECTOR_HOST         (default 0.0.0.0; 127.0.0.1 with --dev)
  --port N             webhook HTTPS port           GITSYNC_INJECTOR_PORT         (default 8443)
  --health-port N      health HTTP port             GITSYNC_INJECTOR_HEALTH_PORT  (default 8081)
  --tls-cert FILE      serving certificate (PEM)    GITSYNC_INJECTOR_TLS_CERT     (default ${DEFAULT_TLS_DIR}/tls.crt)
  --tls-key FILE       its private key (PEM)        GITSYNC_INJECTOR_TLS_KEY      (default ${DEFAULT_TLS_DIR}/tls.key)
  --policy FILE        policy YAML file, re-read when it changes
                                                    GITSYNC_INJECTOR_POLICY       (default: in a cluster the policy
                                                    ConfigMap, else the built-in policy)
${SOURCE_USAGE}  --log-level LEVEL    ${LOG_LEVELS.join(', ')}
                                                    GITSYNC_INJECTOR_LOG_LEVEL    (default info)
  --shutdown-delay D   on SIGTERM, keep serving this long (unready, answering
                       with Connection: close) before closing the listener, so
                       endpoints stop routing here first
                                                    GITSYNC_INJECTOR_SHUTDOWN_DELAY    (default 0s)
  --shutdown-timeout D then wait at most this long for in-flight requests
                                                    GITSYNC_INJECTOR_SHUTDOWN_TIMEOUT  (default 20s)
  --dev                development: bind 127.0.0.1 and use a certificate for
                       localhost from certs/, generated on first start
  -h, --help           show this help
`;

export interface ServeConfig {
  host: string;
  port: number;
  healthPort: number;
  tlsCert: string;
  tlsKey: string;
  /** Whether the TLS files come from certs/ and are generated when missing. */
  devCertificates: boolean;
  policy?: string;
  /** Where the policy, namespace defaults and cluster facts come from. */
  sources: SourcesConfig;
  logLevel: LogLevel;
  dev: boolean;
  /** How long SIGTERM keeps the listener open, unready, before draining. */
  shutdownDelayMs: number;
  /** The bound on draining in-flight requests; connections still busy after it are closed. */
  shutdownTimeoutMs: number;
}

/** A duration setting: `0`, or a Go duration such as `5s` or `1m30s`. */
function parseDurationSetting(s: Sourced<string>): number {
  const text = s.value.trim();
  if (/^0+(\.0*)?(ns|us|µs|μs|ms|s|m|h)?$/.test(text)) return 0;
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new UsageError(`${s.source}: ${parsed.message}`);
  return parsed.value;
}

/** Reads the flags and environment into a configuration; throws UsageError naming the bad flag or variable. */
export function serveConfig(args: string[], env: Env): ServeConfig {
  const flags = parseFlags(args, {
    host: { type: 'string' },
    port: { type: 'string' },
    'health-port': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    policy: { type: 'string' },
    'log-level': { type: 'string' },
    'shutdown-delay': { type: 'string' },
    'shutdown-timeout': { type: 'string' },
    dev: { type: 'boolean', default: false },
    ...SOURCE_FLAGS,
  });
  const dev = flags.dev;
  const cert = setting('tls-cert', flags['tls-cert'], 'GITSYNC_INJECTOR_TLS_CERT', env, `${DEFAULT_TLS_DIR}/tls.crt`);
  const key = setting('tls-key', flags['tls-key'], 'GITSYNC_INJECTOR_TLS_KEY', env, `${DEFAULT_TLS_DIR}/tls.key`);
  if (cert.explicit !== key.explicit) {
    const [given, missing] = cert.explicit ? [cert.source, '--tls-key (or GITSYNC_INJECTOR_TLS_KEY)'] : [key.source, '--tls-cert (or GITSYNC_INJECTOR_TLS_CERT)'];
    throw new UsageError(`${given} is set but ${missing} is not; give the certificate and its key together`);
  }
  const devCertificates = dev && !cert.explicit;
  const logLevel = setting('log-level', flags['log-level'], 'GITSYNC_INJECTOR_LOG_LEVEL', env, 'info');
  if (!isLogLevel(logLevel.value)) {
    throw new UsageError(`${logLevel.source}: ${JSON.stringify(logLevel.value)} is not a log level; use one of ${LOG_LEVELS.join(', ')}`);
  }
  const policy = setting('policy', flags.policy, 'GITSYNC_INJECTOR_POLICY', env, '');
  const host = setting('host', flags.host, 'GITSYNC_INJECTOR_HOST', env, dev ? '127.0.0.1' : '0.0.0.0');
  if (host.value.trim() === '') throw new UsageError(`${host.source}: the address is empty`);
  const config: ServeConfig = {
    host: host.value,
    port: parsePort(setting('port', flags.port, 'GITSYNC_INJECTOR_PORT', env, '8443')),
    healthPort: parsePort(setting('health-port', flags['health-port'], 'GITSYNC_INJECTOR_HEALTH_PORT', env, '8081')),
    tlsCert: devCertificates ? `${DEV_CERTS_DIR}tls.crt` : cert.value,
    tlsKey: devCertificates ? `${DEV_CERTS_DIR}tls.key` : key.value,
    devCertificates,
    sources: sourcesConfig(flags, env, policy.value === '' ? undefined : policy.value),
    logLevel: logLevel.value,
    dev,
    shutdownDelayMs: parseDurationSetting(setting('shutdown-delay', flags['shutdown-delay'], 'GITSYNC_INJECTOR_SHUTDOWN_DELAY', env, '0s')),
    shutdownTimeoutMs: parseDurationSetting(setting('shutdown-timeout', flags['shutdown-timeout'], 'GITSYNC_INJECTOR_SHUTDOWN_TIMEOUT', env, '20s')),
  };
  if (policy.value !== '') config.policy = policy.value;
  if (config.port !== 0 && config.port === config.healthPort) throw new UsageError(`--port and --health-port are both ${config.port}; they need different ports`);
  return config;
}

/** Fails startup with one clear log line; the caller exits 1. */
class StartupError extends Error {}

async function readTls(config: ServeConfig): Promise<{ cert: Buffer; key: Buffer }> {
  const read = async (path: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (error) {
      const hint = config.dev ? '' : '; mount the serving certificate there, point --tls-cert and --tls-key at it, or run with --dev';
      throw new StartupError(`cannot read the TLS ${what} ${path}: ${(error as Error).message}${hint}`);
    }
  };
  return { cert: await read(config.tlsCert, 'certificate'), key: await read(config.tlsKey, 'key') };
}

/** The policy and, in a cluster, the watchers; what stops serve from starting becomes one log line. */
async function startWatching(config: ServeConfig, env: Env, logger: Logger): Promise<Sources> {
  try {
    // POD_NAMESPACE (the downward API) names the webhook's own namespace, which is never injected.
    return await startSources(config.sources, { env, logger, context: { cluster: {}, version: VERSION, webhookNamespace: env.POD_NAMESPACE } });
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
}

function url(scheme: string, server: WebhookServer | HealthServer): string {
  const address = server.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

/** A ready-to-paste request for --dev: the sample pod from the README, sent as an AdmissionReview. */
function devCurl(caCert: string, port: number): string {
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

/**
 * Closes the webhook: stops listening, lets requests in flight finish and
 * closes idle connections. Connections still busy after `timeoutMs` (a client
 * trickling a body) are cut, so shutdown always ends within the bound.
 */
async function closeWithin(webhook: WebhookServer, timeoutMs: number, logger: Logger): Promise<void> {
  const timer = setTimeout(() => {
    logger.warn({ timeoutMs }, 'requests still in flight at the shutdown timeout; closing their connections');
    webhook.server.closeAllConnections();
  }, timeoutMs);
  try {
    await webhook.close();
  } finally {
    clearTimeout(timer);
  }
}

interface Running {
  webhook: WebhookServer;
  health: HealthServer;
  readiness: { shutDown(): void };
  certificates: CertificateWatcher;
}

/**
 * Resolves with the exit code once a signal has drained and closed both
 * servers. SIGTERM (the kubelet) first keeps serving for the shutdown delay,
 * unready and answering with Connection: close, while the endpoints stop
 * routing here; SIGINT (a person at a terminal) drains at once.
 */
function stopOnSignal(logger: Logger, config: ServeConfig, running: Running): Promise<number> {
  const { webhook, health, readiness, certificates } = running;
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // The operator asked twice: they want out now, drained or not.
        logger.warn({ signal }, 'second signal: exiting without waiting for in-flight requests');
        process.exit(128 + constants.signals[signal]);
      }
      stopping = true;
      readiness.shutDown();
      webhook.startDraining();
      const delayMs = signal === 'SIGTERM' ? config.shutdownDelayMs : 0;
      void (async (): Promise<number> => {
        try {
          if (delayMs > 0) {
            logger.info({ signal, delayMs }, 'shutting down: unready, still serving while endpoints update');
            await sleep(delayMs);
          }
          logger.info({ signal }, 'shutting down: draining in-flight admissions');
          certificates.close();
          await closeWithin(webhook, config.shutdownTimeoutMs, logger);
          await health.close();
          logger.info('stopped');
          return 0;
        } catch (error) {
          logger.error({ err: error }, 'shutdown failed');
          return 1;
        }
      })().then((code) => {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        resolve(code);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

async function run(args: string[], env: Env): Promise<number> {
  const config = serveConfig(args, env);
  const logger = createLogger(config.logLevel);
  let webhook: WebhookServer | undefined;
  let health: HealthServer | undefined;
  let sources: Sources | undefined;
  try {
    if (config.devCertificates) {
      const certs = await ensureDevCertificates(DEV_CERTS_DIR);
      if (certs.generated) logger.info({ dir: DEV_CERTS_DIR, caCert: certs.caCert }, 'development certificates generated for localhost and 127.0.0.1');
    }
    const tls = await readTls(config);
    sources = await startWatching(config, env, logger);
    const { deps, store } = sources;
    const { source, hash } = store.current;
    const metrics = createMetrics({ version: VERSION });
    metrics.observePolicy({ type: 'loaded', source, hash });
    store.onChange(metrics.observePolicy);
    const tlsFiles = { cert: config.tlsCert, key: config.tlsKey };
    let certificate: CheckedCertificate;
    try {
      certificate = checkCertificatePair(tls, tlsFiles);
      webhook = buildServer({ tls, deps, logger, onAdmission: metrics.observeAdmission, policy: store });
    } catch (error) {
      throw new StartupError(`the TLS certificate or key cannot be used (${config.tlsCert}, ${config.tlsKey}): ${(error as Error).message}`);
    }
    const readiness = webhookReadiness(webhook, deps, source);
    sources.attach(readiness);
    health = buildHealthServer({ readiness, logger, metrics });
    metrics.certificateInUse(certificate.notAfter);
    await webhook.listen({ host: config.host, port: config.port, listenTextResolver: (address) => `webhook listening at ${address}` });
    await health.listen({ host: config.host, port: config.healthPort, listenTextResolver: (address) => `health server listening at ${address}` });
    logger.info(
      {
        version: VERSION,
        webhook: `${url('https', webhook)}/mutate`,
        health: url('http', health),
        policy: { source, hash },
        certificate: { file: config.tlsCert, notAfter: certificate.notAfter, subjectAltName: certificate.subjectAltName },
      },
      'gitsync-injector started',
    );
    if (config.devCertificates) {
      const port = (webhook.server.address() as AddressInfo).port;
      process.stderr.write(`\nTry it:\n\n${devCurl(`${DEV_CERTS_DIR}ca.crt`, port)}\n\n`);
    }
    // cert-manager and the kubelet replace the files in place; new handshakes get the new pair.
    const server = webhook.server;
    const certificates = watchCertificate({
      files: tlsFiles,
      current: certificate,
      logger,
      apply: (pair) => server.setSecureContext(secureContextOptions(pair)),
      onReload: metrics.observeCertificate,
    });
    const code = await stopOnSignal(logger, config, { webhook, health, readiness, certificates });
    await sources.stop();
    return code;
  } catch (error) {
    if (error instanceof StartupError) logger.fatal(error.message);
    else logger.fatal({ err: error }, `startup failed: ${(error as Error).message}`);
    await Promise.allSettled([webhook?.close(), health?.close(), sources?.stop()]);
    return 1;
  }
}

export const serve: Command = {
  summary: 'run the admission webhook and its health server',
  usage: USAGE,
  run,
};
