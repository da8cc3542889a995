/**
 * Every check of the webhook-free export can fail, and says what the
 * webhook says: for each check, a pod that fails it (and it alone among the
 * webhook's codes), the export's refusal, and the engine's answer for the
 * same pod. A check with the webhook's code gives the webhook's message; a
 * WEBHOOK_ONLY check names what only the webhook serves. A new check without
 * a case here fails the coverage test.
 */
import { describe, expect, test } from 'vitest';
import { formatProblem, injectPod, type EngineContext } from '../../src/engine/index.ts';
import { compileExport, WEBHOOK_ONLY_HINT } from '../../src/export/index.ts';
import type { Input } from '../../src/export/cel.ts';
import { goldenPolicy } from '../support/golden-policy.ts';

const ctx: EngineContext = {
  policy: goldenPolicy({
    allowedRepos: ['github.com/acme/*'],
    enforced: { submodules: 'strict' },
    defaults: { submodules: 'off' },
    limits: { maxDepth: 5, allowedModes: ['sidecar', 'init-only'] } as never,
  }),
  cluster: { nativeSidecars: true },
  version: 't',
};
const outcome = compileExport(ctx);
if (!outcome.ok) throw new Error(outcome.refusals.map((r) => r.message).join('; '));
const { checks } = outcome.compiled;

interface Case {
  annotations?: Record<string, string>;
  namespaceAnnotations?: Record<string, string>;
  spec?: Record<string, unknown>;
}
const REPO = { 'gitsync.dev/repo': 'https://github.com/acme/dags.git' };
const SSH = { 'gitsync.dev/repo': 'git@github.com:acme/dags.git' };

const CASES: Record<string, Case> = {
  'several-repositories': { annotations: { ...REPO, 'gitsync.dev/plugins.repo': 'https://github.com/acme/plugins.git' } },
  'webhook-only-annotations': { annotations: { ...REPO, 'gitsync.dev/touch-file': 'synced' } },
  'value-sync-timeout': { annotations: { ...REPO, 'gitsync.dev/sync-timeout': '2.5m' } },
  'value-max-failures': { annotations: { ...REPO, 'gitsync.dev/max-failures': '007' } },
  'sync-timeout-range': { annotations: { ...REPO, 'gitsync.dev/sync-timeout': '0s' } },
  'sync-timeout-maximum': { annotations: { ...REPO, 'gitsync.dev/sync-timeout': '11m' } },
  'max-failures-maximum': { annotations: { ...REPO, 'gitsync.dev/max-failures': '-1' } },
  'names-free': { annotations: REPO, spec: { containers: [{ name: 'app', image: 'a' }, { name: 'git-sync', image: 'not-it' }] } },
  'port-free': { annotations: REPO, spec: { containers: [{ name: 'app', image: 'a', ports: [{ containerPort: 1234 }] }] } },
  'host-network': { annotations: REPO, spec: { hostNetwork: true, containers: [{ name: 'app', image: 'a' }] } },
  'shared-process-shareProcessNamespace': { annotations: REPO, spec: { shareProcessNamespace: true, containers: [{ name: 'app', image: 'a' }] } },
  'shared-process-hostPID': { annotations: REPO, spec: { hostPID: true, containers: [{ name: 'app', image: 'a' }] } },
  'reserved-known-hosts-data': { annotations: { ...REPO, 'gitsync.dev/known-hosts-data': 'x' } },
  'reserved-ca-bundle-data': { annotations: { ...REPO, 'gitsync.dev/ca-bundle-data': 'x' } },
  'reserved-sparse-checkout-data': { annotations: { ...REPO, 'gitsync.dev/sparse-checkout-data': 'x' } },
  'value-inject': { annotations: { ...REPO, 'gitsync.dev/inject': 'yes' } },
  'value-repo': { annotations: { 'gitsync.dev/repo': 'https://token:s3cret@github.com/acme/dags.git' } },
  'value-ref': { annotations: { ...REPO, 'gitsync.dev/ref': 'main..dev' } },
  'value-secret': { annotations: { ...REPO, 'gitsync.dev/secret': 'My_Secret' } },
  'value-secret-layout': { annotations: { ...REPO, 'gitsync.dev/secret-layout': 'github-app' } },
  'value-token-user': { annotations: { ...REPO, 'gitsync.dev/token-user': 'Not_A_Name' } },
  'value-ssh-key': { annotations: { ...REPO, 'gitsync.dev/ssh-key': '.hidden' } },
  'value-known-hosts': { annotations: { ...REPO, 'gitsync.dev/known-hosts': 'maybe' } },
  'value-period': { annotations: { ...REPO, 'gitsync.dev/period': '1.5m' } },
  'value-depth': { annotations: { ...REPO, 'gitsync.dev/depth': '01' } },
  'value-sub-path': { annotations: { ...REPO, 'gitsync.dev/sub-path': 'dags/' } },
  'value-mount-path': { namespaceAnnotations: { 'gitsync.dev/mount-path': '/opt/dags/' }, annotations: REPO },
  'value-containers': { annotations: { ...REPO, 'gitsync.dev/containers': 'app,,web' } },
  'value-mode': { annotations: { ...REPO, 'gitsync.dev/mode': 'fast' } },
  'value-preset': { annotations: { ...REPO, 'gitsync.dev/preset': 'Airflow' } },
  'value-env': { annotations: { ...REPO, 'gitsync.dev/env': 'dags_folder' } },
  'preset-known': { annotations: { ...REPO, 'gitsync.dev/preset': 'spark' } },
  'repo-required': { annotations: { 'gitsync.dev/inject': 'true' } },
  'repo-allowed': { annotations: { 'gitsync.dev/repo': 'https://github.com/other/dags.git' } },
  'depth-maximum': { annotations: { ...REPO, 'gitsync.dev/depth': '0' } },
  'period-range': { annotations: { ...REPO, 'gitsync.dev/period': '25h' } },
  'mode-allowed': { annotations: { ...REPO, 'gitsync.dev/mode': 'native' } },
  'containers-exist': { annotations: { ...REPO, 'gitsync.dev/containers': 'app, web' } },
  'mount-path-plain': { annotations: REPO, spec: { containers: [{ name: 'app', image: 'a', volumeMounts: [{ name: 'v', mountPath: '/data/' }] }] } },
  'mount-path-free': { annotations: REPO, spec: { containers: [{ name: 'app', image: 'a', volumeMounts: [{ name: 'v', mountPath: '/git' }] }] } },
  'mount-path-system': { annotations: { ...REPO, 'gitsync.dev/mount-path': '/usr/lib/python3' } },
  'env-allowed': { annotations: { ...REPO, 'gitsync.dev/env': 'LD_PRELOAD' } },
  'ssh-needs-secret': { annotations: SSH },
  'known-hosts-available': { annotations: { ...SSH, 'gitsync.dev/secret': 'key' } },
  'insecure-forbidden': { annotations: { ...SSH, 'gitsync.dev/secret': 'key', 'gitsync.dev/known-hosts': 'insecure' } },
  'token-needs-secret': { annotations: { ...REPO, 'gitsync.dev/secret-layout': 'token' } },
  'token-user-known': { annotations: { ...REPO, 'gitsync.dev/secret': 's', 'gitsync.dev/secret-layout': 'token', 'gitsync.dev/token-user': 'gitea' } },
  'enforced-submodules-pod': { annotations: { ...REPO, 'gitsync.dev/submodules': 'recursive' } },
  'enforced-submodules-namespace': { annotations: REPO, namespaceAnnotations: { 'gitsync.dev/submodules': 'shallow' } },
};

const codeOf = (line: string): string => /\[([A-Z_]+)\]$/.exec(line)?.[1] ?? '?';

test('every check has a case', () => {
  expect(Object.keys(CASES).sort()).toEqual(checks.map((c) => c.id).sort());
});

describe.each(checks.map((c) => [c.id, c] as const))('%s', (id, check) => {
  const c = CASES[id]!;
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', annotations: c.annotations ?? {} },
    spec: c.spec ?? { containers: [{ name: 'app', image: 'a' }] },
  };
  const input: Input = { pod, namespace: 'apps', namespaceAnnotations: c.namespaceAnnotations ?? {}, namespaceLabels: {} };
  const engine = injectPod({ pod, namespace: 'apps', ...(c.namespaceAnnotations && { namespaceAnnotations: c.namespaceAnnotations }) }, ctx);

  test('fails on its case, and passes on a plain pod', () => {
    expect(check.ok.ev(input)).toBe(false);
    const plain: Input = { pod: { apiVersion: 'v1', kind: 'Pod', metadata: { annotations: REPO }, spec: { containers: [{ name: 'app', image: 'a' }] } }, namespace: 'apps', namespaceAnnotations: {}, namespaceLabels: {} };
    expect(check.ok.ev(plain)).toBe(true);
  });

  test('says what the webhook says, or names what only the webhook serves', () => {
    const line = check.message.ev(input);
    expect(codeOf(line)).toBe(check.code);
    if (check.code === 'WEBHOOK_ONLY') {
      expect(line).toMatch(/webhook/);
      expect(line.includes(WEBHOOK_ONLY_HINT) || line.includes('served only by the webhook') || line.includes('outside what the webhook-free export serves')).toBe(true);
      // Never a credential from the value.
      expect(line).not.toContain('s3cret');
      return;
    }
    expect(engine.outcome).toBe('denied');
    expect(engine.errors.map(formatProblem)).toContain(line);
  });
});

describe('names-free: every name the pod refers to, as the engine counts them', () => {
  const check = checks.find((c) => c.id === 'names-free')!;
  const app = (extra: Record<string, unknown> = {}) => ({ name: 'app', image: 'a', ...extra });
  // Each pod refers to a name the injection adds without declaring it: the engine takes the next free
  // name, and the export, which cannot rename, must refuse (else the reference resolves to its part).
  const REFERS: [string, Record<string, unknown>, Record<string, string>?][] = [
    ['an app container mounts an undeclared git-sync-secret', { containers: [app({ volumeMounts: [{ name: 'git-sync-secret', mountPath: '/stolen' }] })] }],
    ['an init container mounts an undeclared git-sync-root', { initContainers: [app({ name: 'prep', volumeMounts: [{ name: 'git-sync-root', mountPath: '/r' }] })], containers: [app()] }],
    ['an ephemeral container mounts git-sync-tmp', { containers: [app()], ephemeralContainers: [app({ name: 'debug', volumeMounts: [{ name: 'git-sync-tmp', mountPath: '/t' }] })] }],
    ['a container attaches git-sync-root as a block device', { containers: [app({ volumeDevices: [{ name: 'git-sync-root', devicePath: '/dev/x' }] })] }],
    ['an env value from git-sync-init\'s resources', { containers: [app({ env: [{ name: 'M', valueFrom: { resourceFieldRef: { containerName: 'git-sync-init', resource: 'limits.memory' } } }] })] }],
    ['a downwardAPI volume item from git-sync\'s resources', { containers: [app()], volumes: [{ name: 'd', downwardAPI: { items: [{ path: 'm', resourceFieldRef: { containerName: 'git-sync', resource: 'limits.memory' } }] } }] }],
    [
      'a projected downwardAPI item from git-sync-init\'s resources',
      { containers: [app()], volumes: [{ name: 'p', projected: { sources: [{ downwardAPI: { items: [{ path: 'm', resourceFieldRef: { containerName: 'git-sync-init', resource: 'limits.cpu' } }] } }] } }] },
    ],
    ['an AppArmor annotation for a container named git-sync', { containers: [app()] }, { 'container.apparmor.security.beta.kubernetes.io/git-sync': 'unconfined' }],
  ];
  const SECRET = { ...REPO, 'gitsync.dev/secret': 'creds', 'gitsync.dev/secret-layout': 'basic-auth' };

  test.each(REFERS)('%s: the export refuses it, the engine avoids the name', (_, spec, annotations = {}) => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { ...SECRET, ...annotations } }, spec };
    expect(check.ok.ev({ pod, namespace: 'apps', namespaceAnnotations: {}, namespaceLabels: {} })).toBe(false);
    const engine = injectPod({ pod, namespace: 'apps' }, ctx);
    expect(engine.outcome).toBe('injected');
    const ours = [...(engine.injection!.initContainers ?? []), ...(engine.injection!.containers ?? []), ...(engine.injection!.volumes ?? [])];
    const referred = [...JSON.stringify({ spec, annotations }).matchAll(/git-sync[a-z-]*/g)].map((m) => m[0]);
    expect(referred.length).toBeGreaterThan(0);
    for (const name of referred) expect(ours).not.toContain(name);
  });

  test('the same pods without the reference pass', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: SECRET }, spec: { containers: [app({ volumeMounts: [{ name: 'own', mountPath: '/own' }] })], volumes: [{ name: 'own', emptyDir: {} }] } };
    expect(check.ok.ev({ pod, namespace: 'apps', namespaceAnnotations: {}, namespaceLabels: {} })).toBe(true);
  });
});

describe('an enforced value is compared as the engine compares it: parsed', () => {
  const strict: EngineContext = { policy: goldenPolicy({ enforced: { period: 'strict', containers: 'strict' }, defaults: { period: '60s', containers: 'app,web' } }), cluster: { nativeSidecars: true }, version: 't' };
  const compiled = compileExport(strict);
  if (!compiled.ok) throw new Error('must export');
  const run = (annotations: Record<string, string>) => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { ...REPO, ...annotations } }, spec: { containers: [{ name: 'app', image: 'a' }, { name: 'web', image: 'w' }] } };
    const engine = injectPod({ pod, namespace: 'apps' }, strict);
    const failed = compiled.compiled.checks.filter((k) => !k.ok.ev({ pod, namespace: 'apps', namespaceAnnotations: {}, namespaceLabels: {} })).map((k) => k.message.ev({ pod, namespace: 'apps', namespaceAnnotations: {}, namespaceLabels: {} }));
    return { engine, failed };
  };
  test.each([
    [{ 'gitsync.dev/period': '1m' }],
    [{ 'gitsync.dev/period': '60s' }],
    [{ 'gitsync.dev/containers': 'app, web' }],
  ])('the same value spelt another way: injected by both (%o)', (annotations) => {
    const { engine, failed } = run(annotations);
    expect(engine.outcome).toBe('injected');
    expect(failed).toEqual([]);
  });
  test.each([[{ 'gitsync.dev/period': '2m' }], [{ 'gitsync.dev/containers': 'app' }]])('another value: refused by both, in the same words (%o)', (annotations) => {
    const { engine, failed } = run(annotations);
    expect(engine.outcome).toBe('denied');
    expect(failed).toEqual(engine.errors.map(formatProblem));
  });
});

describe('a value that may carry credentials is never repeated by an export message', () => {
  // The engine masks such values (repo, webhook-url); CEL cannot, so the export says "the value".
  const enforced: EngineContext = {
    // Kept unset: a policy that enforces a value for it is the webhook's alone.
    policy: goldenPolicy({ enforced: { 'webhook-url': 'strict' } }),
    cluster: { nativeSidecars: true },
    version: 't',
  };
  const compiled = compileExport(enforced);
  if (!compiled.ok) throw new Error(compiled.refusals.map((r) => r.message).join('; '));

  test('an enforced webhook-url that the pod sets with a password', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { ...REPO, 'gitsync.dev/webhook-url': 'http://admin:HUNTER2@localhost:8080/reload' } }, spec: { containers: [{ name: 'app', image: 'a' }] } };
    const input: Input = { pod, namespace: 'apps', namespaceAnnotations: {}, namespaceLabels: {} };
    const failed = compiled.compiled.checks.filter((k) => !k.ok.ev(input)).map((k) => k.message.ev(input));
    expect(failed.some((line) => line.endsWith('[SETTING_ENFORCED]'))).toBe(true);
    expect(failed.join('\n')).not.toContain('HUNTER2');
    const engine = injectPod({ pod, namespace: 'apps' }, enforced);
    expect(engine.errors.map((p) => p.code)).toContain('SETTING_ENFORCED');
    expect(JSON.stringify(engine.errors)).not.toContain('HUNTER2');
  });
});
