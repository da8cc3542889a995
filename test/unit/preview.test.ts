/**
 * The preview of objects: which namespace, what each object is, Lists item
 * by item, AdmissionReviews answered by the webhook's adapter, and the one
 * line `check` prints for each outcome.
 */
import { describe, expect, test } from 'vitest';
import { admit, type AdmissionDeps } from '../../src/admission/index.ts';
import {
  checkLine,
  documentPatch,
  evaluateDocument,
  parseSource,
  previewObject,
  previewText,
  refusal,
  summarise,
  warningLines,
  type PreviewObject,
} from '../../src/preview/index.ts';
import { applyPatchToCopy } from '../support/apply.ts';
import { badPod, engineContext, reviewOf, samplePod } from '../support/server.ts';

const deps: AdmissionDeps = { ctx: engineContext(), namespaceAnnotations: () => undefined };
const at = { document: 1 };

describe('namespaces', () => {
  const pod = (namespace?: string) => {
    const p = samplePod() as { metadata: Record<string, unknown> };
    if (namespace !== undefined) p.metadata.namespace = namespace;
    return p;
  };

  test('the object\'s own namespace, else the one given, else default', () => {
    expect(previewObject(pod('web'), deps, { namespace: 'other' }, at).namespace).toBe('web');
    expect(previewObject(pod(), deps, { namespace: 'other' }, at).namespace).toBe('other');
    expect(previewObject(pod(), deps, {}, at).namespace).toBe('default');
    expect(previewObject(pod(''), deps, {}, at).namespace).toBe('default');
  });

  test('the namespace decides exclusion, as in the webhook', () => {
    expect(previewObject(pod(), deps, { namespace: 'kube-system' }, at)).toMatchObject({ outcome: 'skipped', skip: { reason: 'excluded-namespace' } });
  });

  test('namespace defaults are asked for the resolved namespace', () => {
    const asked: string[] = [];
    const withDefaults: AdmissionDeps = {
      ...deps,
      namespaceAnnotations: (ns) => {
        asked.push(ns);
        return { 'gitsync.dev/repo': 'https://github.com/acme/team.git' };
      },
    };
    const optedIn = { kind: 'Pod', metadata: { name: 'p', annotations: { 'gitsync.dev/inject': 'true' } }, spec: { containers: [{ name: 'c', image: 'x' }] } };
    expect(previewObject(optedIn, withDefaults, { namespace: 'team' }, at)).toMatchObject({ outcome: 'injected', injection: { repo: 'https://github.com/acme/team.git' } });
    expect(asked).toEqual(['team']);
  });

  test('objects that are not workloads keep their own namespace, or none', () => {
    expect(previewObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'airflow' } }, deps, { namespace: 'x' }, at)).toMatchObject({
      outcome: 'ignored',
      namespace: '',
      note: 'Namespace has no pod template; passed through untouched',
    });
  });
});

describe('documents', () => {
  const doc = (text: string) => parseSource('x.yaml', text, 'yaml').documents[0]!;

  test('a List is expanded item by item and its patch is rebased under /items/N', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, samplePod(), { apiVersion: 'v1', kind: 'List', items: [] }],
    };
    const evaluated = evaluateDocument(doc(JSON.stringify(list)), deps, {});
    expect(evaluated.objects.map((o) => [o.item, o.kind, o.outcome, o.note])).toEqual([
      [0, 'ConfigMap', 'ignored', 'ConfigMap has no pod template; passed through untouched'],
      [1, 'Pod', 'injected', undefined],
      [2, 'List', 'ignored', 'a List inside a List is not expanded'],
    ]);
    const patch = documentPatch(evaluated);
    expect(patch.every((op) => op.path.startsWith('/items/1/'))).toBe(true);
    expect(applyPatchToCopy(list, patch)).toEqual(evaluated.output);
    expect(evaluated.changed).toBe(true);
  });

  test('an unchanged document\'s output is its input', () => {
    const evaluated = evaluateDocument(doc('kind: Service\nmetadata: {name: s}\n'), deps, {});
    expect(evaluated.changed).toBe(false);
    expect(evaluated.output).toBe(evaluated.doc.value);
  });

  test('an empty document has no objects', () => {
    expect(evaluateDocument(parseSource('x', '---\n', 'yaml').documents[0]!, deps, {}).objects).toEqual([]);
  });
});

describe('AdmissionReviews are answered by the webhook\'s adapter', () => {
  test('the review in the preview is admit()\'s, and the object is the patched pod', () => {
    const review = reviewOf(samplePod(), { uid: 'u-1' });
    const { objects } = previewText('r.json', JSON.stringify(review), 'auto', deps);
    const expected = admit(review, deps);
    expect(objects).toHaveLength(1);
    expect(objects[0]!.review).toEqual(expected.review);
    expect(objects[0]).toMatchObject({ kind: 'Pod', name: 'web-*', namespace: 'team-a', outcome: 'injected', injected: true, patch: expected.result!.patch });
    expect(objects[0]!.object).toEqual(applyPatchToCopy(samplePod(), expected.result!.patch));
  });

  test.each([
    [reviewOf(samplePod(), { operation: 'DELETE' }), 'allowed', 'only CREATE requests are mutated; the webhook allows this one untouched'],
    [reviewOf(samplePod(), { subResource: 'status' }), 'allowed', 'the request is for a subresource; the webhook allows it untouched'],
    [{ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'old' } }, 'invalid', expect.stringContaining('only admission.k8s.io/v1 is supported')],
  ])('%#: %s', (review, outcome, note) => {
    const [entry] = previewText('r.json', JSON.stringify(review), 'auto', deps).objects;
    expect(entry).toMatchObject({ outcome, note, patch: [] });
    expect(entry!.review).toEqual(admit(review, deps).review);
  });
});

test('an engine failure is reported as the denial the webhook would answer, not thrown', () => {
  const broken: AdmissionDeps = { ...deps, ctx: { ...deps.ctx, policy: { ...deps.ctx.policy, excludedNamespaces: undefined as never } } };
  const entry = previewObject(samplePod(), broken, {}, at);
  expect(entry).toMatchObject({ outcome: 'error', injected: false, patch: [], note: expect.stringMatching(/^internal error while injecting: /) });
});

test('summarise counts every outcome', () => {
  const objects = previewText('m.yaml', 'kind: ConfigMap\n---\n' + JSON.stringify(samplePod()) + '\n---\n' + JSON.stringify(badPod()), 'yaml', deps).objects;
  expect(summarise(objects)).toEqual({ objects: 3, injected: 1, skipped: 0, denied: 1, ignored: 1, allowed: 0, invalid: 0, error: 0 });
});

describe('check lines', () => {
  const line = (object: unknown, extra: Partial<PreviewObject> = {}) => checkLine({ ...previewObject(object, deps, {}, { document: 2, line: 14 }), source: 'app.yaml', ...extra });

  test('injected: mode, containers, repository, ref, and the folder the app reads', () => {
    expect(line(samplePod({ 'gitsync.dev/ref': 'v2', 'gitsync.dev/sub-path': 'site' }))).toBe(
      'app.yaml:14 (document 2) Pod default/web-*: injected, mode sidecar: init container git-sync-init, sidecar git-sync; repo https://github.com/acme/site.git, ref v2; web reads /git/repo/site',
    );
  });

  test('native and init-only modes name their containers for what they are', () => {
    expect(line(samplePod({ 'gitsync.dev/mode': 'native' }))).toContain('injected, mode native: native sidecar git-sync;');
    expect(line(samplePod({ 'gitsync.dev/mode': 'init-only' }))).toContain('injected, mode init-only: init container git-sync-init;');
  });

  test('not injected: the skip reason and its explanation', () => {
    expect(line(samplePod({ 'gitsync.dev/inject': 'false' }))).toBe('app.yaml:14 (document 2) Pod default/web-*: not injected (opted-out): the pod says inject: "false"');
  });

  test('denied: every error, with its annotation and code', () => {
    expect(line(badPod())).toBe(
      'app.yaml:14 (document 2) Pod default/web-*: denied, 2 errors: gitsync.dev/period: "5x" is not a duration; use a Go duration such as 30s, 5m or 1h30m [DURATION_INVALID]; gitsync.dev/mode: "bogus" is not allowed; use one of auto, sidecar, native, init-only [VALUE_NOT_ALLOWED]',
    );
  });

  test('warnings follow on the same line', () => {
    expect(line(samplePod({ 'gitsync.dev/brnach': 'main' }))).toMatch(/; warning: gitsync\.dev\/brnach: is not an annotation the injector knows and is ignored; did you mean gitsync\.dev\/ref\? \[UNKNOWN_ANNOTATION\]$/);
  });

  test('other kinds and List items', () => {
    expect(line({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'web' } })).toBe('app.yaml:14 (document 2) Service web/s: ignored: Service has no pod template; passed through untouched');
    expect(line({ kind: 'Service', metadata: { name: 's' } }, { item: 3 })).toMatch(/^app\.yaml:14 \(document 2, item 3\) Service s: /);
  });

  test('inject\'s stderr: a refusal with each error on its own line, warnings one per line', () => {
    const denied = { ...previewObject(badPod(), deps, {}, { document: 1, line: 1 }), source: 'pod.yaml' };
    expect(refusal(denied)).toBe(
      'pod.yaml:1 (document 1) Pod default/web-* would be denied, 2 errors:\n  gitsync.dev/period: "5x" is not a duration; use a Go duration such as 30s, 5m or 1h30m [DURATION_INVALID]\n  gitsync.dev/mode: "bogus" is not allowed; use one of auto, sidecar, native, init-only [VALUE_NOT_ALLOWED]',
    );
    const warned = { ...previewObject(samplePod({ 'gitsync.dev/period': '1s' }), deps, {}, { document: 1, line: 1 }), source: 'pod.yaml' };
    expect(warningLines(warned)).toEqual([expect.stringMatching(/^pod\.yaml:1 \(document 1\) Pod default\/web-\*: warning: gitsync\.dev\/period: .*\[PERIOD_RAISED\]$/)]);
  });
});
