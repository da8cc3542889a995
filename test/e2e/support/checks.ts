/**
 * The checks both modes run against a webhook registered with a real API
 * server. Each pod is first shown to the webhook's /preview, then created
 * through the API server; what the API server stores (or refuses, with what
 * message and warnings) must be what the preview said.
 */
import { expect, test } from 'vitest';
import { capWarnings } from '../../../src/admission/index.ts';
import { formatProblem, type Problem } from '../../../src/engine/index.ts';
import { injectedDifferences, untouchedProblems, type InjectionView } from './compare.ts';
import { eventually, type Kubectl, type KubectlResult } from './kubectl.ts';
import { creatable, goldenShapes, workloadShapes } from './shapes.ts';

/** What the preview says about one object (the fields of POST /preview's objects[] the checks read). */
export interface Prediction {
  outcome: string;
  object: Record<string, unknown>;
  podTemplate?: string;
  injection?: InjectionView;
  warnings: Problem[];
  errors: Problem[];
}

/** A webhook the API server calls, and how to reach it. */
export interface ClusterTarget {
  kubectl: Kubectl;
  /** The throwaway namespace; the only one the checks create anything in. */
  namespace: string;
  /** The webhook's name in its configuration: the API server quotes it in denials. */
  webhookName: string;
  /** The webhook's own /preview for one object, as if created in `namespace`. */
  preview(object: unknown): Promise<Prediction>;
  /** The injector's status annotation (prefix + status). */
  statusAnnotation: string;
  /** The webhook's admission log lines, when the test can read them (host mode). */
  admissionLines?: () => Record<string, unknown>[];
  timeoutMs: number;
}

type Json = Record<string, unknown>;

const nameOf = (object: Json): string => (object.metadata as { name: string }).name;

/** Creates `object` in the namespace and returns the stored object (or the refusal). */
async function create(t: ClusterTarget, object: unknown, extra: string[] = []): Promise<{ result: KubectlResult; stored?: Json }> {
  const result = await t.kubectl.run(['create', '-n', t.namespace, '-f', '-', '-o', 'json', ...extra], { input: JSON.stringify(object) });
  return result.code === 0 ? { result, stored: JSON.parse(result.stdout) as Json } : { result };
}

async function getPod(t: ClusterTarget, name: string): Promise<Json> {
  return t.kubectl.json(['get', 'pod', '-n', t.namespace, name]);
}

/** The text kubectl prints for the webhook's refusal: every error line of the prediction. */
function expectDenial(t: ClusterTarget, result: KubectlResult, prediction: Prediction): void {
  expect(result.code, `${result.command} should have been refused`).not.toBe(0);
  expect(result.stderr).toContain(`admission webhook "${t.webhookName}" denied the request`);
  for (const error of prediction.errors) expect(result.stderr).toContain(formatProblem(error));
}

/** kubectl prints each admission warning on stderr as "Warning: <text>"; the webhook cuts them as capWarnings does. */
function expectWarnings(result: KubectlResult, prediction: Prediction): void {
  for (const warning of capWarnings(prediction.warnings.map(formatProblem))) expect(result.stderr).toContain(`Warning: ${warning}`);
}

/** The text of each `Warning: ` line kubectl printed. */
const warningLines = (stderr: string): string[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('Warning: '))
    .map((l) => l.slice('Warning: '.length));

/**
 * What the API server says of a pod whose containers repeat env names (its
 * warnings for pods, pkg/api/pod/warnings.go): one warning for each later
 * entry of a name already defined in the same container.
 */
function repeatedEnvWarnings(pod: Json): string[] {
  const spec = pod.spec as Record<'initContainers' | 'containers', { env?: { name: string }[] }[] | undefined>;
  const out: string[] = [];
  for (const list of ['initContainers', 'containers'] as const) {
    (spec[list] ?? []).forEach((c, ci) => {
      const seen = new Set<string>();
      (c.env ?? []).forEach((e, ei) => {
        if (seen.has(e.name)) out.push(`spec.${list}[${ci}].env[${ei}]: hides previous definition of "${e.name}", which may be dropped when using apply`);
        seen.add(e.name);
      });
    });
  }
  return out;
}

/** The stored pod against the prediction, for each outcome. */
function expectStoredAsPredicted(t: ClusterTarget, sent: unknown, predictedPod: unknown, prediction: Prediction, stored: Json): void {
  if (prediction.outcome === 'injected') {
    expect(injectedDifferences(sent, predictedPod, stored, prediction.injection!)).toEqual([]);
  } else {
    expect(untouchedProblems(sent, stored, t.statusAnnotation)).toEqual([]);
  }
}

/**
 * Waits until the API server calls the webhook: a newly registered webhook
 * configuration takes a moment to be used. A server-side dry run of an
 * opted-in pod shows the injection once it is.
 */
export async function waitUntilCalled(t: ClusterTarget, what: string): Promise<void> {
  const probe = creatable({ metadata: { name: 'x', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/site.git' } }, spec: { containers: [{ name: 'probe' }] } }, 'probe');
  await eventually(what, t.timeoutMs, async () => {
    const { result, stored } = await create(t, probe, ['--dry-run=server']);
    if (!stored) throw new Error(result.stderr.trim());
    const annotations = (stored.metadata as { annotations?: Record<string, string> }).annotations ?? {};
    return t.statusAnnotation in annotations ? true : undefined;
  });
}

/** Registers the checks; `target` is read when they run (it is set up in beforeAll). */
export function defineClusterChecks(target: () => ClusterTarget): void {
  test.each(goldenShapes().map((s) => [s.file, s] as const))('golden %s: the API server stores (or refuses) what the preview predicted', async (_file, shape) => {
    const t = target();
    const prediction = await t.preview(shape.pod);
    const { result, stored } = await create(t, shape.pod);
    if (prediction.outcome === 'denied') {
      expectDenial(t, result, prediction);
      return;
    }
    expect(result.code, `${result.command}: ${result.stderr}`).toBe(0);
    expectWarnings(result, prediction);
    // Read back what was stored, not only what the create answered.
    expectStoredAsPredicted(t, shape.pod, prediction.object, prediction, await getPod(t, nameOf(stored!)));
  });

  test.each(workloadShapes().map((w) => [w.kind, w] as const))('a %s: the pods its controller creates are injected as the preview predicted', async (_kind, workload) => {
    const t = target();
    const prediction = await t.preview(workload.object);
    expect(prediction.outcome, 'the workload is meant to be injected under any policy that allows public GitHub repositories').toBe('injected');
    const { result } = await create(t, workload.object);
    expect(result.code, `${result.command}: ${result.stderr}`).toBe(0);
    const pod = await eventually(`a pod of ${workload.kind} ${nameOf(workload.object)}`, t.timeoutMs, async () => {
      const pods = await t.kubectl.json<{ items: Json[] }>(['get', 'pods', '-n', t.namespace, '-l', workload.selector]);
      return pods.items[0];
    });
    // The template before and after injection, as pods: what the controller's pod was made from, and what it should have become.
    const sentTemplate = (workload.object.spec as { template: Json }).template;
    const predictedTemplate = (prediction.object.spec as { template: Json }).template;
    expectStoredAsPredicted(t, sentTemplate, predictedTemplate, prediction, pod);
  });

  test('a bad annotation is refused through the API, with every problem in the message', async () => {
    const t = target();
    const pod = creatable(
      {
        metadata: { name: 'bad-annotations', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/dags.git', 'gitsync.dev/period': '5x', 'gitsync.dev/ref': '-main' } },
        spec: { containers: [{ name: 'app' }] },
      },
      'bad-annotations',
    );
    const prediction = await t.preview(pod);
    expect(prediction.outcome).toBe('denied');
    expect(prediction.errors.map((e) => e.field).sort()).toEqual(['gitsync.dev/period', 'gitsync.dev/ref']);
    const { result } = await create(t, pod);
    expectDenial(t, result, prediction);
    const missing = await t.kubectl.run(['get', 'pod', '-n', t.namespace, nameOf(pod)]);
    expect(missing.stderr).toMatch(/NotFound|not found/);
  });

  test('kubectl create --dry-run=server shows the mutation and stores nothing', async () => {
    const t = target();
    const pod = creatable(
      { metadata: { name: 'dry-run', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/site.git', 'gitsync.dev/mount-path': '/usr/share/nginx/html' } }, spec: { containers: [{ name: 'web' }] } },
      'dry-run',
    );
    const prediction = await t.preview(pod);
    expect(prediction.outcome).toBe('injected');
    const { result, stored } = await create(t, pod, ['--dry-run=server']);
    expect(result.code, `${result.command}: ${result.stderr}`).toBe(0);
    expectStoredAsPredicted(t, pod, prediction.object, prediction, stored!);
    const missing = await t.kubectl.run(['get', 'pod', '-n', t.namespace, nameOf(pod)]);
    expect(missing.stderr).toMatch(/NotFound|not found/);
  });

  test("secret-layout auto: the API server's own warnings about repeated env names, exactly", async () => {
    const t = target();
    const pod = creatable(
      {
        metadata: { name: 'auto-secret', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/dags.git', 'gitsync.dev/secret': 'git-creds' } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'job' }] },
      },
      'auto-secret',
    );
    const prediction = await t.preview(pod);
    expect(prediction.outcome).toBe('injected');
    const { result, stored } = await create(t, pod);
    expect(result.code, `${result.command}: ${result.stderr}`).toBe(0);
    const webhook = new Set(capWarnings(prediction.warnings.map(formatProblem)));
    const apiServer = warningLines(result.stderr).filter((w) => !webhook.has(w));
    // v1.32 said, for the one git-sync container (docs/credentials.md quotes it):
    //   spec.initContainers[0].env[10]: hides previous definition of "GITSYNC_USERNAME", which may be dropped when using apply
    //   spec.initContainers[0].env[11]: hides previous definition of "GITSYNC_USERNAME", which may be dropped when using apply
    //   spec.initContainers[0].env[14]: hides previous definition of "GITSYNC_PASSWORD", which may be dropped when using apply
    // The indexes follow the engine's env order, so they are read from the stored pod; the rest is exact.
    expect(apiServer).toEqual(repeatedEnvWarnings(stored!));
    expect(apiServer.map((w) => /^spec\.initContainers\[0\]\.env\[\d+\]: hides previous definition of "(\w+)", which may be dropped when using apply$/.exec(w)?.[1])).toEqual([
      'GITSYNC_USERNAME',
      'GITSYNC_USERNAME',
      'GITSYNC_PASSWORD',
    ]);
  });

  test('UPDATEs are left untouched', async () => {
    const t = target();
    const pod = creatable({ metadata: { name: 'x', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/site.git' } }, spec: { containers: [{ name: 'web' }] } }, 'updated');
    const name = nameOf(pod);
    const { result } = await create(t, pod);
    expect(result.code, `${result.command}: ${result.stderr}`).toBe(0);
    const before = await getPod(t, name);
    // Annotation and label changes are UPDATEs of the pod; the second is an annotation with the injector's own prefix.
    await t.kubectl.must(['annotate', 'pod', '-n', t.namespace, name, 'e2e.gitsync.dev/touched=yes']);
    await t.kubectl.must(['annotate', 'pod', '-n', t.namespace, name, 'gitsync.dev/ref=other-branch']);
    await t.kubectl.must(['label', 'pod', '-n', t.namespace, name, 'e2e.gitsync.dev/updated=yes']);
    const after = await getPod(t, name);
    expect(after.spec).toEqual(before.spec);
    const annotations = (after.metadata as { annotations: Record<string, string> }).annotations;
    expect(annotations[t.statusAnnotation]).toBe((before.metadata as { annotations: Record<string, string> }).annotations[t.statusAnnotation]);
    if (t.admissionLines) {
      // Registered for UPDATE too, the webhook was asked and let each one through untouched.
      const updates = t.admissionLines().filter((l) => l.msg === 'admission' && l.operation === 'UPDATE' && l.pod === name);
      expect(updates.length).toBeGreaterThanOrEqual(3);
      for (const line of updates) expect(line).toMatchObject({ outcome: 'allowed', reason: 'not-create' });
    }
  });
}
