/**
 * The shipped webhook configuration's CEL, evaluated where CEL runs: the API
 * server in KUBECONFIG. Its `matchConditions` decide which pods are sent at
 * all, and no fake evaluates them. Each webhook of the rendered
 * MutatingWebhookConfiguration (manifests/base) is registered as shipped,
 * with two changes only:
 * - clientConfig: a webhook server in this process per webhook (by URL), so
 *   the test sees which webhook each pod was sent to;
 * - namespaceSelector: the shipped expressions plus one that limits it to
 *   this test's throwaway namespaces, so a run that dies before its cleanup
 *   affects no other pod.
 * Then, for every condition of every webhook, one pod that must be sent and
 * one that must not, created with --dry-run=server (nothing is stored; the
 * webhooks are `sideEffects: None`, so dry runs are sent too). The test fails
 * when a condition is added without its two cases.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AdmissionDeps } from '../../src/admission/index.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { mustCompile } from '../../src/policy/compile.ts';
import { buildServer } from '../../src/server/index.ts';
import { createCA, issueServingCertificate } from '../../src/tls/index.ts';
import { VERSION } from '../../src/version.ts';
import { captureLogger } from '../support/server.ts';
import { Cleanup } from './support/cleanup.ts';
import { readConfig, webhookUrl, type E2EConfig } from './support/config.ts';
import { eventually, Kubectl } from './support/kubectl.ts';
import { renderManifests, type Obj } from './support/manifests.ts';
import { creatable } from './support/shapes.ts';

const config = readConfig(process.env);
const enabled = !('kind' in config);
const id = randomBytes(3).toString('hex');
/** The namespaces: one without the gitsync.dev/injection label, one labelled enabled, one labelled disabled. */
const NS = { plain: `gitsync-cel-${id}`, enabled: `gitsync-cel-${id}-enabled`, disabled: `gitsync-cel-${id}-disabled` } as const;
type Namespace = keyof typeof NS;

const PODS = 'pods.gitsync.dev';
const NAMESPACE_OPT_IN = 'namespace-opt-in.gitsync.dev';
const REPO = { 'gitsync.dev/repo': 'https://github.com/acme/site.git' };
/** A status annotation as an earlier injection (the webhook's, `inject`'s or the export's) leaves it. */
const INJECTED = { 'gitsync.dev/status': '{"engine":"admission-policy"}' };
const MIRROR = { 'kubernetes.io/config.mirror': '5b1c2c9d' };

interface Case {
  /** `webhook/condition` this case shows, and whether it lets the pod through (sent) or stops it. */
  condition: string;
  sent: boolean;
  namespace: Namespace;
  annotations?: Record<string, string>;
  /** A mirror pod must name its node, or the API server refuses it before admission webhooks. */
  nodeName?: string;
}

const CASES: Case[] = [
  // pods.gitsync.dev: namespaces without the label; a pod opts in with its own annotations.
  { condition: `${PODS}/pod-opted-in`, sent: true, namespace: 'plain', annotations: REPO },
  { condition: `${PODS}/pod-opted-in`, sent: true, namespace: 'plain', annotations: { 'gitsync.dev/inject': 'true' } },
  { condition: `${PODS}/pod-opted-in`, sent: false, namespace: 'plain' },
  { condition: `${PODS}/pod-opted-in`, sent: false, namespace: 'plain', annotations: { 'example.com/team': 'web', 'gitsync.dev/ref': 'main' } },
  { condition: `${PODS}/pod-not-opted-out`, sent: true, namespace: 'plain', annotations: { ...REPO, 'gitsync.dev/inject': 'true' } },
  { condition: `${PODS}/pod-not-opted-out`, sent: false, namespace: 'plain', annotations: { ...REPO, 'gitsync.dev/inject': 'false' } },
  { condition: `${PODS}/not-a-mirror-pod`, sent: true, namespace: 'plain', annotations: REPO, nodeName: 'node1' },
  { condition: `${PODS}/not-a-mirror-pod`, sent: false, namespace: 'plain', annotations: { ...REPO, ...MIRROR }, nodeName: 'node1' },
  { condition: `${PODS}/not-already-injected`, sent: true, namespace: 'plain', annotations: REPO },
  { condition: `${PODS}/not-already-injected`, sent: false, namespace: 'plain', annotations: { ...REPO, ...INJECTED } },
  // namespace-opt-in.gitsync.dev: namespaces labelled enabled; every pod is sent unless it opts out or is a mirror.
  { condition: `${NAMESPACE_OPT_IN}/pod-not-opted-out`, sent: true, namespace: 'enabled' },
  { condition: `${NAMESPACE_OPT_IN}/pod-not-opted-out`, sent: true, namespace: 'enabled', annotations: { ...REPO, 'gitsync.dev/inject': 'true' } },
  { condition: `${NAMESPACE_OPT_IN}/pod-not-opted-out`, sent: false, namespace: 'enabled', annotations: { 'gitsync.dev/inject': 'false' } },
  { condition: `${NAMESPACE_OPT_IN}/not-a-mirror-pod`, sent: true, namespace: 'enabled', nodeName: 'node1' },
  { condition: `${NAMESPACE_OPT_IN}/not-a-mirror-pod`, sent: false, namespace: 'enabled', annotations: MIRROR, nodeName: 'node1' },
  { condition: `${NAMESPACE_OPT_IN}/not-already-injected`, sent: true, namespace: 'enabled' },
  { condition: `${NAMESPACE_OPT_IN}/not-already-injected`, sent: false, namespace: 'enabled', annotations: INJECTED },
];

/** Which webhook handles a namespace (the namespaceSelectors, not CEL): at most one, so no pod is sent twice. */
const WEBHOOK_FOR: Record<Namespace, string | undefined> = { plain: PODS, enabled: NAMESPACE_OPT_IN, disabled: undefined };

describe.skipIf(!enabled)(`the shipped webhook configuration's match conditions, on the API server in KUBECONFIG (namespaces ${NS.plain}*)`, () => {
  const cfg = config as E2EConfig;
  const cleanup = new Cleanup();
  const kubectl = enabled ? new Kubectl(cfg.kubeconfig, cfg.timeoutMs) : (undefined as never);
  /** Per webhook name: the names of the pods it was sent. */
  const seen = new Map<string, string[]>();
  let shipped: Obj[] = [];

  beforeAll(async () => {
    await kubectl.must(['version']);
    const rendered = await renderManifests(kubectl);
    rendered.remove();
    const base = rendered.renders.find((r) => r.folder === 'base')!;
    const configuration = base.objects.find((o) => o.kind === 'MutatingWebhookConfiguration');
    if (!configuration) throw new Error('manifests/base renders no MutatingWebhookConfiguration');
    shipped = configuration.webhooks as Obj[];

    const ca = await createCA(`gitsync-injector e2e CEL CA ${id}`, { days: 1 });
    const serving = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], days: 1 });
    const deps: AdmissionDeps = { ctx: { policy: mustCompile(BUILTIN_POLICY).engine, cluster: {}, version: VERSION }, namespaceAnnotations: () => undefined };

    const name = `gitsync-cel-${id}`;
    const webhooks: Obj[] = [];
    for (const webhook of shipped) {
      const server = buildServer({ tls: serving, deps, logger: captureLogger().logger });
      const pods: string[] = [];
      seen.set(webhook.name, pods);
      server.addHook('preHandler', async (request) => {
        const pod = (request.body as { request?: { object?: Obj } } | undefined)?.request?.object;
        pods.push(pod?.metadata?.name ?? pod?.metadata?.generateName ?? '?');
      });
      await server.listen({ host: '127.0.0.1', port: 0 });
      cleanup.add(`the webhook server of ${webhook.name}`, () => server.close());
      const { port } = server.server.address() as AddressInfo;
      const selector = webhook.namespaceSelector ?? {};
      webhooks.push({
        ...webhook,
        clientConfig: { url: webhookUrl('127.0.0.1', port), caBundle: Buffer.from(ca.cert).toString('base64') },
        namespaceSelector: {
          ...selector,
          matchExpressions: [...(selector.matchExpressions ?? []), { key: 'kubernetes.io/metadata.name', operator: 'In', values: Object.values(NS) }],
        },
      });
    }

    const labels: Record<Namespace, string[]> = { plain: [], enabled: ['gitsync.dev/injection=enabled'], disabled: ['gitsync.dev/injection=disabled'] };
    for (const [key, ns] of Object.entries(NS) as [Namespace, string][]) {
      await kubectl.must(['create', 'namespace', ns]);
      if (!cfg.keepNamespace) cleanup.add(`namespace ${ns}`, () => kubectl.must(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']));
      if (labels[key].length > 0) await kubectl.must(['label', 'namespace', ns, ...labels[key]]);
    }
    cleanup.add(`mutatingwebhookconfiguration ${name}`, () => kubectl.must(['delete', 'mutatingwebhookconfiguration', name, '--ignore-not-found']), { first: true });
    await kubectl.must(['create', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name }, webhooks }),
    });

    // A new configuration takes a moment to be used, and a new namespace to get its `default`
    // ServiceAccount (which the ServiceAccount admission plugin wants): probe every namespace.
    let probes = 0;
    await eventually('the API server sending an opted-in pod to the webhook, in every test namespace', cfg.timeoutMs, async () => {
      const probe = `probe-${probes++}`;
      for (const ns of Object.values(NS)) await createDryRun(ns, probe, REPO);
      return seen.get(PODS)!.includes(probe) && seen.get(NAMESPACE_OPT_IN)!.includes(probe) ? true : undefined;
    });
  });

  afterAll(() => cleanup.run());

  /** The pod as the dry run would have stored it, or undefined when it was refused (by the webhook: a pod that asks for nothing it can use). */
  async function createDryRun(namespace: string, name: string, annotations?: Record<string, string>, nodeName?: string): Promise<Obj | undefined> {
    const pod = creatable({ metadata: { name, ...(annotations && { annotations }) }, spec: { ...(nodeName && { nodeName }), containers: [{ name: 'app' }] } }, name);
    const result = await kubectl.run(['create', '--dry-run=server', '-n', namespace, '-f', '-', '-o', 'json'], { input: JSON.stringify(pod) });
    if (result.code !== 0 && !result.stderr.includes('denied the request')) throw new Error(`${result.command}: ${result.stderr}`);
    return result.code === 0 ? (JSON.parse(result.stdout) as Obj) : undefined;
  }

  test('every condition of every shipped webhook has a pod it sends and one it stops', () => {
    const conditions = shipped.flatMap((w) => ((w.matchConditions ?? []) as Obj[]).map((c) => `${w.name}/${c.name}`));
    expect(conditions.length).toBeGreaterThan(0);
    const covered = (sent: boolean) => [...new Set(CASES.filter((c) => c.sent === sent).map((c) => c.condition))].sort();
    expect(covered(true)).toEqual([...conditions].sort());
    expect(covered(false)).toEqual([...conditions].sort());
  });

  test.each(CASES.map((c, i) => [c.condition, c.sent ? 'sends' : 'stops', i, c] as const))('%s %s pod %i', async (_condition, _verdict, i, c) => {
    const name = `case-${i}`;
    const stored = await createDryRun(NS[c.namespace], name, c.annotations, c.nodeName);
    const sentTo = [...seen].filter(([, pods]) => pods.includes(name)).map(([webhook]) => webhook);
    expect(sentTo).toEqual(c.sent ? [WEBHOOK_FOR[c.namespace]] : []);
    // What that means for the pod: one that was not sent is created as it was; one that was sent with a repository is injected.
    // (A pod that already carries a status keeps it as it was written.)
    if (!c.sent) expect(stored?.metadata.annotations?.['gitsync.dev/status'], 'created, and not injected').toBe(c.annotations?.['gitsync.dev/status']);
    if (!c.sent) expect(stored).toBeDefined();
    if (c.sent && c.annotations?.['gitsync.dev/repo']) expect(stored?.metadata.annotations?.['gitsync.dev/status'], 'injected').toEqual(expect.any(String));
  });

  test('a namespace labelled gitsync.dev/injection=disabled is never sent, even an opted-in pod', async () => {
    await createDryRun(NS.disabled, 'disabled-ns', REPO);
    expect([...seen].filter(([, pods]) => pods.includes('disabled-ns'))).toEqual([]);
  });
});
