/**
 * Workloads: the engine runs on each kind's pod template, the patch is
 * rebased onto the workload document and applies there (also with kubectl),
 * other kinds pass through, and annotations on the wrong level are named.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { injectPod, type EngineContext } from '../../src/engine/index.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { mustCompile } from '../../src/policy/compile.ts';
import { valueAt } from '../../src/engine/index.ts';
import { classify, injectWorkload, WORKLOAD_KINDS, type WorkloadResult } from '../../src/workloads/index.ts';
import { applyPatchToCopy } from '../support/apply.ts';
import { kubectlAvailable, kubectlPatch } from '../support/kubectl.ts';
import { engineContext } from '../support/server.ts';

const ctx = engineContext();
const fixture = (name: string): Record<string, unknown> =>
  parse(readFileSync(fileURLToPath(new URL(`../fixtures/manifests/workloads/${name}`, import.meta.url)), 'utf8'), { version: '1.1' });

function inject(object: unknown, namespace = 'default', context: EngineContext = ctx): WorkloadResult {
  const result = injectWorkload({ object, namespace }, context);
  if (result.workload === undefined) throw new Error(`not a workload: ${result.note}`);
  return result;
}

const KINDS = [
  ['Pod', 'pod.yaml', '', 'sidecar'],
  ['Deployment', 'deployment.yaml', '/spec/template', 'sidecar'],
  ['StatefulSet', 'statefulset.yaml', '/spec/template', 'sidecar'],
  ['DaemonSet', 'daemonset.yaml', '/spec/template', 'sidecar'],
  ['ReplicaSet', 'replicaset.yaml', '/spec/template', 'sidecar'],
  ['ReplicationController', 'replicationcontroller.yaml', '/spec/template', 'sidecar'],
  ['Job', 'job.yaml', '/spec/template', 'init-only'],
  ['CronJob', 'cronjob.yaml', '/spec/jobTemplate/spec/template', 'init-only'],
] as const;

describe('every kind with a pod template', () => {
  test('the table covers exactly the kinds the issue lists', () => {
    expect(WORKLOAD_KINDS.map((k) => k.kind)).toEqual(KINDS.map(([kind]) => kind));
  });

  test.each(KINDS)('%s: the template is injected and the patch applies to the whole document', (kind, file, template, mode) => {
    const object = fixture(file);
    const before = structuredClone(object);
    const result = inject(object);
    expect(result.workload.kind).toBe(kind);
    expect(result.template).toBe(template);
    expect(result.outcome).toBe('injected');
    expect(result.injection?.mode).toBe(mode);
    expect(result.patch.length).toBeGreaterThan(0);
    for (const op of result.patch) expect(op.path.startsWith(`${template}/`)).toBe(true);
    expect(applyPatchToCopy(object, result.patch)).toEqual(result.object);
    expect(object).toEqual(before);
  });

  test.each(KINDS)('%s: the patch is the engine\'s patch for the template, moved under its path', (_kind, file, template) => {
    const object = fixture(file);
    const path = template.split('/').slice(1);
    const direct = injectPod({ pod: valueAt(object, path), namespace: 'default' }, ctx);
    const result = inject(object);
    expect(result.patch.map((op) => ({ ...op, path: op.path.slice(template.length) }))).toEqual(direct.patch);
    expect(valueAt(result.object, path)).toEqual(direct.pod);
  });

  test('for a Pod the patch is byte for byte what the webhook\'s engine call gives', () => {
    const pod = fixture('pod.yaml');
    const direct = injectPod({ pod, namespace: 'web' }, ctx);
    expect(JSON.stringify(inject(pod, 'web').patch)).toBe(JSON.stringify(direct.patch));
  });

  test.skipIf(!kubectlAvailable()).each(KINDS)('%s: kubectl patch --local applies the patch to the workload document', (_kind, file) => {
    const object = fixture(file);
    const result = inject(object);
    expect(kubectlPatch(object, result.patch)).toEqual(result.object);
  });

  test('a template without metadata gets it from the patch, under the template', () => {
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } } } };
    const direct = injectPod({ pod: job.spec.template, namespace: 'default' }, ctx);
    expect(direct.outcome).toBe('skipped');
    // Opt in through the namespace: the template itself has no metadata at all.
    const result = injectWorkload(
      { object: job, namespace: 'default', namespaceAnnotations: { 'gitsync.dev/inject': 'true', 'gitsync.dev/repo': 'https://github.com/acme/x.git' } },
      ctx,
    ) as WorkloadResult;
    expect(result.outcome).toBe('injected');
    expect(result.patch[0]).toMatchObject({ op: 'add', path: '/spec/template/metadata' });
    expect(applyPatchToCopy(job, result.patch)).toEqual(result.object);
  });
});

describe('objects that are not pods or workloads', () => {
  test.each([
    [{ apiVersion: 'v1', kind: 'ConfigMap', data: {} }, 'ConfigMap has no pod template'],
    [{ apiVersion: 'example.com/v1', kind: 'Deployment', spec: { template: {} } }, 'Deployment of apiVersion example.com/v1 is not the Kubernetes Deployment (apps/… or extensions/…)'],
    [{ apiVersion: 'v1', metadata: { name: 'x' } }, 'the object has no kind'],
    ['a string', 'not a Kubernetes object but a string'],
    [[1, 2], 'not a Kubernetes object but a list'],
  ])('%j is passed through with a note', (object, note) => {
    expect(injectWorkload({ object, namespace: 'default' }, ctx)).toEqual({ workload: undefined, note });
  });

  test('old API groups of the same shape are still workloads', () => {
    expect(classify({ apiVersion: 'extensions/v1beta1', kind: 'Deployment' })).toMatchObject({ workload: { kind: 'Deployment' } });
    expect(classify({ apiVersion: 'batch/v1beta1', kind: 'CronJob' })).toMatchObject({ workload: { kind: 'CronJob' } });
    expect(classify({ kind: 'Job' })).toMatchObject({ workload: { kind: 'Job' } });
  });

  test('a workload without a usable pod template is skipped, saying where the template should be', () => {
    const missing = inject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: {} });
    expect(missing.outcome).toBe('skipped');
    expect(missing.skip).toEqual({ reason: 'unreadable-pod', message: 'spec.template is missing, so there is no pod template; the API server will judge the manifest' });
    const empty = inject({ apiVersion: 'batch/v1', kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec: {} } } } } });
    expect(empty.skip?.message).toMatch(/^in the pod template spec\.jobTemplate\.spec\.template: .*spec\.containers is not a non-empty list$/);
  });
});

describe('annotations on the wrong level', () => {
  const deployment = (own: Record<string, string>, template: Record<string, string>) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'docs', annotations: own },
    spec: { template: { metadata: { annotations: template }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } } },
  });

  test('on the Deployment only: the pods get nothing, and the warning says where they belong', () => {
    const result = inject(deployment({ 'gitsync.dev/repo': 'https://github.com/acme/site.git', 'gitsync.dev/ref': 'main', 'deployment.kubernetes.io/revision': '3' }, {}));
    expect(result.outcome).toBe('skipped');
    expect(result.skip?.reason).toBe('not-opted-in');
    expect(result.warnings).toEqual([
      {
        code: 'ANNOTATIONS_ON_WORKLOAD',
        field: 'metadata.annotations',
        value: 'gitsync.dev/repo, gitsync.dev/ref',
        message:
          "gitsync.dev/repo, gitsync.dev/ref are on the Deployment's own metadata, which the injector never sees; they belong in spec.template.metadata.annotations, the pod template; the pod template has no gitsync.dev/* annotations, so its pods get nothing",
      },
    ]);
  });

  test('split between the two: only the keys the template lacks are named', () => {
    const result = inject(deployment({ 'gitsync.dev/ref': 'v2', 'gitsync.dev/repo': 'https://github.com/acme/other.git' }, { 'gitsync.dev/repo': 'https://github.com/acme/site.git' }));
    expect(result.outcome).toBe('injected');
    expect(result.injection?.ref).toBe('HEAD');
    expect(result.warnings).toEqual([
      expect.objectContaining({
        value: 'gitsync.dev/ref',
        message: "gitsync.dev/ref is on the Deployment's own metadata, which the injector never sees; it belongs in spec.template.metadata.annotations, the pod template",
      }),
    ]);
  });

  test('on both levels: nothing to say', () => {
    const same = { 'gitsync.dev/repo': 'https://github.com/acme/site.git' };
    expect(inject(deployment(same, same)).warnings).toEqual([]);
  });

  test('a CronJob\'s Job template metadata is a wrong level too', () => {
    const cronjob = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report', annotations: { 'gitsync.dev/ref': 'main' } },
      spec: {
        jobTemplate: {
          metadata: { annotations: { 'gitsync.dev/repo': 'https://github.com/acme/reports.git' } },
          spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'r', image: 'python' }] } } },
        },
      },
    };
    const fields = inject(cronjob).warnings.map((w) => [w.field, w.value, w.message.split(';')[1]?.trim()]);
    expect(fields).toEqual([
      ['metadata.annotations', 'gitsync.dev/ref', 'it belongs in spec.jobTemplate.spec.template.metadata.annotations, the pod template'],
      ['spec.jobTemplate.metadata.annotations', 'gitsync.dev/repo', 'it belongs in spec.jobTemplate.spec.template.metadata.annotations, the pod template'],
    ]);
  });

  test('the policy\'s prefix is the one looked for', () => {
    const custom: EngineContext = { ...ctx, policy: mustCompile({ ...BUILTIN_POLICY, annotationPrefix: 'git.example.com/' }).engine };
    const result = inject(deployment({ 'git.example.com/repo': 'https://github.com/acme/site.git', 'gitsync.dev/repo': 'x' }, {}), 'default', custom);
    expect(result.warnings.map((w) => w.value)).toEqual(['git.example.com/repo']);
  });

  test('a Pod has no wrong level', () => {
    expect(inject(fixture('pod.yaml')).warnings).toEqual([]);
  });
});
