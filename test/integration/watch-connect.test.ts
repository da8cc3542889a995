/**
 * How serve decides whether it runs against a cluster, how it reaches it,
 * which namespace is its own, and the flags that choose the policy source.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { UsageError } from '../../src/args.ts';
import { sourcesConfig } from '../../src/app/index.ts';
import { ClusterConfigError, connectToCluster } from '../../src/cluster/index.ts';

let dir: string;
let serviceAccount: string;
let noServiceAccount: string;
const kubeconfig = (server: string, namespace?: string): string =>
  [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]`,
    'users: [{name: u, user: {token: t}}]',
    `contexts: [{name: x, context: {cluster: c, user: u${namespace ? `, namespace: ${namespace}` : ''}}}]`,
    'current-context: x',
    '',
  ].join('\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitsync-connect-'));
  serviceAccount = join(dir, 'serviceaccount');
  noServiceAccount = join(dir, 'none');
  await mkdir(serviceAccount);
  await writeFile(join(serviceAccount, 'token'), 'token');
  await writeFile(join(serviceAccount, 'ca.crt'), '');
  await writeFile(join(serviceAccount, 'namespace'), 'platform-system\n');
  await writeFile(join(dir, 'a.yaml'), kubeconfig('https://a.example.com:6443', 'team-a'));
  await writeFile(join(dir, 'b.yaml'), kubeconfig('https://b.example.com:6443').replace('name: x', 'name: other').replace('current-context: x', 'current-context: other'));
  await writeFile(join(dir, 'no-context.yaml'), 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
  await mkdir(join(dir, 'home', '.kube'), { recursive: true });
  await writeFile(join(dir, 'home', '.kube', 'config'), kubeconfig('https://home.example.com'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const IN_POD = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

describe('connectToCluster', () => {
  test('in a pod: the service account, the API server from the environment, the namespace from the mount', async () => {
    const c = await connectToCluster('auto', IN_POD, serviceAccount);
    expect(c).toMatchObject({ via: 'in-cluster service account', server: 'https://10.96.0.1:443', namespace: 'platform-system' });
    expect(c?.kubeConfig.getCurrentUser()?.authProvider).toEqual({ name: 'tokenFile', config: { tokenFile: join(serviceAccount, 'token') } });
    expect(c?.kubeConfig.getCurrentCluster()?.caFile).toBe(join(serviceAccount, 'ca.crt'));
  });

  test('POD_NAMESPACE (the downward API) wins over the mounted namespace', async () => {
    expect((await connectToCluster('auto', { ...IN_POD, POD_NAMESPACE: 'gitsync-injector' }, serviceAccount))?.namespace).toBe('gitsync-injector');
  });

  test('an IPv6 API server address is bracketed', async () => {
    expect((await connectToCluster('auto', { ...IN_POD, KUBERNETES_SERVICE_HOST: 'fd00::1' }, serviceAccount))?.server).toBe('https://[fd00::1]:443');
  });

  test('service variables without a mounted token are not a pod with API access', async () => {
    expect(await connectToCluster('auto', IN_POD, noServiceAccount)).toBeUndefined();
  });

  test('KUBECONFIG: its current context, merged over several files like kubectl, namespace from the context', async () => {
    const c = await connectToCluster('auto', { KUBECONFIG: [join(dir, 'a.yaml'), join(dir, 'b.yaml')].join(delimiter) }, noServiceAccount);
    expect(c).toMatchObject({ via: `kubeconfig ${join(dir, 'a.yaml')}${delimiter}${join(dir, 'b.yaml')}`, server: 'https://a.example.com:6443', namespace: 'team-a' });
    expect(c?.kubeConfig.getContexts().map((x) => x.name).sort()).toEqual(['other', 'x']);
  });

  test('a kubeconfig context without a namespace: default', async () => {
    expect((await connectToCluster('auto', { KUBECONFIG: join(dir, 'b.yaml') }, noServiceAccount))?.namespace).toBe('default');
  });

  test('auto without a pod or KUBECONFIG: no cluster, even with ~/.kube/config', async () => {
    expect(await connectToCluster('auto', { HOME: join(dir, 'home') }, noServiceAccount)).toBeUndefined();
  });

  test('on: ~/.kube/config is used when nothing else is configured', async () => {
    expect(await connectToCluster('on', { HOME: join(dir, 'home') }, noServiceAccount)).toMatchObject({ server: 'https://home.example.com' });
  });

  test('on, with nothing configured: an error that says what was looked for', async () => {
    const attempt = connectToCluster('on', { HOME: join(dir, 'nowhere') }, noServiceAccount);
    await expect(attempt).rejects.toThrow(ClusterConfigError);
    await expect(attempt).rejects.toThrow(/^--cluster on, but no cluster is configured: not in a pod .*KUBECONFIG is unset and .*nowhere\/\.kube\/config does not exist$/);
  });

  test('off: never, even in a pod', async () => {
    expect(await connectToCluster('off', { ...IN_POD, KUBECONFIG: join(dir, 'a.yaml') }, serviceAccount)).toBeUndefined();
  });

  test('a KUBECONFIG that cannot be used is an error, not a silent local run', async () => {
    await expect(connectToCluster('auto', { KUBECONFIG: join(dir, 'missing.yaml') }, noServiceAccount)).rejects.toThrow(/^KUBECONFIG: cannot load .*missing\.yaml: /);
    await expect(connectToCluster('auto', { KUBECONFIG: join(dir, 'no-context.yaml') }, noServiceAccount)).rejects.toThrow(/names no cluster$/);
  });
});

describe('sourcesConfig', () => {
  test('defaults: auto, ConfigMap gitsync-injector-policy key policy.yaml in the webhook\'s namespace', () => {
    expect(sourcesConfig({}, {}, undefined)).toEqual({ cluster: 'auto', configMap: { name: 'gitsync-injector-policy', key: 'policy.yaml' } });
  });

  test('flags, and the environment when no flag is given', () => {
    expect(
      sourcesConfig({ 'policy-configmap': 'team-policy', cluster: 'on' }, { GITSYNC_INJECTOR_POLICY_CONFIGMAP_NAMESPACE: 'platform', GITSYNC_INJECTOR_POLICY_CONFIGMAP_KEY: 'policy.yml', GITSYNC_INJECTOR_CLUSTER: 'off' }, undefined),
    ).toEqual({ cluster: 'on', configMap: { name: 'team-policy', namespace: 'platform', key: 'policy.yml' } });
  });

  test('a policy file is the source', () => {
    expect(sourcesConfig({}, {}, '/etc/policy.yaml')).toMatchObject({ policyFile: '/etc/policy.yaml' });
  });

  test.each([
    [{ cluster: 'yes' }, {}, undefined, '--cluster: "yes" is not a cluster mode; use one of auto, on, off'],
    [{}, { GITSYNC_INJECTOR_CLUSTER: 'maybe' }, undefined, 'GITSYNC_INJECTOR_CLUSTER: "maybe" is not a cluster mode'],
    [{ 'policy-configmap': 'Bad_Name' }, {}, undefined, '--policy-configmap: "Bad_Name" is not a ConfigMap name'],
    [{ 'policy-configmap-namespace': 'a.b' }, {}, undefined, '--policy-configmap-namespace: "a.b" is not a namespace name'],
    [{ 'policy-configmap-key': 'a/b' }, {}, undefined, '--policy-configmap-key: "a/b" is not a ConfigMap key'],
    [{ 'policy-configmap': 'p' }, {}, '/etc/policy.yaml', '--policy and --policy-configmap both choose where the policy comes from; give one of them'],
    [{}, { GITSYNC_INJECTOR_POLICY_CONFIGMAP_KEY: 'k' }, '/etc/policy.yaml', '--policy and GITSYNC_INJECTOR_POLICY_CONFIGMAP_KEY both choose'],
    [{ cluster: 'off', 'policy-configmap': 'p' }, {}, undefined, '--policy-configmap needs a cluster, but --cluster is off'],
  ] as const)('%j %j %s: %s', (flags, env, file, message) => {
    expect(() => sourcesConfig(flags, env, file)).toThrow(UsageError);
    expect(() => sourcesConfig(flags, env, file)).toThrow(message);
  });
});
