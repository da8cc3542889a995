/**
 * Every ValidatingAdmissionPolicy the manifests ship, tested where CEL runs:
 * the API server in KUBECONFIG. For each policy, every rule
 * (spec.validations[i]) has an object it must admit and one it must refuse,
 * in CASES below; the policy and its bindings from the rendered manifests are
 * applied, with each binding limited to a throwaway namespace, and each case
 * is created with --dry-run=server.
 *
 * The manifests ship no ValidatingAdmissionPolicy yet: the hardening issue
 * adds them. Until then the first test asserts that there are none, and a
 * policy added without its cases fails it. No placeholder policy is made up
 * here.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cleanup } from './support/cleanup.ts';
import { readConfig, type E2EConfig } from './support/config.ts';
import { eventually, Kubectl } from './support/kubectl.ts';
import { renderManifests, type Obj } from './support/manifests.ts';

const config = readConfig(process.env);
const enabled = !('kind' in config);
const id = randomBytes(3).toString('hex');
const NAMESPACE = `gitsync-vap-${id}`;

/** For one rule: an object it must admit and one it must refuse (namespaced objects are created in the throwaway namespace). */
interface RuleCases {
  admit: Obj;
  refuse: Obj;
}

/** Policy name → one entry per rule, in the order of spec.validations. Empty until the manifests ship a policy. */
const CASES: Record<string, RuleCases[]> = {};

describe.skipIf(!enabled)('the ValidatingAdmissionPolicies in manifests/, on the API server in KUBECONFIG', () => {
  const cfg = config as E2EConfig;
  const cleanup = new Cleanup();
  const kubectl = enabled ? new Kubectl(cfg.kubeconfig, cfg.timeoutMs) : (undefined as never);
  const policies = new Map<string, Obj>();
  const bindings: Obj[] = [];

  beforeAll(async () => {
    const rendered = await renderManifests(kubectl);
    rendered.remove();
    // Overlays repeat the base: one entry per name.
    for (const { objects } of rendered.renders) {
      for (const o of objects) {
        if (o.kind === 'ValidatingAdmissionPolicy') policies.set(o.metadata.name, o);
        if (o.kind === 'ValidatingAdmissionPolicyBinding' && !bindings.some((b) => b.metadata.name === o.metadata.name)) bindings.push(o);
      }
    }
  });

  afterAll(() => cleanup.run());

  test('every shipped policy has an admitted and a refused case for each of its rules (none is shipped yet: the hardening issue adds them)', () => {
    expect([...policies.keys()].sort()).toEqual(Object.keys(CASES).sort());
    for (const [name, policy] of policies) expect(CASES[name], name).toHaveLength((policy.spec.validations ?? []).length);
  });

  for (const [name, cases] of Object.entries(CASES)) {
    test(`${name}: each rule admits its good case and refuses its bad one`, async () => {
      const policy = policies.get(name);
      expect(policy, `${name} is not in the rendered manifests`).toBeDefined();
      const own = bindings.filter((b) => b.spec.policyName === name);
      expect(own.length, `${name} has no ValidatingAdmissionPolicyBinding in the manifests`).toBeGreaterThan(0);
      // Shared by the policies' tests: created by the first.
      if ((await kubectl.run(['get', 'namespace', NAMESPACE])).code !== 0) {
        await kubectl.must(['create', 'namespace', NAMESPACE]);
        cleanup.add(`namespace ${NAMESPACE}`, () => kubectl.must(['delete', 'namespace', NAMESPACE, '--ignore-not-found', '--wait=false']));
      }
      const policyName = `${name}-e2e-${id}`;
      cleanup.add(`validatingadmissionpolicy ${policyName}`, () => kubectl.must(['delete', 'validatingadmissionpolicy', policyName, '--ignore-not-found']), { first: true });
      await kubectl.must(['create', '-f', '-'], { input: JSON.stringify({ ...policy, metadata: { name: policyName } }) });
      for (const binding of own) {
        const bindingName = `${binding.metadata.name}-e2e-${id}`;
        const selector = binding.spec.matchResources?.namespaceSelector ?? {};
        const limited = {
          ...binding,
          metadata: { name: bindingName },
          spec: {
            ...binding.spec,
            policyName,
            matchResources: {
              ...binding.spec.matchResources,
              namespaceSelector: { ...selector, matchExpressions: [...(selector.matchExpressions ?? []), { key: 'kubernetes.io/metadata.name', operator: 'In', values: [NAMESPACE] }] },
            },
          },
        };
        cleanup.add(`validatingadmissionpolicybinding ${bindingName}`, () => kubectl.must(['delete', 'validatingadmissionpolicybinding', bindingName, '--ignore-not-found']), { first: true });
        await kubectl.must(['create', '-f', '-'], { input: JSON.stringify(limited) });
      }
      const dryRun = (object: Obj) => kubectl.run(['create', '--dry-run=server', '-n', NAMESPACE, '-f', '-'], { input: JSON.stringify(object) });
      for (const [i, rule] of cases.entries()) {
        // A new policy takes a moment to be enforced: wait for the refusal, then check the admission.
        await eventually(`${name} rule ${i} refusing its bad case`, cfg.timeoutMs, async () => {
          const result = await dryRun(rule.refuse);
          return result.code !== 0 && result.stderr.includes(policyName) ? true : undefined;
        });
        const admitted = await dryRun(rule.admit);
        expect(admitted.code, `${name} rule ${i}: ${admitted.stderr}`).toBe(0);
      }
    });
  }
});
