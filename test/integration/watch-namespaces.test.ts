/**
 * The namespace cache and the reflector under it, against a local server
 * that speaks the list/watch protocol: changes arrive through the watch, a
 * closed watch resumes where it was, 410 Gone forces a fresh list, and an
 * API server that goes away is retried until it is back.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { abortable, pageOf } from '../../src/cluster/api.ts';
import { Backoff } from '../../src/cluster/backoff.ts';
import { NamespaceCache } from '../../src/cluster/namespaces.ts';
import { Reflector } from '../../src/cluster/reflector.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';
import { captureLogger } from '../support/server.ts';

const BACKOFF = { initialMs: 10, maxMs: 100 };
const eventually = { timeout: 10_000, interval: 10 };

let api: FakeApiServer | undefined;
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
  await api?.stop();
  api = undefined;
});

async function cacheOn(options: { expiredAs?: 'event' | 'status' } = {}) {
  api = await FakeApiServer.start(options);
  const { logger, lines } = captureLogger();
  const cache = new NamespaceCache({ kubeConfig: api.kubeConfig(), backoff: BACKOFF, logger });
  stops.push(() => cache.stop());
  return { api, cache, lines };
}

describe('namespace cache', () => {
  test('knows every namespace after the first list, and nothing before', async () => {
    const { api, cache } = await cacheOn();
    api.namespace('team-a', { 'gitsync.dev/repo': 'https://github.com/acme/dags.git', 'gitsync.dev/secret': 'git-creds' });
    api.namespace('team-b');
    expect(cache.annotations('team-a')).toBeUndefined();
    expect(cache.status().synced).toBe(false);
    cache.start();
    await vi.waitFor(() => expect(cache.status()).toEqual({ synced: true, namespaces: 2 }), eventually);
    expect(cache.annotations('team-a')).toEqual({ 'gitsync.dev/repo': 'https://github.com/acme/dags.git', 'gitsync.dev/secret': 'git-creds' });
    expect(cache.annotations('team-b')).toEqual({});
    expect(cache.annotations('nowhere')).toBeUndefined();
  });

  test('sees namespaces added, annotated and deleted', async () => {
    const { api, cache } = await cacheOn();
    cache.start();
    await vi.waitFor(() => expect(cache.status().synced).toBe(true), eventually);
    api.namespace('team-c', { 'gitsync.dev/repo': 'https://github.com/acme/one.git' });
    await vi.waitFor(() => expect(cache.annotations('team-c')).toEqual({ 'gitsync.dev/repo': 'https://github.com/acme/one.git' }), eventually);
    api.namespace('team-c', { 'gitsync.dev/repo': 'https://github.com/acme/two.git', 'gitsync.dev/ref': 'main' });
    await vi.waitFor(() => expect(cache.annotations('team-c')).toEqual({ 'gitsync.dev/repo': 'https://github.com/acme/two.git', 'gitsync.dev/ref': 'main' }), eventually);
    api.remove('namespaces', 'team-c');
    await vi.waitFor(() => expect(cache.annotations('team-c')).toBeUndefined(), eventually);
    // All of that came through one watch, without listing again.
    expect(api.count('namespaces', 'list')).toBe(1);
  });

  test('does not keep kubectl.kubernetes.io/last-applied-configuration', async () => {
    const { api, cache } = await cacheOn();
    api.namespace('team-a', { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"manifest"}', 'gitsync.dev/ref': 'main' });
    cache.start();
    await vi.waitFor(() => expect(cache.annotations('team-a')).toEqual({ 'gitsync.dev/ref': 'main' }), eventually);
  });

  test('a watch the server closes resumes from where it was, without a list', async () => {
    const { api, cache } = await cacheOn();
    cache.start();
    await vi.waitFor(() => expect(api.activeWatches('namespaces')).toBe(1), eventually);
    api.closeWatches();
    // Changed while no watch was open: the resumed watch replays it.
    api.namespace('team-d', { 'gitsync.dev/ref': 'v1' });
    await vi.waitFor(() => expect(cache.annotations('team-d')).toEqual({ 'gitsync.dev/ref': 'v1' }), eventually);
    expect(api.count('namespaces', 'list')).toBe(1);
    expect(api.count('namespaces', 'watch')).toBeGreaterThanOrEqual(2);
  });

  test.each(['event', 'status'] as const)('410 Gone (%s) makes it list again and see what it missed', async (expiredAs) => {
    const { api, cache } = await cacheOn({ expiredAs });
    api.namespace('team-a', { 'gitsync.dev/ref': 'v1' });
    api.namespace('team-b');
    cache.start();
    await vi.waitFor(() => expect(api.activeWatches('namespaces')).toBe(1), eventually);
    // History is gone and the watch closed: the changes below can only be learned from a list.
    api.expireHistory();
    api.namespace('team-a', { 'gitsync.dev/ref': 'v2' });
    api.remove('namespaces', 'team-b');
    api.namespace('team-e');
    await vi.waitFor(() => {
      expect(cache.annotations('team-a')).toEqual({ 'gitsync.dev/ref': 'v2' });
      expect(cache.annotations('team-b')).toBeUndefined();
      expect(cache.annotations('team-e')).toEqual({});
    }, eventually);
    expect(api.count('namespaces', 'list')).toBe(2);
    expect(cache.status().error).toBeUndefined();
  });

  test('an API server that goes away: the copy stays, the error shows, and it catches up when the server is back', async () => {
    const { api, cache, lines } = await cacheOn();
    api.namespace('team-a', { 'gitsync.dev/ref': 'v1' });
    cache.start();
    await vi.waitFor(() => expect(api.activeWatches('namespaces')).toBe(1), eventually);
    await api.stop();
    await vi.waitFor(() => expect(cache.status().error).toMatch(/^cannot (list|watch) namespaces: /), eventually);
    // Admission keeps reading the last copy, and the replica stays ready.
    expect(cache.annotations('team-a')).toEqual({ 'gitsync.dev/ref': 'v1' });
    expect(cache.check()).toEqual({ ok: true, message: expect.stringMatching(/^1 namespaces cached; updates are failing: cannot (list|watch) namespaces: /) });
    expect(cache.status()).toMatchObject({ synced: true, failingSince: expect.any(String) });
    // Changed while the client could not see: after the restart it lists again and knows.
    api.namespace('team-a', { 'gitsync.dev/ref': 'v2' });
    api.namespace('team-f');
    const listsBefore = api.count('namespaces', 'list');
    await api.restart();
    await vi.waitFor(() => {
      expect(cache.annotations('team-a')).toEqual({ 'gitsync.dev/ref': 'v2' });
      expect(cache.annotations('team-f')).toEqual({});
      expect(cache.status()).toEqual({ synced: true, namespaces: 2 });
    }, eventually);
    expect(api.count('namespaces', 'list')).toBeGreaterThan(listsBefore);
    // One warning when the trouble started (not one per retry), one line when it ended.
    expect(lines.filter((l) => l.level === 'warn' && String(l.msg).includes('namespaces')).length).toBeLessThanOrEqual(3);
    expect(lines.some((l) => l.level === 'info' && /^namespaces: listed again after \d+ failed attempts$/.test(String(l.msg)))).toBe(true);
  });

  test('an API server that is down at start: not synced, the error says why, synced once it is up', async () => {
    api = await FakeApiServer.start();
    api.namespace('team-a');
    await api.stop();
    const cache = new NamespaceCache({ kubeConfig: api.kubeConfig(), backoff: BACKOFF });
    stops.push(() => cache.stop());
    cache.start();
    await vi.waitFor(() => expect(cache.status()).toMatchObject({ synced: false, error: expect.stringContaining('ECONNREFUSED') }), eventually);
    expect(cache.annotations('team-a')).toBeUndefined();
    // Not ready: a replica without the copy would admit pods without their namespace defaults.
    expect(cache.check()).toEqual({ ok: false, message: expect.stringMatching(/^waiting for the first list of namespaces: cannot list namespaces: .*ECONNREFUSED/) });
    await api.restart();
    await vi.waitFor(() => expect(cache.status()).toEqual({ synced: true, namespaces: 1 }), eventually);
    expect(cache.check()).toEqual({ ok: true, message: '1 namespaces cached' });
  });

  test('403 Forbidden (missing RBAC) is reported with the API server\'s message and retried', async () => {
    const { api, cache } = await cacheOn();
    api.forbid('namespaces');
    cache.start();
    await vi.waitFor(
      () => expect(cache.status().error).toBe('cannot list namespaces: HTTP 403: namespaces is forbidden: User "tester" cannot list resource "namespaces"'),
      eventually,
    );
    api.allow('namespaces');
    await vi.waitFor(() => expect(cache.status()).toEqual({ synced: true, namespaces: 0 }), eventually);
  });

  test('stop() ends the watch and every retry', async () => {
    const { api, cache } = await cacheOn();
    cache.start();
    await vi.waitFor(() => expect(api.activeWatches('namespaces')).toBe(1), eventually);
    await cache.stop();
    await vi.waitFor(() => expect(api.activeWatches('namespaces')).toBe(0), eventually);
    const requests = api.requests.length;
    api.closeWatches();
    api.namespace('after-stop');
    // Give a (wrongly) running loop every chance to reconnect: a bounded number of event-loop turns.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(api.requests.length).toBe(requests);
    expect(cache.annotations('after-stop')).toBeUndefined();
  });
});

describe('reflector', () => {
  test('lists in pages and keeps what it projects', async () => {
    api = await FakeApiServer.start();
    for (let i = 0; i < 7; i++) api.namespace(`ns-${i}`, { n: String(i) });
    const kubeConfig = api.kubeConfig();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const reflector = new Reflector({
      what: 'namespaces',
      kubeConfig,
      path: '/api/v1/namespaces',
      list: async (page, signal) => pageOf(await core.listNamespace({ limit: page.limit, _continue: page.continue }, abortable(signal))),
      project: (o) => (o.metadata as { annotations?: Record<string, string> }).annotations?.n,
      pageSize: 3,
      backoff: BACKOFF,
    });
    stops.push(() => reflector.stop());
    let changes = 0;
    reflector.onChange(() => changes++);
    reflector.start();
    await vi.waitFor(() => expect(reflector.status().synced).toBe(true), eventually);
    expect([...reflector.items.entries()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => [`ns-${i}`, String(i)]));
    expect(api.requests.filter((r) => r.resource === 'namespaces' && !r.watch).map((r) => r.query.limit)).toEqual(['3', '3', '3']);
    // One change notification for the whole list, then one per event that changes what is kept.
    expect(changes).toBe(1);
    api.namespace('ns-1', { n: '1', other: 'ignored' });
    api.namespace('ns-2', { n: 'two' });
    await vi.waitFor(() => expect(reflector.items.get('ns-2')).toBe('two'), eventually);
    expect(changes).toBe(2);
  });
});

describe('backoff', () => {
  test('doubles from the initial delay up to the maximum, with jitter between half and all, and resets', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0);
    expect([1, 2, 3, 4, 5, 6].map(() => low.next())).toEqual([50, 100, 200, 400, 500, 500]);
    low.reset();
    expect(low.next()).toBe(50);
    const high = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 1);
    expect([1, 2, 3, 4, 5].map(() => high.next())).toEqual([100, 200, 400, 800, 1000]);
  });

  test('refuses settings that would spin or never retry', () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10 })).toThrow(/0 < initialMs <= maxMs/);
    expect(() => new Backoff({ initialMs: 10, maxMs: 5 })).toThrow(/0 < initialMs <= maxMs/);
  });
});
