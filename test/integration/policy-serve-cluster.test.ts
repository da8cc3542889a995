/**
 * `serve` as a process against a cluster (a local server that speaks the
 * Kubernetes API, reached through KUBECONFIG): the policy ConfigMap, the
 * namespace defaults and the cluster facts all reach admissions, an edit to
 * the ConfigMap applies without a restart, a bad edit is rejected in plain
 * view, and SIGTERM stops the watchers with the servers.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import type { CertificatePaths } from '../../src/tls/index.ts';
import { killServes, localhostCertificates, runCli, type ServeProcess, startServe } from '../support/cli.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';
import { decodePatch, postReview, reviewOf, samplePod, send } from '../support/server.ts';

const eventually = { timeout: 15_000, interval: 25 };
const NS = 'gitsync-injector';
const CM = 'gitsync-injector-policy';
const SOURCE = `configmap ${NS}/${CM} key policy.yaml`;

let dir: string;
let certs: CertificatePaths;
let caCert: string;
let api: FakeApiServer | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitsync-serve-cluster-'));
  ({ files: certs, caCert } = await localhostCertificates(dir, 'serve cluster test CA'));
});
afterEach(async () => {
  killServes();
  await api?.stop();
  api = undefined;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// With the preview listener (off by default) for GET /policy.
const serve = (args: string[], env: Record<string, string>): Promise<ServeProcess> => startServe(['--preview-port', '0', ...args], certs, env);

async function kubeconfigFor(server: FakeApiServer): Promise<string> {
  const file = join(dir, `kubeconfig-${server.port}.yaml`);
  await writeFile(file, server.kubeconfigYaml());
  return file;
}

const readyz = async (s: ServeProcess) => send({ port: s.healthPort, path: '/readyz' });
const getPolicy = async (s: ServeProcess) => (await send({ port: s.previewPort!, ca: caCert, path: '/policy' })).json();

describe('serve in a cluster', () => {
  test('ConfigMap policy, namespace defaults and cluster facts reach admissions; edits apply live; SIGTERM stops everything', async () => {
    api = await FakeApiServer.start({ gitVersion: 'v1.31.2' });
    api.namespace('team-data', { 'gitsync.dev/repo': 'https://github.com/acme/dags.git', 'gitsync.dev/sub-path': 'dags' });
    api.node('node-1', 'v1.31.2');
    api.configMap(NS, CM, { 'policy.yaml': 'defaults:\n  period: 2m\n' });
    const s = await serve([], { KUBECONFIG: await kubeconfigFor(api), POD_NAMESPACE: NS });
    expect(s.lines).toContainEqual(expect.objectContaining({ msg: 'cluster: watching namespaces, nodes and the API server version', policySource: SOURCE }));

    // Ready once the ConfigMap and the namespaces have been read; the details say what is in force.
    await vi.waitFor(async () => {
      const res = await readyz(s);
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({
        checks: { policy: { ok: true, message: `${SOURCE} in force` }, namespaces: { ok: true, message: '1 namespaces cached' } },
        policy: { source: SOURCE },
        cluster: { nativeSidecars: true, apiServer: 'v1.31.2' },
      });
    }, eventually);
    expect(await getPolicy(s)).toMatchObject({ source: SOURCE, policy: { defaults: { period: '2m' } } });

    // A pod that only says inject: "true" gets the repository its namespace names.
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'etl-', annotations: { 'gitsync.dev/inject': 'true' } }, spec: { containers: [{ name: 'etl', image: 'python:3.12' }] } };
    const answer = (await postReview({ port: s.port, ca: caCert }, reviewOf(pod, { namespace: 'team-data' }))).json().response;
    expect(answer.allowed).toBe(true);
    const patch = JSON.stringify(decodePatch(answer));
    expect(patch).toContain('"name":"GITSYNC_REPO","value":"https://github.com/acme/dags.git"');
    expect(patch).toContain('"name":"GITSYNC_PERIOD","value":"2m"');
    // Native sidecars: the cluster facts said every part is 1.29+.
    expect(patch).toContain('"restartPolicy":"Always"');

    // An invalid edit: rejected, the last good policy stays, still ready, counted.
    const good = (await getPolicy(s)).hash as string;
    api.configMap(NS, CM, { 'policy.yaml': 'defaults:\n  period: 5x\n' });
    await vi.waitFor(async () => expect((await getPolicy(s)).rejected?.problems).toEqual([
      'policy.yaml:2:11: defaults.period: "5x" is not a duration; use a Go duration such as 30s, 5m or 1h30m [DURATION_INVALID]',
    ]), eventually);
    expect((await getPolicy(s)).hash).toBe(good);
    const ready = await readyz(s);
    expect(ready.status).toBe(200);
    expect(ready.json().policy).toMatchObject({ source: SOURCE, hash: good, rejected: { source: SOURCE } });
    expect(s.lines).toContainEqual(expect.objectContaining({ level: 'error', source: SOURCE, problems: [expect.stringContaining('DURATION_INVALID')] }));
    expect((await send({ port: s.healthPort, path: '/metrics' })).text).toContain('gitsync_injector_policy_loads_total{result="rejected"} 1');

    // A valid edit and a namespace edit: both in force without a restart.
    api.configMap(NS, CM, { 'policy.yaml': 'defaults:\n  period: 3m\n' });
    api.namespace('team-data', { 'gitsync.dev/repo': 'https://github.com/acme/other.git' });
    await vi.waitFor(async () => {
      const again = (await postReview({ port: s.port, ca: caCert }, reviewOf(pod, { namespace: 'team-data' }))).json().response;
      const text = JSON.stringify(decodePatch(again));
      expect(text).toContain('"name":"GITSYNC_REPO","value":"https://github.com/acme/other.git"');
      expect(text).toContain('"name":"GITSYNC_PERIOD","value":"3m"');
    }, eventually);
    expect((await getPolicy(s)).rejected).toBeUndefined();

    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    await vi.waitFor(() => expect(api!.activeWatches()).toBe(0), eventually);
  });

  test('until the ConfigMap has been read, /mutate answers 503 POLICY_NOT_LOADED and never injects with the built-in policy', async () => {
    api = await FakeApiServer.start();
    const image = 'registry.example.com/mirror/git-sync:v4.7.1';
    api.configMap(NS, CM, { 'policy.yaml': `image: ${image}\n` });
    // The first list of the ConfigMap is slow to come back.
    const release = api.holdLists('configmaps');
    const s = await serve([], { KUBECONFIG: await kubeconfigFor(api), POD_NAMESPACE: NS });
    await vi.waitFor(() => expect(api!.count('configmaps', 'list')).toBeGreaterThan(0), eventually);

    const early = await postReview({ port: s.port, ca: caCert }, reviewOf(samplePod()));
    expect(early.status).toBe(503);
    expect(early.headers['retry-after']).toBe('1');
    expect(early.json()).toEqual({
      error: {
        code: 503,
        reason: 'POLICY_NOT_LOADED',
        message: `the policy from ${SOURCE} has not been read yet; no request is answered with a policy the platform did not choose, retry in a moment`,
      },
    });
    const unready = await readyz(s);
    expect(unready.status).toBe(503);
    expect(unready.json().checks.policy).toEqual({ ok: false, message: `waiting for the first read of configmap ${NS}/${CM}` });

    release();
    await vi.waitFor(async () => expect((await readyz(s)).status).toBe(200), eventually);
    const answer = (await postReview({ port: s.port, ca: caCert }, reviewOf(samplePod()))).json().response;
    expect(answer.allowed).toBe(true);
    expect(JSON.stringify(decodePatch(answer))).toContain(`"image":"${image}"`);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });

  test('a ConfigMap that has never held a valid policy since start: /mutate answers 503 POLICY_NOT_LOADED until it does', async () => {
    api = await FakeApiServer.start();
    api.configMap(NS, CM, { 'policy.yaml': 'defaults:\n  period: 5x\n' });
    const s = await serve([], { KUBECONFIG: await kubeconfigFor(api), POD_NAMESPACE: NS });
    await vi.waitFor(async () => expect((await postReview({ port: s.port, ca: caCert }, reviewOf(samplePod()))).json()).toEqual({
      error: { code: 503, reason: 'POLICY_NOT_LOADED', message: expect.stringMatching(new RegExp(`^${SOURCE} has no valid policy yet \\(see policy.rejected on /readyz\\)`)) },
    }), eventually);
    api.configMap(NS, CM, { 'policy.yaml': 'defaults:\n  period: 2m\n' });
    await vi.waitFor(async () => {
      const answer = (await postReview({ port: s.port, ca: caCert }, reviewOf(samplePod()))).json().response;
      expect(JSON.stringify(decodePatch(answer))).toContain('"name":"GITSYNC_PERIOD","value":"2m"');
    }, eventually);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });

  test('not ready until the API server has answered; ready when it does', async () => {
    api = await FakeApiServer.start();
    const kubeconfig = await kubeconfigFor(api);
    await api.stop();
    const s = await serve([], { KUBECONFIG: kubeconfig, POD_NAMESPACE: NS });
    const res = await readyz(s);
    expect(res.status).toBe(503);
    expect(res.json().checks).toMatchObject({ policy: { ok: false }, namespaces: { ok: false } });
    await api.restart();
    await vi.waitFor(async () => expect((await readyz(s)).status).toBe(200), eventually);
    expect((await readyz(s)).json().checks.policy.message).toBe(`configmap ${NS}/${CM} does not exist; the built-in policy is in force`);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });

  test('--policy: the file is the policy source, the cluster still gives namespace defaults', async () => {
    api = await FakeApiServer.start();
    api.configMap(NS, CM, { 'policy.yaml': 'defaults:\n  period: 2m\n' });
    const file = join(dir, 'file-policy.yaml');
    await writeFile(file, 'defaults:\n  period: 4m\n');
    const s = await serve(['--policy', file], { KUBECONFIG: await kubeconfigFor(api), POD_NAMESPACE: NS });
    await vi.waitFor(async () => expect((await readyz(s)).status).toBe(200), eventually);
    expect(await getPolicy(s)).toMatchObject({ source: file, policy: { defaults: { period: '4m' } } });
    expect(api.count('configmaps', 'list')).toBe(0);
    expect((await readyz(s)).json().checks.namespaces).toEqual({ ok: true, message: '0 namespaces cached' });
    s.child.kill('SIGINT');
    expect(await s.exit).toBe(0);
  });
});

describe('serve without a cluster', () => {
  test('no watchers: the built-in policy, no namespace or cluster checks, and it says so', async () => {
    const s = await serve([], {});
    expect(s.lines).toContainEqual(expect.objectContaining({ msg: 'no cluster configured (--cluster auto): namespace defaults and cluster facts are off' }));
    const ready = (await readyz(s)).json();
    expect(Object.keys(ready.checks)).not.toContain('namespaces');
    expect(ready.cluster).toBeUndefined();
    expect(await getPolicy(s)).toMatchObject({ source: 'built-in' });
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });

  test('--cluster on with nothing configured: exit 1, saying what was looked for', async () => {
    const run = await runCli(['serve', '--cluster', 'on', '--port', '0', '--health-port', '0'], {
      env: { HOME: dir, GITSYNC_INJECTOR_TLS_CERT: certs.cert, GITSYNC_INJECTOR_TLS_KEY: certs.key },
    });
    const { code, stdout } = run;
    expect(code).toBe(1);
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ level: 'fatal', msg: expect.stringMatching(/^--cluster on, but no cluster is configured/) });
  });

  test('serve --help documents the source flags and their environment variables', async () => {
    const { stdout } = await runCli(['serve', '--help']);
    for (const v of ['--cluster', 'GITSYNC_INJECTOR_CLUSTER', '--policy-configmap', 'GITSYNC_INJECTOR_POLICY_CONFIGMAP', 'GITSYNC_INJECTOR_POLICY_CONFIGMAP_NAMESPACE', 'GITSYNC_INJECTOR_POLICY_CONFIGMAP_KEY', 'POD_NAMESPACE']) {
      expect(stdout).toContain(v);
    }
  });
});
