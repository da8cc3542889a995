/**
 * The serve configuration: every flag and environment variable of
 * `gitsync-injector serve`, read into one typed, validated ServeConfig
 * before anything starts. Flags, their usage lines and their validation are
 * kept together here, so adding an option is one edit in one file; the
 * command only prints the usage and hands the result to start.
 */
import { parseFlags, parsePort, setting, UsageError, type Env, type Sourced } from '../args.ts';
import { CLUSTER_MODES, type ClusterMode } from '../cluster/index.ts';
import { isDnsLabel, parseDuration, parseObjectName, parseSecretKey } from '../engine/index.ts';
import { isLogLevel, LOG_LEVELS, type LogLevel } from '../log.ts';
import { DEV_CERTS_DIR } from './dev.ts';

const DEFAULT_TLS_DIR = '/etc/gitsync-injector/tls';
export const DEFAULT_POLICY_CONFIGMAP = 'gitsync-injector-policy';
export const DEFAULT_POLICY_KEY = 'policy.yaml';

export interface PolicyConfigMapConfig {
  name: string;
  key: string;
  /** Given explicitly; otherwise the webhook's own namespace, found when connecting. */
  namespace?: string;
}

export interface SourcesConfig {
  /** A policy file: the policy source, re-read when it changes. Without it, in a cluster, the ConfigMap is. */
  policyFile?: string;
  cluster: ClusterMode;
  configMap: PolicyConfigMapConfig;
}

/**
 * The listener for /preview and /policy, which are for people and pipelines,
 * never for the API server: a port of its own, off unless asked for (on with
 * --dev), and on loopback unless told otherwise, so that by default only
 * `kubectl port-forward` (RBAC: pods/portforward in the webhook's namespace)
 * reaches it. /mutate's listener serves admission only.
 */
export interface PreviewListenerConfig {
  host: string;
  port: number;
}

export const DEV_PREVIEW_PORT = 8444;

export interface ServeConfig {
  host: string;
  port: number;
  healthPort: number;
  /** The /preview and /policy listener; undefined when off. */
  preview?: PreviewListenerConfig;
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

/** The options part of serve's usage: each flag, its environment variable and its default. */
export const SERVE_OPTIONS_USAGE = `  --host ADDR          address to bind              GITSYNC_INJECTOR_HOST         (default 0.0.0.0; 127.0.0.1 with --dev)
  --port N             webhook HTTPS port           GITSYNC_INJECTOR_PORT         (default 8443)
  --health-port N      health HTTP port             GITSYNC_INJECTOR_HEALTH_PORT  (default 8081)
  --preview-port N|off HTTPS port for /preview and /policy, apart from /mutate's
                                                    GITSYNC_INJECTOR_PREVIEW_PORT (default off; ${DEV_PREVIEW_PORT} with --dev)
  --preview-host ADDR  its address; keep loopback unless a NetworkPolicy limits who reaches it
                                                    GITSYNC_INJECTOR_PREVIEW_HOST (default 127.0.0.1)
  --tls-cert FILE      serving certificate (PEM)    GITSYNC_INJECTOR_TLS_CERT     (default ${DEFAULT_TLS_DIR}/tls.crt)
  --tls-key FILE       its private key (PEM)        GITSYNC_INJECTOR_TLS_KEY      (default ${DEFAULT_TLS_DIR}/tls.key)
  --policy FILE        policy YAML file, re-read when it changes
                                                    GITSYNC_INJECTOR_POLICY       (default: in a cluster the policy
                                                    ConfigMap, else the built-in policy)
  --cluster MODE       auto, on or off              GITSYNC_INJECTOR_CLUSTER      (default auto: in a pod, or
                       with KUBECONFIG set, watch the cluster; on: fail without one)
  --policy-configmap NAME
                       policy ConfigMap (in a cluster, without --policy)
                                                    GITSYNC_INJECTOR_POLICY_CONFIGMAP (default ${DEFAULT_POLICY_CONFIGMAP})
  --policy-configmap-namespace NS
                       its namespace                GITSYNC_INJECTOR_POLICY_CONFIGMAP_NAMESPACE
                                                    (default: POD_NAMESPACE, the webhook's own)
  --policy-configmap-key KEY
                       the key holding the policy   GITSYNC_INJECTOR_POLICY_CONFIGMAP_KEY (default ${DEFAULT_POLICY_KEY})
  --log-level LEVEL    ${LOG_LEVELS.join(', ')}
                                                    GITSYNC_INJECTOR_LOG_LEVEL    (default info)
  --shutdown-delay D   on SIGTERM, keep serving this long (unready, answering
                       with Connection: close) before closing the listener, so
                       endpoints stop routing here first
                                                    GITSYNC_INJECTOR_SHUTDOWN_DELAY    (default 0s)
  --shutdown-timeout D then wait at most this long for in-flight requests
                                                    GITSYNC_INJECTOR_SHUTDOWN_TIMEOUT  (default 20s)
  --dev                development: bind 127.0.0.1, use a certificate for
                       localhost from certs/, generated on first start, and
                       serve /preview and /policy on port ${DEV_PREVIEW_PORT}
`;

/** The flags that choose where the policy and the cluster facts come from (node:util parseArgs options). */
export const SOURCE_FLAGS = {
  cluster: { type: 'string' },
  'policy-configmap': { type: 'string' },
  'policy-configmap-namespace': { type: 'string' },
  'policy-configmap-key': { type: 'string' },
} as const;

type SourceFlags = { [K in keyof typeof SOURCE_FLAGS]?: string };

/** Reads the source flags and environment; throws UsageError naming the bad flag or variable. */
export function sourcesConfig(flags: SourceFlags, env: Env, policyFile: string | undefined): SourcesConfig {
  const cluster = setting('cluster', flags.cluster, 'GITSYNC_INJECTOR_CLUSTER', env, 'auto');
  if (!(CLUSTER_MODES as readonly string[]).includes(cluster.value)) {
    throw new UsageError(`${cluster.source}: ${JSON.stringify(cluster.value)} is not a cluster mode; use one of ${CLUSTER_MODES.join(', ')}`);
  }
  const name = setting('policy-configmap', flags['policy-configmap'], 'GITSYNC_INJECTOR_POLICY_CONFIGMAP', env, DEFAULT_POLICY_CONFIGMAP);
  const namespace = setting('policy-configmap-namespace', flags['policy-configmap-namespace'], 'GITSYNC_INJECTOR_POLICY_CONFIGMAP_NAMESPACE', env, '');
  const key = setting('policy-configmap-key', flags['policy-configmap-key'], 'GITSYNC_INJECTOR_POLICY_CONFIGMAP_KEY', env, DEFAULT_POLICY_KEY);
  if (!parseObjectName(name.value).ok) throw new UsageError(`${name.source}: ${JSON.stringify(name.value)} is not a ConfigMap name (lower-case letters, digits, '-' and '.')`);
  if (namespace.explicit && !isDnsLabel(namespace.value)) {
    throw new UsageError(`${namespace.source}: ${JSON.stringify(namespace.value)} is not a namespace name (lower-case letters, digits and '-', at most 63)`);
  }
  if (!parseSecretKey(key.value).ok) throw new UsageError(`${key.source}: ${JSON.stringify(key.value)} is not a ConfigMap key (letters, digits, '-', '_' and '.')`);
  const configMapGiven = [name, namespace, key].find((s) => s.explicit);
  if (configMapGiven && policyFile !== undefined) {
    throw new UsageError(`--policy and ${configMapGiven.source} both choose where the policy comes from; give one of them`);
  }
  if (configMapGiven && cluster.value === 'off') {
    throw new UsageError(`${configMapGiven.source} needs a cluster, but ${cluster.source} is off`);
  }
  const config: SourcesConfig = { cluster: cluster.value as ClusterMode, configMap: { name: name.value, key: key.value } };
  if (namespace.explicit) config.configMap.namespace = namespace.value;
  if (policyFile !== undefined) config.policyFile = policyFile;
  return config;
}

/** A duration setting: `0`, or a Go duration such as `5s` or `1m30s`. */
function parseDurationSetting(s: Sourced<string>): number {
  const text = s.value.trim();
  if (/^0+(\.0*)?(ns|us|µs|μs|ms|s|m|h)?$/.test(text)) return 0;
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new UsageError(`${s.source}: ${parsed.message}`);
  return parsed.value;
}

/** The preview listener's settings: `off` (the default outside --dev) or a port, and its address. */
function previewConfig(port: Sourced<string>, host: Sourced<string>, dev: boolean): PreviewListenerConfig | undefined {
  const text = port.value.trim().toLowerCase();
  if (text === 'off' || (text === '' && !dev)) {
    if (host.explicit) throw new UsageError(`${host.source} is set but the preview listener is off; set --preview-port (or GITSYNC_INJECTOR_PREVIEW_PORT) too`);
    return undefined;
  }
  if (host.value.trim() === '') throw new UsageError(`${host.source}: the address is empty`);
  return { host: host.value, port: text === '' ? DEV_PREVIEW_PORT : parsePort(port) };
}

/** Reads the flags and environment into a configuration; throws UsageError naming the bad flag or variable. */
export function serveConfig(args: string[], env: Env): ServeConfig {
  const flags = parseFlags(args, {
    host: { type: 'string' },
    port: { type: 'string' },
    'health-port': { type: 'string' },
    'preview-port': { type: 'string' },
    'preview-host': { type: 'string' },
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
  const preview = previewConfig(
    setting('preview-port', flags['preview-port'], 'GITSYNC_INJECTOR_PREVIEW_PORT', env, ''),
    setting('preview-host', flags['preview-host'], 'GITSYNC_INJECTOR_PREVIEW_HOST', env, '127.0.0.1'),
    dev,
  );
  if (preview) {
    const taken = [['--port', config.port], ['--health-port', config.healthPort]].find(([, port]) => port !== 0 && port === preview.port);
    if (taken) throw new UsageError(`--preview-port and ${taken[0]} are both ${preview.port}; they need different ports`);
    config.preview = preview;
  }
  return config;
}
