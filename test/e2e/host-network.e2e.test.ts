/**
 * Injected hostNetwork pods on the API server in KUBECONFIG. In such a pod
 * git-sync's HTTP endpoint binds a port of the node, so the sidecar declares
 * it as a host port (docs/decisions.md): the scheduler then keeps two such
 * pods off one node, and a conflict shows as a Pending pod instead of a
 * sidecar that cannot bind while its probes reach another pod's git-sync.
 * Here: the API server accepts the declaration in each mode that runs a
 * sidecar (a classic container, and a native sidecar, which is an init
 * container) and stores it, a host port equal to the container port that the
 * probes use. The pods are injected by the engine the webhook runs and
 * created for real; nothing schedules them.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { injectPod } from '../../src/engine/index.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { mustCompile } from '../../src/policy/compile.ts';
import { VERSION } from '../../src/version.ts';
import { Cleanup } from './support/cleanup.ts';
import { readConfig, type E2EConfig } from './support/config.ts';
import { eventually, Kubectl } from './support/kubectl.ts';
import type { Obj } from './support/manifests.ts';
import { PAUSE_IMAGE } from './support/shapes.ts';

const config = readConfig(process.env);
const enabled = !('kind' in config);
const id = randomBytes(3).toString('hex');
const NAMESPACE = `gitsync-hostnet-${id}`;
const POLICY = mustCompile(BUILTIN_POLICY).engine;

const hostNetworkPod = (name: string, mode: string, appPort?: number): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, annotations: { 'gitsync.dev/repo': 'https://github.com/acme/agent-config.git', 'gitsync.dev/mode': mode } },
  spec: {
    hostNetwork: true,
    automountServiceAccountToken: false,
    containers: [{ name: 'agent', image: PAUSE_IMAGE, ...(appPort && { ports: [{ containerPort: appPort, protocol: 'TCP' }] }) }],
  },
});

describe.skipIf(!enabled)(`injected hostNetwork pods on the API server in KUBECONFIG (namespace ${NAMESPACE})`, () => {
  const cfg = config as E2EConfig;
  const cleanup = new Cleanup();
  const kubectl = enabled ? new Kubectl(cfg.kubeconfig, cfg.timeoutMs) : (undefined as never);

  beforeAll(async () => {
    await kubectl.must(['create', 'namespace', NAMESPACE]);
    if (!cfg.keepNamespace) cleanup.add(`namespace ${NAMESPACE}`, () => kubectl.must(['delete', 'namespace', NAMESPACE, '--ignore-not-found', '--wait=false']));
  });

  afterAll(() => cleanup.run());

  /** Injects and creates the pod; the stored pod. A new namespace gets its ServiceAccount a moment later. */
  async function created(pod: Obj): Promise<Obj> {
    const result = injectPod({ pod, namespace: NAMESPACE }, { policy: POLICY, cluster: { nativeSidecars: true }, version: VERSION });
    expect(result.outcome, JSON.stringify(result.errors)).toBe('injected');
    return eventually(`creating ${pod.metadata.name}`, cfg.timeoutMs, async () => {
      const out = await kubectl.run(['create', '-n', NAMESPACE, '-f', '-', '-o', 'json'], { input: JSON.stringify(result.pod) });
      if (out.code !== 0 && !out.stderr.includes('serviceaccount')) throw new Error(`${out.command}: ${out.stderr}`);
      return out.code === 0 ? (JSON.parse(out.stdout) as Obj) : undefined;
    });
  }

  test.each([
    ['sidecar', 'containers', 1234, undefined],
    ['native', 'initContainers', 1234, undefined],
    ['sidecar', 'containers', 1235, 1234],
  ] as const)('mode %s: the git-sync sidecar in %s declares host port %i, which its probes use (app port: %s)', async (mode, list, port, appPort) => {
    const stored = await created(hostNetworkPod(`agent-${mode}-${appPort ?? 'none'}`, mode, appPort));
    const sidecar = (stored.spec[list] as Obj[]).find((c) => c.name === 'git-sync');
    expect(sidecar, JSON.stringify(stored.spec)).toBeDefined();
    expect(sidecar!.ports).toEqual([{ containerPort: port, hostPort: port, protocol: 'TCP' }]);
    // Only the native sidecar has a startup probe (it holds the app containers back); both have liveness.
    if (mode === 'native') expect(sidecar!.startupProbe.httpGet.port).toBe(port);
    else expect(sidecar!.startupProbe).toBeUndefined();
    expect(sidecar!.livenessProbe.httpGet.port).toBe(port);
    expect(sidecar!.env).toContainEqual({ name: 'GITSYNC_HTTP_BIND', value: `:${port}` });
    // The one-shot init container binds nothing, so it declares nothing.
    for (const c of (stored.spec.initContainers ?? []) as Obj[]) if (c.name === 'git-sync-init') expect(c.ports).toBeUndefined();
  });

  test('a pod without hostNetwork declares no port: there the port is the pod’s own', async () => {
    const pod = hostNetworkPod('agent-pod-network', 'sidecar');
    delete pod.spec.hostNetwork;
    const stored = await created(pod);
    expect((stored.spec.containers as Obj[]).find((c) => c.name === 'git-sync')!.ports).toBeUndefined();
  });
});
