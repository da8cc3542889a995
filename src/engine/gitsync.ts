/**
 * The git-sync containers, as the Kubernetes API expects them. Everything
 * git-sync is told goes through environment variables built here from parsed
 * values, spelled by the policy's dialect (GITSYNC_* for v4); nothing a pod
 * author writes becomes a command-line argument, and no pod value can add a
 * variable.
 */
import type { V1Container, V1EnvVar, V1Probe, V1SecurityContext, V1VolumeMount } from '@kubernetes/client-node';
import { cloneJson } from './json.ts';
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

// git-sync answers 503 on / until the first sync succeeds, then 200. The startup
// probe allows five minutes for a first clone; liveness then only checks that
// git-sync still answers.
function probes(port: number): Pick<V1Container, 'startupProbe' | 'livenessProbe'> {
  const httpGet = { path: '/', port };
  const startupProbe: V1Probe = { httpGet, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 150 };
  const livenessProbe: V1Probe = { httpGet, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 };
  return { startupProbe, livenessProbe };
}

/**
 * The kubelet expands `$(NAME)` and turns `$$` into `$` in env values; a ref
 * may legally contain '$'. Doubling every '$' makes the value reach the
 * process exactly as written.
 */
export const literalEnvValue = (value: string): string => value.replaceAll('$', () => '$$');

/**
 * Every setting is written, including those whose value is git-sync's own
 * default: the defaults differ between versions (v3: root /tmp/git, full
 * history, branch master), and the pod should say what it does.
 */
function env(config: GitSyncConfig, policy: GitSyncContainerPolicy, dialect: Dialect, role: 'once' | 'continuous'): V1EnvVar[] {
  const n = dialect.names;
  const pairs: EnvPair[] = [
    [n.repo, config.repo],
    ...config.refEnv,
    [n.root, policy.root],
    [n.link, policy.link],
    [n.depth, String(config.depth)],
    [n.submodules, config.submodules],
    [n.maxFailures, String(policy.maxFailures)],
  ];
  // Only where the pod asks for them (checkout.ts has refused them for a dialect without the names).
  if (config.sparseCheckoutFile !== undefined && n.sparseCheckoutFile) pairs.push([n.sparseCheckoutFile, config.sparseCheckoutFile]);
  if (config.filter !== undefined && n.filter) pairs.push([n.filter, config.filter]);
  if (role === 'once') pairs.push([n.oneTime, 'true']);
  else pairs.push([n.period, dialect.period(config.periodMs)], [n.httpBind, `:${config.httpPort}`]);
  const vars = pairs.map(([name, value]): V1EnvVar => ({ name, value: literalEnvValue(value) }));
  return [...vars, ...cloneJson(config.credentialEnv)];
}

function container(name: string, config: GitSyncConfig, policy: GitSyncContainerPolicy, dialect: Dialect, role: 'once' | 'continuous'): V1Container {
  const c: V1Container = {
    name,
    image: policy.image,
    imagePullPolicy: policy.imagePullPolicy,
    env: env(config, policy, dialect, role),
    resources: cloneJson(config.resources),
    securityContext: hardenedSecurityContext(policy),
    // Each container owns its objects: nothing in the result is shared, so
    // whoever edits one container of the mutated pod cannot change another.
    volumeMounts: cloneJson(config.mounts),
  };
  if (role === 'continuous' && config.hostNetwork) c.ports = [{ containerPort: config.httpPort, hostPort: config.httpPort, protocol: 'TCP' }];
  if (role === 'continuous') Object.assign(c, probes(config.httpPort));
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
  const make = (name: string, role: 'once' | 'continuous'): V1Container => container(name, config, policy, dialect, role);
  switch (mode) {
    case 'init-only':
      return { init: [make(names.init, 'once')], app: [] };
    case 'sidecar':
      return { init: [make(names.init, 'once')], app: [make(names.sidecar, 'continuous')] };
    case 'native':
      // One init container that keeps running: the startup probe holds the app
      // containers back until the first sync, so no separate one-shot sync is needed.
      return { init: [{ ...make(names.sidecar, 'continuous'), restartPolicy: 'Always' }], app: [] };
  }
}
