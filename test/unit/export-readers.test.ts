/**
 * Pods the webhook-free export injects are read as the webhook's are:
 * `uninject` removes everything the export added (the status lists it) and
 * gives back the pod as it was; `audit` finds no drift under the policy the
 * export was compiled from, and reports a policy change as it does for the
 * webhook's pods.
 */
import { describe, expect, test } from 'vitest';
import type { EngineContext } from '../../src/engine/index.ts';
import { compileExport, evaluateWebhookFree } from '../../src/export/index.ts';
import { auditPod, uninjectWorkload } from '../../src/workloads/index.ts';
import { goldenPolicy } from '../support/golden-policy.ts';

const VERSION = '0.0.0-test';
const ctx: EngineContext = {
  policy: goldenPolicy({ knownHosts: ['github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'] }),
  cluster: { nativeSidecars: true },
  version: VERSION,
};
const compiled = compileExport(ctx);
if (!compiled.ok) throw new Error('the policy must export');

const pods: Record<string, Record<string, unknown>> = {
  'https, native': {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'a', namespace: 'apps', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/dags.git', 'gitsync.dev/env': 'DAGS' } },
    spec: { containers: [{ name: 'app', image: 'app', env: [{ name: 'X', value: '1' }] }] },
  },
  'ssh, policy host keys, a job': {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'b', namespace: 'apps', annotations: { 'gitsync.dev/repo': 'git@github.com:acme/dags.git', 'gitsync.dev/secret': 'key' } },
    spec: { restartPolicy: 'Never', initContainers: [{ name: 'setup', image: 'x' }], containers: [{ name: 'app', image: 'app' }], volumes: [{ name: 'data', emptyDir: {} }] },
  },
  'airflow preset, https secret, sidecar': {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'c', namespace: 'apps', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/dags.git', 'gitsync.dev/preset': 'airflow', 'gitsync.dev/secret': 'git', 'gitsync.dev/mode': 'sidecar' } },
    spec: { containers: [{ name: 'scheduler', image: 'airflow' }, { name: 'logs', image: 'x' }] },
  },
};

describe.each(Object.entries(pods))('%s', (_name, pod) => {
  const free = evaluateWebhookFree(compiled.compiled, { pod, namespace: 'apps', namespaceLabels: { 'gitsync.dev/injection': 'enabled' } });

  test('is injected, marked as the export’s', () => {
    expect(free.outcome).toBe('injected');
    const status = JSON.parse((free.pod as { metadata: { annotations: Record<string, string> } }).metadata.annotations['gitsync.dev/status']!) as Record<string, unknown>;
    expect(status.engine).toBe('admission-policy');
    expect(status).not.toHaveProperty('config');
    expect(status.policy).toBe(ctx.policy.hash);
  });

  test('uninject gives back the pod as it was', () => {
    const result = uninjectWorkload({ object: free.pod, namespace: 'apps' }, 'gitsync.dev/', ctx);
    if (!('removed' in result)) throw new Error(result.note);
    expect(result.warnings).toEqual([]);
    expect(result.object).toEqual(pod);
  });

  test('audit finds no drift, and a policy change as drift', () => {
    const audit = { ctx, namespaceAnnotations: () => undefined, version: VERSION };
    expect(auditPod(free.pod, audit)).toEqual([]);
    const changed = { ...audit, ctx: { ...ctx, policy: goldenPolicy({ limits: { minPeriod: '30s' } as never }) } };
    expect(auditPod(free.pod, changed).map((f) => f.reason)).toEqual(['policy']);
  });
});
