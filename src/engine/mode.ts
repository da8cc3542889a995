/**
 * Which containers a pod gets. `auto` follows what each kind of pod needs:
 * a pod that runs to completion (restartPolicy Never or OnFailure: Jobs,
 * Airflow KubernetesExecutor task pods) gets its files once and must not be
 * kept alive by a sidecar, nor see its code change while a task runs; a
 * long-running pod gets a native sidecar where the cluster has them, else an
 * init container plus a classic sidecar.
 */
import type { Problem } from './problems.ts';
import type { NativeSidecars } from '../policy/types.ts';

export type Mode = 'sidecar' | 'native' | 'init-only';
export type RequestedMode = Mode | 'auto';

export interface ClusterFacts {
  /** Whether the API server and every kubelet support native sidecars (1.29+); undefined when unknown. */
  nativeSidecars?: boolean;
}

export interface ModeChoice {
  mode: Mode;
  error?: Omit<Problem, 'field'>;
  warning?: Omit<Problem, 'field'>;
}

/** 'yes', 'no' or 'unknown': the policy can force the answer, else the cluster facts give it. */
function nativeSupport(policy: NativeSidecars, cluster: ClusterFacts): 'yes' | 'no' | 'unknown' {
  if (policy === 'enabled') return 'yes';
  if (policy === 'disabled') return 'no';
  return cluster.nativeSidecars === undefined ? 'unknown' : cluster.nativeSidecars ? 'yes' : 'no';
}

export function chooseMode(requested: RequestedMode, restartPolicy: string | undefined, policy: NativeSidecars, cluster: ClusterFacts): ModeChoice {
  const runsToCompletion = restartPolicy === 'Never' || restartPolicy === 'OnFailure';
  const native = nativeSupport(policy, cluster);
  switch (requested) {
    case 'auto':
      if (runsToCompletion) return { mode: 'init-only' };
      return { mode: native === 'yes' ? 'native' : 'sidecar' };
    case 'native':
      // Unknown support is the user's call: the API server refuses the pod if it cannot run it.
      if (native === 'no') {
        const why = policy === 'disabled' ? 'the policy disables native sidecars' : 'the cluster does not support native sidecars (Kubernetes 1.29+)';
        return {
          mode: 'native',
          error: { code: 'NATIVE_SIDECARS_UNSUPPORTED', value: 'native', message: `"native" cannot be used: ${why}; use sidecar or auto` },
        };
      }
      return { mode: 'native' };
    case 'sidecar':
      if (runsToCompletion) {
        return {
          mode: 'sidecar',
          warning: {
            code: 'SIDECAR_KEEPS_POD_RUNNING',
            value: 'sidecar',
            message: `"sidecar" keeps this pod (restartPolicy ${restartPolicy}) from completing, because a classic sidecar never exits; use init-only, native or auto`,
          },
        };
      }
      return { mode: 'sidecar' };
    case 'init-only':
      return { mode: 'init-only' };
  }
}
