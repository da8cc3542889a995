/**
 * What each policy field does to a pod: the allow-list, enforced settings,
 * limits, presets, namespace defaults, excluded namespaces and
 * onInvalidAnnotations, through the engine and the admission adapter.
 */
import { describe, expect, it } from 'vitest';
import { admit } from '../../src/admission/index.ts';
import { formatProblem, injectPod, type ClusterFacts, type EngineContext, type EnginePolicy, type InjectResult } from '../../src/engine/index.ts';
import { chooseMode, type Mode, type RequestedMode } from '../../src/engine/mode.ts';
import { formatPolicyProblem, validatePolicyDocument } from '../../src/policy/index.ts';
import { reviewOf } from '../support/server.ts';

/** A policy from a document, as a platform team writes it. */
function policyOf(doc: Record<string, unknown>): EnginePolicy {
  const { compiled, problems } = validatePolicyDocument(doc);
  if (!compiled) throw new Error(problems.map((p) => formatPolicyProblem(p, 'policy')).join('\n'));
  return compiled.engine;
}

interface Run {
  annotations: Record<string, string>;
  namespace?: string;
  namespaceAnnotations?: Record<string, string>;
  restartPolicy?: string;
  cluster?: ClusterFacts;
  webhookNamespace?: string;
}

function pod(annotations: Record<string, string>, restartPolicy?: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app', annotations },
    spec: { ...(restartPolicy && { restartPolicy }), containers: [{ name: 'app', image: 'busybox' }] },
  };
}

function run(policy: EnginePolicy, r: Run): InjectResult {
  const ctx: EngineContext = { policy, cluster: r.cluster ?? {}, version: '0.0.0-test', webhookNamespace: r.webhookNamespace };
  return injectPod({ pod: pod(r.annotations, r.restartPolicy), namespace: r.namespace ?? 'apps', namespaceAnnotations: r.namespaceAnnotations }, ctx);
}

const errors = (r: InjectResult): string[] => r.errors.map(formatProblem);
const warnings = (r: InjectResult): string[] => r.warnings.map(formatProblem);

const REPO = 'https://github.com/acme/site.git';

describe('allowedRepos', () => {
  const policy = policyOf({ allowedRepos: ['github.com/acme/*', 'gitlab.example.com/data/**'] });

  it('lets a repository that matches through, in any of its forms', () => {
    for (const repo of ['https://github.com/acme/site.git', 'ssh://git@GITHUB.com/acme/site', 'git@gitlab.example.com:data/ml/site.git']) {
      const r = run(policy, { annotations: { 'gitsync.dev/repo': repo, 'gitsync.dev/secret': 'key', 'gitsync.dev/known-hosts': 'secret' } });
      expect(r.outcome, repo).toBe('injected');
    }
  });

  it('denies any other, listing what the pod may use', () => {
    const r = run(policy, { annotations: { 'gitsync.dev/repo': 'https://github.com/acme-evil/site.git' } });
    expect(r.outcome).toBe('denied');
    expect(errors(r)).toEqual([
      'gitsync.dev/repo: "https://github.com/acme-evil/site.git" is not a repository the policy allows; use one matching github.com/acme/*, gitlab.example.com/data/** [REPO_NOT_ALLOWED]',
    ]);
  });

  it('checks a repository a namespace supplies, naming the namespace', () => {
    const r = run(policy, { annotations: { 'gitsync.dev/inject': 'true' }, namespace: 'team-x', namespaceAnnotations: { 'gitsync.dev/repo': 'https://gitlab.example.com/ops/x.git' } });
    expect(r.errors.map((e) => [e.code, e.field])).toEqual([['REPO_NOT_ALLOWED', 'gitsync.dev/repo (namespace team-x)']]);
  });

  it('with an empty list, allows every repository', () => {
    expect(run(policyOf({}), { annotations: { 'gitsync.dev/repo': 'https://anywhere.example/x/y.git' } }).outcome).toBe('injected');
  });
});

describe('enforced', () => {
  it('warn: the pod and namespace values are ignored with a warning each, the policy value is used', () => {
    const policy = policyOf({ defaults: { period: '5m' }, enforced: { period: 'warn' } });
    const r = run(policy, { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/period': '30s' }, namespace: 'team', namespaceAnnotations: { 'gitsync.dev/period': '1m' } });
    expect(r.outcome).toBe('injected');
    expect(warnings(r)).toEqual([
      'gitsync.dev/period: "30s" is ignored: the policy enforces period "5m" [ENFORCED_VALUE_USED]',
      'gitsync.dev/period (namespace team): "1m" is ignored: the policy enforces period "5m" [ENFORCED_VALUE_USED]',
    ]);
    const sidecar = (r.pod as { spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] } }).spec.containers.find((c) => c.name === 'git-sync')!;
    expect(sidecar.env!.find((e) => e.name === 'GITSYNC_PERIOD')?.value).toBe('5m');
  });

  it('strict: a pod or namespace that sets another value is denied', () => {
    const policy = policyOf({ enforced: { submodules: 'strict' } });
    const pod = run(policy, { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/submodules': 'recursive' } });
    expect(errors(pod)).toEqual(['gitsync.dev/submodules: "recursive" is not allowed: the policy enforces submodules "off"; remove this annotation [SETTING_ENFORCED]']);
    const ns = run(policy, { annotations: { 'gitsync.dev/repo': REPO }, namespace: 'team', namespaceAnnotations: { 'gitsync.dev/submodules': 'shallow' } });
    expect(ns.errors.map((e) => e.field)).toEqual(['gitsync.dev/submodules (namespace team)']);
  });

  it('the same value, however written, is not an override', () => {
    const policy = policyOf({ defaults: { period: '60s' }, enforced: { period: 'strict' } });
    const r = run(policy, { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/period': '1m' } });
    expect(r.outcome).toBe('injected');
    expect(r.warnings).toEqual([]);
  });

  it('an invalid value for an enforced annotation is an override like any other', () => {
    const policy = policyOf({ enforced: { period: 'warn' } });
    const r = run(policy, { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/period': 'soon' } });
    expect(r.outcome).toBe('injected');
    expect(warnings(r)).toEqual(['gitsync.dev/period: "soon" is ignored: the policy enforces period "60s" [ENFORCED_VALUE_USED]']);
  });

  it('an annotation without a default is kept unset', () => {
    const policy = policyOf({ enforced: { env: 'strict' } });
    const r = run(policy, { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/env': 'DAGS' } });
    expect(errors(r)).toEqual(['gitsync.dev/env: "DAGS" is not allowed: the policy keeps env unset; remove this annotation [SETTING_ENFORCED]']);
  });

  it('presets do not change an enforced annotation, and an enforced preset is the policy\'s', () => {
    const mountPath = policyOf({ defaults: { 'mount-path': '/srv/dags' }, enforced: { 'mount-path': 'warn' } });
    const withPreset = run(mountPath, { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/preset': 'airflow' } });
    expect(withPreset.warnings).toEqual([]);
    expect(withPreset.injection?.path).toBe('/srv/dags/repo');

    const preset = policyOf({ defaults: { preset: 'airflow' }, enforced: { preset: 'strict' } });
    expect(run(preset, { annotations: { 'gitsync.dev/repo': REPO } }).injection?.path).toBe('/opt/airflow/dags/repo');
    expect(errors(run(preset, { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/preset': 'docs' } }))).toEqual([
      'gitsync.dev/preset: "docs" is not allowed: the policy enforces preset "airflow"; remove this annotation [SETTING_ENFORCED]',
    ]);
  });
});

describe('limits', () => {
  const policy = policyOf({ limits: { maxDepth: 20, allowedModes: ['sidecar', 'init-only'] } });

  it('maxDepth: a deeper clone, or the full history, is refused; the maximum itself is fine', () => {
    expect(run(policy, { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/depth': '20' } }).outcome).toBe('injected');
    expect(errors(run(policy, { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/depth': '21' } }))).toEqual([
      'gitsync.dev/depth: "21" is above the policy\'s maximum depth 20; use a depth from 1 to 20 [DEPTH_ABOVE_MAXIMUM]',
    ]);
    const ns = run(policy, { annotations: { 'gitsync.dev/repo': REPO }, namespace: 'team', namespaceAnnotations: { 'gitsync.dev/depth': '0' } });
    expect(errors(ns)).toEqual([
      'gitsync.dev/depth (namespace team): "0" (the full history) is above the policy\'s maximum depth 20; use a depth from 1 to 20 [DEPTH_ABOVE_MAXIMUM]',
    ]);
  });

  it('allowedModes: a mode outside the list is refused, naming what is allowed', () => {
    expect(errors(run(policy, { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/mode': 'native' }, cluster: { nativeSidecars: true } }))).toEqual([
      'gitsync.dev/mode: "native" is not allowed by the policy; use one of auto, sidecar, init-only [MODE_NOT_ALLOWED]',
    ]);
  });

  it('minPeriod: a shorter period is raised, with a warning', () => {
    const r = run(policyOf({ limits: { minPeriod: '1m' } }), { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/period': '10s' } });
    expect(warnings(r)).toEqual(['gitsync.dev/period: "10s" is below the policy minimum 1m; using 1m [PERIOD_RAISED]']);
  });
});

describe('mode auto picks only among the allowed modes', () => {
  const ALL: Mode[] = ['sidecar', 'native', 'init-only'];
  const choose = (allowed: Mode[], restartPolicy: string | undefined, nativeSidecars?: boolean, requested: RequestedMode = 'auto') =>
    chooseMode(requested, restartPolicy, 'auto', nativeSidecars === undefined ? {} : { nativeSidecars }, allowed);

  it.each([
    // allowed, restartPolicy, cluster supports native, chosen
    [ALL, 'Always', true, 'native'],
    [ALL, 'Always', undefined, 'sidecar'],
    [ALL, 'Never', true, 'init-only'],
    [['sidecar', 'init-only'], 'Always', true, 'sidecar'],
    [['native', 'init-only'], 'Always', true, 'native'],
    [['native', 'init-only'], 'Always', undefined, 'init-only'],
    [['native', 'init-only'], 'Always', false, 'init-only'],
    [['init-only'], 'Always', true, 'init-only'],
    [['sidecar', 'native'], 'OnFailure', true, 'native'],
    [['sidecar', 'native'], 'Never', false, 'sidecar'],
  ] as [Mode[], string, boolean | undefined, Mode][])('allowed %j, restartPolicy %s, native support %s: %s', (allowed, restartPolicy, native, mode) => {
    const choice = choose(allowed, restartPolicy, native);
    expect(choice.mode).toBe(mode);
    expect(choice.error).toBeUndefined();
  });

  it('warns when the only allowed mode keeps a run-to-completion pod running', () => {
    expect(choose(['sidecar'], 'Never').warning).toMatchObject({ code: 'SIDECAR_KEEPS_POD_RUNNING', value: 'auto' });
  });

  it('is an error when only native is allowed and the cluster cannot (or may not) run it', () => {
    expect(choose(['native'], 'Always', false).error?.message).toBe(
      '"auto" finds no mode to use: the policy allows only native, which this cluster does not support; ask the platform team to allow sidecar or init-only',
    );
    expect(choose(['native'], 'Always', undefined).error?.message).toBe(
      '"auto" finds no mode to use: the policy allows only native, and whether this cluster supports it is unknown; set mode: native to use it anyway',
    );
    // The user's explicit choice stands where support is unknown, as before.
    expect(choose(['native'], 'Always', undefined, 'native').error).toBeUndefined();
  });
});

describe('presets and namespace defaults', () => {
  const policy = policyOf({
    defaults: { period: '3m', 'mount-path': '/policy' },
    presets: { docs: { 'mount-path': '/usr/share/nginx/html', 'sub-path': 'site' }, airflow: { 'mount-path': '/dags', env: 'DAGS_FOLDER' } },
  });

  it('a policy preset adds to the built-in ones, and one of the same name replaces it', () => {
    expect(run(policy, { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/preset': 'docs' } }).injection?.path).toBe('/usr/share/nginx/html/repo/site');
    const airflow = run(policy, { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/preset': 'airflow' } });
    expect(airflow.injection?.path).toBe('/dags/repo');
    expect(JSON.stringify(airflow.pod)).toContain('"name":"DAGS_FOLDER"');
    expect(JSON.stringify(airflow.pod)).not.toContain('AIRFLOW__CORE__DAGS_FOLDER');
  });

  it('lowest first: policy default < namespace < preset < pod', () => {
    const path = (annotations: Record<string, string>, ns: Record<string, string> = {}) =>
      run(policy, { annotations: { 'gitsync.dev/repo': REPO, ...annotations }, namespace: 'team', namespaceAnnotations: ns }).injection?.path;
    expect(path({})).toBe('/policy/repo');
    expect(path({}, { 'gitsync.dev/mount-path': '/ns' })).toBe('/ns/repo');
    expect(path({}, { 'gitsync.dev/mount-path': '/ns', 'gitsync.dev/preset': 'docs' })).toBe('/usr/share/nginx/html/repo/site');
    expect(path({ 'gitsync.dev/mount-path': '/pod' }, { 'gitsync.dev/mount-path': '/ns', 'gitsync.dev/preset': 'docs' })).toBe('/pod/repo/site');
  });

  it('a namespace opts its pods in with a repository and inject: "true"', () => {
    const r = run(policy, { annotations: {}, namespace: 'team', namespaceAnnotations: { 'gitsync.dev/inject': 'true', 'gitsync.dev/repo': REPO } });
    expect(r.outcome).toBe('injected');
  });
});

describe('excluded namespaces', () => {
  const policy = policyOf({ excludedNamespaces: ['monitoring'] });
  const skipReason = (r: Run) => run(policy, r).skip;

  it('kube-system is always excluded, and so are the listed namespaces', () => {
    expect(skipReason({ annotations: { 'gitsync.dev/repo': REPO }, namespace: 'kube-system' })).toEqual({ reason: 'excluded-namespace', message: 'namespace kube-system is excluded by the policy' });
    expect(skipReason({ annotations: { 'gitsync.dev/repo': REPO }, namespace: 'monitoring' })?.reason).toBe('excluded-namespace');
  });

  it("the webhook's own namespace is always excluded, whatever the policy lists", () => {
    expect(skipReason({ annotations: { 'gitsync.dev/repo': REPO }, namespace: 'gitsync-injector', webhookNamespace: 'gitsync-injector' })).toEqual({
      reason: 'excluded-namespace',
      message: "namespace gitsync-injector is the webhook's own namespace, which is never injected",
    });
    expect(run(policy, { annotations: { 'gitsync.dev/repo': REPO }, namespace: 'apps', webhookNamespace: 'gitsync-injector' }).outcome).toBe('injected');
    // Unknown (local runs): nothing more is excluded, not even a namespace named like the webhook's.
    expect(run(policy, { annotations: { 'gitsync.dev/repo': REPO }, namespace: 'gitsync-injector' }).outcome).toBe('injected');
  });
});

describe('onInvalidAnnotations', () => {
  const refusals = { allowedRepos: ['github.com/acme/*'], limits: { maxDepth: 5 } };
  const annotations = { 'gitsync.dev/repo': 'https://github.com/other/x.git', 'gitsync.dev/depth': '50' };

  it('deny (the default): the pod is refused with every problem', () => {
    const r = run(policyOf(refusals), { annotations });
    expect(r.outcome).toBe('denied');
    expect(r.errors.map((e) => e.code)).toEqual(['REPO_NOT_ALLOWED', 'DEPTH_ABOVE_MAXIMUM']);
  });

  it('admit: the pod is admitted untouched, never synced, with the same problems', () => {
    const r = run(policyOf({ ...refusals, onInvalidAnnotations: 'admit' }), { annotations });
    expect(r.outcome).toBe('skipped');
    expect(r.skip?.reason).toBe('invalid-annotations');
    expect(r.patch).toEqual([]);
    expect(r.errors.map((e) => e.code)).toEqual(['REPO_NOT_ALLOWED', 'DEPTH_ABOVE_MAXIMUM']);
  });
});

describe('the admission status code of a denial', () => {
  const admitWith = (policy: EnginePolicy, annotations: Record<string, string>) =>
    admit(reviewOf(pod({ 'gitsync.dev/repo': REPO, ...annotations })), { ctx: { policy, cluster: {}, version: '0.0.0-test' }, namespaceAnnotations: () => undefined });
  const policy = policyOf({ allowedRepos: ['github.com/acme/*'], enforced: { submodules: 'strict' } });

  it('is 403 Forbidden when the policy refuses what the pod asks for', () => {
    const { review, summary } = admitWith(policy, { 'gitsync.dev/repo': 'https://github.com/other/x.git' });
    expect(review.response.allowed).toBe(false);
    expect(review.response.status?.code).toBe(403);
    expect(review.response.status?.message).toContain('[REPO_NOT_ALLOWED]');
    expect(summary.reason).toBe('REPO_NOT_ALLOWED');
    expect(admitWith(policy, { 'gitsync.dev/submodules': 'recursive' }).review.response.status?.code).toBe(403);
    expect(admitWith(policy, { 'gitsync.dev/known-hosts': 'insecure', 'gitsync.dev/repo': 'git@github.com:acme/x.git', 'gitsync.dev/secret': 'k' }).review.response.status?.code).toBe(403);
  });

  it('is 400 Bad Request for a value that is wrong in itself, and 403 when a refusal comes with it', () => {
    expect(admitWith(policy, { 'gitsync.dev/period': '5x' }).review.response.status?.code).toBe(400);
    expect(admitWith(policy, { 'gitsync.dev/period': '5x', 'gitsync.dev/repo': 'https://github.com/other/x.git' }).review.response.status?.code).toBe(403);
  });
});

describe('resources and the root volume, for namespaces with a ResourceQuota', () => {
  // A quota on limits.cpu or limits.ephemeral-storage refuses a pod with any container that does not set it.
  const QUOTA_FRIENDLY = {
    resources: {
      requests: { cpu: '10m', memory: '64Mi', 'ephemeral-storage': '64Mi' },
      limits: { cpu: '500m', memory: '256Mi', 'ephemeral-storage': '1Gi' },
    },
    gitSync: { rootSizeLimit: '2Gi' },
  };
  const REPO = { 'gitsync.dev/repo': 'https://github.com/acme/site.git' };

  it.each([['sidecar'], ['native'], ['init-only']])('mode %s: every injected container gets the CPU limit and the ephemeral-storage request and limit', (mode) => {
    const result = run(policyOf(QUOTA_FRIENDLY), { annotations: { ...REPO, 'gitsync.dev/mode': mode } });
    expect(result.outcome).toBe('injected');
    const spec = (result.pod as { spec: { initContainers?: { name: string; resources: unknown }[]; containers: { name: string; resources: unknown }[] } }).spec;
    const injected = [...(spec.initContainers ?? []), ...spec.containers].filter((c) => c.name.startsWith('git-sync'));
    expect(injected.length).toBeGreaterThan(0);
    for (const c of injected) expect(c.resources, c.name).toEqual(QUOTA_FRIENDLY.resources);
  });

  it("gitSync.rootSizeLimit becomes the root emptyDir's sizeLimit; not set, the emptyDir has none", () => {
    const volume = (policy: EnginePolicy) => {
      const pod = run(policy, { annotations: REPO }).pod as { spec: { volumes: { name: string; emptyDir?: unknown }[] } };
      return pod.spec.volumes.find((v) => v.name === 'git-sync-root');
    };
    expect(volume(policyOf(QUOTA_FRIENDLY))).toEqual({ name: 'git-sync-root', emptyDir: { sizeLimit: '2Gi' } });
    expect(volume(policyOf({}))).toEqual({ name: 'git-sync-root', emptyDir: {} });
  });
});
