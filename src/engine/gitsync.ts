/**
 * The git-sync containers, as the Kubernetes API expects them. Everything
 * git-sync is told goes through environment variables built here from parsed
 * values, spelled by the policy's dialect (GITSYNC_* for v4); nothing a pod
 * author writes becomes a command-line argument, and no pod value can add a
 * variable.
 */
import type { V1Container, V1EnvVar, V1Probe, V1SecurityContext, V1VolumeMount } from '@kubernetes/client-node';
import type { Dialect, EnvPair } from './dialect.ts';
import type { Mode } from './mode.ts';
import type { GitSyncContainerPolicy, Resources } from './context.ts';

export interface GitSyncConfig {
  repo: string;
  /** What to check out, in the dialect's terms (dialect.ref, checked before anything is built). */
  refEnv: readonly EnvPair[];
  depth: number;
  submodules: string;
  periodMs: number;
  httpPort: number;
  /**
   * The pod shares the node's network (spec.hostNetwork), where httpPort is a
   * port of the node: the sidecar declares it, so that the scheduler keeps
   * two such pods off one node instead of one sidecar failing to bind and
   * its probes answering for the other pod's git-sync.
   */
  hostNetwork: boolean;
  /** Credential and SSH variables (credentials.ts). */
  credentialEnv: V1EnvVar[];
  syncTimeoutMs: number;
  maxFailures: number;
  touchFile?: string | undefined;
  /** Set on the continuous git-sync only. */
  webhookUrl?: string | undefined;
  /** The network profile's proxy and extra variables (network.ts), from the policy. */
  networkEnv: readonly EnvPair[];
  /** git-sync's --git-config value, encoded; undefined: none. */
  gitConfig?: string | undefined;
  /** The sparse-checkout file git-sync reads (a published file, checkout.ts); undefined: the whole tree. */
  sparseCheckoutFile?: string;
  /** The partial clone filter; undefined: a full clone. */
  filter?: string;
  /** Requests and limits of the git-sync containers: the policy's, with the pod's own within its maximum (resources.ts). */
  resources: Resources;
  /** Mounts every git-sync container gets: root, /tmp, credentials. */
  mounts: V1VolumeMount[];
}

export interface GitSyncNames {
  init: string;
  sidecar: string;
}

/**
 * Non-root, nothing to escalate to, no capabilities, and from the policy: a
 * read-only image (built in) and the seccomp profile (RuntimeDefault built
 * in). runAsNonRoot and allowPrivilegeEscalation are written here, never
 * taken from the policy, so no policy can loosen them.
 */
export function hardenedSecurityContext(policy: GitSyncContainerPolicy): V1SecurityContext {
  const { readOnlyRootFilesystem, seccompProfile } = policy;
  const { type = 'RuntimeDefault', localhostProfile } = seccompProfile;
  return {
    runAsUser: policy.user,
    runAsGroup: policy.group,
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem,
    capabilities: { drop: ['ALL'] },
    seccompProfile: type === 'Localhost' && localhostProfile !== undefined ? { type, localhostProfile } : { type },
  };
}

/**
 * What a git-sync container is for: `once` syncs and exits (an init
 * container); `after-init` keeps syncing after an init container already
 * synced (classic sidecar); `first-sync` keeps syncing and is also the
 * pod's first sync, holding the app containers back until it is done
 * (native sidecar).
 */
type Role = 'once' | 'after-init' | 'first-sync';

/**
 * git-sync answers 503 on / until its first sync succeeds, then 200.
 *
 * The kubelet runs a probe on a ticker of periodSeconds from when the probe's
 * worker starts (pkg/kubelet/prober/worker.go); a startup probe is never run
 * early, so a first sync that ends between ticks waits for the next one:
 * half the period on average. periodSeconds 1 (the minimum) keeps that wait
 * to 0.5 s; failureThreshold 300 still allows five minutes for a first clone,
 * as before (2 s × 150). No initialDelaySeconds: 0 is its default, and the
 * API server drops a zero when it stores the pod, so writing it would only
 * make the stored pod differ from the one the preview shows.
 *
 * Only the native sidecar gets a startup probe: it is what holds the app
 * containers back until the first sync (the kubelet starts the next
 * container once a restartable init container's startup probe passed). A
 * classic sidecar starts after the init container synced, so the files are
 * there already: a startup probe would only keep the pod unready for the
 * sidecar's own first fetch and a tick. Without one it is ready once running
 * (it has no readiness probe), and liveness still restarts a git-sync that
 * stops answering, or never syncs, within 90 s.
 */
function probes(port: number, role: Exclude<Role, 'once'>): Pick<V1Container, 'startupProbe' | 'livenessProbe'> {
  const httpGet = { path: '/', port };
  const livenessProbe: V1Probe = { httpGet, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 };
  if (role === 'after-init') return { livenessProbe };
  const startupProbe: V1Probe = { httpGet, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 300 };
  return { startupProbe, livenessProbe };
}

/**
 * The kubelet expands `$(NAME)` and turns `$$` into `$` in env values; a ref
 * may legally contain '$'. Doubling every '$' makes the value reach the
 * process exactly as written.
 */
export const literalEnvValue = (value: string): string => (value.includes('$') ? value.replaceAll('$', () => '$$') : value);

/**
 * Every setting is written, including those whose value is git-sync's own
 * default: the defaults differ between versions (v3: root /tmp/git, full
 * history, branch master), and the pod should say what it does.
 */
function env(config: GitSyncConfig, policy: GitSyncContainerPolicy, dialect: Dialect, role: Role): V1EnvVar[] {
  const n = dialect.names;
  const vars: V1EnvVar[] = [];
  // Straight into the list: pairs first, then objects, made an admission's largest share of garbage.
  const add = (name: string, value: string): void => void vars.push({ name, value: literalEnvValue(value) });
  add(n.repo, config.repo);
  for (const [name, value] of config.refEnv) add(name, value);
  add(n.root, policy.root);
  add(n.link, policy.link);
  add(n.depth, String(config.depth));
  add(n.submodules, config.submodules);
  add(n.maxFailures, String(config.maxFailures));
  add(n.syncTimeout, dialect.syncTimeout(config.syncTimeoutMs));
  // Only where the pod asks for them (checkout.ts has refused them for a dialect without the names).
  if (config.sparseCheckoutFile !== undefined && n.sparseCheckoutFile) add(n.sparseCheckoutFile, config.sparseCheckoutFile);
  if (config.filter !== undefined && n.filter) add(n.filter, config.filter);
  if (role === 'once') add(n.oneTime, 'true');
  else {
    add(n.period, dialect.period(config.periodMs));
    add(n.httpBind, `:${config.httpPort}`);
  }
  if (config.touchFile !== undefined) add(n.touchFile, config.touchFile);
  if (role !== 'once' && config.webhookUrl !== undefined) add(n.webhookUrl, config.webhookUrl);
  if (config.gitConfig !== undefined) add(n.gitConfig, config.gitConfig);
  for (const [name, value] of config.networkEnv) add(name, value);
  for (const v of config.credentialEnv) vars.push(v);
  return vars;
}

function container(name: string, config: GitSyncConfig, policy: GitSyncContainerPolicy, dialect: Dialect, role: Role): V1Container {
  const c: V1Container = {
    name,
    image: policy.image,
    imagePullPolicy: policy.imagePullPolicy,
    env: env(config, policy, dialect, role),
    // The pod's own resources (within the policy's maxima), one object per pod.
    resources: config.resources,
    // Its own object per container, not one per policy shared and frozen: a frozen object anywhere in a
    // container takes JSON.stringify off V8's fast path for the whole container (twice the time, 8 µs
    // of an Airflow admission), and building these few members costs next to nothing.
    securityContext: hardenedSecurityContext(policy),
    volumeMounts: config.mounts,
  };
  if (role !== 'once' && config.hostNetwork) c.ports = [{ containerPort: config.httpPort, hostPort: config.httpPort, protocol: 'TCP' }];
  if (role !== 'once') Object.assign(c, probes(config.httpPort, role));
  return c;
}

/** The containers for a mode: what goes into spec.initContainers and spec.containers. */
export function gitSyncContainers(
  mode: Mode,
  names: GitSyncNames,
  config: GitSyncConfig,
  policy: GitSyncContainerPolicy,
  dialect: Dialect,
): { init: V1Container[]; app: V1Container[] } {
  const make = (name: string, role: Role): V1Container => container(name, config, policy, dialect, role);
  switch (mode) {
    case 'init-only':
      return { init: [make(names.init, 'once')], app: [] };
    case 'sidecar':
      return { init: [make(names.init, 'once')], app: [make(names.sidecar, 'after-init')] };
    case 'native':
      // One init container that keeps running: the startup probe holds the app
      // containers back until the first sync, so no separate one-shot sync is needed.
      return { init: [{ ...make(names.sidecar, 'first-sync'), restartPolicy: 'Always' }], app: [] };
  }
}
