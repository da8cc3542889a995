/**
 * A local Kubernetes control plane for the end-to-end suite, the way
 * controller-runtime's envtest does it: `KUBEBUILDER_ASSETS` names a folder
 * holding `etcd`, `kube-apiserver` and, optionally, `kube-controller-manager`,
 * and they are started on 127.0.0.1 with free ports, a CA of their own and
 * every file in one temporary folder. No kubelet and no scheduler: pods stay
 * Pending, which is enough to read what admission did to them.
 *
 * Why real components: the fakes the unit suite uses accept pods no API
 * server would store (a mirror pod without spec.nodeName) and have no
 * controllers (a Deployment never gets a pod), no CEL (match conditions,
 * ValidatingAdmissionPolicy) and no schema validation (kubectl's server-side
 * dry run).
 *
 * `stop()` may be called at any moment, also halfway through `start()` (a
 * signal while starting): it stops what has been started, newest first
 * (controller-manager, API server, etcd), and removes the folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueClientCertificate, issueLocalCertificates, type LocalCertificates } from './pki.ts';

/** The variable envtest reads; the error messages name it. */
export const ASSETS_VARIABLE = 'KUBEBUILDER_ASSETS';

export interface Assets {
  etcd: string;
  apiServer: string;
  /** Absent: no controllers (no default ServiceAccounts, no pods from Deployments or Jobs). */
  controllerManager?: string;
}

/** A binary is missing: the message is one line that names KUBEBUILDER_ASSETS and what it must hold. */
export class MissingAssetsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingAssetsError';
  }
}

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The binaries in the folder KUBEBUILDER_ASSETS names; throws MissingAssetsError when a required one is not there. */
export function findAssets(env: Record<string, string | undefined>): Assets {
  const dir = env[ASSETS_VARIABLE]?.trim();
  const wanted = 'etcd and kube-apiserver (kube-controller-manager optional)';
  if (!dir) throw new MissingAssetsError(`${ASSETS_VARIABLE} is not set: point it at a folder holding ${wanted}`);
  const missing = ['etcd', 'kube-apiserver'].filter((name) => !executable(join(dir, name)));
  if (missing.length > 0) throw new MissingAssetsError(`${ASSETS_VARIABLE}=${dir} has no executable ${missing.join(' or ')}: it must hold ${wanted}`);
  const assets: Assets = { etcd: join(dir, 'etcd'), apiServer: join(dir, 'kube-apiserver') };
  if (executable(join(dir, 'kube-controller-manager'))) assets.controllerManager = join(dir, 'kube-controller-manager');
  return assets;
}

/** A free TCP port on 127.0.0.1: listen on port 0, read what the kernel chose, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface ControlPlaneOptions {
  assets: Assets;
  /** How long each component may take to become ready; default 60 s (about 5 s on an idle machine). */
  readyTimeoutMs?: number;
  /** Progress lines (started, ready, stopping); default: none. */
  log?: (line: string) => void;
}

interface Component {
  name: string;
  child: ChildProcess;
  logFile: string;
}

/** The service-account issuer and the Service network, as a kubeadm cluster has them. */
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const SERVICE_CIDR = '10.96.0.0/16';

/**
 * Admission: the API server's default plugins stay on (in v1.32: NamespaceLifecycle, LimitRanger,
 * ServiceAccount, TaintNodesByCondition, PodSecurity, Priority, DefaultTolerationSeconds,
 * DefaultStorageClass, StorageObjectInUseProtection, PersistentVolumeClaimResize, RuntimeClass,
 * CertificateApproval, CertificateSigning, ClusterTrustBundleAttest, CertificateSubjectRestriction,
 * DefaultIngressClass, MutatingAdmissionWebhook, ValidatingAdmissionPolicy,
 * ValidatingAdmissionWebhook, ResourceQuota). The admission webhooks and policies this project
 * depends on are named anyway, so that the intent survives a change of defaults, plus
 * NodeRestriction, which kubeadm adds. Nothing is disabled when the controller-manager runs: it
 * creates the `default` ServiceAccount the ServiceAccount plugin wants for every pod.
 *
 * MutatingAdmissionPolicy (webhook-free mode, docs/webhook-free.md) is alpha in v1.32: its
 * plugin, feature gate and the `admissionregistration.k8s.io/v1alpha1` group are turned on
 * always. Why not behind a flag: with no MutatingAdmissionPolicy objects the plugin does
 * nothing (the other suites create none), and one control plane that serves both modes is what
 * the webhook-free proof (test/e2e/webhook-free.e2e.test.ts) needs to compare them.
 */
const ENABLED_ADMISSION_PLUGINS = 'NodeRestriction,MutatingAdmissionPolicy,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy';

/** What turns MutatingAdmissionPolicy on in v1.32 (GA, on by default, from 1.36). */
export const MUTATING_ADMISSION_POLICY_FLAGS = ['--feature-gates=MutatingAdmissionPolicy=true', '--runtime-config=admissionregistration.k8s.io/v1alpha1=true'];

export class LocalControlPlane {
  /** The temporary folder: certificates, kubeconfig, etcd's data, logs. Removed by stop(). */
  readonly dir: string;
  readonly kubeconfig: string;
  private readonly options: ControlPlaneOptions;
  private readonly components: Component[] = [];
  private stopping: Promise<void> | undefined;
  private apiServerPort = 0;

  constructor(options: ControlPlaneOptions) {
    this.options = options;
    this.dir = mkdtempSync(join(tmpdir(), 'gitsync-injector-control-plane-'));
    this.kubeconfig = join(this.dir, 'kubeconfig');
  }

  /** https://127.0.0.1:PORT once start() has chosen the port. */
  get server(): string {
    return `https://127.0.0.1:${this.apiServerPort}`;
  }

  /** Name and pid of every process started, in start order. */
  get processes(): { name: string; pid: number }[] {
    return this.components.map((c) => ({ name: c.name, pid: c.child.pid ?? -1 }));
  }

  get hasControllerManager(): boolean {
    return this.options.assets.controllerManager !== undefined;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private checkNotStopped(): void {
    if (this.stopping) throw new Error('the local control plane was stopped while starting');
  }

  /** Starts etcd, the API server and (when present) the controller-manager; resolves once all are ready. On failure, everything is stopped first. */
  async start(): Promise<void> {
    try {
      await this.startAll();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  private async startAll(): Promise<void> {
    const { assets } = this.options;
    const timeoutMs = this.options.readyTimeoutMs ?? 60_000;
    const file = (name: string, content: string): string => {
      const path = join(this.dir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    };

    const certs = await issueLocalCertificates();
    this.checkNotStopped();
    const admin = await issueClientCertificate(certs.ca, { commonName: 'gitsync-injector-e2e-admin', organizations: ['system:masters'] });
    this.checkNotStopped();
    // Service-account tokens are signed with an RSA key, as kubeadm's are.
    const sa = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const paths = {
      caCert: file('ca.crt', certs.ca.cert),
      caKey: file('ca.key', certs.ca.key),
      servingCert: file('apiserver.crt', certs.serving.cert),
      servingKey: file('apiserver.key', certs.serving.key),
      saPub: file('sa.pub', sa.publicKey),
      saKey: file('sa.key', sa.privateKey),
    };

    const [etcdClient, etcdPeer, apiServer, controllerManager] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    this.checkNotStopped();
    this.apiServerPort = apiServer;
    writeFileSync(this.kubeconfig, kubeconfigText(this.server, certs, admin), { mode: 0o600 });

    // etcd 3.4 (Debian's etcd-server): one member on loopback, data in the temporary folder.
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    this.spawn('etcd', assets.etcd, [
      '--name=local',
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=local=${peerUrl}`,
    ]);

    this.spawn('kube-apiserver', assets.apiServer, [
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiServer}`,
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${join(this.dir, 'apiserver')}`,
      `--tls-cert-file=${paths.servingCert}`,
      `--tls-private-key-file=${paths.servingKey}`,
      `--client-ca-file=${paths.caCert}`,
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${paths.saPub}`,
      `--service-account-signing-key-file=${paths.saKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      `--enable-admission-plugins=${ENABLED_ADMISSION_PLUGINS}`,
      ...MUTATING_ADMISSION_POLICY_FLAGS,
      // Without a controller-manager no `default` ServiceAccount ever appears, and the
      // ServiceAccount plugin would refuse every pod in a new namespace.
      ...(assets.controllerManager ? [] : ['--disable-admission-plugins=ServiceAccount']),
      // One API server, no Endpoints object for `kubernetes` to keep up to date.
      '--endpoint-reconciler-type=none',
    ]);
    await this.waitFor('kube-apiserver', `${this.server}/readyz`, timeoutMs, { ca: certs.ca.cert, cert: admin.cert, key: admin.key });

    if (assets.controllerManager) {
      this.spawn('kube-controller-manager', assets.controllerManager, [
        `--kubeconfig=${this.kubeconfig}`,
        `--authentication-kubeconfig=${this.kubeconfig}`,
        `--authorization-kubeconfig=${this.kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${controllerManager}`,
        `--cert-dir=${join(this.dir, 'controller-manager')}`,
        '--leader-elect=false',
        '--controllers=*',
        `--service-account-private-key-file=${paths.saKey}`,
        `--root-ca-file=${paths.caCert}`,
        `--cluster-signing-cert-file=${paths.caCert}`,
        `--cluster-signing-key-file=${paths.caKey}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
      ]);
      // Its serving certificate is self-signed in its own cert-dir; /healthz is public. Nothing secret is sent.
      await this.waitFor('kube-controller-manager', `https://127.0.0.1:${controllerManager}/healthz`, timeoutMs, { rejectUnauthorized: false });
    }
  }

  private spawn(name: string, binary: string, args: string[]): void {
    this.checkNotStopped();
    const logFile = join(this.dir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    // detached: false keeps each component in this process's group, so a terminal's Ctrl-C or a
    // CI runner that kills the group reaches them too, even if this process cannot clean up.
    const child = spawn(binary, args, { cwd: this.dir, detached: false, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.on('error', () => {}); // reported through 'exit' and the readiness wait
    this.components.push({ name, child, logFile });
    this.log(`started ${name} (pid ${child.pid})`);
  }

  /**
   * The last lines a component logged, for an error message. A Go crash ends in a long stack
   * dump whose cause is at its start ("panic: …", "fatal error: …"): that start comes first.
   */
  private tail(name: string, lines = 15): string {
    const component = this.components.find((c) => c.name === name);
    try {
      if (!component) return '';
      const all = readFileSync(component.logFile, 'utf8').trimEnd().split('\n');
      const crash = all.findIndex((l) => /^(panic|fatal error): /.test(l));
      const cause = crash >= 0 && crash < all.length - lines ? [...all.slice(crash, crash + lines), '…'] : [];
      return [...cause, ...all.slice(-lines)].join('\n');
    } catch {
      return '';
    }
  }

  /** Polls `url` until it answers 200 "ok" (a bounded wait); fails at once when any component has exited. */
  private async waitFor(name: string, url: string, timeoutMs: number, tls: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean }): Promise<void> {
    const started = Date.now();
    let last = 'no answer yet';
    for (;;) {
      this.checkNotStopped();
      const exited = this.components.find((c) => c.child.exitCode !== null || c.child.signalCode !== null);
      if (exited) {
        throw new Error(`${exited.name} exited (${exited.child.exitCode ?? exited.child.signalCode}) while starting the local control plane; its last lines:\n${this.tail(exited.name)}`);
      }
      const answer = await get(url, tls).catch((error: Error) => ({ status: 0, body: error.message }));
      if (answer.status === 200 && answer.body.trim() === 'ok') {
        this.log(`${name} ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return;
      }
      last = answer.status ? `${answer.status} ${answer.body.trim().split('\n').slice(-3).join(' | ')}` : answer.body;
      if (Date.now() - started > timeoutMs) {
        throw new Error(`${name} was not ready within ${Math.round(timeoutMs / 1000)} s (GET ${url}: ${last}); its last lines:\n${this.tail(name)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /**
   * Stops every component, newest first (controller-manager, API server, etcd: each one
   * depends on the next), SIGTERM then SIGKILL after 10 s, then removes the folder.
   * Safe to call more than once and from a signal handler; later calls wait for the first.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const component of [...this.components].reverse()) {
        const { child } = component;
        if (child.exitCode !== null || child.signalCode !== null) {
          // Died while the tests ran (a crash the tests only see as refused connections): say how, before the folder goes.
          this.log(`${component.name} had exited (${child.signalCode ?? `code ${child.exitCode}`}); its last lines:\n${this.tail(component.name, 40)}`);
          continue;
        }
        this.log(`stopping ${component.name} (pid ${child.pid})`);
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}

function get(url: string, tls: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, timeout: 5_000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

const b64 = (pem: string): string => Buffer.from(pem).toString('base64');

/** A kubeconfig for the admin user (O=system:masters: cluster-admin under RBAC), everything inline. */
function kubeconfigText(server: string, certs: LocalCertificates, admin: { cert: string; key: string }): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server, 'certificate-authority-data': b64(certs.ca.cert) } }],
      users: [{ name: 'admin', user: { 'client-certificate-data': b64(admin.cert), 'client-key-data': b64(admin.key) } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: 'admin' } }],
      'current-context': 'local',
    },
    null,
    2,
  );
}
