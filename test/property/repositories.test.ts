/**
 * Properties of pods with several repositories (`<name>.repo`): whatever the
 * names, settings and hostile values, an injected pod is valid (unique names,
 * every mount backed), the patch only adds and applies, running again
 * changes nothing, uninject gives the input back, each repository's git-sync
 * mounts only its own volumes and gets only the variables git-sync knows,
 * with its own repository and port, and nothing the author wrote is a flag.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { injectPod, type InjectResult } from '../../src/engine/index.ts';
import { uninjectWorkload } from '../../src/workloads/uninject.ts';
import { applyPatchToCopy } from '../support/apply.ts';
import { POLICIES, engineCaseArb, runs, type EngineCase } from '../support/arbitraries.ts';
import { GIT_SYNC_ENV, LINE_BREAKING, podInvariantProblems, policyNetworkEnv } from '../support/invariants.ts';

const VERSION = '0.1.0';
const RUNS = runs(600);

function context(c: EngineCase) {
  return { policy: POLICIES[c.policy].engine, cluster: c.cluster, version: VERSION };
}

function run(c: EngineCase, pod: unknown = c.pod): InjectResult {
  const req: Parameters<typeof injectPod>[0] = { pod };
  if (c.namespace !== undefined) req.namespace = c.namespace;
  if (c.namespaceAnnotations !== undefined) req.namespaceAnnotations = c.namespaceAnnotations;
  return injectPod(req, context(c));
}

interface Container {
  name: string;
  env?: { name: string; value?: string }[] | null;
  volumeMounts?: { name: string; mountPath: string }[] | null;
  args?: unknown;
  command?: unknown;
}
interface PodView {
  spec: { containers: Container[]; initContainers?: Container[] | null };
}

/** Each repository of an injection as the status records it, the main one first. */
const repositoriesOf = (r: InjectResult) => [r.injection!, ...(r.injection!.repositories ?? [])];

// Valid values, so that many cases inject; named repositories in most of them. Hostile values below.
const cases = engineCaseArb({ hostileWeight: 0, repositories: 3 });

/**
 * A pod without null members and empty lists or maps: what uninject cannot
 * tell apart (an `env: null` that injection filled comes back absent;
 * docs/cli.md says so).
 */
function withoutEmpty(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutEmpty);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const y = withoutEmpty(x);
    if (y === null || (Array.isArray(y) && y.length === 0) || (typeof y === 'object' && y !== null && !Array.isArray(y) && Object.keys(y).length === 0)) continue;
    out[k] = y;
  }
  return out;
}

describe('pods with several repositories', () => {
  it('inject a good share with named repositories (the properties below are not vacuous)', () => {
    const results = fc.sample(cases, { numRuns: 400, seed: 7 }).map((c) => run(c));
    const several = results.filter((r) => r.outcome === 'injected' && (r.injection!.repositories?.length ?? 0) > 0);
    expect(several.length).toBeGreaterThan(20);
    expect(several.some((r) => r.injection!.repositories!.length >= 2)).toBe(true);
    expect(results.some((r) => r.errors.some((e) => e.code === 'REPOSITORY_NAME_INVALID'))).toBe(true);
  });

  it('give a valid pod (unique names, every mount backed) that the patch, adds only, produces', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const r = run(c);
        if (r.outcome !== 'injected') {
          expect(r.patch).toEqual([]);
          return;
        }
        for (const op of r.patch) expect(op.op).toBe('add');
        expect(applyPatchToCopy(c.pod, r.patch)).toStrictEqual(r.pod);
        expect(podInvariantProblems(r.pod)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('are injected once, and uninject gives the input back', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const r = run(c);
        if (r.outcome !== 'injected') return;
        const again = run(c, r.pod);
        expect(again.skip?.reason).toBe('already-injected');
        // uninject reads workloads: the generated pods get the kind they lack.
        const asPod = (p: unknown) => ({ apiVersion: 'v1', kind: 'Pod', ...(p as object) });
        const back = uninjectWorkload({ object: asPod(r.pod), namespace: c.namespace ?? 'default', ...(c.namespaceAnnotations && { namespaceAnnotations: c.namespaceAnnotations }) }, context(c).policy.prefix, context(c));
        expect(back.workload && back.injected).toBe(true);
        expect(back.workload && withoutEmpty(back.object)).toStrictEqual(withoutEmpty(asPod(c.pod)));
      }),
      { numRuns: runs(300) },
    );
  });

  it("give each repository's git-sync only its own volumes, its own repository and port, and only git-sync's variables", () => {
    fc.assert(
      fc.property(engineCaseArb({ hostileWeight: 4, repositories: 3 }), (c) => {
        const r = run(c);
        if (r.outcome !== 'injected') return;
        const pod = r.pod as PodView;
        const all = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
        const fromPolicy = policyNetworkEnv(POLICIES[c.policy].document.networks);
        const ports = new Set<string>();
        const repositories = repositoriesOf(r);
        for (const repository of repositories) {
          const own = new Set(repository.volumes);
          for (const name of [...repository.initContainers, ...repository.containers]) {
            const container = all.find((x) => x.name === name)!;
            expect(container.args).toBeUndefined();
            expect(container.command).toBeUndefined();
            for (const m of container.volumeMounts ?? []) expect(own.has(m.name), `${name} mounts ${m.name}, not one of ${[...own].join(', ')}`).toBe(true);
            const env = new Map((container.env ?? []).map((e) => [e.name, e.value]));
            expect(env.get('GITSYNC_REPO')?.replaceAll('$$', '$')).toBe(repository.repo);
            for (const e of container.env ?? []) {
              if (!fromPolicy.has(e.name)) expect(GIT_SYNC_ENV, `${name} gets ${e.name}`).toContain(e.name);
              if (e.value !== undefined) expect(e.value).not.toMatch(LINE_BREAKING);
            }
            const bind = env.get('GITSYNC_HTTP_BIND');
            if (bind !== undefined) {
              expect(ports.has(bind), `two git-sync containers bind ${bind}`).toBe(false);
              ports.add(bind);
            }
          }
        }
        // No repository's volumes are another's, and no app container mounts two of them at one path or one inside another.
        const volumes = repositories.flatMap((x) => x.volumes);
        expect(new Set(volumes).size).toBe(volumes.length);
        for (const app of pod.spec.containers) {
          const paths = repositories.filter((x) => x.appContainers.includes(app.name)).map((x) => (app.volumeMounts ?? []).find((m) => m.name === x.volumes[0])!.mountPath);
          for (const [i, a] of paths.entries()) for (const b of paths.slice(i + 1)) expect(a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`), `${a} and ${b}`).toBe(false);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
