/**
 * Nothing the injector adds can be reached by a container the pod author
 * wrote. A pod may mount a volume it does not declare, or point at a
 * container it does not have; if the injector then added a volume or
 * container under that name, the author's container would write into
 * git-sync's root (git config, hooks) before git-sync runs, or kubectl
 * would exec into the container that holds the credentials. Whatever the
 * pod refers to, the injector's names are others.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { injectPod, type InjectResult } from '../../src/engine/index.ts';
import { POLICIES, engineCaseArb, runs, type EngineCase } from '../support/arbitraries.ts';

const RUNS = runs(800);

type Json = Record<string, unknown>;
const LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;
const objects = (v: unknown): Json[] => (Array.isArray(v) ? (v as unknown[]).filter((x): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x)) : []);
const names = (v: unknown, key: 'volumeMounts' | 'volumeDevices'): string[] => objects((v as Json)[key]).map((m) => m.name as string);

function run(c: EngineCase): InjectResult {
  const req: Parameters<typeof injectPod>[0] = { pod: c.pod };
  if (c.namespace !== undefined) req.namespace = c.namespace;
  if (c.namespaceAnnotations !== undefined) req.namespaceAnnotations = c.namespaceAnnotations;
  return injectPod(req, { policy: POLICIES[c.policy].engine, cluster: c.cluster, version: '0.1.0' });
}

describe('no container the author wrote can reach what the injector added', () => {
  const cases = engineCaseArb({ hostileWeight: 0, strayReferences: true });

  it('the generated pods refer to the injector\'s names often enough to matter', () => {
    const sample = fc.sample(cases, { numRuns: 300, seed: 7 });
    const mountsRoot = sample.filter((c) => {
      const spec = (c.pod as { spec: Json }).spec;
      return LISTS.some((l) => objects(spec[l]).some((x) => names(x, 'volumeMounts').includes('git-sync-root')));
    });
    expect(mountsRoot.filter((c) => run(c).outcome === 'injected').length).toBeGreaterThan(20);
  });

  it('the author\'s own mounts and devices never name a volume the injector added; its only mount into them is the read-only root', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const r = run(c);
        if (r.outcome !== 'injected') return;
        const added = new Set(r.injection!.volumes);
        const [root] = r.injection!.volumes;
        const before = (c.pod as { spec: Json }).spec;
        const after = (r.pod as { spec: Json }).spec;
        for (const list of LISTS) {
          for (const [i, authored] of objects(before[list]).entries()) {
            const where = `spec.${list}[${i}] (${String(authored.name)})`;
            for (const name of [...names(authored, 'volumeMounts'), ...names(authored, 'volumeDevices')]) {
              expect(added.has(name), `${where} refers to ${name}, a volume the injector added`).toBe(false);
            }
            const now = objects(after[list])[i]!;
            expect(names(now, 'volumeDevices')).toEqual(names(authored, 'volumeDevices'));
            const extra = objects(now.volumeMounts).slice(objects(authored.volumeMounts).length);
            for (const m of extra) expect(m, `${where} got a mount`).toMatchObject({ name: root, readOnly: true });
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('no name the pod refers to is the name of a container the injector added', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const r = run(c);
        if (r.outcome !== 'injected') return;
        const pod = c.pod as { metadata?: { annotations?: Record<string, string> | null }; spec: Json };
        const referred = [
          ...objects(pod.spec.ephemeralContainers).map((e) => e.targetContainerName),
          pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'],
          ...LISTS.flatMap((l) => objects(pod.spec[l]).map((x) => x.name)),
        ].filter((n): n is string => typeof n === 'string');
        const added = [...r.injection!.initContainers, ...r.injection!.containers];
        for (const name of added) expect(referred, `the injector added ${name}, which the pod refers to`).not.toContain(name);
      }),
      { numRuns: RUNS },
    );
  });
});
