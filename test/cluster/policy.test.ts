/**
 * The opt-in suite (`npm run test:cluster`) against the real API server
 * KUBECONFIG names. It creates a throwaway namespace holding a policy
 * ConfigMap and a team namespace with defaults, edits them as a platform
 * team would, and checks what the webhook sees: the policy in force, its
 * rejections, the namespace defaults in admissions, the cluster facts.
 * Everything it creates is deleted afterwards, whatever happened.
 *
 * It needs a disposable cluster (kind, k3d, minikube) and credentials that
 * may create and delete namespaces and ConfigMaps and list nodes.
 */
import { randomBytes } from 'node:crypto';
import { ApiException, CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { admit } from '../../src/admission/index.ts';
import { nativeSidecarVerdict } from '../../src/cluster/facts.ts';
import { startSources, type Sources } from '../../src/app/index.ts';
import { VERSION } from '../../src/version.ts';
import { captureLogger, decodePatch, reviewOf } from '../support/server.ts';

const KUBECONFIG = process.env.KUBECONFIG;
if (!KUBECONFIG) {
  console.warn('test:cluster: KUBECONFIG is not set; skipping the real-cluster suite. Point KUBECONFIG at a disposable cluster to run it.');
}

const eventually = { timeout: 60_000, interval: 250 };
const CM = 'gitsync-injector-policy';
const id = randomBytes(3).toString('hex');
const home = `gitsync-injector-test-${id}`;
const team = `gitsync-injector-test-${id}-team`;
const LABELS = { 'app.kubernetes.io/part-of': 'gitsync-injector-test' };

describe.skipIf(!KUBECONFIG)(`the cluster in KUBECONFIG (namespaces ${home}, ${team})`, () => {
  let core: CoreV1Api;
  let sources: Sources | undefined;
  const source = `configmap ${home}/${CM} key policy.yaml`;

  const putPolicy = (text: string) =>
    core.replaceNamespacedConfigMap({ name: CM, namespace: home, body: { metadata: { name: CM, namespace: home }, data: { 'policy.yaml': text } } });
  const period = () => sources!.store.current.compiled.document.defaults.period;
  const injectedRepo = (namespace: string): string | undefined => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'etl-', annotations: { 'gitsync.dev/inject': 'true' } }, spec: { containers: [{ name: 'etl', image: 'python:3.12' }] } };
    const { review } = admit(reviewOf(pod, { namespace }), sources!.deps);
    if (!review.response.allowed || !review.response.patch) return undefined;
    return /"name":"GITSYNC_REPO","value":"([^"]+)"/.exec(JSON.stringify(decodePatch(review.response)))?.[1];
  };

  beforeAll(async () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    core = kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: home, labels: LABELS } } });
    await core.createNamespace({
      body: { metadata: { name: team, labels: LABELS, annotations: { 'gitsync.dev/repo': 'https://github.com/acme/dags.git', 'gitsync.dev/secret': 'git-creds' } } },
    });
    await core.createNamespacedConfigMap({ namespace: home, body: { metadata: { name: CM }, data: { 'policy.yaml': 'defaults:\n  period: 2m\n' } } });
    sources = await startSources(
      { cluster: 'on', configMap: { name: CM, key: 'policy.yaml', namespace: home } },
      { env: { KUBECONFIG: KUBECONFIG! }, logger: captureLogger().logger, context: { cluster: {}, version: VERSION } },
    );
  }, 120_000);

  afterAll(async () => {
    await sources?.stop();
    for (const name of [team, home]) {
      try {
        await core?.deleteNamespace({ name });
      } catch (error) {
        if (!(error instanceof ApiException && error.code === 404)) console.warn(`test:cluster: could not delete namespace ${name}: ${(error as Error).message}`);
      }
    }
  }, 120_000);

  test('reads the policy ConfigMap and is ready', async () => {
    await vi.waitFor(() => {
      expect(sources!.store.current.source).toBe(source);
      expect(period()).toBe('2m');
      expect(sources!.configMap!.check().ok).toBe(true);
    }, eventually);
  }, 90_000);

  test('an edit is in force within seconds', async () => {
    await putPolicy('defaults:\n  period: 3m\n');
    await vi.waitFor(() => expect(period()).toBe('3m'), eventually);
  }, 90_000);

  test('an invalid edit is rejected with its problems and the last good policy stays', async () => {
    await vi.waitFor(() => expect(period()).toBe('3m'), eventually);
    const good = sources!.store.current.hash;
    await putPolicy('defaults:\n  period: 5x\n');
    await vi.waitFor(() => expect(sources!.store.rejected?.problems).toEqual([expect.stringContaining('policy.yaml:2:11: defaults.period: "5x" is not a duration')]), eventually);
    expect(sources!.store.current.hash).toBe(good);
    expect(sources!.configMap!.check().ok).toBe(true);
    await putPolicy('defaults:\n  period: 4m\n');
    await vi.waitFor(() => expect(sources!.store.rejected).toBeUndefined(), eventually);
  }, 90_000);

  test('namespace annotations are defaults in admissions, and edits to them are seen', async () => {
    await vi.waitFor(() => expect(injectedRepo(team)).toBe('https://github.com/acme/dags.git'), eventually);
    const ns = await core.readNamespace({ name: team });
    ns.metadata!.annotations = { ...ns.metadata!.annotations, 'gitsync.dev/repo': 'https://github.com/acme/other.git' };
    await core.replaceNamespace({ name: team, body: ns });
    await vi.waitFor(() => expect(injectedRepo(team)).toBe('https://github.com/acme/other.git'), eventually);
    // A namespace without defaults: a pod saying only inject: "true" has no repository.
    expect(injectedRepo(home)).toBeUndefined();
  }, 90_000);

  test('cluster facts: the API server version, and native sidecars as the nodes say', async () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    const version = await kubeConfig.makeApiClient(VersionApi).getCode();
    const nodes = await core.listNode();
    const kubelets = new Map(nodes.items.map((n) => [n.metadata!.name!, n.status?.nodeInfo?.kubeletVersion ?? '']));
    const expected = nativeSidecarVerdict(version.gitVersion, kubelets).nativeSidecars;
    await vi.waitFor(() => {
      expect(sources!.facts!.status().apiServer).toBe(version.gitVersion);
      expect(sources!.facts!.facts.nativeSidecars).toBe(expected);
      expect(sources!.deps.ctx.cluster.nativeSidecars).toBe(expected);
    }, eventually);
  }, 90_000);
});
