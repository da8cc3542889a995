/**
 * The names of what the injector adds are names the pod does not use or
 * refer to anywhere (issue 15, item 1): an init container that mounts
 * 'git-sync-root' without declaring it must not get git-sync's root.
 */
import { describe, expect, it } from 'vitest';
import { injectPod, type InjectResult } from '../../src/engine/index.ts';
import { mustCompile } from '../../src/policy/compile.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';

const ctx = { policy: mustCompile(BUILTIN_POLICY).engine, cluster: { nativeSidecars: false }, version: '0.0.0-test' };
const annotations = { 'gitsync.dev/repo': 'https://github.com/acme/dags.git', 'gitsync.dev/mode': 'sidecar' };

function inject(spec: Record<string, unknown>, extra: Record<string, string> = {}): InjectResult {
  const pod = { metadata: { name: 'p', annotations: { ...annotations, ...extra } }, spec: { containers: [{ name: 'app', image: 'app:1' }], ...spec } };
  const r = injectPod({ pod, namespace: 'team-a' }, ctx);
  expect(r.outcome).toBe('injected');
  return r;
}

describe('volumes the pod mounts without declaring them', () => {
  it("an init container mounting an undeclared git-sync-root and git-sync-tmp does not get git-sync's", () => {
    const evil = { name: 'evil', image: 'busybox', volumeMounts: [{ name: 'git-sync-root', mountPath: '/r' }, { name: 'git-sync-tmp', mountPath: '/t' }] };
    const r = inject({ initContainers: [evil] });
    expect(r.injection!.volumes).toEqual(['git-sync-root-2', 'git-sync-tmp-2']);
    const gitSync = (r.pod as { spec: { containers: { name: string; volumeMounts: { name: string }[] }[] } }).spec.containers.find((c) => c.name === 'git-sync')!;
    expect(gitSync.volumeMounts.map((m) => m.name)).toEqual(['git-sync-root-2', 'git-sync-tmp-2']);
  });

  it('volumeDevices and ephemeral containers count too', () => {
    const r = inject({
      containers: [{ name: 'app', volumeDevices: [{ name: 'git-sync-root', devicePath: '/dev/x' }] }],
      ephemeralContainers: [{ name: 'dbg', volumeMounts: [{ name: 'git-sync-tmp', mountPath: '/t' }] }],
    });
    expect(r.injection!.volumes).toEqual(['git-sync-root-2', 'git-sync-tmp-2']);
  });
});

describe('container names the pod refers to', () => {
  it("kubectl's default container, an ephemeral container's target and a resourceFieldRef are not given to git-sync", () => {
    const r = inject(
      {
        containers: [{ name: 'app', env: [{ name: 'L', valueFrom: { resourceFieldRef: { containerName: 'git-sync-init', resource: 'limits.cpu' } } }] }],
        ephemeralContainers: [{ name: 'dbg', targetContainerName: 'git-sync-2' }],
      },
      { 'kubectl.kubernetes.io/default-container': 'git-sync' },
    );
    expect(r.injection!.initContainers).toEqual(['git-sync-init-2']);
    expect(r.injection!.containers).toEqual(['git-sync-3']);
  });

  it('a downwardAPI volume item naming a container counts, plain or projected', () => {
    const item = (containerName: string) => ({ path: 'cpu', resourceFieldRef: { containerName, resource: 'limits.cpu' } });
    const r = inject({
      volumes: [
        { name: 'd', downwardAPI: { items: [item('git-sync')] } },
        { name: 'p', projected: { sources: [{ downwardAPI: { items: [item('git-sync-init')] } }] } },
      ],
    });
    expect(r.injection!.containers).toEqual(['git-sync-2']);
    expect(r.injection!.initContainers).toEqual(['git-sync-init-2']);
  });
});
