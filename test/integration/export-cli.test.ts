/**
 * `gitsync-injector export-policy`, run as a user runs it: the built-in
 * policy's export is the golden file test/fixtures/cli/export-policy.yaml
 * (`UPDATE_EXPORT=1 npx vitest run test/integration/export-cli.test.ts`
 * rewrites it; review the diff), the objects have the shape the API server
 * expects (the proof helper's e2e test is the real validator: kubectl knows
 * these kinds only from a server), and a policy that cannot be exported
 * writes nothing, exits 1 and says every reason.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { VERSION } from '../../src/version.ts';
import { runCli } from '../support/cli.ts';

const GOLDEN = join(import.meta.dirname, '..', 'fixtures', 'cli', 'export-policy.yaml');
const work = mkdtempSync(join(tmpdir(), 'export-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The version is in the header and baked into the status annotation: the golden file holds a placeholder. */
const normalised = (text: string): string => text.replaceAll(VERSION, '<version>');

type Obj = Record<string, any>;

describe('export-policy', () => {
  test('the built-in policy, with the native sidecar fact: the golden file', async () => {
    const run = await runCli(['export-policy', '--native-sidecars', 'supported']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    if (process.env.UPDATE_EXPORT === '1') writeFileSync(GOLDEN, normalised(run.stdout));
    expect(normalised(run.stdout)).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  test('the objects have the shape the API server expects', async () => {
    const run = await runCli(['export-policy', '--native-sidecars', 'unsupported', '--api-version', 'v1alpha1']);
    expect(run.code).toBe(0);
    const docs = parseAllDocuments(run.stdout).map((d) => d.toJS() as Obj);
    expect(docs.map((d) => `${d.apiVersion} ${d.kind}`)).toEqual([
      'admissionregistration.k8s.io/v1alpha1 MutatingAdmissionPolicy',
      'admissionregistration.k8s.io/v1alpha1 MutatingAdmissionPolicyBinding',
      'admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy',
      'admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding',
    ]);
    const [map, mapBinding, vap, vapBinding] = docs as [Obj, Obj, Obj, Obj];
    expect(mapBinding.spec.policyName).toBe(map.metadata.name);
    expect(vapBinding.spec.policyName).toBe(vap.metadata.name);
    expect(vapBinding.spec.validationActions).toEqual(['Deny']);
    expect(map.spec.matchConditions.length).toBeLessThanOrEqual(64);
    expect(map.spec.mutations.length).toBeGreaterThan(0);
    // ApplyConfiguration merges into what the pod has; whole new objects (their atomic lists) are JSONPatch.
    for (const m of map.spec.mutations as Obj[]) expect(m.patchType === 'ApplyConfiguration' ? m.applyConfiguration : m.jsonPatch).toBeDefined();
    // Objects by ApplyConfiguration first, then by JSONPatch what it may not write: their atomic
    // lists (capabilities.drop), and the env entries that read a Secret (an atomic secretKeyRef, names given twice).
    const types = (map.spec.mutations as Obj[]).map((m) => m.patchType);
    expect(types).toEqual(['ApplyConfiguration', 'ApplyConfiguration', 'ApplyConfiguration', 'ApplyConfiguration', 'JSONPatch', 'JSONPatch']);
    expect(JSON.stringify(map.spec.mutations.slice(0, 4))).not.toContain('drop:');
    expect(JSON.stringify(map.spec.mutations.slice(0, 4))).not.toContain('secretKeyRef');
    expect(JSON.stringify(map.spec.mutations[5])).toContain('secretKeyRef');

    // The API server compiles no expression longer than 100,000 code points.
    const expressions = [
      ...(map.spec.mutations as Obj[]).map((m) => (m.applyConfiguration ?? m.jsonPatch).expression as string),
      ...[map, vap].flatMap((p) => (p.spec.matchConditions as Obj[]).map((m) => m.expression as string)),
      ...(vap.spec.validations as Obj[]).flatMap((v) => [v.expression as string, v.messageExpression as string]),
    ];
    for (const e of expressions) expect([...e].length).toBeLessThan(100_000);
    // No `variables` in any object: v1.32 refuses them in a MutatingAdmissionPolicy, and a
    // ValidatingAdmissionPolicy's shared the API server's type of them with every other policy
    // until kubernetes/kubernetes#135757 was fixed (a race that crashed the API server).
    for (const doc of parseAllDocuments(run.stdout).map((d) => d.toJS() as Obj)) {
      expect(doc.spec.variables, `${doc.kind} ${doc.metadata.name}`).toBeUndefined();
      expect(JSON.stringify(doc), `${doc.kind} ${doc.metadata.name}`).not.toContain('variables.');
    }
    // No placeholder of the compiler is left anywhere.
    expect(run.stdout).not.toMatch(/[\u0000-\u0008]/);
    expect(map.metadata.annotations['gitsync.dev/policy']).toMatch(/^[0-9a-f]{12}$/);
  });

  test("the policy's host keys: their downwardAPI volume is added whole by JSONPatch, after the applied volumes", async () => {
    const file = join(work, 'known-hosts.yaml');
    writeFileSync(file, 'nativeSidecars: enabled\nknownHosts:\n  - "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"\n');
    const run = await runCli(['export-policy', '--policy', file]);
    expect(run.code, run.stderr).toBe(0);
    const map = parseAllDocuments(run.stdout)[0]!.toJS() as Obj;
    const expressions = (map.spec.mutations as Obj[]).map((m) => ({ type: m.patchType as string, cel: (m.applyConfiguration ?? m.jsonPatch).expression as string }));
    // Applied without its source, the API server would default it to an emptyDir, and the source added later would be a second one.
    const volumes = expressions.findIndex((m) => m.type === 'ApplyConfiguration' && m.cel.includes('volumes:'));
    expect(volumes).toBeGreaterThanOrEqual(0);
    expect(expressions[volumes]!.cel).not.toContain('downwardAPI');
    const added = expressions.findIndex((m) => m.type === 'JSONPatch' && /path: '\/spec\/volumes\/-', value: Object\.spec\.volumes\{name: 'git-sync-known-hosts', downwardAPI: /.test(m.cel));
    expect(added).toBeGreaterThan(volumes);
  });

  test('onInvalidAnnotations admit: warnings for the webhook’s refusals, a denial for what only the webhook serves', async () => {
    const file = join(work, 'admit.yaml');
    writeFileSync(file, 'onInvalidAnnotations: admit\nnativeSidecars: enabled\n');
    const run = await runCli(['export-policy', '--policy', file]);
    expect(run.code).toBe(0);
    const docs = parseAllDocuments(run.stdout).map((d) => d.toJS() as Obj);
    const bindings = docs.filter((d) => d.kind === 'ValidatingAdmissionPolicyBinding').map((d) => [d.spec.policyName, d.spec.validationActions]);
    expect(bindings).toEqual([
      ['gitsync-injector', ['Warn']],
      ['gitsync-injector-webhook-only', ['Deny']],
    ]);
  });

  test('a policy that needs the nodes’ answer: nothing written, the reason and what to do', async () => {
    const run = await runCli(['export-policy']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('nativeSidecars: "auto" asks the cluster\'s nodes');
    expect(run.stderr).toContain('--native-sidecars supported or unsupported');
    expect(run.stderr).toContain('[EXPORT_NATIVE_SIDECARS_UNKNOWN]');
  });

  test('every reason at once, each naming its field and code', async () => {
    const file = join(work, 'v3.yaml');
    writeFileSync(file, 'dialect: v3\nnativeSidecars: disabled\ndefaults:\n  ref: main\n  touch-file: synced\npresets:\n  wide:\n    period: 90.5s\n');
    const run = await runCli(['export-policy', '--policy', file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`the policy in ${file} cannot be exported (3 reasons)`);
    expect(run.stderr).toContain('dialect: "v3" cannot be exported');
    expect(run.stderr).toContain('[EXPORT_DIALECT_UNSUPPORTED]');
    expect(run.stderr).toContain('defaults.touch-file: touch-file is served only by the webhook');
    expect(run.stderr).toContain('[EXPORT_WEBHOOK_ONLY_DEFAULT]');
    expect(run.stderr).toContain('presets.wide.period: "90.5s" is outside what the export serves');
    expect(run.stderr).toContain('[EXPORT_VALUE_OUTSIDE_ENVELOPE]');
  });

  test('bad invocations', async () => {
    expect((await runCli(['export-policy', '--api-version', 'v2'])).code).toBe(2);
    expect((await runCli(['export-policy', '--native-sidecars', 'maybe'])).code).toBe(2);
  });
});
