/**
 * Pods injected by the real engine, and the app container's view of them.
 * `injectedPod` is the webhook's decision for a pod with these annotations
 * under the built-in policy (plus overrides); `appFolder` says where, on the
 * host, the app container would look: the env variable's value if the pod
 * names one, else the injection's path, mapped through the app container's
 * own mounts by the kubelet model.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { formatProblem, injectPod, type InjectResult } from '../../../src/engine/index.ts';
import { BUILTIN_POLICY, mustCompile, type Policy } from '../../../src/policy/index.ts';
import { VERSION } from '../../../src/version.ts';
import type { PodSandbox } from './kubelet.ts';

export const NAMESPACE = 'team-a';

export interface PodOptions {
  policy?: Partial<Policy>;
  /** Cluster facts: native sidecars supported or not (auto mode). */
  nativeSidecars?: boolean;
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  fsGroup?: number;
  appName?: string;
}

export function injectedPod(annotations: Record<string, string>, options: PodOptions = {}): { pod: V1Pod; result: InjectResult } {
  const app = options.appName ?? 'app';
  const input = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'sync-test', namespace: NAMESPACE, annotations },
    spec: {
      ...(options.restartPolicy && { restartPolicy: options.restartPolicy }),
      ...(options.fsGroup !== undefined && { securityContext: { fsGroup: options.fsGroup } }),
      containers: [{ name: app, image: 'apache/airflow:2.10.5' }],
    },
  };
  const policy = mustCompile({ ...BUILTIN_POLICY, ...options.policy }).engine;
  const cluster = options.nativeSidecars === undefined ? {} : { nativeSidecars: options.nativeSidecars };
  const result = injectPod({ pod: input, namespace: NAMESPACE }, { policy, cluster, version: VERSION });
  if (result.outcome !== 'injected') {
    throw new Error(`the engine did not inject (${result.outcome}): ${[...result.errors, ...result.warnings].map(formatProblem).join('; ')}`);
  }
  return { pod: result.pod as V1Pod, result };
}

/** The git-sync container that runs first: the init container (one-time), or the native sidecar. */
export function firstGitSync(pod: V1Pod): string {
  const c = (pod.spec?.initContainers ?? []).find((x) => x.image?.includes('git-sync'));
  if (!c) throw new Error('no git-sync init container');
  return c.name;
}

/**
 * The folder the app container reads, on the host: `$ENV` from its resolved
 * environment when `envName` is given, else the injection's path; mapped
 * through the app container's mounts.
 */
export function appFolder(sandbox: PodSandbox, result: InjectResult, app = 'app', envName?: string): string {
  const inContainer = envName ? sandbox.resolveEnv(app).get(envName) : result.injection!.path;
  if (!inContainer) throw new Error(`app container ${app} has no ${envName}`);
  const host = sandbox.hostPath(app, inContainer);
  if (!host) throw new Error(`${inContainer} is not under any mount of the app container ${app}`);
  return host;
}
