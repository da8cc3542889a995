/**
 * The probes that decide how long a user waits for an injected pod
 * (docs/annotations.md#time-to-ready): the native sidecar's startup probe runs every second
 * and still allows five minutes for a first clone; the classic sidecar,
 * which starts after the init container synced, has no startup probe to
 * wait on; every sidecar keeps its liveness probe; the one-shot init
 * container has no probes.
 */
import { describe, expect, test } from 'vitest';
import { injectPod } from '../../src/engine/index.ts';
import { engineContext, samplePod } from '../support/server.ts';

type Container = Record<string, unknown> & { name: string };

function injected(mode: string): { init: Container[]; app: Container[] } {
  const result = injectPod({ pod: samplePod({ 'gitsync.dev/mode': mode }), namespace: 'team-a' }, { ...engineContext(), cluster: { nativeSidecars: true } });
  expect(result.outcome).toBe('injected');
  const spec = (result.pod as { spec: { initContainers?: Container[]; containers: Container[] } }).spec;
  return { init: spec.initContainers ?? [], app: spec.containers.filter((c) => c.name.startsWith('git-sync')) };
}

const liveness = { httpGet: { path: '/', port: 1234 }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 };

describe('git-sync probes', () => {
  test('native: a startup probe every second from the start, 300 tries (five minutes), and liveness', () => {
    const { init } = injected('native');
    expect(init).toHaveLength(1);
    expect(init[0]!.startupProbe).toEqual({ httpGet: { path: '/', port: 1234 }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 300 });
    expect(init[0]!.livenessProbe).toEqual(liveness);
    expect(init[0]!.readinessProbe).toBeUndefined();
  });

  test('sidecar: liveness only, so the pod is ready once the sidecar runs (the init container already synced)', () => {
    const { init, app } = injected('sidecar');
    expect(app).toHaveLength(1);
    expect(app[0]!.startupProbe).toBeUndefined();
    expect(app[0]!.readinessProbe).toBeUndefined();
    expect(app[0]!.livenessProbe).toEqual(liveness);
    expect(init.map((c) => [c.startupProbe, c.livenessProbe, c.readinessProbe])).toEqual([[undefined, undefined, undefined]]);
  });

  test('init-only: no probes at all', () => {
    const { init, app } = injected('init-only');
    expect(app).toEqual([]);
    expect(init.map((c) => [c.startupProbe, c.livenessProbe, c.readinessProbe])).toEqual([[undefined, undefined, undefined]]);
  });
});
