/**
 * Every ValidatingAdmissionPolicy the manifests ship, tested where CEL runs:
 * the API server in KUBECONFIG. For each policy, every rule
 * (spec.validations[i]) has an object it must admit and one it must refuse,
 * in CASES below; the policy and its bindings from the rendered manifests are
 * applied, with each binding limited to a throwaway namespace, and each case
 * is created with --dry-run=server. A rule about UPDATEs names the object that
 * exists first (created for real, before the policy could refuse anything),
 * and its cases are merge patches of it, sent with --dry-run=server. A policy
 * added without its cases fails the first test.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cleanup } from './support/cleanup.ts';
import { readConfig, type E2EConfig } from './support/config.ts';
import { eventually, Kubectl } from './support/kubectl.ts';
import { renderManifests, type Obj } from './support/manifests.ts';
import { PAUSE_IMAGE } from './support/shapes.ts';

const config = readConfig(process.env);
const enabled = !('kind' in config);
const id = randomBytes(3).toString('hex');
const NAMESPACE = `gitsync-vap-${id}`;

/**
 * For one rule: an object it must admit and those it must refuse (namespaced
 * objects are created in the throwaway namespace). With `existing`, that
 * object is created first and the cases are merge patches of it (an UPDATE).
 */
interface RuleCases {
  existing?: Obj;
  /** Text the refusal must contain: this rule's message, not another's. */
  says?: string;
  admit: Obj;
  refuse: Obj[];
}

const WRITTEN = 'gitsync-injector-written-annotations';
const STATUS = 'gitsync.dev/status';
const KNOWN_HOSTS = 'gitsync.dev/known-hosts-data';
const CA_BUNDLE = 'gitsync.dev/ca-bundle-data';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const SPARSE = 'gitsync.dev/sparse-checkout-data';
/** The same, written for a named repository `lib` (gitsync.dev/lib.repo): its own known_hosts, CA bundle and sparse-checkout file. */
const LIB_KNOWN_HOSTS = 'gitsync.dev/lib.known-hosts-data';
const LIB_CA_BUNDLE = 'gitsync.dev/lib.ca-bundle-data';
const LIB_SPARSE = 'gitsync.dev/lib.sparse-checkout-data';
const injectedPod = (name: string, annotations: Record<string, string>): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, annotations },
  spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: PAUSE_IMAGE }] },
});
const annotate = (annotations: Record<string, string | null>): Obj => ({ metadata: { annotations } });
/** What the injector writes: a status, the policy's known_hosts lines, a network profile's CA bundle and the sparse-checkout file. */
const INJECTED = {
  'gitsync.dev/repo': 'git@github.com:acme/dags.git',
  'gitsync.dev/sparse-paths': 'dags',
  [STATUS]: '{"version":"0.1.0","mode":"sidecar"}',
  [KNOWN_HOSTS]: 'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n',
  [CA_BUNDLE]: PEM,
  [SPARSE]: '/*\n!/*/\n/dags/\n',
  'gitsync.dev/lib.repo': 'git@gitlab.example.com:acme/lib.git',
  'gitsync.dev/lib.sparse-paths': 'plugins',
  [LIB_KNOWN_HOSTS]: 'gitlab.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n',
  [LIB_CA_BUNDLE]: PEM,
  [LIB_SPARSE]: '/*\n!/*/\n/plugins/\n',
};

/** Policy name → one entry per rule, in the order of spec.validations. */
const CASES: Record<string, RuleCases[]> = {
  [WRITTEN]: [
    // The annotations the injector wrote cannot be changed or removed; the pod's other annotations can.
    {
      existing: injectedPod('injected', INJECTED),
      says: 'cannot change or remove',
      admit: annotate({
        'example.com/note': 'edited',
        'gitsync.dev/repo': 'git@github.com:acme/other.git',
        'gitsync.dev/lib.ref': 'v2',
        [STATUS]: INJECTED[STATUS],
        [LIB_KNOWN_HOSTS]: INJECTED[LIB_KNOWN_HOSTS],
      }),
      refuse: [
        annotate({ [KNOWN_HOSTS]: 'evil.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n' }),
        annotate({ [STATUS]: '{}' }),
        annotate({ [KNOWN_HOSTS]: null }),
        annotate({ [STATUS]: null }),
        annotate({ [CA_BUNDLE]: `${PEM}${PEM}` }),
        annotate({ [CA_BUNDLE]: null }),
        // The sparse-checkout file: widened to the whole repository, or removed.
        annotate({ [SPARSE]: '/*\n' }),
        annotate({ [SPARSE]: null }),
        // A named repository's, alike.
        annotate({ [LIB_KNOWN_HOSTS]: 'evil.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n' }),
        annotate({ [LIB_KNOWN_HOSTS]: null }),
        annotate({ [LIB_CA_BUNDLE]: `${PEM}${PEM}` }),
        annotate({ [LIB_SPARSE]: '/*\n' }),
      ],
    },
    // They cannot be added to a pod that was created without them; other gitsync.dev/ annotations can.
    {
      existing: injectedPod('plain', { 'example.com/team': 'data' }),
      says: 'to an existing pod: only gitsync-injector writes them',
      // A repository name has no dot: gitsync.dev/a.b.status is none of the injector's (at CREATE the injector warns that it does not know it).
      admit: annotate({ 'gitsync.dev/ref': 'main', 'gitsync.dev/lib.ref': 'main', 'gitsync.dev/a.b.status': '{}', 'example.com/team': 'web' }),
      refuse: [
        annotate({ [STATUS]: '{"version":"0.1.0"}' }),
        annotate({ [KNOWN_HOSTS]: 'evil.example.com ssh-rsa AAAA\n' }),
        annotate({ [CA_BUNDLE]: PEM }),
        annotate({ [SPARSE]: '/*\n!/*/\n/dags/\n' }),
        annotate({ [LIB_KNOWN_HOSTS]: 'evil.example.com ssh-rsa AAAA\n' }),
        annotate({ [LIB_CA_BUNDLE]: PEM }),
        annotate({ [LIB_SPARSE]: '/*\n' }),
        annotate({ 'gitsync.dev/lib.status': '{}' }),
      ],
    },
  ],
};

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

  test('every shipped policy has an admitted and a refused case for each of its rules', () => {
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
      for (const [i, rule] of cases.entries()) {
        const existing: Obj | undefined = rule.existing && { ...rule.existing, metadata: { ...rule.existing.metadata, name: `${rule.existing.metadata.name}-${id}-${i}` } };
        if (existing) {
          // Created for real, so that there is something to update; a new namespace's ServiceAccount comes a moment later.
          await eventually(`${name} rule ${i}: creating ${existing.kind} ${existing.metadata.name}`, cfg.timeoutMs, async () => {
            const created = await kubectl.run(['create', '-n', NAMESPACE, '-f', '-'], { input: JSON.stringify(existing) });
            return created.code === 0 || created.stderr.includes('AlreadyExists') ? true : undefined;
          });
        }
        const dryRun = (object: Obj) =>
          existing
            ? kubectl.run(['patch', '--dry-run=server', '-n', NAMESPACE, existing.kind.toLowerCase(), existing.metadata.name, '--type=merge', '-p', JSON.stringify(object)])
            : kubectl.run(['create', '--dry-run=server', '-n', NAMESPACE, '-f', '-'], { input: JSON.stringify(object) });
        for (const [j, refuse] of rule.refuse.entries()) {
          // A new policy takes a moment to be enforced: wait for the first refusal, then check the rest and the admission.
          const refused = await eventually(`${name} rule ${i} refusing its bad case ${j}`, cfg.timeoutMs, async () => {
            const result = await dryRun(refuse);
            return result.code !== 0 && result.stderr.includes(policyName) ? result : undefined;
          });
          // The message the rule gives, not another rule's: it names the annotation the case touches.
          const touched = Object.keys(refuse.metadata?.annotations ?? {});
          for (const key of touched) expect(refused.stderr, `${name} rule ${i} case ${j}`).toContain(key);
          if (rule.says) expect(refused.stderr, `${name} rule ${i} case ${j}`).toContain(rule.says);
        }
        const admitted = await dryRun(rule.admit);
        expect(admitted.code, `${name} rule ${i}: ${admitted.stderr}`).toBe(0);
      }
    });
  }
});
