/**
 * The webhook-free proof's machinery (support/webhook-free.ts), checked
 * without a cluster: the apiVersion rewrite for v1.32, the renaming and
 * binding of the export, the normalisation of stored pods (fed with what the
 * API server really adds) and the comparison that decides "equal".
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { boundTo, deniedBy, differences, goldenCases, groupBy, inBatches, normalisedPod, overridesFor, percentile, servedByV132, shortened, warningsOf } from './support/webhook-free.ts';

const map = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingAdmissionPolicy', metadata: { name: 'gitsync-injector' }, spec: {} };
const mapBinding = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingAdmissionPolicyBinding', metadata: { name: 'gitsync-injector' }, spec: { policyName: 'gitsync-injector' } };
const vap = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'gitsync-injector' }, spec: {} };
const vapBinding = {
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingAdmissionPolicyBinding',
  metadata: { name: 'gitsync-injector' },
  spec: { policyName: 'gitsync-injector', validationActions: ['Deny'], matchResources: { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] } } },
};

describe('the export on a v1.32 API server', () => {
  test('MutatingAdmissionPolicy and its binding become v1alpha1; the ValidatingAdmissionPolicy kinds stay v1', () => {
    expect(servedByV132([map, mapBinding, vap, vapBinding]).map((o) => `${o.kind} ${o.apiVersion}`)).toEqual([
      'MutatingAdmissionPolicy admissionregistration.k8s.io/v1alpha1',
      'MutatingAdmissionPolicyBinding admissionregistration.k8s.io/v1alpha1',
      'ValidatingAdmissionPolicy admissionregistration.k8s.io/v1',
      'ValidatingAdmissionPolicyBinding admissionregistration.k8s.io/v1',
    ]);
    expect(map.apiVersion, 'the input is not changed').toBe('admissionregistration.k8s.io/v1');
  });

  test('bound to a group: every name suffixed, bindings point at the renamed policy and also require the labels', () => {
    const [p, b, , vb] = boundTo([map, mapBinding, vap, vapBinding], 'run-g01', { run: 'x', export: 'g01' });
    expect(p!.metadata.name).toBe('gitsync-injector-run-g01');
    expect(b!.spec).toEqual({ policyName: 'gitsync-injector-run-g01', matchResources: { namespaceSelector: { matchLabels: { run: 'x', export: 'g01' } } } });
    // The export's own terms are kept: the group's pods must meet them too.
    expect(vb!.spec.matchResources.namespaceSelector).toEqual({ matchExpressions: [{ key: 'team', operator: 'Exists' }], matchLabels: { run: 'x', export: 'g01' } });
    expect(vapBinding.spec.matchResources.namespaceSelector).not.toHaveProperty('matchLabels');
  });
});

/** A pod as the API server returned it (kubectl create -o json, v1.32), trimmed. */
const stored = (namespace: string, token: string, uid: string, status: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'golden-13-x7k2p',
    generateName: 'golden-13-',
    namespace,
    uid,
    resourceVersion: '4711',
    creationTimestamp: '2026-12-01T13:20:00Z',
    managedFields: [{ manager: 'kubectl-create', operation: 'Update' }],
    annotations: { 'gitsync.dev/repo': 'https://github.com/acme/site.git', 'gitsync.dev/status': status },
  },
  spec: {
    containers: [{ name: 'web', volumeMounts: [{ name: `kube-api-access-${token}`, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }] }],
    volumes: [{ name: `kube-api-access-${token}`, projected: { defaultMode: 420 } }],
  },
  status: { phase: 'Pending', qosClass: 'BestEffort' },
});

describe('comparing what the API server stored in each mode', () => {
  test("identity, timestamps, managers, the namespace, a generated name and the token volume's suffix are taken out; the status is parsed", () => {
    const a = normalisedPod(stored('wf-1-13-w', 'abcde', 'u1', '{"mode":"sidecar","config":"268cef9af702"}'), 'gitsync.dev/status');
    const b = normalisedPod(stored('wf-1-13-x', 'z9y8x', 'u2', '{"mode":"sidecar","engine":"admission-policy"}'), 'gitsync.dev/status');
    expect(differences(a.pod, b.pod)).toEqual([]);
    expect(a.pod.metadata).toEqual({ generateName: 'golden-13-', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/site.git' } });
    expect(a.pod.spec.volumes[0].name).toBe('kube-api-access-TOKEN');
    expect(a.status).toEqual({ mode: 'sidecar', config: '268cef9af702' });
    expect(b.status).toEqual({ mode: 'sidecar', engine: 'admission-policy' });
  });

  test('a pod without the status annotation has no status', () => {
    const pod = stored('ns', 'abcde', 'u', '');
    delete (pod.metadata.annotations as Record<string, string>)['gitsync.dev/status'];
    expect(normalisedPod(pod, 'gitsync.dev/status').status).toBeUndefined();
  });

  test('every difference is named by its path: values, missing keys, list items and their order', () => {
    expect(differences({ a: [{ name: 'x', v: 1 }, { name: 'y' }], b: 'same' }, { a: [{ name: 'x', v: 2 }], b: 'same' })).toEqual(['a[0].v: 1 != 2', 'a[1]: only in the first: {"name":"y"}']);
    expect(differences({ env: [{ name: 'A' }, { name: 'B' }] }, { env: [{ name: 'B' }, { name: 'A' }] })).toEqual(['env[0].name: "A" != "B"', 'env[1].name: "B" != "A"']);
    expect(differences({ k: 'v' }, {})).toEqual(['k: "v" != undefined']);
    expect(differences({ n: null }, { n: null })).toEqual([]);
  });
});

describe('the golden cases as the proof runs them', () => {
  const cases = goldenCases();

  test('every golden file, each with a distinct id and a creatable pod', () => {
    const files = readdirSync(join(import.meta.dirname, '..', 'golden', 'pods')).filter((f) => f.endsWith('.yaml'));
    expect(cases.map((c) => c.file).sort()).toEqual(files.sort());
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    for (const c of cases) expect(c.pod.metadata.namespace).toBeUndefined();
  });

  test('the excluded-namespace case excludes the namespaces it is created in instead; other cases keep their policy', () => {
    const excluded = cases.find((c) => c.namespace === 'kube-system')!;
    expect(overridesFor(excluded, ['a-w', 'a-x'], BUILTIN_POLICY.excludedNamespaces)?.excludedNamespaces).toEqual(['kube-system', 'a-w', 'a-x']);
    const plain = cases.find((c) => c.file.startsWith('01-'))!;
    expect(overridesFor(plain, ['b-w', 'b-x'], BUILTIN_POLICY.excludedNamespaces)).toBe(plain.policy);
  });

  test('cases with the same policy share a group, in order of first appearance', () => {
    const groups = groupBy(['a', 'b', 'a', 'c'], (x) => x);
    expect(groups.map((g) => [g.name, g.members])).toEqual([
      ['g01', ['a', 'a']],
      ['g02', ['b']],
      ['g03', ['c']],
    ]);
  });
});

test('percentiles by nearest rank; batches keep order and never run more than the limit at once', async () => {
  const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
  expect([percentile(samples, 50), percentile(samples, 99), percentile(samples, 100)]).toEqual([50, 99, 100]);
  let running = 0;
  let most = 0;
  const out = await inBatches([1, 2, 3, 4, 5, 6, 7], 3, async (x) => {
    most = Math.max(most, ++running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running--;
    return x * 2;
  });
  expect(out).toEqual([2, 4, 6, 8, 10, 12, 14]);
  expect(most).toBe(3);
});

describe("reading what kubectl printed (texts from kube-apiserver v1.32)", () => {
  const header = 'admission webhook "g01.wf-66588b.proof.gitsync.dev" denied the request';
  const denial = [
    `Error from server: error when creating "STDIN": ${header}: gitsync-injector cannot inject git-sync into pod wf-66588b-92-x/golden-92: 3 errors:`,
    'gitsync.dev/ca-bundle-data: is written by the injector, never by pods; remove it [RESERVED_ANNOTATION]',
    'gitsync.dev/known-hosts (default): "policy" needs SSH host keys from the policy, which lists none; ask the platform team to add the host\'s keys [KNOWN_HOSTS_UNAVAILABLE]',
    'gitsync.dev/sync-timeout: "1h" is above the policy maximum 10m; use at most 10m [SYNC_TIMEOUT_ABOVE_MAXIMUM]',
    '',
  ].join('\n');

  test("the webhook's errors: each line's annotation (without where its value came from) and code", () => {
    expect(deniedBy({ code: 1, stderr: denial }, header)).toEqual([
      { field: 'gitsync.dev/ca-bundle-data', code: 'RESERVED_ANNOTATION' },
      { field: 'gitsync.dev/known-hosts', code: 'KNOWN_HOSTS_UNAVAILABLE' },
      { field: 'gitsync.dev/sync-timeout', code: 'SYNC_TIMEOUT_ABOVE_MAXIMUM' },
    ]);
  });

  test("not the webhook's denial: admitted, or refused by someone else", () => {
    expect(deniedBy({ code: 0, stderr: '' }, header)).toBeUndefined();
    const vap = `The pods "golden-22" is invalid: : ValidatingAdmissionPolicy 'gitsync-injector-wf-1-g01' with binding 'gitsync-injector-wf-1-g01' denied request: gitsync.dev/ref: "-main" is not a valid branch [REF_INVALID]`;
    expect(deniedBy({ code: 1, stderr: vap }, header)).toBeUndefined();
  });

  test("warnings: the text of each 'Warning: ' line", () => {
    const stderr = [
      "Warning: Validation failed for ValidatingAdmissionPolicy 'warn-test' with binding 'warn-test': gitsync.dev/period: both first [E_W1]",
      'pod/w1 created',
      'Warning: spec.containers[0].env[1]: hides previous definition of "GITSYNC_USERNAME", which may be dropped when using apply',
    ].join('\n');
    expect(warningsOf({ stderr })).toEqual([
      "Validation failed for ValidatingAdmissionPolicy 'warn-test' with binding 'warn-test': gitsync.dev/period: both first [E_W1]",
      'spec.containers[0].env[1]: hides previous definition of "GITSYNC_USERNAME", which may be dropped when using apply',
    ]);
  });

  test('a long refusal keeps its start (what) and its end (why)', () => {
    const text = `MutatingAdmissionPolicy "x" is invalid: ${'q'.repeat(5000)}: compilation failed: ERROR: <input>:1:19772: invalid matches argument`;
    const short = shortened(text);
    expect(short.length).toBeLessThan(2500);
    expect(short.startsWith('MutatingAdmissionPolicy "x" is invalid')).toBe(true);
    expect(short.endsWith('invalid matches argument')).toBe(true);
    expect(shortened('short')).toBe('short');
  });
});
