/**
 * The end-to-end suite's own machinery, checked without a cluster (this file
 * runs in the default suite; the *.e2e.test.ts files need KUBECONFIG): its
 * configuration, the webhook configuration it registers, its cleanup, the
 * pods it creates, and the comparison of stored pods with predictions, fed
 * with what an API server really does to a pod.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseDocument } from 'yaml';
import { injectPod, type InjectResult } from '../../src/engine/index.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { mustCompile } from '../../src/policy/compile.ts';
import type { Policy } from '../../src/policy/types.ts';
import { goldenPolicy } from '../support/golden-policy.ts';
import { Cleanup } from './support/cleanup.ts';
import { containmentProblems, injectedDifferences, untouchedProblems } from './support/compare.ts';
import { readConfig, webhookUrl } from './support/config.ts';
import { kustomizeImage } from './support/kustomize.ts';
import { PAUSE_IMAGE, creatable, goldenShapes, workloadShapes } from './support/shapes.ts';
import { hostWebhookConfiguration, hostWebhookName } from './support/webhook-config.ts';

describe('configuration', () => {
  test('without KUBECONFIG the suite is skipped, with a reason that says how to run it', () => {
    expect(readConfig({})).toEqual({ kind: 'skip', reason: expect.stringContaining('KUBECONFIG is not set') });
    expect(readConfig({ KUBECONFIG: '  ' })).toMatchObject({ kind: 'skip' });
  });

  test('defaults: host mode, 127.0.0.1, any free port, two minutes', () => {
    expect(readConfig({ KUBECONFIG: '/k' })).toEqual({
      kubeconfig: '/k',
      modes: ['host'],
      webhookHost: '127.0.0.1',
      listenHost: '127.0.0.1',
      webhookPort: 0,
      timeoutMs: 120_000,
      keepNamespace: false,
    });
  });

  test('the webhook listens on the address the cluster dials when it is one of this host, else on every address', () => {
    expect(readConfig({ KUBECONFIG: '/k', GITSYNC_E2E_WEBHOOK_HOST: '172.18.0.1' })).toMatchObject({ webhookHost: '172.18.0.1', listenHost: '172.18.0.1' });
    expect(readConfig({ KUBECONFIG: '/k', GITSYNC_E2E_WEBHOOK_HOST: 'host.k3d.internal' })).toMatchObject({ listenHost: '0.0.0.0' });
    expect(readConfig({ KUBECONFIG: '/k', GITSYNC_E2E_WEBHOOK_HOST: 'host.k3d.internal', GITSYNC_E2E_LISTEN_HOST: '10.1.2.3' })).toMatchObject({ listenHost: '10.1.2.3' });
  });

  test.each([
    [{ GITSYNC_E2E_MODES: 'cluster' }, 'GITSYNC_E2E_MODES'],
    [{ GITSYNC_E2E_MODES: ',' }, 'GITSYNC_E2E_MODES'],
    [{ GITSYNC_E2E_MODES: 'host,in-cluster' }, 'GITSYNC_E2E_IMAGE is required'],
    [{ GITSYNC_E2E_WEBHOOK_PORT: '70000' }, 'GITSYNC_E2E_WEBHOOK_PORT'],
    [{ GITSYNC_E2E_TIMEOUT_SECONDS: 'soon' }, 'GITSYNC_E2E_TIMEOUT_SECONDS'],
  ])('%j is refused, naming the variable', (env, words) => {
    expect(readConfig({ KUBECONFIG: '/k', ...env })).toEqual({ kind: 'invalid', reason: expect.stringContaining(words) });
  });

  test('webhook URLs put IPv6 addresses in brackets', () => {
    expect(webhookUrl('172.18.0.1', 8443)).toBe('https://172.18.0.1:8443/mutate');
    expect(webhookUrl('fd00::1', 8443)).toBe('https://[fd00::1]:8443/mutate');
    expect(webhookUrl('host.k3d.internal', 443)).toBe('https://host.k3d.internal:443/mutate');
  });

  test.each([
    ['gitsync-injector:e2e', { name: 'gitsync-injector', newName: 'gitsync-injector', newTag: 'e2e' }],
    ['localhost:5000/gitsync-injector', { name: 'gitsync-injector', newName: 'localhost:5000/gitsync-injector' }],
    ['localhost:5000/team/gitsync-injector:0.1.0', { name: 'gitsync-injector', newName: 'localhost:5000/team/gitsync-injector', newTag: '0.1.0' }],
    ['ghcr.io/acme/gitsync-injector@sha256:abc', { name: 'gitsync-injector', newName: 'ghcr.io/acme/gitsync-injector', digest: 'sha256:abc' }],
  ])('image %s becomes a kustomize images entry', (reference, entry) => {
    expect(kustomizeImage('gitsync-injector', reference)).toEqual(entry);
  });
});

describe('the webhook configuration of the host mode', () => {
  const config = hostWebhookConfiguration({ name: 'gitsync-e2e-abc', namespace: 'gitsync-e2e-abc', url: 'https://172.18.0.1:1234/mutate', caCert: 'PEM' });
  const webhook = (config.webhooks as Record<string, any>[])[0]!;

  test('matches the throwaway namespace and nothing else, so a run that dies early cannot affect other pods', () => {
    expect(webhook.namespaceSelector).toEqual({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['gitsync-e2e-abc'] }] });
    expect(webhook.objectSelector).toBeUndefined();
  });

  test('sends pod CREATEs and UPDATEs, by URL, trusting the fresh CA', () => {
    expect(webhook.rules).toEqual([{ operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
    expect(webhook.clientConfig).toEqual({ url: 'https://172.18.0.1:1234/mutate', caBundle: Buffer.from('PEM').toString('base64') });
    expect(webhook).toMatchObject({ name: hostWebhookName('gitsync-e2e-abc'), admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail' });
  });
});

describe('cleanup', () => {
  test('runs every step, the webhook configuration first and the rest newest first, and reports each failure', async () => {
    const ran: string[] = [];
    const cleanup = new Cleanup();
    const step = (what: string, fail = false) => async () => {
      ran.push(what);
      if (fail) throw new Error(`${what} broke`);
    };
    cleanup.add('server', step('server'));
    cleanup.add('namespace', step('namespace', true));
    cleanup.add('webhook configuration', step('webhook configuration', true), { first: true });
    cleanup.add('port-forward', step('port-forward'));
    const error = await cleanup.run().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(ran).toEqual(['webhook configuration', 'port-forward', 'namespace', 'server']);
    expect(error?.message).toContain('webhook configuration: webhook configuration broke');
    expect(error?.message).toContain('namespace: namespace broke');
    // Steps run once: a second call has nothing left to do.
    await expect(cleanup.run()).resolves.toBeUndefined();
  });
});

describe('what the suite creates', () => {
  const shapes = goldenShapes();

  test('a pod for every golden case, each with a name of its own, no namespace, and an image for every container', () => {
    expect(shapes.length).toBe(readdirSync(join(import.meta.dirname, '..', 'golden', 'pods')).filter((f) => f.endsWith('.yaml')).length);
    const names = shapes.map((s) => (s.pod.metadata as { name?: string; generateName?: string }).name ?? (s.pod.metadata as { generateName: string }).generateName);
    expect(new Set(names).size).toBe(names.length);
    for (const { pod } of shapes) {
      expect((pod.metadata as Record<string, unknown>).namespace).toBeUndefined();
      const spec = pod.spec as { containers: { image?: string }[]; initContainers?: { image?: string }[]; serviceAccountName?: string };
      expect(spec.serviceAccountName).toBeUndefined();
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) expect(c.image).toEqual(expect.any(String));
    }
  });

  test('making a golden pod creatable does not change what the injector does with it', () => {
    for (const shape of shapes) {
      const c = parseDocument(readFileSync(join(import.meta.dirname, '..', 'golden', 'pods', shape.file), 'utf8'), { version: '1.1' }).toJS() as {
        namespace?: string;
        namespaceAnnotations?: Record<string, string>;
        policy?: Partial<Policy>;
        cluster?: { nativeSidecars?: boolean };
        input: unknown;
      };
      const run = (pod: unknown): InjectResult =>
        injectPod(
          { pod, ...(c.namespace !== undefined && { namespace: c.namespace }), ...(c.namespaceAnnotations && { namespaceAnnotations: c.namespaceAnnotations }) },
          { policy: goldenPolicy(c.policy), cluster: c.cluster ?? {}, version: 'e2e' },
        );
      const golden = run(c.input);
      const created = run(shape.pod);
      expect({ file: shape.file, outcome: created.outcome, errors: created.errors.map((e) => e.code) }).toEqual({
        file: shape.file,
        outcome: golden.outcome,
        errors: golden.errors.map((e) => e.code),
      });
    }
  });

  test('a mirror pod keeps the node it names: the API server refuses one without', () => {
    const mirrors = shapes.filter((s) => 'kubernetes.io/config.mirror' in ((s.pod.metadata as { annotations?: object }).annotations ?? {}));
    expect(mirrors.map((s) => s.file)).toEqual(['43-skip-mirror-pod.yaml']);
    for (const { pod } of mirrors) expect((pod.spec as { nodeName?: string }).nodeName).toEqual(expect.any(String));
  });

  test('workloads: a Deployment and a Job whose pod templates opt in', () => {
    expect(workloadShapes().map((w) => w.kind)).toEqual(['Deployment', 'Job']);
  });
});

describe('comparing a stored pod with the prediction', () => {
  const policy = mustCompile(BUILTIN_POLICY).engine;
  const sent = creatable(
    {
      metadata: { name: 'x', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/dags.git', 'gitsync.dev/preset': 'airflow', 'gitsync.dev/secret': 'git' } },
      spec: { containers: [{ name: 'scheduler', env: [{ name: 'A', value: '1' }] }] },
    },
    'scheduler',
  );
  const predicted = injectPod({ pod: sent, namespace: 'e2e' }, { policy, cluster: {}, version: 'e2e' });

  /** What an API server does to the pod the webhook returned: defaults, the service account token, a uid. */
  function asStored(pod: unknown): any {
    const stored = structuredClone(pod) as any;
    stored.metadata.uid = '3b1c…';
    stored.metadata.namespace = 'e2e';
    stored.metadata.creationTimestamp = '2026-11-22T00:00:00Z';
    stored.spec.dnsPolicy = 'ClusterFirst';
    stored.spec.serviceAccountName = 'default';
    const token = { name: 'kube-api-access-x1y2z', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true };
    stored.spec.volumes = [...(stored.spec.volumes ?? []), { name: 'kube-api-access-x1y2z', projected: { defaultMode: 420, sources: [] } }];
    for (const c of [...stored.spec.containers, ...(stored.spec.initContainers ?? [])]) {
      c.terminationMessagePath = '/dev/termination-log';
      c.volumeMounts = [...(c.volumeMounts ?? []), token];
      for (const probe of [c.startupProbe, c.livenessProbe]) {
        if (!probe) continue;
        probe.httpGet.scheme = 'HTTP';
        probe.successThreshold = 1;
      }
    }
    for (const v of stored.spec.volumes) if (v.secret && v.secret.defaultMode === undefined) v.secret.defaultMode = 420;
    return stored;
  }

  test('the prediction is found in the pod as an API server stores it', () => {
    expect(predicted.outcome).toBe('injected');
    expect(injectedDifferences(sent, predicted.pod, asStored(predicted.pod), predicted.injection!)).toEqual([]);
  });

  test('a difference in anything the injector wrote is reported, with where it is', () => {
    const stored = asStored(predicted.pod);
    const gitSync = stored.spec.containers.find((c: { name: string }) => c.name === 'git-sync');
    gitSync.env.find((e: { name: string }) => e.name === 'GITSYNC_REF').value = 'main';
    stored.spec.volumes = stored.spec.volumes.filter((v: { name: string }) => v.name !== 'git-sync-tmp');
    stored.spec.containers[0].env = stored.spec.containers[0].env.filter((e: { name: string }) => e.name === 'A');
    stored.metadata.annotations['gitsync.dev/status'] = '{}';
    stored.spec.containers.push({ name: 'extra', image: PAUSE_IMAGE });
    expect(injectedDifferences(sent, predicted.pod, stored, predicted.injection!)).toEqual([
      expect.stringMatching(/^metadata\.annotations\[gitsync\.dev\/status\]: expected .*, found "\{\}"$/),
      expect.stringMatching(/^spec\.containers\[git-sync\]\.env\[\d+\]\.value: expected "HEAD", found "main"$/),
      'spec.volumes: no volume git-sync-tmp',
      'spec.containers[scheduler].env[AIRFLOW__CORE__DAGS_FOLDER]: expected an object, found undefined',
      expect.stringMatching(/^containers: expected .*, found .*extra/),
    ]);
  });

  test('an untouched pod shows no injection; an injected one does', () => {
    expect(untouchedProblems(sent, asStored(sent), 'gitsync.dev/status')).toEqual([]);
    expect(untouchedProblems(sent, asStored(predicted.pod), 'gitsync.dev/status')).toEqual([
      'metadata.annotations[gitsync.dev/status] was added',
      expect.stringMatching(/^containers: sent scheduler, stored /),
    ]);
  });

  test('containment: objects by member, lists by prefix, values exactly', () => {
    expect(containmentProblems({ a: [1, { b: 2 }] }, { a: [1, { b: 2, c: 3 }, 4], d: 5 })).toEqual([]);
    expect(containmentProblems({ a: [1, 2] }, { a: [1] })).toEqual(['a: expected at least 2 items, found 1']);
    expect(containmentProblems({ a: { b: '1' } }, { a: { b: 1 } })).toEqual(['a.b: expected "1", found 1']);
    expect(containmentProblems({ a: {} }, { a: [] })).toEqual(['a: expected an object, found []']);
  });
});
