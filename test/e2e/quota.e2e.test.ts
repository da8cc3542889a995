/**
 * Injected pods in a namespace whose ResourceQuota caps limits.cpu and
 * limits.ephemeral-storage, on the API server in KUBECONFIG: its ResourceQuota
 * admission refuses a pod with any container (init containers included)
 * that does not set a quota's resource. The pods are injected here, by the
 * engine the webhook runs, under the built-in policy and under a policy that
 * sets what the quota asks for (resources.limits.cpu, ephemeral-storage
 * requests and limits, gitSync.rootSizeLimit), and created for real (they
 * stay Pending: nothing schedules them), because quota usage is what is
 * being checked.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { injectPod, type EnginePolicy } from '../../src/engine/index.ts';
import { validatePolicyDocument } from '../../src/policy/index.ts';
import { VERSION } from '../../src/version.ts';
import { Cleanup } from './support/cleanup.ts';
import { readConfig, type E2EConfig } from './support/config.ts';
import { eventually, Kubectl } from './support/kubectl.ts';
import type { Obj } from './support/manifests.ts';
import { PAUSE_IMAGE } from './support/shapes.ts';

const config = readConfig(process.env);
const enabled = !('kind' in config);
const id = randomBytes(3).toString('hex');
const NAMESPACE = `gitsync-quota-${id}`;

const QUOTA = {
  apiVersion: 'v1',
  kind: 'ResourceQuota',
  metadata: { name: 'compute' },
  spec: { hard: { 'limits.cpu': '8', 'limits.ephemeral-storage': '20Gi', 'requests.ephemeral-storage': '10Gi' } },
};

/** What docs/install.md tells a platform team with such quotas to write in the policy. */
const QUOTA_POLICY = {
  resources: {
    requests: { cpu: '10m', memory: '64Mi', 'ephemeral-storage': '64Mi' },
    limits: { cpu: '500m', memory: '256Mi', 'ephemeral-storage': '1Gi' },
  },
  gitSync: { rootSizeLimit: '2Gi' },
};

function compiled(doc: Record<string, unknown>): EnginePolicy {
  const result = validatePolicyDocument(doc);
  if (!result.compiled) throw new Error(JSON.stringify(result.problems));
  return result.compiled.engine;
}

/** A pod whose own container fits the quota, as its author wrote it. */
const authored = (name: string, mode: string): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, annotations: { 'gitsync.dev/repo': 'https://github.com/acme/reports.git', 'gitsync.dev/mode': mode } },
  spec: {
    automountServiceAccountToken: false,
    containers: [{ name: 'app', image: PAUSE_IMAGE, resources: { limits: { cpu: '1', 'ephemeral-storage': '1Gi' } } }],
  },
});

function injected(pod: Obj, policy: EnginePolicy, nativeSidecars = true): Obj {
  const result = injectPod({ pod, namespace: NAMESPACE }, { policy, cluster: { nativeSidecars }, version: VERSION });
  expect(result.outcome, JSON.stringify(result.errors)).toBe('injected');
  return result.pod as Obj;
}

describe.skipIf(!enabled)(`injected pods under a ResourceQuota on limits.cpu and limits.ephemeral-storage (namespace ${NAMESPACE})`, () => {
  const cfg = config as E2EConfig;
  const cleanup = new Cleanup();
  const kubectl = enabled ? new Kubectl(cfg.kubeconfig, cfg.timeoutMs) : (undefined as never);
  const create = (pod: Obj) => kubectl.run(['create', '-n', NAMESPACE, '-f', '-', '-o', 'json'], { input: JSON.stringify(pod) });

  beforeAll(async () => {
    await kubectl.must(['create', 'namespace', NAMESPACE]);
    if (!cfg.keepNamespace) cleanup.add(`namespace ${NAMESPACE}`, () => kubectl.must(['delete', 'namespace', NAMESPACE, '--ignore-not-found', '--wait=false']));
    await kubectl.must(['create', '-n', NAMESPACE, '-f', '-'], { input: JSON.stringify(QUOTA) });
    // The quota is enforced once its controller has computed its status, and a new namespace
    // gets its ServiceAccount a moment later: wait until the author's own pod is admitted.
    await eventually('the quota admitting an uninjected pod that sets its limits', cfg.timeoutMs, async () => {
      const result = await create(authored('plain', 'sidecar'));
      return result.code === 0 ? true : undefined;
    });
  });

  afterAll(() => cleanup.run());

  test('under the built-in policy (no CPU or ephemeral-storage limits), the injected pod is refused, naming the git-sync containers', async () => {
    const result = await create(injected(authored('builtin', 'sidecar'), compiled({})));
    expect(result.code).not.toBe(0);
    // "failed quota: compute: must specify limits.cpu for: git-sync,git-sync-init; limits.ephemeral-storage for: …"
    expect(result.stderr).toContain('must specify limits.cpu for: git-sync,git-sync-init');
  });

  test.each([['sidecar'], ['native'], ['init-only']])(
    'mode %s, under a policy with CPU and ephemeral-storage limits: admitted, and stored with them and the root sizeLimit',
    async (mode) => {
      const result = await create(injected(authored(`quota-${mode}`, mode), compiled(QUOTA_POLICY)));
      expect(result.code, result.stderr).toBe(0);
      const stored = JSON.parse(result.stdout) as Obj;
      const gitSync = [...(stored.spec.initContainers ?? []), ...stored.spec.containers].filter((c: Obj) => c.name.startsWith('git-sync'));
      expect(gitSync.length).toBeGreaterThan(0);
      for (const c of gitSync) expect(c.resources, c.name).toEqual(QUOTA_POLICY.resources);
      const root = stored.spec.volumes.find((v: Obj) => v.name === 'git-sync-root');
      expect(root.emptyDir).toEqual({ sizeLimit: '2Gi' });
    },
  );
});
