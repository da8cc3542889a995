import fastJsonPatch from 'fast-json-patch';
import { describe, expect, test, vi } from 'vitest';
import { admit, answerJson, MAX_WARNINGS_TOTAL, MAX_WARNING_LENGTH, type AdmissionDeps } from '../../src/admission/index.ts';
import { formatProblem, injectPod } from '../../src/engine/index.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { mustCompile } from '../../src/policy/compile.ts';
import { badPod, decodePatch, engineContext, reviewOf, samplePod } from '../support/server.ts';

const { applyPatch } = fastJsonPatch;

const UID = '705ab4f5-6393-11e8-b7cc-42010a800002';
const deps = (overrides: Partial<AdmissionDeps> = {}): AdmissionDeps => ({ ctx: engineContext(), namespaceAnnotations: () => undefined, ...overrides });

interface PodShape {
  metadata: { annotations: Record<string, string> };
  spec: {
    containers: { name: string; image?: string; volumeMounts?: { name: string; mountPath: string }[] }[];
    initContainers?: { name: string; image?: string }[];
    volumes?: { name: string }[];
  };
}

describe('admit: Pod CREATE', () => {
  test('injects: the uid is echoed and the base64 patch applies to the pod, adding git-sync', () => {
    const pod = samplePod();
    const before = structuredClone(pod);
    const { statusCode, review, summary } = admit(reviewOf(pod), deps());

    expect(statusCode).toBe(200);
    expect(review.apiVersion).toBe('admission.k8s.io/v1');
    expect(review.kind).toBe('AdmissionReview');
    expect(review.response).toMatchObject({ uid: UID, allowed: true, patchType: 'JSONPatch' });
    expect(review.response.status).toBeUndefined();

    const patched = applyPatch(structuredClone(pod), decodePatch(review.response), true).newDocument as unknown as PodShape;
    const images = [...patched.spec.containers, ...(patched.spec.initContainers ?? [])].map((c) => c.image ?? '');
    expect(images.filter((i) => i.includes('git-sync')).length).toBeGreaterThan(0);
    expect(patched.spec.containers.map((c) => c.name)).toContain('web');
    expect(patched.spec.containers.find((c) => c.name === 'web')?.volumeMounts?.length).toBeGreaterThan(0);
    expect(patched.metadata.annotations['gitsync.dev/status']).toBeDefined();
    expect(pod).toEqual(before);

    expect(summary).toMatchObject({ uid: UID, namespace: 'team-a', pod: 'web-*', operation: 'CREATE', kind: 'Pod', outcome: 'injected', dryRun: false });
  });

  test('the patch is exactly what the engine computes for the request namespace', () => {
    const pod = samplePod();
    const { review } = admit(reviewOf(pod), deps());
    const direct = injectPod({ pod, namespace: 'team-a' }, engineContext());
    expect(decodePatch(review.response)).toEqual(direct.patch);
  });

  test('the answer text is exactly JSON.stringify of the review, patch, warnings and odd uids included', () => {
    const withWarning = samplePod({ 'gitsync.dev/branch': 'main' });
    const reviews = [
      reviewOf(samplePod()),
      reviewOf(withWarning),
      reviewOf(samplePod(), { uid: '"patch":"" \\ \u2028 é \ud800' }),
      reviewOf(badPod()),
      reviewOf({ metadata: { name: 'plain' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } }),
      { apiVersion: 'v1' },
    ];
    for (const body of reviews) {
      const { review } = admit(body, deps());
      expect(answerJson(review)).toBe(JSON.stringify(review));
    }
    expect(admit(reviewOf(withWarning), deps()).review.response).toMatchObject({ patchType: 'JSONPatch', warnings: [expect.stringContaining('branch')] });
  });

  test('a pod that went through the patch is left alone when the webhook is called again', () => {
    const pod = samplePod();
    const first = admit(reviewOf(pod), deps());
    const patched = applyPatch(structuredClone(pod), decodePatch(first.review.response), true).newDocument;
    const again = admit(reviewOf(patched), deps());
    expect(again.review.response).toEqual({ uid: UID, allowed: true });
    expect(again.summary).toMatchObject({ outcome: 'skipped', reason: 'already-injected' });
  });

  test('the namespace comes from request.namespace, and its annotations are looked up by that name', () => {
    const namespaceAnnotations = vi.fn((ns: string) => (ns === 'team-a' ? { 'gitsync.dev/repo': 'https://github.com/acme/dags.git' } : undefined));
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'worker-', annotations: { 'gitsync.dev/inject': 'true' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } };
    const { review, summary } = admit(reviewOf(pod), deps({ namespaceAnnotations }));
    expect(namespaceAnnotations).toHaveBeenCalledWith('team-a');
    expect(review.response.allowed).toBe(true);
    expect(review.response.patchType).toBe('JSONPatch');
    expect(summary).toMatchObject({ outcome: 'injected', namespace: 'team-a', pod: 'worker-*' });
  });

  test('warnings from the engine come back as formatted admission warnings', () => {
    const { review, summary } = admit(reviewOf(samplePod({ 'gitsync.dev/period': '1s' })), deps());
    expect(review.response.allowed).toBe(true);
    expect(review.response.warnings?.some((w) => w.includes('gitsync.dev/period') && w.endsWith('[PERIOD_RAISED]'))).toBe(true);
    expect(summary.warnings).toBe(review.response.warnings?.length);
  });

  test('denies bad annotations with one message that names the pod and lists every error, one per line', () => {
    const pod = badPod();
    const { statusCode, review, summary } = admit(reviewOf(pod), deps());
    const errors = injectPod({ pod, namespace: 'team-a' }, engineContext()).errors;
    expect(errors.map((e) => e.code)).toEqual(['DURATION_INVALID', 'VALUE_NOT_ALLOWED']);

    expect(statusCode).toBe(200);
    expect(review.response.uid).toBe(UID);
    expect(review.response.allowed).toBe(false);
    expect(review.response.patch).toBeUndefined();
    expect(review.response.status?.code).toBe(400);
    const lines = review.response.status!.message.split('\n');
    expect(lines[0]).toContain('team-a/web-*');
    expect(lines[0]).toContain('2 errors');
    expect(lines.slice(1)).toEqual(errors.map(formatProblem));
    expect(lines.slice(1).join('\n')).toMatch(/gitsync\.dev\/period: .*"5x"/);
    expect(lines.slice(1).join('\n')).toMatch(/gitsync\.dev\/mode: .*"bogus"/);
    expect(summary).toMatchObject({ outcome: 'denied', reason: 'DURATION_INVALID,VALUE_NOT_ALLOWED' });
  });

  test("without request.namespace, the pod's own metadata.namespace names it", () => {
    const pod = badPod();
    (pod.metadata as Record<string, unknown>).namespace = 'team-b';
    const { review, summary } = admit(reviewOf(pod, { namespace: undefined }), deps());
    expect(review.response.status?.message).toContain('team-b/web-*');
    expect(summary.namespace).toBe('team-b');
  });

  test('a pod that did not opt in is allowed untouched, with the skip reason in the summary', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } };
    const { review, summary } = admit(reviewOf(pod), deps());
    expect(review.response).toEqual({ uid: UID, allowed: true });
    expect(summary).toMatchObject({ outcome: 'skipped', reason: 'not-opted-in', pod: 'plain' });
  });

  test('when the policy admits bad pods untouched, every error and warning comes back as a warning', () => {
    const policy = mustCompile({ ...BUILTIN_POLICY, onInvalidAnnotations: 'admit' }).engine;
    const pod = samplePod({ 'gitsync.dev/period': '5x', 'gitsync.dev/mode': 'bogus', 'gitsync.dev/colour': 'blue' });
    const result = injectPod({ pod, namespace: 'team-a' }, { ...engineContext(), policy });
    const { review, summary } = admit(reviewOf(pod), deps({ ctx: { ...engineContext(), policy } }));
    expect(review.response.allowed).toBe(true);
    expect(review.response.patch).toBeUndefined();
    expect(review.response.warnings).toEqual([...result.errors, ...result.warnings].map(formatProblem));
    expect(review.response.warnings).toHaveLength(3);
    expect(summary).toMatchObject({ outcome: 'skipped', reason: 'invalid-annotations', warnings: 3 });
  });

  test('dryRun is answered exactly like a real request', () => {
    for (const pod of [samplePod(), badPod()]) {
      const real = admit(reviewOf(pod, { dryRun: false }), deps());
      const dry = admit(reviewOf(pod, { dryRun: true }), deps());
      expect(dry.review).toEqual(real.review);
      expect(dry.summary).toEqual({ ...real.summary, dryRun: true });
    }
  });

  test('reads the policy from deps on every call, so a replaced policy applies at once', () => {
    const d = deps();
    const pod = samplePod({ 'gitsync.dev/period': '5x' });
    expect(admit(reviewOf(pod), d).review.response.allowed).toBe(false);
    d.ctx = { ...d.ctx, policy: mustCompile({ ...BUILTIN_POLICY, onInvalidAnnotations: 'admit' }).engine };
    expect(admit(reviewOf(pod), d).review.response.allowed).toBe(true);
  });
});

describe('admit: requests it lets through untouched', () => {
  const untouched = (body: unknown) => {
    const { statusCode, review, summary } = admit(body, deps());
    expect(statusCode).toBe(200);
    expect(review.response).toEqual({ uid: UID, allowed: true });
    return summary;
  };

  test.each(['UPDATE', 'DELETE', 'CONNECT'])('%s of a pod, even one with bad annotations', (operation) => {
    const summary = untouched(reviewOf(operation === 'DELETE' ? null : badPod(), { operation, oldObject: badPod() }));
    expect(summary).toMatchObject({ outcome: 'allowed', reason: 'not-create', operation, pod: 'web-*' });
  });

  test('other kinds', () => {
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/site.git' } } };
    const summary = untouched(
      reviewOf(deployment, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' } }),
    );
    expect(summary).toMatchObject({ outcome: 'allowed', reason: 'not-a-pod', kind: 'Deployment' });
    untouched(reviewOf(samplePod(), { kind: { group: 'example.com', version: 'v1', kind: 'Pod' }, resource: { group: 'example.com', version: 'v1', resource: 'pods' } }));
  });

  test.each([
    ['status', 'UPDATE', { group: '', version: 'v1', kind: 'Pod' }],
    ['ephemeralcontainers', 'UPDATE', { group: '', version: 'v1', kind: 'Pod' }],
    ['binding', 'CREATE', { group: '', version: 'v1', kind: 'Binding' }],
    ['eviction', 'CREATE', { group: 'policy', version: 'v1', kind: 'Eviction' }],
    ['status', 'CREATE', { group: '', version: 'v1', kind: 'Pod' }],
  ])('the %s subresource (%s)', (subResource, operation, kind) => {
    const summary = untouched(reviewOf(badPod(), { subResource, operation, kind }));
    expect(summary.outcome).toBe('allowed');
  });
});

describe('admit: bodies that are not usable AdmissionReviews', () => {
  test.each([
    ['null', null, /the body is null/],
    ['an array', [reviewOf(samplePod())], /the body is an array/],
    ['a string', 'hello', /the body is a string/],
    ['a number', 42, /the body is a number/],
    ['nothing', undefined, /the body is missing/],
  ])('%s: HTTP 400 with a well-formed review and an empty uid', (_name, body, message) => {
    const { statusCode, review, summary } = admit(body, deps());
    expect(statusCode).toBe(400);
    expect(review).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: '', allowed: false, status: { code: 400, message: expect.stringMatching(message) } } });
    expect(summary.outcome).toBe('invalid');
  });

  test('a wrong apiVersion is named, and the uid still echoed', () => {
    const body = { ...reviewOf(samplePod()), apiVersion: 'admission.k8s.io/v1beta1' };
    const { statusCode, review } = admit(body, deps());
    expect(statusCode).toBe(400);
    expect(review.response.uid).toBe(UID);
    expect(review.response.allowed).toBe(false);
    expect(review.response.status?.message).toMatch(/^apiVersion is "admission.k8s.io\/v1beta1"; only admission.k8s.io\/v1 is supported/);
  });

  test('a wrong kind is named', () => {
    const { statusCode, review } = admit({ ...reviewOf(samplePod()), kind: 'Pod' }, deps());
    expect(statusCode).toBe(400);
    expect(review.response.status?.message).toBe('kind is "Pod"; expected AdmissionReview');
  });

  test('a review without a request', () => {
    const { statusCode, review } = admit({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, deps());
    expect(statusCode).toBe(400);
    expect(review.response).toEqual({
      uid: '',
      allowed: false,
      status: { code: 400, message: 'request is missing; an AdmissionReview sent to a webhook must carry a request object' },
    });
  });

  test.each([
    ['missing', undefined, 'request.uid is missing; it must be a non-empty string'],
    ['empty', '', 'request.uid is empty; it must be a non-empty string'],
    ['a number', 7, 'request.uid is a number; it must be a non-empty string'],
  ])('request.uid %s', (_name, uid, message) => {
    const { statusCode, review } = admit(reviewOf(samplePod(), { uid }), deps());
    expect(statusCode).toBe(400);
    expect(review.response).toEqual({ uid: '', allowed: false, status: { code: 400, message } });
  });

  test.each([
    ['missing', undefined, 'request.object is missing'],
    ['null', null, 'request.object is not a JSON object'],
    ['an array', [samplePod()], 'request.object is not a JSON object'],
    ['a string', 'pod', 'request.object is not a JSON object'],
  ])('a Pod CREATE whose object is %s: allowed false with code 400 in an HTTP 200 review', (_name, object, message) => {
    const { statusCode, review, summary } = admit(reviewOf(object), deps());
    expect(statusCode).toBe(200);
    expect(review.response.uid).toBe(UID);
    expect(review.response.allowed).toBe(false);
    expect(review.response.status).toEqual({ code: 400, message: expect.stringContaining(message) });
    expect(summary.outcome).toBe('invalid');
  });

  test('a request without kind, resource or operation says which are missing', () => {
    const { statusCode, review } = admit(reviewOf(samplePod(), { kind: undefined, resource: 'pods', operation: undefined }), deps());
    expect(statusCode).toBe(200);
    expect(review.response.allowed).toBe(false);
    const message = review.response.status!.message;
    expect(message).toContain('request.operation is missing');
    expect(message).toContain('request.kind is missing');
    expect(message).toContain('request.resource is "pods"');
  });
});

describe('admit: failures inside the injector', () => {
  test('an exception from the engine is a 500 status in an HTTP 200 review, and is handed back for logging', () => {
    // A policy missing a compiled part makes the engine itself throw.
    const broken = { ...engineContext().policy, excludedNamespaces: undefined as unknown as ReadonlySet<string> };
    const { statusCode, review, summary, error } = admit(reviewOf(samplePod()), deps({ ctx: { ...engineContext(), policy: broken } }));
    expect(statusCode).toBe(200);
    expect(review.response.uid).toBe(UID);
    expect(review.response.allowed).toBe(false);
    expect(review.response.status?.code).toBe(500);
    expect(review.response.status?.message).toMatch(/^internal error .*team-a\/web-\*.*see the injector's logs/);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).stack).toBeDefined();
    expect(summary.outcome).toBe('error');
  });

  test('so is an exception from the namespace annotations provider', () => {
    const { review, summary } = admit(
      reviewOf(samplePod()),
      deps({
        namespaceAnnotations: () => {
          throw new Error('informer not synced');
        },
      }),
    );
    expect(review.response.status?.code).toBe(500);
    expect(summary).toMatchObject({ outcome: 'error', reason: 'informer not synced' });
  });
});

describe('admit: warning limits', () => {
  test('each warning is cut to 256 characters and the total kept within 4096, with a note of how many were left out', () => {
    // Unknown annotations with the prefix each give a warning that quotes the key, the first ten of the pod's and of its namespace's.
    const annotations: Record<string, string> = {};
    for (let i = 0; i < 60; i++) annotations[`gitsync.dev/unknown-${String(i).padStart(2, '0')}-${'x'.repeat(300)}`] = 'v';
    const pod = samplePod(annotations);
    const engine = injectPod({ pod, namespace: 'team-a', namespaceAnnotations: annotations }, engineContext());
    expect(engine.warnings.length).toBeGreaterThanOrEqual(20);

    const { review, summary } = admit(reviewOf(pod), deps({ namespaceAnnotations: () => annotations }));
    const warnings = review.response.warnings!;
    expect(review.response.allowed).toBe(true);
    for (const w of warnings) expect(w.length).toBeLessThanOrEqual(MAX_WARNING_LENGTH);
    expect(warnings.reduce((n, w) => n + w.length, 0)).toBeLessThanOrEqual(MAX_WARNINGS_TOTAL);
    const shown = warnings.length - 1;
    expect(warnings.at(-1)).toBe(`… ${engine.warnings.length - shown} more warnings not shown`);
    expect(warnings[0]).toBe(`${formatProblem(engine.warnings[0]!).slice(0, MAX_WARNING_LENGTH - 1)}…`);
    expect(summary.warnings).toBe(warnings.length);
  });
});
