/**
 * Properties of the engine as a whole: whatever a pod, its annotations, its
 * namespace and the policy are, the engine answers without throwing, leaves
 * its input alone, and when it injects, its patch only adds, applies cleanly
 * and yields a valid pod that is not injected twice.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROBLEM_CODES, injectPod, quantityValue, type InjectResult } from '../../src/engine/index.ts';
import { applyPatchToCopy } from '../support/apply.ts';
import { POLICIES, corruptedCaseArb, engineCaseArb, notAPodArb, policyArb, refArb, runs, type EngineCase } from '../support/arbitraries.ts';
import { GIT_SYNC_ENV, LINE_BREAKING, extensionProblems, kubeletExpand, podInvariantProblems, policyNetworkEnv } from '../support/invariants.ts';
import { kubectlAvailable, kubectlPatch } from '../support/kubectl.ts';

const VERSION = '0.1.0';
const HAS_KUBECTL = kubectlAvailable();

// Budgets: each engine call costs well under a millisecond, so these finish in
// seconds on two cores; kubectl spawns a process per run and gets a handful.
const RUNS = runs(800);
const KUBECTL_RUNS = 15;
// Wrong-typed members must land on the few places the engine reads deeply; that takes more runs.
const CORRUPTED_RUNS = runs(2500);

function run(c: EngineCase): InjectResult {
  const req: Parameters<typeof injectPod>[0] = { pod: c.pod };
  if (c.namespace !== undefined) req.namespace = c.namespace;
  if (c.namespaceAnnotations !== undefined) req.namespaceAnnotations = c.namespaceAnnotations;
  return injectPod(req, { policy: POLICIES[c.policy].engine, cluster: c.cluster, version: VERSION });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}



interface Container {
  name: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[] | null;
  volumeMounts?: unknown[] | null;
  args?: unknown;
  command?: unknown;
  [k: string]: unknown;
}
interface PodView {
  metadata?: { annotations?: Record<string, unknown> | null } | null;
  spec: { containers: Container[]; initContainers?: Container[] | null; volumes?: unknown[] | null };
}

const allContainers = (pod: PodView): Container[] => [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];

function gitSyncContainers(r: InjectResult): Container[] {
  const names = new Set([...r.injection!.initContainers, ...r.injection!.containers]);
  return allContainers(r.pod as PodView).filter((c) => names.has(c.name));
}

/** A resolver under which every `$(NAME)` would be replaced: service variables are unknown at admission. */
const EVERY_NAME_DEFINED = (name: string) => `<expanded ${name}>`;

describe('the engine never throws', () => {
  it('for pods with arbitrary annotations', () => {
    fc.assert(
      fc.property(engineCaseArb({ gitSyncImage: true, oddMountPaths: true, hostileWeight: 8 }), (c) => {
        run(c);
      }),
      { numRuns: RUNS },
    );
  });

  it('for JSON values that are not pods', () => {
    fc.assert(
      fc.property(notAPodArb, policyArb, (pod, policy) => {
        const r = run({ pod, policy, cluster: {} });
        expect(['skipped', 'denied']).toContain(r.outcome);
        expect(r.patch).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('for opted-in pods with one member of the wrong type', () => {
    fc.assert(
      fc.property(corruptedCaseArb(), (c) => {
        const r = run(c);
        // Whatever it decides, what it returns must hold together.
        if (r.outcome === 'injected') expect(applyPatchToCopy(c.pod, r.patch)).toStrictEqual(r.pod);
        else expect(r.patch).toEqual([]);
      }),
      { numRuns: CORRUPTED_RUNS },
    );
  });
});

describe('the engine never modifies its input', () => {
  it('deep-frozen pods and namespace annotations are read, not written', () => {
    fc.assert(
      fc.property(engineCaseArb({ gitSyncImage: true }), (c) => {
        const before = structuredClone(c);
        deepFreeze(c.pod);
        if (c.namespaceAnnotations) deepFreeze(c.namespaceAnnotations);
        run(c);
        expect(c.pod).toStrictEqual(before.pod);
        expect(c.namespaceAnnotations).toStrictEqual(before.namespaceAnnotations);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('when the engine injects', () => {
  // Valid values with some hostile ones: most cases inject, the rest must still hold.
  const cases = engineCaseArb({ hostileWeight: 1 });

  it('injects a good share of the generated cases (the properties below are not vacuous)', () => {
    const outcomes = fc.sample(cases, { numRuns: 300, seed: 42 }).map((c) => run(c).outcome);
    expect(outcomes.filter((o) => o === 'injected').length).toBeGreaterThan(50);
    expect(outcomes).toContain('denied');
    expect(outcomes).toContain('skipped');
  });

  it('the patch is adds only, applies to the input and gives result.pod; its JSON text is exactly the patch', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const r = run(c);
        expect(r.patchJson).toBe(JSON.stringify(r.patch));
        if (r.outcome !== 'injected') return;
        expect(r.patch.length).toBeGreaterThan(0);
        for (const op of r.patch) expect(op.op).toBe('add');
        expect(applyPatchToCopy(c.pod, r.patch)).toStrictEqual(r.pod);
      }),
      { numRuns: RUNS },
    );
  });

  it('the result is a valid pod', () => {
    fc.assert(
      fc.property(cases, (c) => {
        // The generator only makes valid pods; otherwise this property would say nothing.
        expect(podInvariantProblems(c.pod)).toEqual([]);
        const r = run(c);
        if (r.outcome !== 'injected') return;
        expect(podInvariantProblems(r.pod)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('the result is valid even when app containers spell mount paths oddly (//git, /./git)', () => {
    fc.assert(
      fc.property(engineCaseArb({ hostileWeight: 0, oddMountPaths: true }), (c) => {
        const r = run(c);
        if (r.outcome !== 'injected') return;
        expect(podInvariantProblems(r.pod)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('everything the pod author wrote is still there, unchanged', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const r = run(c);
        if (r.outcome !== 'injected') return;
        const before = c.pod as PodView;
        const after = r.pod as PodView;
        expect(extensionProblems(before, after)).toEqual([]);
        for (const [k, v] of Object.entries(before.metadata?.annotations ?? {})) expect(after.metadata!.annotations![k]).toBe(v);
        expect((after.spec.volumes ?? []).slice(0, (before.spec.volumes ?? []).length)).toStrictEqual(before.spec.volumes ?? []);
        for (const list of ['containers', 'initContainers'] as const) {
          const was = before.spec[list] ?? [];
          const now = after.spec[list] ?? [];
          for (const [i, c0] of was.entries()) {
            const c1 = now[i]!;
            const { env: env0, volumeMounts: mounts0, ...rest0 } = c0;
            const { env: env1, volumeMounts: mounts1, ...rest1 } = c1;
            expect(rest1).toStrictEqual(rest0);
            expect((env1 ?? []).slice(0, (env0 ?? []).length)).toStrictEqual(env0 ?? []);
            expect((mounts1 ?? []).slice(0, (mounts0 ?? []).length)).toStrictEqual(mounts0 ?? []);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('running the engine again on its result changes nothing', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const r = run(c);
        if (r.outcome !== 'injected') return;
        const again = run({ ...c, pod: r.pod });
        expect(again.outcome).toBe('skipped');
        expect(again.skip?.reason).toBe('already-injected');
        expect(again.patch).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('nothing a pod author writes reaches git-sync as an extra variable, an argument or a line break', () => {
    fc.assert(
      fc.property(engineCaseArb({ hostileWeight: 4 }), (c) => {
        const r = run(c);
        if (r.outcome !== 'injected') return;
        const gitSync = gitSyncContainers(r);
        expect(gitSync.length).toBeGreaterThan(0);
        for (const container of gitSync) {
          expect(container.args).toBeUndefined();
          expect(container.command).toBeUndefined();
          const { networks } = POLICIES[c.policy].document;
          const fromPolicy = policyNetworkEnv(networks);
          // The git config is exactly one of the policy's profiles (its CA file entry included): nothing of the pod's.
          const configs = Object.values(networks).map((n) => {
            const entries: [string, string][] = Object.entries(n.gitConfig ?? {});
            if (n.caBundle) entries.push(['http.sslCAInfo', '/etc/git-sync-ca/ca-bundle.crt']);
            // git-sync's --git-config syntax, written out here: "key":"value" pairs, '\\', '"' and ',' escaped.
            const q = (t: string) => `"${t.replace(/[\\",]/g, (ch) => `\\${ch}`)}"`;
            return entries.map(([k, v]) => `${q(k)}:${q(v)}`).join(',');
          });
          for (const e of container.env ?? []) {
            if (fromPolicy.has(e.name)) expect([...fromPolicy.get(e.name)!], `${container.name} gets ${e.name}`).toContain(e.value);
            else expect(GIT_SYNC_ENV, `${container.name} gets ${e.name}`).toContain(e.name);
            if (e.name === 'GITSYNC_GIT_CONFIG') expect(configs).toContain(e.value);
            if (e.value !== undefined) expect(e.value).not.toMatch(LINE_BREAKING);
          }
          const env = new Map((container.env ?? []).map((e) => [e.name, e.value]));
          expect(env.get('GITSYNC_REPO')).toBeTypeOf('string');
          expect(env.get('GITSYNC_REF')).toBeTypeOf('string');
          expect(env.get('GITSYNC_REPO')!.startsWith('-')).toBe(false);
          expect(env.get('GITSYNC_REF')!.startsWith('-')).toBe(false);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('sparse folders reach git-sync only as lines of a projected file, each a folder; the filter only as one the policy allows; resources within its maxima', () => {
    // Written out here, not taken from the engine: the file's one path, and the only lines a cone-mode file has.
    const SPARSE_FILE = '/etc/git-sync-sparse/sparse-checkout';
    const SEGMENT = '(?!\\.\\.?/)[A-Za-z0-9._@+=,-]+/';
    const CONE_LINE = new RegExp(`^(?:/\\*|!/\\*/|/(?:${SEGMENT})+|!/(?:${SEGMENT})+\\*/)$`);
    const FILTER = /^(?:blob:none|blob:limit=\d+[kmg]?|tree:\d+)$/;
    const seen = { sparse: 0, filter: 0, resources: 0 };
    // Valid pods given checkout and resource annotations, allowed or not by their policy, often enough to matter.
    const withCheckout = fc
      .tuple(
        engineCaseArb({ hostileWeight: 0 }),
        fc.option(fc.constantFrom('dags', 'dags,plugins/shared', 'a/b/c,a/d', '../x', 'dags/*', '/abs', 'x,,y')),
        fc.option(fc.constantFrom('blob:none', 'tree:0', 'tree:1', 'blob:limit=10k', 'none', 'sparse:oid=HEAD', 'blob:none --upload-pack=x')),
        fc.option(fc.constantFrom('300m', '2', '100Mi', '3Gi')),
        fc.option(fc.constantFrom('1Gi', '6Gi', '50Gi')),
      )
      .map(([c, sparse, filter, cpuLimit, memoryLimit]) => {
        const pod = structuredClone(c.pod) as { metadata: { annotations: Record<string, string> | null } };
        const p = POLICIES[c.policy].engine.prefix;
        const extra: Record<string, string> = Object.fromEntries(
          [
            ['sparse-paths', sparse],
            ['filter', filter],
            ['cpu-limit', cpuLimit],
            ['memory-limit', memoryLimit],
            ['root-size-limit', memoryLimit],
          ].flatMap(([k, v]) => (v === null || v === undefined ? [] : [[`${p}${k}`, v]])),
        );
        pod.metadata.annotations = { ...pod.metadata.annotations, ...extra };
        return { ...c, pod };
      });
    fc.assert(
      fc.property(fc.oneof(engineCaseArb({ hostileWeight: 4 }), withCheckout), (c) => {
        const r = run(c);
        if (r.outcome !== 'injected') return;
        const policy = POLICIES[c.policy].engine;
        type Volume = { name: string; downwardAPI?: { items: { path: string; fieldRef: { fieldPath: string } }[] } };
        const pod = r.pod as PodView;
        const data = pod.metadata?.annotations?.[`${policy.prefix}sparse-checkout-data`] as string | undefined;
        if (data !== undefined) {
          seen.sparse++;
          const lines = data.split('\n');
          expect(lines.pop()).toBe('');
          for (const line of lines) expect(line, JSON.stringify(data)).toMatch(CONE_LINE);
        }
        const sparseVolumes = ((pod.spec.volumes ?? []) as Volume[]).filter((v) => v.downwardAPI?.items.some((i) => i.fieldRef.fieldPath === `metadata.annotations['${policy.prefix}sparse-checkout-data']`));
        expect(sparseVolumes.length).toBe(data === undefined ? 0 : 1);
        const gitSync = new Set(gitSyncContainers(r).map((x) => x.name));
        for (const container of allContainers(pod)) {
          const mountsSparse = (container.volumeMounts as { name: string }[] | null | undefined ?? []).some((m) => sparseVolumes.some((v) => v.name === m.name));
          if (!gitSync.has(container.name)) {
            expect(mountsSparse, `${container.name} mounts the sparse-checkout volume`).toBe(false);
            continue;
          }
          const env = new Map((container.env ?? []).map((e) => [e.name, e.value]));
          expect(env.get('GITSYNC_SPARSE_CHECKOUT_FILE')).toBe(data === undefined ? undefined : SPARSE_FILE);
          expect(mountsSparse).toBe(data !== undefined);
          const filter = env.get('GITSYNC_FILTER');
          if (filter !== undefined) {
            seen.filter++;
            expect(filter).toMatch(FILTER);
            const allowed = policy.allowedFilters.includes(filter) || (policy.allowedFilters.includes('blob:limit') && filter.startsWith('blob:limit='));
            expect(allowed, `${filter} is not in ${policy.allowedFilters.join(', ')}`).toBe(true);
          }
          const resources = container.resources as { requests?: Record<string, string>; limits?: Record<string, string> };
          for (const kind of ['requests', 'limits'] as const) {
            for (const [name, q] of Object.entries(resources[kind] ?? {})) {
              const max = policy.maxResources[name as 'cpu' | 'memory'];
              if (max) expect(quantityValue(q), `${kind}.${name} ${q} above ${max.text}`).toBeLessThanOrEqual(max.value);
            }
          }
          if (JSON.stringify(resources) !== JSON.stringify(policy.gitSync.resources)) seen.resources++;
        }
      }),
      { numRuns: RUNS },
    );
    // Not vacuous: the generated pods get sparse files, filters and their own resources.
    expect(seen.sparse).toBeGreaterThan(0);
    expect(seen.filter).toBeGreaterThan(0);
    expect(seen.resources).toBeGreaterThan(0);
  });

  it('the kubelet passes repo, ref and the app env variable on as written ($(VAR) and $$ are not expanded)', () => {
    // '$', '(' and ')' are legal in git ref names; put them in refs often enough to matter.
    const dollar = fc.tuple(refArb, fc.constantFrom('$(GITSYNC_REPO)', '$(KUBERNETES_SERVICE_HOST)', '$$', '$', '$(', '-$(x)')).map(([ref, d]) => `${ref}${d}`);
    const dollarRefs = fc.tuple(engineCaseArb({ hostileWeight: 0 }), dollar).map(([c, ref]) => {
      const pod = structuredClone(c.pod) as { metadata: { annotations: Record<string, string> | null } };
      pod.metadata.annotations = { ...pod.metadata.annotations, [`${POLICIES[c.policy].engine.prefix}ref`]: ref };
      return { ...c, pod };
    });
    fc.assert(
      fc.property(fc.oneof(engineCaseArb({ hostileWeight: 4 }), dollarRefs), (c) => {
        const r = run(c);
        if (r.outcome !== 'injected') return;
        for (const container of gitSyncContainers(r)) {
          const env = new Map((container.env ?? []).map((e) => [e.name, e.value]));
          expect(kubeletExpand(env.get('GITSYNC_REPO')!, EVERY_NAME_DEFINED)).toBe(r.injection!.repo);
          expect(kubeletExpand(env.get('GITSYNC_REF')!, EVERY_NAME_DEFINED)).toBe(r.injection!.ref);
        }
        const before = c.pod as PodView;
        for (const [i, app] of before.spec.containers.entries()) {
          const added = ((r.pod as PodView).spec.containers[i]!.env ?? []).slice((app.env ?? []).length);
          for (const e of added) expect(kubeletExpand(e.value ?? '', EVERY_NAME_DEFINED)).toBe(r.injection!.path);
        }
      }),
      { numRuns: RUNS },
    );
  });

  describe.skipIf(!HAS_KUBECTL)(HAS_KUBECTL ? 'kubectl agrees' : 'kubectl agrees: skipped, no kubectl client on PATH', () => {
    it('kubectl patch --local gives the same pod as fast-json-patch', () => {
      fc.assert(
        fc.property(engineCaseArb({ hostileWeight: 0, policies: fc.constantFrom('sshReady' as const, 'builtin' as const) }), (c) => {
          const r = run(c);
          fc.pre(r.outcome === 'injected');
          expect(kubectlPatch(c.pod, r.patch)).toStrictEqual(r.pod);
        }),
        { numRuns: KUBECTL_RUNS },
      );
    });
  });
});

describe('when the engine denies or skips', () => {
  const cases = engineCaseArb({ hostileWeight: 6, gitSyncImage: true });

  it('a denial has errors, each with a code, a field and a message, and no patch', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const r = run(c);
        if (r.outcome !== 'denied') return;
        expect(r.errors.length).toBeGreaterThan(0);
        for (const e of r.errors) {
          expect(Object.keys(PROBLEM_CODES)).toContain(e.code);
          expect(e.field).toBeTypeOf('string');
          expect(e.field).not.toBe('');
          expect(e.message).toBeTypeOf('string');
          expect(e.message).not.toBe('');
        }
        expect(r.patch).toEqual([]);
        expect(r.pod).toBe(c.pod);
      }),
      { numRuns: RUNS },
    );
  });

  it('a skip has a reason and message, no patch, and returns the input pod', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const r = run(c);
        if (r.outcome !== 'skipped') return;
        expect(r.skip?.reason).toBeTypeOf('string');
        expect(r.skip?.message).toBeTypeOf('string');
        expect(r.patch).toEqual([]);
        expect(r.pod).toBe(c.pod);
      }),
      { numRuns: RUNS },
    );
  });

  it('warnings are well-formed in every outcome', () => {
    fc.assert(
      fc.property(cases, (c) => {
        for (const w of run(c).warnings) {
          expect(Object.keys(PROBLEM_CODES)).toContain(w.code);
          expect(w.field).not.toBe('');
          expect(w.message).not.toBe('');
        }
      }),
      { numRuns: RUNS },
    );
  });
});
