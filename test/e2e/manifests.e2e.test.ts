/**
 * Every kustomization in manifests/ (base, overlays, examples) passes
 * `kubectl apply --dry-run=server` on the cluster in KUBECONFIG: the API
 * server's own schema validation, defaulting and admission (Pod Security,
 * CEL rules of the webhook configuration's match conditions), which
 * `kubectl kustomize` alone does not check. Nothing is stored.
 *
 * Two things a dry run cannot do alone, handled in the open:
 * - A namespaced object is only checked if its namespace exists (a dry-run
 *   Namespace creates nothing), so each Namespace the manifests ship that the
 *   cluster lacks is applied for real first (with its labels, so the dry
 *   runs meet its Pod Security level) and deleted afterwards.
 * - Objects of a kind the cluster does not serve (cert-manager's Certificate
 *   and Issuer on a cluster without cert-manager's CRDs) cannot be
 *   validated: they are left out, and the test asserts exactly which were.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cleanup } from './support/cleanup.ts';
import { readConfig, type E2EConfig } from './support/config.ts';
import { Kubectl } from './support/kubectl.ts';
import { describeObject, renderManifests, type Obj, type Rendered } from './support/manifests.ts';

const config = readConfig(process.env);
const enabled = !('kind' in config);

/** The objects the cert-manager overlay adds, which need cert-manager's CRDs. */
const CERT_MANAGER_OBJECTS = [
  'Certificate gitsync-injector/gitsync-injector-ca',
  'Certificate gitsync-injector/gitsync-injector-serving',
  'Issuer gitsync-injector/gitsync-injector-ca',
  'Issuer gitsync-injector/gitsync-injector-selfsigned',
];

describe.skipIf(!enabled)('the manifests pass the API server’s dry run', () => {
  const cfg = config as E2EConfig;
  const cleanup = new Cleanup();
  const kubectl = enabled ? new Kubectl(cfg.kubeconfig, cfg.timeoutMs) : (undefined as never);
  let renders: Rendered[] = [];
  /** apiVersion → the kinds it serves, or undefined when the cluster does not serve that apiVersion. */
  const served = new Map<string, Set<string> | undefined>();

  async function servedKinds(apiVersion: string): Promise<Set<string> | undefined> {
    if (!served.has(apiVersion)) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      const result = await kubectl.run(['get', '--raw', path]);
      if (result.code !== 0 && !/NotFound|could not find|404/.test(result.stderr)) throw new Error(`${result.command}: ${result.stderr}`);
      served.set(apiVersion, result.code === 0 ? new Set((JSON.parse(result.stdout) as { resources: { kind: string }[] }).resources.map((r) => r.kind)) : undefined);
    }
    return served.get(apiVersion);
  }

  beforeAll(async () => {
    await kubectl.must(['version']);
    const rendered = await renderManifests(kubectl);
    cleanup.add('the rendered manifests', async () => rendered.remove());
    renders = rendered.renders;
    // Created as shipped (kubectl apply, so with its labels: the Pod Security level the dry runs meet).
    const namespaces = new Map(renders.flatMap((r) => r.objects.filter((o) => o.kind === 'Namespace').map((o) => [o.metadata.name as string, o] as const)));
    for (const [ns, object] of namespaces) {
      if ((await kubectl.run(['get', 'namespace', ns])).code === 0) continue;
      await kubectl.must(['apply', '-f', '-'], { input: JSON.stringify(object) });
      cleanup.add(`namespace ${ns}`, () => kubectl.must(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']));
    }
  });

  afterAll(() => cleanup.run());

  test('every kustomization folder is rendered: the admission policy, base, both overlays, examples', () => {
    expect(renders.map((r) => r.folder)).toEqual(['admission-policy', 'base', 'examples', 'overlays/cert-manager', 'overlays/self-signed']);
  });

  test('only objects whose kind this cluster does not serve are left out, and they are cert-manager’s', async () => {
    const leftOut: string[] = [];
    for (const { objects } of renders) for (const o of objects) if (!(await servedKinds(o.apiVersion))?.has(o.kind)) leftOut.push(`${o.apiVersion} ${describeObject(o)}`);
    const certManager = await servedKinds('cert-manager.io/v1');
    expect(leftOut.sort()).toEqual(certManager ? [] : CERT_MANAGER_OBJECTS.map((o) => `cert-manager.io/v1 ${o}`));
  });

  test.each(['admission-policy', 'base', 'examples', 'overlays/cert-manager', 'overlays/self-signed'])('%s: kubectl apply --dry-run=server accepts every object, without warnings', async (folder) => {
    const render = renders.find((r) => r.folder === folder);
    expect(render, `no render of ${folder}`).toBeDefined();
    const checkable: Obj[] = [];
    for (const o of render!.objects) if ((await servedKinds(o.apiVersion))?.has(o.kind)) checkable.push(o);
    expect(checkable.length).toBeGreaterThan(0);
    const result = await kubectl.run(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: checkable }) });
    expect(result.code, `${result.command}:\n${result.stderr}`).toBe(0);
    // Pod Security, deprecated APIs and field problems come back as warnings: none is expected.
    expect(result.stderr).toBe('');
    // One line per object, each "(server dry run)".
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(checkable.length);
    for (const line of lines) expect(line).toMatch(/\(server dry run\)$/);
  });
});
