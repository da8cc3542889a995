/**
 * Big repositories, value by value and decision by decision: the sparse
 * folder list and the cone-format file made from it, partial clone filters
 * and the policy's allow-list, per-pod resources within the policy's maxima,
 * and the default that `sub-path` alone does not narrow the checkout.
 * Golden pods (test/golden/pods/8x, 9x) show whole pods; test/gitsync/sparse
 * shows real git-sync with the files made here.
 */
import { describe, expect, it, test } from 'vitest';
import { admit } from '../../src/admission/index.ts';
import { formatProblem, injectPod, type EnginePolicy, type InjectResult } from '../../src/engine/index.ts';
import { filterAllowed, parseFilter } from '../../src/engine/values/filter.ts';
import { parseQuantity, quantityValue } from '../../src/engine/values/quantity.ts';
import type { Parsed } from '../../src/engine/values/result.ts';
import { MAX_SPARSE_PATHS, parseSparsePaths, sparseCheckoutFile, sparseHolds } from '../../src/engine/values/sparse.ts';
import { formatPolicyProblem, validatePolicyDocument } from '../../src/policy/index.ts';
import { reviewOf } from '../support/server.ts';

const value = <T>(p: Parsed<T>): T => {
  if (!p.ok) throw new Error(`expected ok, got ${p.code}: ${p.message}`);
  return p.value;
};
const problem = <T>(p: Parsed<T>): string => (p.ok ? 'ok' : `${p.code}: ${p.message}`);

function policyOf(doc: Record<string, unknown>): EnginePolicy {
  const { compiled, problems } = validatePolicyDocument(doc);
  if (!compiled) throw new Error(problems.map((p) => formatPolicyProblem(p, 'policy')).join('\n'));
  return compiled.engine;
}
const policyProblems = (doc: Record<string, unknown>): string[] => validatePolicyDocument(doc).problems.map((p) => `${p.field}: ${p.message} [${p.code}]`);

const REPO = 'https://github.com/acme/monorepo.git';
const pod = (annotations: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'app', annotations: { 'gitsync.dev/repo': REPO, ...annotations } },
  spec: { containers: [{ name: 'app', image: 'busybox' }] },
});
const run = (policy: EnginePolicy, annotations: Record<string, string>, namespaceAnnotations?: Record<string, string>): InjectResult =>
  injectPod({ pod: pod(annotations), namespace: 'apps', ...(namespaceAnnotations && { namespaceAnnotations }) }, { policy, cluster: {}, version: '0.0.0-test' });

type Container = { name: string; env?: { name: string; value?: string }[]; resources?: Record<string, Record<string, string>> };
const gitSyncContainers = (r: InjectResult): Container[] => {
  const spec = (r.pod as { spec: { initContainers?: Container[]; containers: Container[] } }).spec;
  return [...(spec.initContainers ?? []), ...spec.containers].filter((c) => c.name.startsWith('git-sync'));
};
const envOf = (c: Container, name: string): string | undefined => c.env?.find((e) => e.name === name)?.value;

describe('sparse-paths', () => {
  test.each([
    ['dags', ['dags']],
    [' dags , plugins/shared ', ['dags', 'plugins/shared']],
    ['./dags/,dags', ['dags']],
    ['b,a,a/x,a/y/z', ['a', 'b']],
    ['teams/data/dags,teams/data', ['teams/data']],
    ['dags-v2,dags', ['dags', 'dags-v2']],
  ])('%j is the folders %j', (raw, folders) => {
    expect(value(parseSparsePaths(raw))).toEqual(folders);
  });

  test.each([
    ['../etc', "contains '..'"],
    ['dags/../../etc', "contains '..'"],
    ['/etc', "starts with '/'"],
    ['dags,', 'has an empty entry'],
    ['dags,,plugins', 'has an empty entry'],
    ['.', 'is the repository root'],
    ['dags/*.py', 'is a pattern'],
    ['!dags', 'is a pattern'],
    ['[ab]', 'is a pattern'],
    ['dags\\x', 'is a pattern'],
    ['my dags', 'contains "my dags"'],
    ['#dags', 'contains "#dags"'],
  ])('refuses %j: %s', (raw, why) => {
    expect(problem(parseSparsePaths(raw))).toContain(why);
  });

  it(`is bounded: at most ${MAX_SPARSE_PATHS} folders and 4096 characters`, () => {
    const folders = (n: number) => Array.from({ length: n }, (_, i) => `f${i}`).join(',');
    expect(value(parseSparsePaths(folders(MAX_SPARSE_PATHS)))).toHaveLength(MAX_SPARSE_PATHS);
    expect(problem(parseSparsePaths(folders(MAX_SPARSE_PATHS + 1)))).toContain(`lists ${MAX_SPARSE_PATHS + 1} folders; list at most ${MAX_SPARSE_PATHS}`);
    expect(problem(parseSparsePaths('a'.repeat(4097)))).toContain('is 4097 characters long; list at most 4096');
  });

  it("is written as git's cone-format file: top-level files, each parent's own files, each folder whole, parents first", () => {
    expect(sparseCheckoutFile(['dags'])).toBe('/*\n!/*/\n/dags/\n');
    expect(sparseCheckoutFile(['data/airflow/dags', 'data/airflow/plugins/shared', 'config'])).toBe(
      [
        '/*',
        '!/*/',
        '/config/',
        '/data/',
        '!/data/*/',
        '/data/airflow/',
        '!/data/airflow/*/',
        '/data/airflow/dags/',
        '/data/airflow/plugins/',
        '!/data/airflow/plugins/*/',
        '/data/airflow/plugins/shared/',
        '',
      ].join('\n'),
    );
  });

  it('holds a sub-path that is a listed folder, inside one, or a parent of one', () => {
    const folders = ['data/airflow/dags', 'plugins'];
    for (const sub of ['', 'data/airflow/dags', 'data/airflow/dags/team-a', 'data', 'data/airflow', 'plugins/x']) expect(sparseHolds(folders, sub), sub).toBe(true);
    for (const sub of ['dags', 'data/other', 'data/airflow/dags-old', 'plugin']) expect(sparseHolds(folders, sub), sub).toBe(false);
  });
});

describe('filter', () => {
  test.each(['blob:none', 'blob:limit=1048576', 'blob:limit=10k', 'blob:limit=2m', 'blob:limit=1g', 'tree:0', 'tree:3', 'none'])('accepts %s', (raw) => {
    expect(value(parseFilter(raw))).toBe(raw);
  });
  test.each(['sparse:oid=HEAD:dags', 'object:type=blob', 'combine:blob:none+tree:0', 'blob:limit=', 'blob:limit=-1', 'tree:', 'BLOB:NONE', 'blob:none --upload-pack=x', '--filter=blob:none', ''])(
    'refuses %j',
    (raw) => {
      expect(problem(parseFilter(raw))).toMatch(/^VALUE_NOT_ALLOWED: .* is not a partial clone filter the injector supports; use blob:none/);
    },
  );
  it('is allowed when listed, blob:limit allowing every size; none always', () => {
    expect(filterAllowed(['blob:none'], 'blob:none')).toBe(true);
    expect(filterAllowed(['blob:none'], 'tree:0')).toBe(false);
    expect(filterAllowed(['blob:limit'], 'blob:limit=5m')).toBe(true);
    expect(filterAllowed(['blob:limit=1m'], 'blob:limit=5m')).toBe(false);
    expect(filterAllowed([], 'none')).toBe(true);
  });
});

describe('quantities', () => {
  it('are read the same for pods and the policy, and bounded in length', () => {
    expect(value(parseQuantity('1.5Gi'))).toBe('1.5Gi');
    expect(quantityValue('1536Mi')).toBe(quantityValue('1.5Gi'));
    expect(problem(parseQuantity('2GB'))).toContain('QUANTITY_INVALID');
    expect(problem(parseQuantity('1'.repeat(33)))).toContain('QUANTITY_INVALID');
  });
});

describe('what a pod gets', () => {
  const builtin = policyOf({});

  it('sub-path alone does not narrow the checkout: no sparse file, no filter', () => {
    const r = run(builtin, { 'gitsync.dev/sub-path': 'data/airflow/dags' });
    expect(r.outcome).toBe('injected');
    for (const c of gitSyncContainers(r)) {
      expect(envOf(c, 'GITSYNC_SPARSE_CHECKOUT_FILE')).toBeUndefined();
      expect(envOf(c, 'GITSYNC_FILTER')).toBeUndefined();
    }
    expect(JSON.stringify(r.pod)).not.toContain('sparse');
  });

  it('a sparse list comes with blob:none when the policy allows it, with no filter when it does not, and the pod chooses otherwise', () => {
    const filterOf = (policy: EnginePolicy, annotations: Record<string, string>) => gitSyncContainers(run(policy, { 'gitsync.dev/sparse-paths': 'dags', ...annotations })).map((c) => envOf(c, 'GITSYNC_FILTER'));
    expect(filterOf(builtin, {})).toEqual(['blob:none', 'blob:none']);
    expect(filterOf(builtin, { 'gitsync.dev/filter': 'tree:0' })).toEqual(['tree:0', 'tree:0']);
    expect(filterOf(builtin, { 'gitsync.dev/filter': 'none' })).toEqual([undefined, undefined]);
    expect(filterOf(policyOf({ allowedFilters: ['tree:0'] }), {})).toEqual([undefined, undefined]);
    expect(filterOf(policyOf({ allowedFilters: [] }), {})).toEqual([undefined, undefined]);
  });

  it('a policy default filter applies to every pod, and a policy that allows none refuses a pod that asks', () => {
    expect(gitSyncContainers(run(policyOf({ defaults: { filter: 'blob:limit=1m' } }), {})).map((c) => envOf(c, 'GITSYNC_FILTER'))).toEqual(['blob:limit=1m', 'blob:limit=1m']);
    const r = run(policyOf({ allowedFilters: [] }), { 'gitsync.dev/filter': 'blob:none' });
    expect(r.errors.map(formatProblem)).toEqual(['gitsync.dev/filter: "blob:none" is not a partial clone filter the policy allows; the policy allows none; remove this annotation [FILTER_NOT_ALLOWED]']);
  });

  it('resources a pod sets replace only those of the policy, and keep the rest (an ephemeral-storage limit a quota needs)', () => {
    const policy = policyOf({ resources: { requests: { cpu: '10m', memory: '64Mi', 'ephemeral-storage': '64Mi' }, limits: { memory: '256Mi', 'ephemeral-storage': '1Gi' } } });
    const r = run(policy, { 'gitsync.dev/memory-limit': '1Gi', 'gitsync.dev/memory-request': '512Mi' });
    for (const c of gitSyncContainers(r)) {
      expect(c.resources).toEqual({ requests: { cpu: '10m', memory: '512Mi', 'ephemeral-storage': '64Mi' }, limits: { memory: '1Gi', 'ephemeral-storage': '1Gi' } });
    }
  });

  it('a value above the maximum is a policy refusal (403), with the maximum in the message', () => {
    const { review } = admit(reviewOf(pod({ 'gitsync.dev/memory-limit': '3Gi' })), { ctx: { policy: builtin, cluster: {}, version: '0.0.0-test' }, namespaceAnnotations: () => undefined });
    expect(review.response.allowed).toBe(false);
    expect(review.response.status?.code).toBe(403);
    expect(review.response.status?.message).toContain(`gitsync.dev/memory-limit: "3Gi" is above the policy's maximum memory for git-sync, 2Gi; use at most 2Gi [RESOURCE_ABOVE_MAXIMUM]`);
  });
});

describe('the policy', () => {
  it('allowedFilters takes filters and blob:limit; none and unknown filters are refused', () => {
    expect(policyProblems({ allowedFilters: ['blob:none', 'blob:limit', 'tree:0', 'blob:limit=1m'] })).toEqual([]);
    expect(policyProblems({ allowedFilters: ['none', 'sparse:oid=x'] })).toEqual([
      'allowedFilters[0]: "none" is always allowed (it asks for no filter); list filters such as blob:none [VALUE_NOT_ALLOWED]',
      'allowedFilters[1]: "sparse:oid=x" is not a partial clone filter the injector supports; use blob:none, blob:limit=<n>[k|m|g], tree:<depth> or none, or blob:limit for every size [VALUE_NOT_ALLOWED]',
    ]);
  });

  it('a maximum is never below what the policy gives every pod, so a policy from before the maxima keeps loading', () => {
    const policy = policyOf({ resources: { requests: { cpu: '2' }, limits: { cpu: '4', memory: '3Gi' } }, gitSync: { rootSizeLimit: '30Gi' }, limits: { maxRootSizeLimit: '20Gi' } });
    expect(policy.maxResources.cpu).toEqual({ text: '4', value: 4 });
    expect(policy.maxResources.memory?.text).toBe('3Gi');
    expect(policy.maxRootSizeLimit?.text).toBe('30Gi');
    expect(run(policy, { 'gitsync.dev/cpu-limit': '4' }).outcome).toBe('injected');
    expect(run(policy, { 'gitsync.dev/cpu-limit': '4001m' }).outcome).toBe('denied');
  });

  it("refuses defaults and presets outside its own bounds, which would refuse every pod that takes them", () => {
    expect(
      policyProblems({
        allowedFilters: ['blob:none'],
        defaults: { filter: 'tree:0', 'memory-limit': '8Gi' },
        presets: { big: { 'root-size-limit': '1Ti', 'cpu-request': '2' } },
        limits: { maxRootSizeLimit: '100Gi' },
      }),
    ).toEqual([
      `defaults.memory-limit: "8Gi" is above the policy's own maximum memory (limits.maxResources.memory), 2Gi; lower it or raise the maximum [RESOURCE_ABOVE_MAXIMUM]`,
      `defaults.filter: "tree:0" is not in the policy's allowedFilters (blob:none); add it there or use another filter [FILTER_NOT_ALLOWED]`,
      `presets.big.cpu-request: "2" is above the policy's own maximum cpu (limits.maxResources.cpu), 1; lower it or raise the maximum [RESOURCE_ABOVE_MAXIMUM]`,
      `presets.big.root-size-limit: "1Ti" is above the policy's own maximum root size limit (limits.maxRootSizeLimit), 100Gi; lower it or raise the maximum [RESOURCE_ABOVE_MAXIMUM]`,
    ]);
  });

  it('no maximum for a resource it does not list', () => {
    const policy = policyOf({ limits: { maxResources: { memory: '1Gi' } } });
    expect(run(policy, { 'gitsync.dev/cpu-limit': '64' }).outcome).toBe('injected');
    expect(run(policy, { 'gitsync.dev/memory-limit': '2Gi' }).outcome).toBe('denied');
  });
});
