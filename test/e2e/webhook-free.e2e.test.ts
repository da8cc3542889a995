/**
 * Webhook-free mode, proven on the real API server: for every golden pod,
 * the pod the API server stores with the exported admission policies
 * (`export-policy`: a MutatingAdmissionPolicy and a ValidatingAdmissionPolicy
 * with their bindings) is the pod it stores with the webhook, field for
 * field, and every refusal of the webhook is a refusal of the exported VAP
 * with the same codes and annotations named.
 *
 * How: each golden case gets two namespaces, one bound to the webhook and one
 * bound to the export, both of the case's policy (test/support/golden-policy.ts
 * with the case's overrides; cases with the same policy share a webhook and an
 * export) and with the case's namespace annotations. The webhooks run in this
 * process, one per policy, called by URL as in host mode (host.e2e.test.ts); they
 * read namespace defaults from a real watch of the namespaces, as `serve` does.
 * The pod is created in both namespaces and the two stored pods are compared
 * after taking out what the API server sets on its own (identity, timestamps,
 * managedFields, the token volume's random name) and the one named difference,
 * the status annotation's `config` hash (CEL has no hash: the export writes
 * `"engine":"admission-policy"` instead).
 *
 * Each case gets a verdict: equal (injected or left alone alike), both
 * denied, or webhook-only refusal (the VAP refuses a feature only the webhook
 * serves, naming it). Any other outcome fails; the table is printed.
 *
 * Then: a namespace bound to both modes (injected once), the migration from the
 * webhook to the export with pods created all along (none goes uninjected),
 * the largest pods of the performance issue's growth table (no CEL cost
 * error), and admission latency of each mode on the same API server, printed.
 *
 * The API server here is v1.32, which serves MutatingAdmissionPolicy as
 * admissionregistration.k8s.io/v1alpha1 behind a feature gate (the local
 * control plane turns it on, test/e2e/local/control-plane.ts): the export's
 * objects are written for v1 and rewritten to v1alpha1 (servedByV132).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Agent, request, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AdmissionDeps } from '../../src/admission/index.ts';
import { loadWatch, type NamespaceCache } from '../../src/cluster/index.ts';
import type { EnginePolicy } from '../../src/engine/index.ts';
import { compileExport, exportObjects, formatRefusal, INJECTION_LABEL } from '../../src/export/index.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import type { Policy } from '../../src/policy/types.ts';
import { buildServer, type WebhookServer } from '../../src/server/index.ts';
import { createCA, issueServingCertificate } from '../../src/tls/index.ts';
import { VERSION } from '../../src/version.ts';
import { growthPod } from '../../bench/pods.ts';
import { goldenPolicy } from '../support/golden-policy.ts';
import { captureLogger } from '../support/server.ts';
import { Cleanup } from './support/cleanup.ts';
import { readConfig, webhookUrl, type E2EConfig } from './support/config.ts';
import { eventually, Kubectl, type KubectlResult } from './support/kubectl.ts';
import { podApi, type PodApi } from './support/pod-api.ts';
import { creatable } from './support/shapes.ts';
import {
  boundTo,
  deniedBy,
  differences,
  goldenCases,
  groupBy,
  inBatches,
  normalisedPod,
  overridesFor,
  percentile,
  servedByV132,
  shortened,
  warningsOf,
  type GoldenCase,
  type Group,
} from './support/webhook-free.ts';

type Json = Record<string, any>;

const config = readConfig(process.env);
/** The webhooks run in this process, called by URL: host mode (host.e2e.test.ts). */
const enabled = !('kind' in config) && config.modes.includes('host');
const id = randomBytes(3).toString('hex');
const RUN = `wf-${id}`;
const LABEL = 'proof.gitsync.dev';
const STATUS = 'gitsync.dev/status';
/** The status annotation's one named difference: the webhook hashes its config, CEL cannot. */
const EXPORT_ENGINE = 'admission-policy';
/** What the VAP says of a pod that uses a feature only the webhook serves. */
const WEBHOOK_ONLY = 'served only by the webhook';
/** kubectl calls at once: the machine is shared; the API server is not the bottleneck. */
const PARALLEL = 6;
/** Creations per mode for the latency figures. */
const LATENCY_SAMPLES = Number(process.env.GITSYNC_E2E_LATENCY_SAMPLES ?? '100');

interface Case extends GoldenCase {
  overrides: Partial<Policy> | undefined;
  webhookNamespace: string;
  exportNamespace: string;
}

/** One policy: its webhook, its export, the cases that run under it. */
interface PolicyGroup extends Group<Case> {
  policy: EnginePolicy;
  cluster: { nativeSidecars?: boolean };
  /** The policy-level features the export refused, for which both modes run a variant of the case's policy (empty: its own policy). */
  variant: string[];
  /** The export of `policy`, for v1. */
  objects: Json[];
  /** Why the export of the group's policy failed (it threw): every case of the group fails with it. */
  exportError?: string;
  webhookName: string;
}

type Verdict = 'equal' | 'both denied' | 'webhook-only refusal';
interface Outcome {
  file: string;
  group: string;
  verdict: Verdict | 'DIFFERENT';
  detail: string;
  problems: string[];
}

/** Progress on stderr: the setup takes a while on a shared machine. */
const started = Date.now();
const say = (line: string): void => void process.stderr.write(`webhook-free proof (${Math.round((Date.now() - started) / 1000)} s): ${line}\n`);

/**
 * Cases with the same policy and namespace annotations share their two namespaces (pod names are
 * the cases' own): every namespace costs the API server and the controller-manager work (its
 * ServiceAccount, its root CA ConfigMap). A case about an excluded namespace has its own.
 */
const sharing = new Map<string, string>();
const cases: Case[] = goldenCases().map((c) => {
  const key = JSON.stringify([c.policy ?? null, c.cluster ?? null, c.namespaceAnnotations ?? null, c.namespace !== undefined && BUILTIN_POLICY.excludedNamespaces.includes(c.namespace) ? c.id : null]);
  if (!sharing.has(key)) sharing.set(key, `${RUN}-n${String(sharing.size + 1).padStart(2, '0')}`);
  const webhookNamespace = `${sharing.get(key)!}-w`;
  const exportNamespace = `${sharing.get(key)!}-x`;
  return { ...c, overrides: overridesFor(c, [webhookNamespace, exportNamespace], BUILTIN_POLICY.excludedNamespaces), webhookNamespace, exportNamespace };
});

describe.skipIf(!enabled)(`webhook-free mode on the API server in KUBECONFIG (run ${RUN})`, () => {
  const cfg = config as E2EConfig;
  const cleanup = new Cleanup();
  const kubectl = new Kubectl(cfg.kubeconfig, cfg.timeoutMs);
  let groups: PolicyGroup[] = [];
  /** The group of the built-in policy (case 01's): the extra tests run under it. */
  let builtin: PolicyGroup;
  let servesMap = false;
  let namespaces: NamespaceCache;
  let pods: PodApi;
  let admissionLines: Record<string, unknown>[] = [];
  let webhookCa = '';
  let webhookUrlOf: (group: PolicyGroup) => string;

  const namespaceObject = (name: string, labels: Record<string, string>, annotations?: Record<string, string>): Json => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { [`${LABEL}/run`]: RUN, ...labels }, ...(annotations && { annotations }) },
  });

  beforeAll(async () => {
    await kubectl.must(['version']);
    pods = await podApi(cfg.kubeconfig, cfg.timeoutMs);
    cleanup.add('the pod client', async () => pods.close());
    const resources = await kubectl.must(['api-resources', '--api-group=admissionregistration.k8s.io', '-o', 'name']);
    servesMap = resources.stdout.includes('mutatingadmissionpolicies');
    if (!servesMap) return;

    const ca = await createCA(`gitsync-injector webhook-free proof ${id}`, { days: 1 });
    webhookCa = ca.cert;
    const serving = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], days: 1 });

    // Namespace defaults as `serve` reads them: a watch of every namespace.
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cfg.kubeconfig);
    const { logger, lines } = captureLogger();
    admissionLines = lines;
    const { NamespaceCache: Cache } = await loadWatch();
    namespaces = new Cache({ kubeConfig, logger });
    namespaces.start();
    cleanup.add('the namespace watch', () => namespaces.stop());

    groups = await Promise.all(
      groupBy(cases, (c) => JSON.stringify({ policy: c.overrides ?? null, cluster: c.cluster ?? {} })).map(async (g) => {
        const first = g.members[0]!;
        let exported: Omit<PolicyGroup, keyof Group<Case> | 'webhookName'>;
        try {
          exported = exportable(first.overrides, first.cluster ?? {});
        } catch (error) {
          // Reported on each case of the group; the other groups still run.
          exported = { policy: goldenPolicy(first.overrides), cluster: first.cluster ?? {}, variant: [], objects: [], exportError: (error as Error).message };
        }
        const group: PolicyGroup = { ...g, ...exported, webhookName: `${g.name}.${RUN}.proof.gitsync.dev` };
        return group;
      }),
    );
    builtin = groups.find((g) => g.members.some((c) => c.file.startsWith('01-')))!;

    // One webhook server per policy, on loopback.
    const servers = new Map<string, number>();
    for (const group of groups) {
      const deps: AdmissionDeps = { ctx: { policy: group.policy, cluster: group.cluster, version: VERSION }, namespaceAnnotations: (ns) => namespaces.annotations(ns) };
      const server: WebhookServer = buildServer({ tls: serving, deps, logger });
      await server.listen({ host: cfg.listenHost, port: 0 });
      cleanup.add(`the webhook server of ${group.name}`, () => server.close());
      servers.set(group.name, (server.server.address() as AddressInfo).port);
    }
    webhookUrlOf = (group) => webhookUrl(cfg.webhookHost, servers.get(group.name)!);

    const objects: Json[] = [];
    for (const group of groups) {
      for (const c of group.members) {
        if (objects.some((o) => o.metadata.name === c.webhookNamespace)) continue;
        // A namespace that opts its pods in (gitsync.dev/inject: "true") carries the label the install routes by (docs/install.md).
        const optIn: Record<string, string> = c.namespaceAnnotations?.['gitsync.dev/inject'] === 'true' ? { [INJECTION_LABEL]: 'enabled' } : {};
        objects.push(namespaceObject(c.webhookNamespace, { [`${LABEL}/webhook`]: group.name, ...optIn }, c.namespaceAnnotations));
        objects.push(namespaceObject(c.exportNamespace, { [`${LABEL}/export`]: group.name, ...optIn }, c.namespaceAnnotations));
      }
    }
    objects.push(webhookConfiguration(RUN, groups.map((g) => ({ name: g.webhookName, url: webhookUrlOf(g), labels: { [`${LABEL}/run`]: RUN, [`${LABEL}/webhook`]: g.name } })), webhookCa));

    cleanup.add(`namespaces of run ${RUN}`, () => kubectl.must(['delete', 'namespace', '-l', `${LABEL}/run=${RUN}`, '--wait=false']));
    cleanup.add(`admission objects of run ${RUN}`, () => deleteAdmissionObjects(), { first: true });
    say(`${groups.length} policies for ${cases.length} golden cases; creating ${objects.length - 1} namespaces and the webhook configuration`);
    await kubectl.must(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
    say('applying each policy\'s export');
    // Each group's export on its own: objects the API server refuses fail that group's cases, not the run.
    await inBatches(groups, PARALLEL, async (group) => {
      if (group.exportError) return;
      const items = servedByV132(boundTo(group.objects, `${RUN}-${group.name}`, { [`${LABEL}/run`]: RUN, [`${LABEL}/export`]: group.name }));
      const input = JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
      let created = await kubectl.run(['create', '-f', '-'], { input });
      // The API server compiles each policy's CEL (seconds of CPU for a whole export) within its
      // 60 s request timeout; on a machine busy with other work a create can run past it. That is
      // no refusal: the same objects are applied again (some may exist by then), twice at most.
      for (let retry = 0; retry < 2 && created.code !== 0 && /\(Timeout\)|context deadline exceeded/.test(created.stderr); retry++) {
        say(`${group.name}: the export's creation timed out; applying it again`);
        created = await kubectl.run(['apply', '-f', '-'], { input });
      }
      // The API server quotes every refused expression whole; what it says about them comes last.
      if (created.code !== 0) group.exportError = `the API server refuses the export: ${shortened(created.stderr.trim())}`;
    });

    say('exports applied; waiting for the namespace watch and the ServiceAccounts');
    const names = [...new Set(cases.flatMap((c) => [c.webhookNamespace, c.exportNamespace]))];
    await eventually('the namespace watch sees every namespace of the run', cfg.timeoutMs, async () => (names.every((n) => namespaces.annotations(n) !== undefined) ? true : undefined));
    await waitForServiceAccounts(names);
    say('namespaces watched and with their ServiceAccount; waiting for both modes to act');
    // Admission objects take effect a moment after they are stored: wait until both modes act in the built-in group's namespaces.
    const first = builtin.members[0]!;
    await waitUntilInjected(first.webhookNamespace, 'the webhooks');
    if (!builtin.exportError) {
      // An export that acts but refuses a plain opted-in pod is in effect: each case says how it fares.
      const refusal = await waitUntilInjected(first.exportNamespace, 'the exported admission policies', `-${RUN}-${builtin.name}'`);
      if (refusal) say(`the export refuses a plain opted-in pod: ${refusal.slice(0, 2000)}`);
    }
    // Every group's export, not only the built-in one's: the API server loads each policy and binding
    // on its own, a moment after it is stored. A pod created before would meet neither.
    await inBatches(groups, PARALLEL, async (group) => {
      say(`waiting for the export of ${group.name}`);
      // An excluded namespace's pods meet no export at all: nothing to wait for.
      const member = group.members.find((c) => !group.policy.excludedNamespaces.has(c.exportNamespace));
      if (group.exportError || !member) return;
      const namespace = member.exportNamespace;
      await waitUntilInjected(namespace, `the export of ${group.name}`, `-${RUN}-${group.name}'`);
      await waitUntilValidating(namespace, group);
    });
    say('every export in effect');
  });

  afterAll(() => cleanup.run());

  /** Deletes every admission object this run created (webhook configurations, policies, bindings), by name prefix. */
  async function deleteAdmissionObjects(): Promise<void> {
    const kinds = ['mutatingwebhookconfigurations', 'mutatingadmissionpolicies', 'mutatingadmissionpolicybindings', 'validatingadmissionpolicies', 'validatingadmissionpolicybindings'];
    for (const kind of kinds) {
      const listed = await kubectl.run(['get', kind, '-o', 'name']);
      const mine = listed.stdout.split('\n').filter((n) => n.includes(RUN));
      if (mine.length > 0) await kubectl.must(['delete', ...mine, '--ignore-not-found']);
    }
  }

  async function waitForServiceAccounts(namespaces: string[]): Promise<void> {
    const wanted = new Set(namespaces);
    await eventually('a default ServiceAccount in every namespace of the run (kube-controller-manager)', cfg.timeoutMs, async () => {
      const out = await kubectl.must(['get', 'serviceaccounts', '-A', '--field-selector', 'metadata.name=default', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}{"\\n"}{end}']);
      const have = new Set(out.stdout.split('\n'));
      return [...wanted].every((n) => have.has(n)) ? true : undefined;
    });
  }

  /**
   * Waits until a plain opted-in pod is injected in `namespace` (admission objects take effect a
   * moment after they are stored). With `refusedBy`, a refusal that quotes it (the export's policy,
   * in effect but refusing) ends the wait too, and is returned.
   */
  async function waitUntilInjected(namespace: string, what: string, refusedBy?: string): Promise<string | undefined> {
    const probe = probePod({});
    return eventually(`${what} inject pods in ${namespace}`, cfg.timeoutMs, async () => {
      const { stored, result } = await create(namespace, probe, true);
      // Refused, or admitted untouched with its warnings (onInvalidAnnotations: admit): the policy acts.
      if (refusedBy !== undefined && result.stderr.includes(refusedBy)) return { refusal: result.stderr.trim() };
      if (!stored) throw new Error(result.stderr.trim());
      return STATUS in (stored.metadata.annotations ?? {}) ? { refusal: undefined } : undefined;
    }).then((r) => r.refusal);
  }

  /**
   * Waits until the group's ValidatingAdmissionPolicy acts in `namespace`: an opted-in pod with a
   * value no policy accepts is refused (deny) or warned about (admit), quoting the group's VAP.
   */
  async function waitUntilValidating(namespace: string, group: PolicyGroup): Promise<void> {
    const bad = probePod({ 'gitsync.dev/max-failures': 'banana' });
    await eventually(`the VAP of ${group.name} acts in ${namespace}`, cfg.timeoutMs, async () => {
      const { result } = await create(namespace, bad, true);
      return result.stderr.includes(`-${RUN}-${group.name}'`) ? true : undefined;
    });
  }

  /** Creates a pod as `kubectl create -o json [--dry-run=server]` would, over one kept-alive client (pod-api.ts). */
  async function create(namespace: string, object: unknown, dryRun = false): Promise<{ result: KubectlResult; stored?: Json }> {
    const result = await pods.create(namespace, object, { dryRun });
    return result.code === 0 ? { result, stored: JSON.parse(result.stdout) as Json } : { result };
  }

  // ---------------------------------------------------------------- the goldens

  describe('every golden pod, in both modes', () => {
    const outcomes = new Map<string, Outcome>();

    beforeAll(async () => {
      if (!servesMap) return;
      say(`creating ${cases.length} golden pods in both modes`);
      await inBatches(cases, PARALLEL, async (c) => {
        const group = groups.find((g) => g.members.includes(c))!;
        const [webhook, exported] = await Promise.all([create(c.webhookNamespace, c.pod), create(c.exportNamespace, c.pod)]);
        outcomes.set(c.file, judge(c, group, webhook, exported));
      });
    });

    afterAll(() => {
      if (outcomes.size === 0) return;
      const rows = cases.map((c) => outcomes.get(c.file)).filter((o): o is Outcome => o !== undefined);
      const width = Math.max(...rows.map((r) => r.file.length));
      const lines = rows.map((r) => `${r.file.padEnd(width)}  ${r.group}  ${r.verdict.padEnd(20)}  ${r.detail}`);
      const counts = Object.entries(Object.groupBy(rows, (r) => r.verdict)).map(([v, rs]) => `${v}: ${rs!.length}`);
      process.stdout.write(`\nwebhook-free proof, per golden pod (run ${RUN}):\n${lines.join('\n')}\n${counts.join(', ')}\n`);
    });

    test.for(cases.map((c) => [c.file, c] as const))('%s: equal, both denied, or a webhook-only refusal', ([, c], ctx) => {
      if (!servesMap) ctx.skip('the API server does not serve MutatingAdmissionPolicy (v1.32: --feature-gates=MutatingAdmissionPolicy=true --runtime-config=admissionregistration.k8s.io/v1alpha1=true)');
      const outcome = outcomes.get(c.file);
      expect(outcome, 'no outcome: the creation step failed; see the beforeAll error').toBeDefined();
      expect(outcome!.problems, `${c.file}: ${outcome!.verdict} (${outcome!.detail})`).toEqual([]);
      expect(outcome!.verdict).not.toBe('DIFFERENT');
    });
  });

  // ---------------------------------------------------------------- both modes, migration, cost, latency

  /** Namespaces for the tests below, bound to the built-in policy's webhook, export, or both; created, watched and with their ServiceAccount. */
  async function namespacesFor(entries: { name: string; webhook?: boolean; export?: boolean; labels?: Record<string, string> }[]): Promise<void> {
    const items = entries.map((e) =>
      namespaceObject(e.name, { ...(e.webhook && { [`${LABEL}/webhook`]: builtin.name }), ...(e.export && { [`${LABEL}/export`]: builtin.name }), ...e.labels }),
    );
    await kubectl.must(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
    await eventually('the namespace watch sees the new namespaces', cfg.timeoutMs, async () => (entries.every((e) => namespaces.annotations(e.name) !== undefined) ? true : undefined));
    await waitForServiceAccounts(entries.map((e) => e.name));
  }

  const casePod = (prefix: string): Json => cases.find((c) => c.file.startsWith(prefix))!.pod;
  const statusOf = (pod: Json): Json | undefined => {
    const raw = pod.metadata?.annotations?.[STATUS];
    return raw === undefined ? undefined : (JSON.parse(raw) as Json);
  };
  const containerNames = (pod: Json): string[] => [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c: Json) => c.name as string);

  test('both modes on one namespace: the exported policy injects (it runs first), the webhook skips the injected pod', async (ctx) => {
    if (!servesMap) ctx.skip('the API server does not serve MutatingAdmissionPolicy');
    expect(builtin.exportError, 'the export of the built-in policy').toBeUndefined();
    const both = `${RUN}-both`;
    const exportOnly = `${RUN}-both-x`;
    await namespacesFor([
      { name: both, webhook: true, export: true },
      { name: exportOnly, export: true },
    ]);
    const pod = casePod('02-');
    const [inBoth, alone] = await Promise.all([create(both, pod), create(exportOnly, pod)]);
    expect(inBoth.result.code, inBoth.result.stderr).toBe(0);
    expect(alone.result.code, alone.result.stderr).toBe(0);
    // Injected once: what the export alone stores, container for container.
    expect(differences(normalisedPod(inBoth.stored!, STATUS), normalisedPod(alone.stored!, STATUS))).toEqual([]);
    expect(statusOf(inBoth.stored!)?.engine).toBe(EXPORT_ENGINE);
    const names = containerNames(inBoth.stored!);
    expect(names.length).toBe(new Set(names).size);
    // The webhook was not called for it (its matchCondition not-already-injected), or let it through untouched.
    const calls = admissionLines.filter((l) => l.msg === 'admission' && l.namespace === both);
    for (const line of calls) expect(line).toMatchObject({ outcome: 'skipped', reason: 'already-injected' });

    // A pod with a feature only the webhook serves: the export alone refuses it; with both, the webhook
    // injects it and the VAP, which runs after webhooks, leaves an injected pod alone.
    const several = casePod('111-');
    const [withBoth, exportAlone] = await Promise.all([create(both, several), create(exportOnly, several)]);
    expect(exportAlone.result.stderr).toContain(WEBHOOK_ONLY);
    expect(withBoth.result.code, withBoth.result.stderr).toBe(0);
    expect(statusOf(withBoth.stored!)).toMatchObject({ config: expect.any(String) });
    expect(statusOf(withBoth.stored!)?.engine).toBeUndefined();
  });

  test('migration from the webhook to the export, then back: pods created all along are all injected', async (ctx) => {
    if (!servesMap) ctx.skip('the API server does not serve MutatingAdmissionPolicy');
    expect(builtin.exportError, 'the export of the built-in policy').toBeUndefined();
    const ns = `${RUN}-migrate`;
    const selector = { [`${LABEL}/run`]: RUN, [`${LABEL}/migrate`]: 'yes' };
    await namespacesFor([{ name: ns, labels: { [`${LABEL}/migrate`]: 'yes' } }]);
    const hook = webhookConfiguration(`${RUN}-migrate`, [{ name: `migrate.${RUN}.proof.gitsync.dev`, url: webhookUrlOf(builtin), labels: selector }], webhookCa);
    const policies = servedByV132(boundTo(builtin.objects, `${RUN}-migrate`, selector));
    const engineOf = async (): Promise<string | undefined> => {
      const { stored, result } = await create(ns, casePod('01-'), true);
      if (!stored) throw new Error(result.stderr.trim());
      const status = statusOf(stored);
      return status === undefined ? undefined : status.engine === EXPORT_ENGINE ? 'export' : 'webhook';
    };
    const waitFor = (engine: string): Promise<true> => eventually(`the ${engine} injecting in ${ns}`, cfg.timeoutMs, async () => ((await engineOf()) === engine ? true : undefined));

    await kubectl.must(['create', '-f', '-'], { input: JSON.stringify(hook) });
    await waitFor('webhook');

    // Pods created one after another, for real, through every step.
    let creating = true;
    const created: { name: string; code: number | null; stderr: string }[] = [];
    const loop = (async () => {
      for (let i = 0; creating; i++) {
        const pod = structuredClone(casePod('01-'));
        pod.metadata.name = `migrating-${i}`;
        const { result } = await create(ns, pod);
        created.push({ name: pod.metadata.name, code: result.code, stderr: result.stderr });
      }
    })();
    try {
      // Webhook -> export: apply the export beside the webhook, verify it injects, remove the webhook.
      await kubectl.must(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: policies }) });
      await waitFor('export');
      await kubectl.must(['delete', 'mutatingwebhookconfiguration', `${RUN}-migrate`]);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      // Export -> webhook: apply the webhook beside the export (the export still injects: it runs first), then remove the export.
      await kubectl.must(['create', '-f', '-'], { input: JSON.stringify(hook) });
      // The webhook is in effect when a pod only it serves (golden 111) is injected: the export's VAP leaves an injected pod alone.
      await eventually(`the webhook in effect again in ${ns}`, cfg.timeoutMs, async () => {
        const { stored } = await create(ns, casePod('111-'), true);
        return stored && statusOf(stored)?.config !== undefined ? true : undefined;
      });
      await kubectl.must(['delete', ...policies.map((o) => `${String(o.kind).toLowerCase()}/${o.metadata.name}`)]);
      await waitFor('webhook');
      await new Promise((resolve) => setTimeout(resolve, 2000));
    } finally {
      creating = false;
      await loop;
    }

    expect(created.filter((c) => c.code !== 0).map((c) => `${c.name}: ${c.stderr.trim()}`)).toEqual([]);
    const stored = await kubectl.json<{ items: Json[] }>(['get', 'pods', '-n', ns]);
    const byEngine = Object.groupBy(stored.items, (p) => {
      const status = statusOf(p);
      return status === undefined ? 'uninjected' : status.engine === EXPORT_ENGINE ? 'export' : 'webhook';
    });
    process.stdout.write(`\nmigration: ${stored.items.length} pods created one after another: ${Object.entries(byEngine).map(([k, v]) => `${v!.length} by the ${k}`).join(', ')}\n`);
    expect(stored.items.length).toBe(created.length);
    expect(byEngine.uninjected ?? []).toEqual([]);
    expect(byEngine.export?.length, 'some pods were injected by the export').toBeGreaterThan(0);
    expect(byEngine.webhook?.length, 'some pods were injected by the webhook').toBeGreaterThan(0);
  });

  test("CEL cost: the largest pods of the performance issue's growth table are admitted and injected as the webhook does", async (ctx) => {
    if (!servesMap) ctx.skip('the API server does not serve MutatingAdmissionPolicy');
    expect(builtin.exportError, 'the export of the built-in policy').toBeUndefined();
    const [w, x] = [`${RUN}-cost-w`, `${RUN}-cost-x`];
    await namespacesFor([
      { name: w, webhook: true },
      { name: x, export: true },
    ]);
    const shapes = [
      { containers: 100, env: 10, annotations: 1 },
      { containers: 1, env: 1000, annotations: 1 },
      { containers: 1, env: 10, annotations: 20 },
      { containers: 100, env: 10, annotations: 20 },
    ];
    for (const shape of shapes) {
      const pod = creatable(growthPod(shape), `growth-${shape.containers}-${shape.env}-${shape.annotations}`);
      const [webhook, exported] = await Promise.all([create(w, pod), create(x, pod)]);
      const what = `${shape.containers} containers × ${shape.env} env, ${shape.annotations} annotations`;
      expect(exported.result.stderr, what).not.toMatch(/cost/);
      expect(exported.result.code, `${what}: ${exported.result.stderr}`).toBe(0);
      expect(webhook.result.code, `${what}: ${webhook.result.stderr}`).toBe(0);
      expect(statusOf(exported.stored!)?.engine, what).toBe(EXPORT_ENGINE);
      const a = normalisedPod(webhook.stored!, STATUS);
      const b = normalisedPod(exported.stored!, STATUS);
      expect(differences(a.pod, b.pod), what).toEqual([]);
    }
  });

  test('latency: pod creations (dry-run=server) with neither, the webhook, the export, on the same API server (printed, not asserted)', async (ctx) => {
    if (!servesMap) ctx.skip('the API server does not serve MutatingAdmissionPolicy');
    const [none, w, x] = [`${RUN}-lat-0`, `${RUN}-lat-w`, `${RUN}-lat-x`];
    await namespacesFor([{ name: none }, { name: w, webhook: true }, { name: x, export: true }]);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cfg.kubeconfig);
    const server = new URL(kubeConfig.getCurrentCluster()!.server);
    const options: RequestOptions = { agent: new Agent({ keepAlive: true, maxSockets: 1 }) };
    await kubeConfig.applyToHTTPSOptions(options);
    const body = JSON.stringify(casePod('02-'));
    const post = (namespace: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const started = performance.now();
        const req = request(
          { ...options, hostname: server.hostname, port: server.port, method: 'POST', path: `/api/v1/namespaces/${namespace}/pods?dryRun=All`, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 201 ? resolve(performance.now() - started) : reject(new Error(`POST in ${namespace}: HTTP ${res.statusCode}`))));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    // Without a working export the other two are still measured and printed; the test then fails.
    const modes: Record<string, string> = { 'neither (baseline)': none, webhook: w, ...(!builtin.exportError && { 'export (MAP + VAP)': x }) };
    const samples = new Map<string, number[]>(Object.keys(modes).map((m) => [m, []]));
    for (const namespace of Object.values(modes)) await post(namespace); // warm up: connections, caches
    // Interleaved, so that the machine's load falls on every mode alike.
    for (let i = 0; i < LATENCY_SAMPLES; i++) for (const [mode, namespace] of Object.entries(modes)) samples.get(mode)!.push(await post(namespace));
    const rows = [...samples].map(([mode, ms]) => `  ${mode.padEnd(20)} p50 ${percentile(ms, 50).toFixed(1).padStart(6)} ms   p99 ${percentile(ms, 99).toFixed(1).padStart(6)} ms`);
    process.stdout.write(`\nadmission latency, ${LATENCY_SAMPLES} dry-run creations of the Airflow scheduler pod (golden 02) per mode, one at a time:\n${rows.join('\n')}\n`);
    options.agent && (options.agent as Agent).destroy();
    for (const ms of samples.values()) expect(ms).toHaveLength(LATENCY_SAMPLES);
    expect(builtin.exportError, 'the export of the built-in policy').toBeUndefined();
  });

  /** The verdict for one case, from what the API server answered in each mode. */
  function judge(c: Case, group: PolicyGroup, webhook: { result: KubectlResult; stored?: Json }, exported: { result: KubectlResult; stored?: Json }): Outcome {
    const base = { file: c.file, group: group.name + (group.variant.length ? ` (variant: ${group.variant.join(', ')})` : '') };
    if (group.exportError) return { ...base, verdict: 'DIFFERENT', detail: 'the export of this policy failed', problems: [group.exportError] };
    const webhookErrors = deniedBy(webhook.result, `.${group.webhookName}" denied the request`);
    const exportText = exported.result.stderr;

    if (exported.stored === undefined && exportText.includes(WEBHOOK_ONLY)) {
      // The pod uses a feature only the webhook serves: the VAP must name it, as an annotation the pod or its namespace sets.
      // A feature of the pod's own shape (its names, ports, network) is named by its field, `spec…`.
      const written = Object.keys({ ...c.pod.metadata?.annotations, ...c.namespaceAnnotations });
      // Each check's message starts the denial or follows the one before it ("…[CODE]; ").
      const fields = [...exportText.matchAll(/(?:denied request: |\]; )(spec(?:\.[A-Za-z]+)*): /g)].map((m) => m[1]!);
      const named = [...written.filter((k) => exportText.includes(k)), ...new Set(fields)];
      const problems = named.length === 0 ? [`the refusal names none of the annotations the pod or its namespace sets, nor a field of the pod: ${exportText.trim()}`] : [];
      const webhookSaid = webhookErrors ? 'denied' : webhook.stored ? 'admitted' : `failed: ${webhook.result.stderr.trim()}`;
      return { ...base, verdict: 'webhook-only refusal', detail: `${named.join(', ')} (webhook: ${webhookSaid})`, problems };
    }

    if (webhookErrors) {
      if (exported.stored) return { ...base, verdict: 'DIFFERENT', detail: 'the webhook denied, the export admitted', problems: ['the export admitted a pod the webhook denies'] };
      const problems: string[] = [];
      if (!/ValidatingAdmissionPolicy '[^']+' with binding '[^']+' denied request/.test(exportText)) problems.push(`not a VAP denial: ${exportText.trim()}`);
      for (const e of webhookErrors) {
        if (!exportText.includes(`[${e.code}]`)) problems.push(`the VAP does not give code ${e.code} (${e.field})`);
        if (!exportText.includes(e.field)) problems.push(`the VAP does not name ${e.field} (${e.code})`);
      }
      return { ...base, verdict: problems.length ? 'DIFFERENT' : 'both denied', detail: [...new Set(webhookErrors.map((e) => e.code))].join(','), problems };
    }

    if (!webhook.stored) return { ...base, verdict: 'DIFFERENT', detail: 'the webhook mode failed', problems: [webhook.result.stderr.trim()] };
    if (!exported.stored) return { ...base, verdict: 'DIFFERENT', detail: 'the export refused a pod the webhook admits', problems: [exportText.trim()] };

    const w = normalisedPod(webhook.stored, STATUS);
    const x = normalisedPod(exported.stored, STATUS);
    const problems = differences(w.pod, x.pod).map((d) => `stored pods differ at ${d}`);
    if ((w.status === undefined) !== (x.status === undefined)) problems.push(`status annotation: webhook ${w.status ? 'injected' : 'left it alone'}, export ${x.status ? 'injected' : 'left it alone'}`);
    // A pod sent with a status annotation (already injected) keeps it as sent, in both modes.
    if (w.status && x.status && c.pod.metadata?.annotations?.[STATUS] !== undefined) problems.push(...differences(w.status, x.status).map((d) => `status annotation differs at ${d}`));
    else if (w.status && x.status) {
      const { config: _hash, ...webhookStatus } = w.status;
      const { engine, ...exportStatus } = x.status;
      if (engine !== EXPORT_ENGINE) problems.push(`status annotation: engine is ${JSON.stringify(engine)}, not ${JSON.stringify(EXPORT_ENGINE)}`);
      problems.push(...differences(webhookStatus, exportStatus).map((d) => `status annotation differs at ${d}`));
    }
    // A pod admitted untouched despite bad annotations (onInvalidAnnotations: admit) hears about every
    // problem from both: the VAP warns (validationActions [Warn]) with the webhook's codes.
    if (!w.status) {
      const exportWarnings = warningsOf(exported.result).join('\n');
      for (const code of new Set(warningsOf(webhook.result).flatMap((l) => [...l.matchAll(/\[([A-Z][A-Z0-9_]*)\]$/g)].map((m) => m[1]!)))) {
        if (!exportWarnings.includes(`[${code}]`)) problems.push(`the webhook warns ${code}, the VAP does not`);
      }
    }
    const warned = warningsOf(webhook.result).length ? ` with ${warningsOf(webhook.result).length} webhook warning(s), ${warningsOf(exported.result).length} VAP warning(s)` : '';
    return { ...base, verdict: problems.length ? 'DIFFERENT' : 'equal', detail: `${w.status ? `injected (${w.status.mode})` : 'left alone'}${warned}`, problems };
  }
});

/**
 * The case's policy as both modes run it, and its export. A policy the export
 * refuses as a whole (a policy-level feature only the webhook serves) is run
 * as a variant without that feature, in both modes, and the variant is named
 * in the verdict table; a refusal with no known variant fails the setup.
 */
function exportable(overrides: Partial<Policy> | undefined, cluster: { nativeSidecars?: boolean }): { policy: EnginePolicy; cluster: { nativeSidecars?: boolean }; variant: string[]; objects: Json[] } {
  const variant: string[] = [];
  for (;;) {
    const policy = goldenPolicy(overrides);
    const outcome = compileExport({ policy, cluster, version: VERSION });
    if (outcome.ok) return { policy, cluster, variant, objects: exportObjects(outcome.compiled, 'v1') };
    for (const refusal of outcome.refusals) {
      const next = policyVariant(overrides ?? {}, cluster, refusal.field);
      if (!next || variant.length > 10) throw new Error(`the export refuses a golden policy and the proof has no variant for it: ${formatRefusal(refusal)}`);
      ({ overrides, cluster } = next);
      variant.push(`${refusal.field} (${refusal.code})`);
    }
  }
}

/** The variant of a policy without the feature the export refused, named by the refusal's field. */
function policyVariant(overrides: Partial<Policy>, cluster: { nativeSidecars?: boolean }, field: string): { overrides: Partial<Policy>; cluster: { nativeSidecars?: boolean } } | undefined {
  if (field === 'dialect') {
    // git-sync v3: the v4 image and names instead.
    const { dialect: _dialect, image: _image, ...rest } = overrides;
    return { overrides: rest, cluster };
  }
  // nativeSidecars: auto with unknown cluster facts: the facts of the cluster under test (v1.32 runs native sidecars), given to both modes.
  if (field === 'nativeSidecars' && cluster.nativeSidecars === undefined) return { overrides, cluster: { ...cluster, nativeSidecars: true } };
  const preset = /^presets\.([^.]+)\.(.+)$/.exec(field);
  if (preset) {
    const presets = structuredClone(overrides.presets ?? BUILTIN_POLICY.presets);
    if (!presets[preset[1]!] || !(preset[2]! in presets[preset[1]!]!)) return undefined;
    delete (presets[preset[1]!] as Record<string, string>)[preset[2]!];
    return { overrides: { ...overrides, presets }, cluster };
  }
  const defaults = /^defaults\.(.+)$/.exec(field);
  if (defaults) {
    const all = { ...(overrides.defaults ?? BUILTIN_POLICY.defaults) } as Record<string, string>;
    const key = Object.keys(all).find((k) => k === defaults[1] || k.endsWith(`/${defaults[1]}`));
    if (key === undefined) return undefined;
    delete all[key];
    return { overrides: { ...overrides, defaults: all }, cluster };
  }
  return undefined;
}

/** A plain opted-in pod, with `annotations` besides its repository: what the waits for each mode create (dry run). */
const probePod = (annotations: Record<string, string>): Json =>
  creatable({ metadata: { name: 'probe', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/site.git', ...annotations } }, spec: { containers: [{ name: 'probe' }] } }, 'probe');

/** The install's webhooks (manifests/base): which pods reach the webhook is part of what the export must match. */
const INSTALLED = parseYaml(readFileSync(new URL('../../manifests/base/mutatingwebhookconfiguration.yaml', import.meta.url), 'utf8')) as Json;

/**
 * One MutatingWebhookConfiguration holding the install's webhooks (pods opted in by annotation, and
 * namespaces labelled for injection) once per policy, each named `<install's first word>.<name>`, called by
 * URL and limited to the namespaces labelled for it; CREATE only, as installed.
 */
function webhookConfiguration(name: string, hooks: { name: string; url: string; labels: Record<string, string> }[], caCert = ''): Json {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks: hooks.flatMap((h) =>
      (INSTALLED.webhooks as Json[]).map((w) => ({
        ...w,
        name: `${String(w.name).split('.')[0]}.${h.name}`,
        // The machine is shared: a slower answer than in a cluster of its own is not a failure here.
        timeoutSeconds: 10,
        clientConfig: { url: h.url, caBundle: Buffer.from(caCert).toString('base64') },
        namespaceSelector: { ...w.namespaceSelector, matchLabels: h.labels },
      })),
    ),
  };
}
