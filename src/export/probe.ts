/**
 * Partial evaluation of the engine: the export never writes the injected
 * layout itself. It runs `injectPod` on probe pods whose annotations hold
 * sentinels (unique values that parse and pass through the engine
 * unchanged), once per discrete choice (mode, credential layout), and reads
 * the containers, volumes, mounts, env and status off the result. Each
 * sentinel is later replaced by the CEL expression that reads the value it
 * stands for (template.ts). A change in the engine's layout changes the
 * export the next time it is compiled, and the tests compare the two on
 * every golden pod.
 */
import { MODES, WRITTEN_ANNOTATIONS, injectPod, type AnnotationKey, type EngineContext, type EnginePolicy, type InjectResult, type Mode } from '../engine/index.ts';

/** Sentinels: values that the engine passes through unchanged, unique enough to be found again in its output. */
export const SENTINELS = {
  httpsRepo: 'https://sentinel-q7x.invalid/sentinel/repo-q7x.git',
  sshRepo: 'git@sentinel-q7x.invalid:sentinel/repo-q7x.git',
  ref: 'sentinel-ref-q7x',
  secret: 'sentinel-secret-q7x',
  sshKey: 'sentinel-key-q7x',
  mountPath: '/sentinel-mount-q7x',
  subPath: 'sentinel-sub-q7x',
  env: 'SENTINEL_ENV_Q7X',
  /** 4321s: an unusual period, found again in its Go spelling (1h12m1s). */
  period: '4321s',
  depth: '4321',
  /** 4322s, found again as 1h12m2s. */
  syncTimeout: '4322s',
  maxFailures: '432',
  submodules: 'recursive',
  app: 'sentinel-app-q7x',
} as const;

/** A credential variant: the discrete choices that change the credential env, mounts and volumes. */
export interface CredentialVariant {
  id: string;
  transport: 'https' | 'ssh';
  /** Annotations that select it (beyond the repo). */
  annotations: Partial<Record<AnnotationKey, string>>;
}

export function credentialVariants(policy: EnginePolicy): CredentialVariant[] {
  const out: CredentialVariant[] = [{ id: 'https-public', transport: 'https', annotations: {} }];
  for (const layout of ['auto', 'basic-auth', 'airflow'] as const) {
    out.push({ id: `https-${layout}`, transport: 'https', annotations: { secret: SENTINELS.secret, 'secret-layout': layout } });
  }
  for (const user of policy.tokenUsers.keys()) {
    out.push({ id: `https-token-${user}`, transport: 'https', annotations: { secret: SENTINELS.secret, 'secret-layout': 'token', 'token-user': user } });
  }
  for (const knownHosts of ['policy', 'secret', 'insecure'] as const) {
    if (knownHosts === 'policy' && !policy.knownHostsData) continue;
    if (knownHosts === 'insecure' && !policy.allowInsecureHostKeys) continue;
    for (const key of [false, true]) {
      out.push({
        id: `ssh-${knownHosts}${key ? '-key' : ''}`,
        transport: 'ssh',
        annotations: { secret: SENTINELS.secret, 'known-hosts': knownHosts, ...(key && { 'ssh-key': SENTINELS.sshKey }) },
      });
    }
  }
  return out;
}

/**
 * The policy the probes run under: the same, but without what would refuse
 * or overrule a sentinel (allow-list, enforced values, depth maximum). The
 * checks apply those; the probes only show the layout.
 */
const probePolicy = (policy: EnginePolicy): EnginePolicy => ({
  ...policy,
  allowedRepos: [],
  enforced: new Map(),
  maxDepth: undefined,
  // Bounds the checks apply; the probes' sentinels lie beyond the policy's.
  knobs: { ...policy.knobs, maxSyncTimeout: { ms: 86_400_000, text: '24h' }, maxFailures: -1 },
  // Only the annotation table's defaults: a probe chooses every value itself, and the policy's (a
  // secret, a containers list, a preset) would mix into the variant it stands for.
  defaults: new Map([...policy.defaults].filter(([, s]) => s.source === 'default')),
});

export interface ProbeOptions {
  mode?: (typeof MODES)[number];
  restartPolicy?: 'Always' | 'Never';
  variant?: CredentialVariant;
  /** Annotations beyond the sentinels' (or instead of them, when set to undefined). */
  extra?: Record<string, string | undefined>;
}

export function probeAnnotations(prefix: string, o: ProbeOptions): Record<string, string> {
  const variant = o.variant ?? { transport: 'https', annotations: {} };
  const base: Record<string, string | undefined> = {
    repo: variant.transport === 'https' ? SENTINELS.httpsRepo : SENTINELS.sshRepo,
    ref: SENTINELS.ref,
    period: SENTINELS.period,
    depth: SENTINELS.depth,
    'sync-timeout': SENTINELS.syncTimeout,
    'max-failures': SENTINELS.maxFailures,
    submodules: SENTINELS.submodules,
    'mount-path': SENTINELS.mountPath,
    'sub-path': SENTINELS.subPath,
    env: SENTINELS.env,
    mode: o.mode ?? 'auto',
    ...variant.annotations,
    ...o.extra,
  };
  return Object.fromEntries(
    Object.entries(base)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([k, v]) => [`${prefix}${k}`, v]),
  );
}

export function probe(ctx: EngineContext, o: ProbeOptions): InjectResult {
  const policy = probePolicy(ctx.policy);
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'probe', namespace: 'probe', annotations: probeAnnotations(policy.prefix, o) },
    spec: { restartPolicy: o.restartPolicy ?? 'Always', containers: [{ name: SENTINELS.app, image: 'probe' }] },
  };
  return injectPod({ pod, namespace: 'probe', namespaceAnnotations: {} }, { ...ctx, policy, webhookNamespace: undefined });
}

/** The parts one probe added, read off its result. */
export interface ProbeParts {
  mode: Mode;
  initContainers: Record<string, unknown>[];
  containers: Record<string, unknown>[];
  volumes: Record<string, unknown>[];
  /** What the app container got: its volume mounts and env entries. */
  appMounts: Record<string, unknown>[];
  appEnv: Record<string, unknown>[];
  /** Annotations the injector wrote (status, published files). */
  annotations: Record<string, string>;
}

export function partsOf(result: InjectResult, prefix: string): ProbeParts {
  if (result.outcome !== 'injected') {
    throw new Error(`a probe pod was not injected (${result.outcome}): ${result.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
  }
  const pod = result.pod as { metadata: { annotations: Record<string, string> }; spec: Record<string, Record<string, unknown>[] | undefined> };
  const [app, ...containers] = pod.spec.containers!;
  const written = new Set(Object.values(WRITTEN_ANNOTATIONS).map((a) => `${prefix}${a}`));
  return {
    mode: result.injection!.mode,
    initContainers: pod.spec.initContainers ?? [],
    containers,
    volumes: pod.spec.volumes ?? [],
    appMounts: (app!.volumeMounts as Record<string, unknown>[] | undefined) ?? [],
    appEnv: (app!.env as Record<string, unknown>[] | undefined) ?? [],
    annotations: Object.fromEntries(Object.entries(pod.metadata.annotations).filter(([k]) => written.has(k))),
  };
}
