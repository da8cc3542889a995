/**
 * Cluster facts for `nativeSidecars: auto`: the API server's version and
 * every kubelet's, from a local server that speaks the Kubernetes API,
 * kept current in the background.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { ClusterFactsCache, nativeSidecarVerdict, parseKubeVersion } from '../../src/cluster/facts.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';

const BACKOFF = { initialMs: 10, maxMs: 100 };
const eventually = { timeout: 10_000, interval: 10 };

let api: FakeApiServer | undefined;
let facts: ClusterFactsCache | undefined;
afterEach(async () => {
  await facts?.stop();
  facts = undefined;
  await api?.stop();
  api = undefined;
});

async function factsOf(gitVersion: string, nodes: Record<string, string>) {
  api = await FakeApiServer.start({ gitVersion });
  for (const [name, version] of Object.entries(nodes)) api.node(name, version);
  facts = new ClusterFactsCache({ kubeConfig: api.kubeConfig(), backoff: BACKOFF, versionRefreshMs: 50 });
  return { api, facts };
}

describe('parseKubeVersion', () => {
  test.each([
    ['v1.29.0', { major: 1, minor: 29 }],
    ['v1.30.5-gke.1014001', { major: 1, minor: 30 }],
    ['v1.28.15+k3s1', { major: 1, minor: 28 }],
    ['v1.31.2-eks-7f9249a', { major: 1, minor: 31 }],
    ['1.32', { major: 1, minor: 32 }],
    ['v2.0.0', { major: 2, minor: 0 }],
  ])('%s', (text, expected) => {
    expect(parseKubeVersion(text)).toEqual(expected);
  });

  test.each(['', 'latest', 'v1', 'v1.x.3', 'v1.290abc'])('%j is not a version', (text) => {
    expect(parseKubeVersion(text)).toBeUndefined();
  });
});

describe('nativeSidecarVerdict', () => {
  const nodes = (entries: Record<string, string>) => new Map(Object.entries(entries));

  test('supported only when the API server and every kubelet are 1.29 or newer', () => {
    expect(nativeSidecarVerdict('v1.29.0', nodes({ a: 'v1.29.1', b: 'v1.31.0' }))).toEqual({
      nativeSidecars: true,
      reason: 'the API server (v1.29.0) and every kubelet (2 nodes) are 1.29 or newer',
    });
  });

  test('one old kubelet is enough to say no, and it is named', () => {
    expect(nativeSidecarVerdict('v1.31.0', nodes({ a: 'v1.31.0', old: 'v1.28.9' }))).toEqual({
      nativeSidecars: false,
      reason: 'node old runs kubelet v1.28.9; native sidecars need 1.29 or newer on every node',
    });
  });

  test('an old API server says no even before the nodes are known', () => {
    expect(nativeSidecarVerdict('v1.28.3', undefined)).toEqual({ nativeSidecars: false, reason: 'the API server is v1.28.3; native sidecars need 1.29 or newer' });
  });

  test('unknown until everything is known', () => {
    expect(nativeSidecarVerdict(undefined, nodes({ a: 'v1.30.0' })).nativeSidecars).toBeUndefined();
    expect(nativeSidecarVerdict('v1.30.0', undefined).nativeSidecars).toBeUndefined();
    expect(nativeSidecarVerdict('v1.30.0', nodes({ weird: 'unknown' }))).toEqual({
      nativeSidecars: undefined,
      reason: 'the kubelet version of node weird ("unknown") cannot be read',
    });
  });

  test('a cluster without nodes is decided by the API server', () => {
    expect(nativeSidecarVerdict('v1.30.0', nodes({})).nativeSidecars).toBe(true);
  });
});

describe('cluster facts cache', () => {
  test('unknown before it has asked; supported once the API server and nodes are all 1.29+', async () => {
    const { facts } = await factsOf('v1.31.2', { 'node-a': 'v1.30.4', 'node-b': 'v1.31.2' });
    expect(facts.facts).toEqual({});
    const changed: unknown[] = [];
    facts.onChange(() => changed.push(facts!.facts));
    facts.start();
    await vi.waitFor(() => expect(facts.facts).toEqual({ nativeSidecars: true }), eventually);
    expect(changed).toEqual([{ nativeSidecars: true }]);
    expect(facts.status()).toMatchObject({ apiServer: 'v1.31.2', nativeSidecars: true, nodes: { synced: true, count: 2 } });
  });

  test('a node with an old kubelet joining turns it off; its leaving turns it on again', async () => {
    const { api, facts } = await factsOf('v1.31.2', { 'node-a': 'v1.30.4' });
    facts.start();
    await vi.waitFor(() => expect(facts.facts).toEqual({ nativeSidecars: true }), eventually);
    api.node('legacy-1', 'v1.27.16');
    await vi.waitFor(() => expect(facts.facts).toEqual({ nativeSidecars: false }), eventually);
    expect(facts.status().reason).toBe('node legacy-1 runs kubelet v1.27.16; native sidecars need 1.29 or newer on every node');
    api.remove('nodes', 'legacy-1');
    await vi.waitFor(() => expect(facts.facts).toEqual({ nativeSidecars: true }), eventually);
  });

  test('an API server upgrade is noticed on the next refresh', async () => {
    const { api, facts } = await factsOf('v1.28.9', { 'node-a': 'v1.29.0' });
    facts.start();
    await vi.waitFor(() => expect(facts.facts).toEqual({ nativeSidecars: false }), eventually);
    api.gitVersion = 'v1.29.4';
    await vi.waitFor(() => expect(facts.facts).toEqual({ nativeSidecars: true }), eventually);
  });

  test('nodes it may not list (no RBAC): unknown, with the reason; known once allowed', async () => {
    const { api, facts } = await factsOf('v1.31.2', { 'node-a': 'v1.31.2' });
    api.forbid('nodes');
    facts.start();
    await vi.waitFor(() => {
      expect(facts.status().nodes.error).toMatch(/^cannot list nodes: HTTP 403: nodes is forbidden/);
      expect(facts.status()).toMatchObject({ apiServer: 'v1.31.2', reason: 'the nodes are not known yet' });
    }, eventually);
    expect(facts.facts).toEqual({});
    api.allow('nodes');
    await vi.waitFor(() => expect(facts.facts).toEqual({ nativeSidecars: true }), eventually);
  });

  test('the API server going away keeps the last answer; changes made meanwhile are seen when it is back', async () => {
    const { api, facts } = await factsOf('v1.31.2', { 'node-a': 'v1.31.2' });
    facts.start();
    await vi.waitFor(() => expect(facts.facts).toEqual({ nativeSidecars: true }), eventually);
    await api.stop();
    await vi.waitFor(() => expect(facts.status().versionError).toMatch(/^cannot read the API server version: .*ECONNREFUSED/), eventually);
    expect(facts.facts).toEqual({ nativeSidecars: true });
    api.node('legacy-2', 'v1.28.1');
    await api.restart();
    await vi.waitFor(() => expect(facts.facts).toEqual({ nativeSidecars: false }), eventually);
    await vi.waitFor(() => expect(facts.status().versionError).toBeUndefined(), eventually);
  });
});
