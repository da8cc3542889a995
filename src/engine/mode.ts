/**
 * Which containers a pod gets. `auto` follows what each kind of pod needs:
 * a pod that runs to completion (restartPolicy Never or OnFailure: Jobs,
 * Airflow KubernetesExecutor task pods) gets its files once and must not be
 * kept alive by a sidecar, nor see its code change while a task runs; a
 * long-running pod gets a native sidecar where the cluster has them, else an
 * init container plus a classic sidecar.
 */
import { quote, type Problem } from './problems.ts';

export type Mode = 'sidecar' | 'native' | 'init-only';
export type RequestedMode = Mode | 'auto';
/** The policy's switch for native sidecars: `auto` asks the cluster facts. */
export type NativeSidecars = 'auto' | 'enabled' | 'disabled';

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

/**
 * What `auto` tries, best first. A run-to-completion pod wants its files once
 * and nothing left running; a long-running pod wants them kept fresh, by a
 * native sidecar where the cluster has them. Native is only ever chosen when
 * support is known: on a cluster without it, an init container with
 * restartPolicy Always would never finish and hold the pod in Init forever.
 */
const AUTO_ORDER: Record<'completes' | 'runs', readonly Mode[]> = {
  completes: ['init-only', 'native', 'sidecar'],
  runs: ['native', 'sidecar', 'init-only'],
};

function keepsRunning(requested: RequestedMode, restartPolicy: string | undefined): Omit<Problem, 'field'> {
  const pod = `this pod (restartPolicy ${restartPolicy})`;
  const message =
    requested === 'auto'
      ? `"auto" chose sidecar, the only mode the policy allows here, which keeps ${pod} from completing because a classic sidecar never exits; ask the platform team to allow init-only or native`
      : `"sidecar" keeps ${pod} from completing, because a classic sidecar never exits; use init-only, native or auto`;
  return { code: 'SIDECAR_KEEPS_POD_RUNNING', value: requested, message };
}

/** Completes "<mode field>: …" for a mode the policy does not allow. */
export const modeNotAllowedMessage = (raw: string, allowed: readonly Mode[]): string =>
  `${quote(raw)} is not allowed by the policy; use one of ${['auto', ...allowed].join(', ')}`;

/**
 * The mode a pod gets. `allowed` is the policy's list of modes: an explicit
 * mode outside it is an error, and `auto` picks only among them.
 */
export function chooseMode(
  requested: RequestedMode,
  restartPolicy: string | undefined,
  policy: NativeSidecars,
  cluster: ClusterFacts,
  allowed: readonly Mode[],
): ModeChoice {
  const runsToCompletion = restartPolicy === 'Never' || restartPolicy === 'OnFailure';
  const native = nativeSupport(policy, cluster);
  if (requested !== 'auto' && !allowed.includes(requested)) {
    return {
      mode: requested,
      error: { code: 'MODE_NOT_ALLOWED', value: requested, message: modeNotAllowedMessage(requested, allowed) },
    };
  }
  switch (requested) {
    case 'auto': {
      const mode = AUTO_ORDER[runsToCompletion ? 'completes' : 'runs'].find((m) => allowed.includes(m) && (m !== 'native' || native === 'yes'));
      if (mode === undefined) {
        // Only native is allowed, and the cluster does not (or may not) run it.
        const why = native === 'no' ? 'which this cluster does not support' : 'and whether this cluster supports it is unknown';
        const hint = native === 'no' ? 'ask the platform team to allow sidecar or init-only' : 'set mode: native to use it anyway';
        return { mode: 'native', error: { code: 'MODE_NOT_ALLOWED', value: 'auto', message: `"auto" finds no mode to use: the policy allows only native, ${why}; ${hint}` } };
      }
      return mode === 'sidecar' && runsToCompletion ? { mode, warning: keepsRunning('auto', restartPolicy) } : { mode };
    }
    case 'native':
      // Unknown support is the user's call: the API server refuses the pod if it cannot run it.
      if (native === 'no') {
        const why = policy === 'disabled' ? 'the policy disables native sidecars' : 'the cluster does not support native sidecars (Kubernetes 1.29+)';
        const instead = allowed.includes('sidecar') ? 'sidecar or auto' : 'auto';
        return { mode: 'native', error: { code: 'NATIVE_SIDECARS_UNSUPPORTED', value: 'native', message: `"native" cannot be used: ${why}; use ${instead}` } };
      }
      return { mode: 'native' };
    case 'sidecar':
      return runsToCompletion ? { mode: 'sidecar', warning: keepsRunning('sidecar', restartPolicy) } : { mode: 'sidecar' };
    case 'init-only':
      return { mode: 'init-only' };
  }
}
