/**
 * The git-sync containers, as the Kubernetes API expects them. Everything
 * git-sync is told goes through GITSYNC_* environment variables built here
 * from parsed values; nothing a pod author writes becomes a command-line
 * argument, and no pod value can add a variable.
 */
import type { V1Container, V1EnvVar, V1Probe, V1SecurityContext, V1VolumeMount } from '@kubernetes/client-node';
import { formatDuration } from './values/duration.ts';
import type { Mode } from './mode.ts';
import type { Policy } from '../policy/types.ts';

export interface GitSyncConfig {
  repo: string;
  ref: string;
  depth: number;
  submodules: string;
  periodMs: number;
  httpPort: number;
  /** Credential and SSH variables (credentials.ts). */
  credentialEnv: V1EnvVar[];
  /** Mounts every git-sync container gets: root, /tmp, credentials. */
  mounts: V1VolumeMount[];
}

export interface GitSyncNames {
  init: string;
  sidecar: string;
}

/** Non-root, nothing to escalate to, no capabilities, read-only image, default seccomp. */
export function hardenedSecurityContext(policy: Policy): V1SecurityContext {
  return {
    runAsUser: policy.gitSync.user,
    runAsGroup: policy.gitSync.group,
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
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

function env(config: GitSyncConfig, policy: Policy, role: 'once' | 'continuous'): V1EnvVar[] {
  const vars: V1EnvVar[] = [
    { name: 'GITSYNC_REPO', value: config.repo },
    { name: 'GITSYNC_REF', value: config.ref },
    { name: 'GITSYNC_ROOT', value: policy.gitSync.root },
    { name: 'GITSYNC_LINK', value: policy.gitSync.link },
    { name: 'GITSYNC_DEPTH', value: String(config.depth) },
    { name: 'GITSYNC_SUBMODULES', value: config.submodules },
    { name: 'GITSYNC_MAX_FAILURES', value: String(policy.gitSync.maxFailures) },
  ];
  if (role === 'once') vars.push({ name: 'GITSYNC_ONE_TIME', value: 'true' });
  else {
    vars.push({ name: 'GITSYNC_PERIOD', value: formatDuration(config.periodMs) });
    vars.push({ name: 'GITSYNC_HTTP_BIND', value: `:${config.httpPort}` });
  }
  for (const v of vars) v.value = literalEnvValue(v.value!);
  return [...vars, ...structuredClone(config.credentialEnv)];
}

function container(name: string, config: GitSyncConfig, policy: Policy, role: 'once' | 'continuous'): V1Container {
  const c: V1Container = {
    name,
    image: policy.image,
    imagePullPolicy: policy.imagePullPolicy,
    env: env(config, policy, role),
    resources: structuredClone(policy.resources),
    securityContext: hardenedSecurityContext(policy),
    // Each container owns its objects: nothing in the result is shared, so
    // whoever edits one container of the mutated pod cannot change another.
    volumeMounts: structuredClone(config.mounts),
  };
  if (role === 'continuous') Object.assign(c, probes(config.httpPort));
  return c;
}

/** The containers for a mode: what goes into spec.initContainers and spec.containers. */
export function gitSyncContainers(mode: Mode, names: GitSyncNames, config: GitSyncConfig, policy: Policy): { init: V1Container[]; app: V1Container[] } {
  switch (mode) {
    case 'init-only':
      return { init: [container(names.init, config, policy, 'once')], app: [] };
    case 'sidecar':
      return { init: [container(names.init, config, policy, 'once')], app: [container(names.sidecar, config, policy, 'continuous')] };
    case 'native': {
      // One init container that keeps running: the startup probe holds the app
      // containers back until the first sync, so no separate one-shot sync is needed.
      const native = container(names.sidecar, config, policy, 'continuous');
      return { init: [{ ...native, restartPolicy: 'Always' }], app: [] };
    }
  }
}
