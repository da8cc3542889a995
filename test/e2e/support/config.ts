/**
 * The end-to-end suite's configuration, all from the environment, so that
 * `npm run test:e2e` is the same command on every machine:
 *
 *   KUBECONFIG                   the cluster (required; the suite never falls back to ~/.kube/config,
 *                                so it cannot run against a cluster by accident)
 *   GITSYNC_E2E_MODES            which modes to run: host, in-cluster, or both comma-separated (default host)
 *
 * host mode: the webhook runs in the test process on this machine.
 *   GITSYNC_E2E_WEBHOOK_HOST     the address the API server dials to reach this machine (default 127.0.0.1:
 *                                an API server on this host, such as k3s or kubeadm here). kind: the gateway
 *                                of its docker network, e.g. 172.18.0.1; k3d: host.k3d.internal; minikube:
 *                                host.minikube.internal
 *   GITSYNC_E2E_LISTEN_HOST      the address to bind (default: WEBHOOK_HOST when it is an IP address, else 0.0.0.0)
 *   GITSYNC_E2E_WEBHOOK_PORT     the port (default 0: any free port)
 *
 * in-cluster mode: the webhook installed from manifests/ (overlay self-signed, certificates from the
 * `certs` command), in its namespace gitsync-injector. Refuses to run where it is already installed.
 *   GITSYNC_E2E_IMAGE            the webhook image the cluster can pull or already has (required for this
 *                                mode; for kind: docker build -t gitsync-injector:e2e . && kind load docker-image
 *                                gitsync-injector:e2e)
 *
 *   GITSYNC_E2E_TIMEOUT_SECONDS  how long to wait for the API server, rollouts and controllers (default 120)
 *   GITSYNC_E2E_KEEP_NAMESPACE   set to 1 to keep the throwaway namespace for inspection (the webhook
 *                                configuration is deleted whatever this says)
 */
import { isIP } from 'node:net';

export type Mode = 'host' | 'in-cluster';
const MODES: readonly Mode[] = ['host', 'in-cluster'];

export interface E2EConfig {
  kubeconfig: string;
  modes: Mode[];
  webhookHost: string;
  listenHost: string;
  webhookPort: number;
  image?: string;
  timeoutMs: number;
  keepNamespace: boolean;
}

/** Why the suite cannot run as configured; `skip` is not an error (no cluster), `invalid` is. */
export type ConfigProblem = { kind: 'skip'; reason: string } | { kind: 'invalid'; reason: string };

export type Env = Record<string, string | undefined>;

export function readConfig(env: Env): E2EConfig | ConfigProblem {
  const kubeconfig = env.KUBECONFIG?.trim();
  if (!kubeconfig) {
    return { kind: 'skip', reason: 'KUBECONFIG is not set; point it at a disposable cluster (kind, k3d, minikube) to run the end-to-end suite' };
  }
  const modes = (env.GITSYNC_E2E_MODES ?? 'host').split(',').map((m) => m.trim()).filter((m) => m !== '');
  const unknown = modes.filter((m) => !MODES.includes(m as Mode));
  if (modes.length === 0 || unknown.length > 0) {
    return { kind: 'invalid', reason: `GITSYNC_E2E_MODES: ${JSON.stringify(env.GITSYNC_E2E_MODES)} names ${unknown.length ? unknown.join(', ') : 'no mode'}; use host, in-cluster or host,in-cluster` };
  }
  const webhookHost = env.GITSYNC_E2E_WEBHOOK_HOST?.trim() || '127.0.0.1';
  const listenHost = env.GITSYNC_E2E_LISTEN_HOST?.trim() || (isIP(webhookHost) ? webhookHost : '0.0.0.0');
  const port = Number(env.GITSYNC_E2E_WEBHOOK_PORT ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return { kind: 'invalid', reason: `GITSYNC_E2E_WEBHOOK_PORT: ${JSON.stringify(env.GITSYNC_E2E_WEBHOOK_PORT)} is not a port number (0 for any free port)` };
  }
  const seconds = Number(env.GITSYNC_E2E_TIMEOUT_SECONDS ?? '120');
  if (!Number.isFinite(seconds) || seconds <= 0) {
    return { kind: 'invalid', reason: `GITSYNC_E2E_TIMEOUT_SECONDS: ${JSON.stringify(env.GITSYNC_E2E_TIMEOUT_SECONDS)} is not a positive number of seconds` };
  }
  const image = env.GITSYNC_E2E_IMAGE?.trim();
  if (modes.includes('in-cluster') && !image) {
    return { kind: 'invalid', reason: 'GITSYNC_E2E_IMAGE is required for the in-cluster mode: the gitsync-injector image the cluster can run' };
  }
  const config: E2EConfig = {
    kubeconfig,
    modes: modes as Mode[],
    webhookHost,
    listenHost,
    webhookPort: port,
    timeoutMs: seconds * 1000,
    keepNamespace: env.GITSYNC_E2E_KEEP_NAMESPACE === '1',
  };
  if (image) config.image = image;
  return config;
}

/** The webhook's URL as the API server dials it; IPv6 addresses in brackets. */
export const webhookUrl = (host: string, port: number): string => `https://${isIP(host) === 6 ? `[${host}]` : host}:${port}/mutate`;
