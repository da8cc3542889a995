/**
 * Fuzzing the webhook with AdmissionReviews over real HTTPS: pods of every
 * shape with annotations built from hostile strings, reviews with any member
 * replaced or removed, and JSON of any shape. Whatever arrives, the answer is
 * well-formed (answers.ts), and the server keeps answering.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterFacts } from '../../src/engine/index.ts';
import { POLICIES, engineCaseArb, hostileStringArb, pathsOf, replaceAt, runs, type EngineCase, type PolicyName } from '../support/arbitraries.ts';
import { postReview, reviewOf, samplePod, startServers, type TestServers } from '../support/server.ts';
import { expectWellFormedAnswer, sentBytes } from './answers.ts';

/** The policies the servers run with: SSH ready (deny), admit-on-error, and another annotation prefix. */
const SERVED = ['sshReady', 'permissive', 'otherPrefix'] as const satisfies readonly PolicyName[];
type Served = (typeof SERVED)[number];
const CLUSTER: ClusterFacts = { nativeSidecars: true };

const servers = new Map<Served, TestServers>();
/** Namespace annotations the next request's namespace has: requests are sent one at a time. */
let namespaceAnnotations: Record<string, string> | undefined;

beforeAll(async () => {
  for (const name of SERVED) {
    servers.set(name, await startServers({ ctx: { policy: POLICIES[name].engine, cluster: CLUSTER, version: '0.0.0-fuzz' }, namespaceAnnotations: () => namespaceAnnotations }));
  }
});
afterAll(async () => {
  for (const s of servers.values()) await s.close();
});

const policyView = (name: Served) => ({ prefix: POLICIES[name].engine.prefix, image: POLICIES[name].document.image });

async function exchange(name: Served, body: unknown, nsAnnotations?: Record<string, string>) {
  namespaceAnnotations = nsAnnotations;
  const text = JSON.stringify(body);
  const res = await postReview(servers.get(name)!, text);
  const ops = expectWellFormedAnswer(res, sentBytes(text), policyView(name));
  return { res, ops };
}

const weighted = <T>(choices: [T, number][]): fc.Arbitrary<T> => fc.oneof(...choices.map(([value, weight]) => ({ weight, arbitrary: fc.constant(value) })));

const uidArb = fc.oneof({ weight: 12, arbitrary: fc.uuid() }, { weight: 2, arbitrary: hostileStringArb }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) });

const POD = { group: '', version: 'v1', kind: 'Pod' };
const PODS = { group: '', version: 'v1', resource: 'pods' };

/** The request fields around the pod: mostly a Pod CREATE, sometimes anything else the API server may send. */
const requestArb = fc.record({
  uid: uidArb,
  operation: weighted([['CREATE', 40], ['UPDATE', 2], ['DELETE', 1], ['CONNECT', 1], ['create', 1]]),
  kind: weighted<Record<string, string>>([[POD, 40], [{ group: 'apps', version: 'v1', kind: 'Deployment' }, 1], [{ group: '', version: 'v1', kind: 'pod' }, 1], [{ kind: 'Pod' }, 1]]),
  resource: weighted<Record<string, string>>([[PODS, 40], [{ group: 'apps', version: 'v1', resource: 'deployments' }, 1], [{ resource: 'pods' }, 1]]),
  subResource: weighted<string | undefined>([[undefined, 40], ['status', 1], ['ephemeralcontainers', 1], ['binding', 1]]),
  dryRun: fc.option(fc.boolean(), { nil: undefined }),
  name: fc.option(fc.oneof(fc.constantFrom('web-1', 'airflow-scheduler-0'), hostileStringArb), { nil: undefined }),
});

type Request = typeof requestArb extends fc.Arbitrary<infer R> ? R : never;

interface ReviewCase {
  policy: Served;
  review: Record<string, unknown>;
  request: Request;
  namespaceAnnotations?: Record<string, string>;
}

/** An AdmissionReview around a generated pod, as the API server would send it. */
const reviewCaseArb = (hostileWeight: number): fc.Arbitrary<ReviewCase> =>
  fc.tuple(engineCaseArb({ hostileWeight, policies: fc.constantFrom(...SERVED), gitSyncImage: true, oddMountPaths: true }), requestArb).map(([c, request]: [EngineCase, Request]) => {
    const { uid, ...fields } = request;
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const review = reviewOf(c.pod, { uid, ...defined, namespace: c.namespace ?? '', oldObject: request.operation === 'UPDATE' ? c.pod : null });
    return { policy: c.policy as Served, review, request, ...(c.namespaceAnnotations && { namespaceAnnotations: c.namespaceAnnotations }) };
  });

const isPodCreate = (r: Request): boolean =>
  r.operation === 'CREATE' && r.subResource === undefined && r.kind.kind === 'Pod' && (r.kind.group ?? '') === '' && r.resource.resource === 'pods' && (r.resource.group ?? '') === '';

/** Values that look right but are not, or are far too much of something. */
const wrongValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  hostileStringArb,
  fc.constantFrom<unknown>(null, '', 0, -1, 1.5, 1e308, -0, true, [], {}, [null], [1], ['x'], [{}], 'CREATE', 'Pod', { kind: 'Pod' }),
  fc.integer({ min: 1, max: 3000 }).map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown),
  fc.nat(200).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v'.repeat(i)]))),
);

describe('AdmissionReviews over HTTPS', () => {
  it('every review of a generated pod gets a well-formed answer with its uid; only Pod CREATEs are patched', async () => {
    let patched = 0;
    await fc.assert(
      // Hostile values in every proportion: mostly-valid pods reach the injection, hostile ones the checks.
      fc.asyncProperty(fc.oneof(reviewCaseArb(0), reviewCaseArb(1), reviewCaseArb(8)), async (c) => {
        const { res, ops } = await exchange(c.policy, c.review, c.namespaceAnnotations);
        if (ops) patched++;
        // A review without a uid is refused whatever it asks (answers.ts checks how); any other non-Pod-CREATE passes untouched.
        if (!isPodCreate(c.request) && c.request.uid !== '') {
          expect(res.json<{ response: { allowed: boolean; patch?: string } }>().response).toMatchObject({ allowed: true });
          expect(ops).toBeUndefined();
        }
      }),
      { numRuns: runs(300) },
    );
    // The generator is meant to reach the injection path often; a change that stops it would make the checks above say little.
    // About one review in ten is a patched Pod CREATE (most are other operations, kinds or denied values); one in twenty is the floor.
    expect(patched).toBeGreaterThan(runs(300) / 20);
  });

  it('a review with any member replaced by a wrong value, or removed, still gets a well-formed answer', async () => {
    const mangled = reviewCaseArb(1).chain((c) => {
      const paths = pathsOf(c.review);
      return fc.tuple(fc.nat(paths.length - 1), fc.option(wrongValueArb, { freq: 4, nil: undefined })).map(([i, value]) => {
        const path = paths[i]!;
        const review = value === undefined ? removeAt(c.review, path) : (replaceAt(c.review, path, value) as Record<string, unknown>);
        return { ...c, review };
      });
    });
    await fc.assert(
      fc.asyncProperty(mangled, async (c) => {
        await exchange(c.policy, c.review, c.namespaceAnnotations);
      }),
      { numRuns: runs(300) },
    );
  });

  it('JSON of any shape gets a well-formed answer', async () => {
    const envelope = fc.record(
      {
        apiVersion: fc.oneof(fc.constant('admission.k8s.io/v1'), fc.constant('admission.k8s.io/v1beta1'), hostileStringArb, fc.jsonValue({ maxDepth: 1 })),
        kind: fc.oneof(fc.constant('AdmissionReview'), hostileStringArb, fc.jsonValue({ maxDepth: 1 })),
        request: fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.dictionary(fc.constantFrom('uid', 'kind', 'resource', 'operation', 'object', 'namespace', 'dryRun', 'subResource'), fc.jsonValue({ maxDepth: 3 }))),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 5 }), envelope), fc.constantFrom(...SERVED), async (body, policy) => {
        await exchange(policy, body);
      }),
      { numRuns: runs(200) },
    );
  });

  it('afterwards every server still answers, and none logged an internal error', async () => {
    for (const [name, s] of servers) {
      const res = await postReview(s, reviewOf(samplePod(), { uid: `after-${name}` }));
      expect(res.status).toBe(200);
      expect(res.json<{ response: { uid: string } }>().response.uid).toBe(`after-${name}`);
      expect(s.lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
    }
  });
});

/** `doc` without the member at `path` (a copy; a list item is taken out of its list). */
function removeAt(doc: Record<string, unknown>, path: readonly (string | number)[]): Record<string, unknown> {
  const copy = structuredClone(doc);
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (Array.isArray(node)) node.splice(Number(last), 1);
  else delete node[last];
  return copy;
}
