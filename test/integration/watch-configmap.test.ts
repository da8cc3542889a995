/**
 * The policy ConfigMap, watched through a local server that speaks the
 * list/watch protocol: edits come into force, invalid edits are rejected
 * with the last good policy kept, and the watch survives 410 Gone and an
 * API server that goes away and comes back.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { loadBuiltinPolicy } from '../../src/policy/load.ts';
import { configMapSource, PolicyConfigMapWatcher } from '../../src/policy/sources/configmap.ts';
import { PolicyStore, type PolicyEvent } from '../../src/policy/store.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';
import { captureLogger } from '../support/server.ts';

const BACKOFF = { initialMs: 10, maxMs: 100 };
const eventually = { timeout: 10_000, interval: 10 };
const REF = { namespace: 'gitsync-injector', name: 'gitsync-injector-policy', key: 'policy.yaml' };
const SOURCE = 'configmap gitsync-injector/gitsync-injector-policy key policy.yaml';

const policyText = (period: string): string => `defaults:\n  period: ${period}\n`;
const INVALID = 'limits:\n  minPeriod: 5\ndefaults:\n  period: 5x\n';

let api: FakeApiServer | undefined;
let watcher: PolicyConfigMapWatcher | undefined;
afterEach(async () => {
  await watcher?.stop();
  watcher = undefined;
  await api?.stop();
  api = undefined;
});

async function watch(options: { expiredAs?: 'event' | 'status'; before?: (api: FakeApiServer) => void } = {}) {
  api = await FakeApiServer.start({ expiredAs: options.expiredAs });
  options.before?.(api);
  const { logger, lines } = captureLogger();
  const store = new PolicyStore(loadBuiltinPolicy(), logger);
  const events: PolicyEvent[] = [];
  store.onChange((e) => events.push(e));
  watcher = new PolicyConfigMapWatcher({ kubeConfig: api.kubeConfig(), ref: REF, store, backoff: BACKOFF, logger });
  watcher.start();
  const w = watcher;
  // Read: listed, and the text found (if any) judged, which happens in the policy worker.
  await vi.waitFor(() => expect(w.status().state).not.toBe('waiting'), eventually);
  return { api, store, events, lines, watcher: w };
}

const period = (store: PolicyStore): string | undefined => store.current.compiled.document.defaults.period;

describe('policy ConfigMap', () => {
  test('names its source', () => {
    expect(configMapSource(REF)).toBe(SOURCE);
  });

  test('not ready before the first read', async () => {
    api = await FakeApiServer.start();
    await api.stop();
    const store = new PolicyStore(loadBuiltinPolicy());
    watcher = new PolicyConfigMapWatcher({ kubeConfig: api.kubeConfig(), ref: REF, store, backoff: BACKOFF });
    watcher.start();
    const w = watcher;
    await vi.waitFor(() => expect(w.check()).toEqual({ ok: false, message: expect.stringMatching(/^waiting for the first read of configmap gitsync-injector\/gitsync-injector-policy: cannot list .*ECONNREFUSED/) }), eventually);
  });

  test('absent: the built-in policy stays in force and the replica is ready', async () => {
    const { store, watcher, events } = await watch();
    expect(store.current.source).toBe('built-in');
    expect(events).toEqual([]);
    expect(watcher.status().state).toBe('fallback');
    expect(watcher.check()).toEqual({ ok: true, message: 'configmap gitsync-injector/gitsync-injector-policy does not exist; the built-in policy is in force' });
  });

  test('present at start: its policy is in force', async () => {
    const { store, watcher } = await watch({ before: (api) => api.configMap(REF.namespace, REF.name, { 'policy.yaml': policyText('2m') }) });
    expect(store.current.source).toBe(SOURCE);
    expect(period(store)).toBe('2m');
    expect(watcher.check()).toEqual({ ok: true, message: `${SOURCE} in force` });
  });

  test('only the named ConfigMap is listed and watched (a field selector RBAC can grant by name)', async () => {
    const { api, store } = await watch();
    api.configMap(REF.namespace, 'something-else', { 'policy.yaml': policyText('3m') });
    api.configMap('other-namespace', REF.name, { 'policy.yaml': policyText('4m') });
    api.configMap(REF.namespace, REF.name, { 'policy.yaml': policyText('5m') });
    await vi.waitFor(() => expect(period(store)).toBe('5m'), eventually);
    const requests = api.requests.filter((r) => r.resource === 'configmaps');
    expect(requests.every((r) => r.namespace === REF.namespace && r.query.fieldSelector === `metadata.name=${REF.name}`)).toBe(true);
  });

  test('created, edited, edited invalidly, repaired: each valid edit comes into force, the invalid one is rejected and the last good stays', async () => {
    const { api, store, events, watcher } = await watch();
    api.configMap(REF.namespace, REF.name, { 'policy.yaml': policyText('2m') });
    await vi.waitFor(() => expect(period(store)).toBe('2m'), eventually);
    api.configMap(REF.namespace, REF.name, { 'policy.yaml': policyText('3m') });
    await vi.waitFor(() => expect(period(store)).toBe('3m'), eventually);
    const good = store.current;

    api.configMap(REF.namespace, REF.name, { 'policy.yaml': INVALID });
    await vi.waitFor(() => expect(store.rejected).toBeDefined(), eventually);
    expect(store.current).toBe(good);
    expect(store.rejected).toEqual({
      source: SOURCE,
      at: expect.any(String),
      problems: [
        'policy.yaml:2:14: limits.minPeriod: 5 is not a string; use a Go duration such as 10s [POLICY_TYPE_INVALID]',
        'policy.yaml:4:11: defaults.period: "5x" is not a duration; use a Go duration such as 30s, 5m or 1h30m [DURATION_INVALID]',
      ],
    });
    // Still ready: a bad edit never takes the webhook out of service.
    expect(watcher.check()).toEqual({ ok: true, message: `${SOURCE} in force; its latest edit was rejected, see policy.rejected` });

    api.configMap(REF.namespace, REF.name, { 'policy.yaml': policyText('4m') });
    await vi.waitFor(() => expect(period(store)).toBe('4m'), eventually);
    expect(store.rejected).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(['loaded', 'loaded', 'rejected', 'loaded']);
  });

  test('a ConfigMap without the key is rejected, naming the keys it has', async () => {
    const { api, store } = await watch({ before: (api) => api.configMap(REF.namespace, REF.name, { 'policy.yaml': policyText('2m') }) });
    api.configMap(REF.namespace, REF.name, { 'policy.yml': policyText('3m'), notes: 'x' });
    await vi.waitFor(() => expect(store.rejected?.problems).toEqual([
      'configmap gitsync-injector/gitsync-injector-policy has no key policy.yaml; its keys: policy.yml, notes [POLICY_SOURCE_UNAVAILABLE]',
    ]), eventually);
    expect(period(store)).toBe('2m');
  });

  test('an empty or whitespace-only key is rejected, saying how to ask for the built-in policy; {} asks for it', async () => {
    const { api, store } = await watch({ before: (api) => api.configMap(REF.namespace, REF.name, { 'policy.yaml': policyText('2m') }) });
    await vi.waitFor(() => expect(period(store)).toBe('2m'), eventually);
    api.configMap(REF.namespace, REF.name, { 'policy.yaml': ' \n' });
    await vi.waitFor(() => expect(store.rejected?.problems).toEqual([expect.stringMatching(/^policy\.yaml: the policy is empty .*write \{\} to use the built-in policy.* \[POLICY_EMPTY\]$/)]), eventually);
    expect(period(store)).toBe('2m');
    api.configMap(REF.namespace, REF.name, { 'policy.yaml': '{}\n' });
    await vi.waitFor(() => expect(store.rejected).toBeUndefined(), eventually);
    expect(store.current).toMatchObject({ source: SOURCE, hash: loadBuiltinPolicy().compiled.engine.hash });
  });

  test('a policy under binaryData is refused, saying where it must be', async () => {
    const { api, store } = await watch();
    api.apply('configmaps', { metadata: { name: REF.name, namespace: REF.namespace }, binaryData: { 'policy.yaml': Buffer.from(policyText('3m')).toString('base64') } });
    await vi.waitFor(() => expect(store.rejected?.problems).toEqual([
      'configmap gitsync-injector/gitsync-injector-policy has no key policy.yaml; policy.yaml is under binaryData, the policy must be under data [POLICY_SOURCE_UNAVAILABLE]',
    ]), eventually);
  });

  test('deleted: the last good policy stays and the deletion is reported; recreated: in force again', async () => {
    const { api, store, watcher } = await watch({ before: (api) => api.configMap(REF.namespace, REF.name, { 'policy.yaml': policyText('2m') }) });
    api.remove('configmaps', REF.name, REF.namespace);
    await vi.waitFor(() => expect(store.rejected?.problems[0]).toMatch(/^configmap gitsync-injector\/gitsync-injector-policy was deleted; the policy in force stays/), eventually);
    expect(store.current.source).toBe(SOURCE);
    expect(period(store)).toBe('2m');
    expect(watcher.check().ok).toBe(true);
    // The same text as before: recreating it ends the rejection.
    api.configMap(REF.namespace, REF.name, { 'policy.yaml': policyText('2m') });
    await vi.waitFor(() => expect(store.rejected).toBeUndefined(), eventually);
    expect(store.current.source).toBe(SOURCE);
  });

  test('invalid at start: not ready (no policy the platform chose), ready as soon as it is fixed', async () => {
    const { api, store, watcher } = await watch({ before: (api) => api.configMap(REF.namespace, REF.name, { 'policy.yaml': INVALID }) });
    expect(store.current.source).toBe('built-in');
    expect(store.rejected?.problems).toHaveLength(2);
    expect(watcher.check()).toEqual({ ok: false, message: `${SOURCE} has no valid policy yet and this replica has had no other; see policy.rejected` });
    api.configMap(REF.namespace, REF.name, { 'policy.yaml': policyText('2m') });
    await vi.waitFor(() => expect(watcher.check()).toEqual({ ok: true, message: `${SOURCE} in force` }), eventually);
  });

  test('created invalid while running (absent at start): rejected, the built-in policy stays, still ready', async () => {
    const { api, store, watcher } = await watch();
    api.configMap(REF.namespace, REF.name, { 'policy.yaml': INVALID });
    await vi.waitFor(() => expect(store.rejected?.source).toBe(SOURCE), eventually);
    expect(store.current.source).toBe('built-in');
    expect(watcher.check()).toEqual({
      ok: true,
      message: 'configmap gitsync-injector/gitsync-injector-policy has no valid policy yet (see policy.rejected); the built-in policy is in force',
    });
  });

  test.each(['event', 'status'] as const)('after 410 Gone (%s) it lists again and applies the edit it missed', async (expiredAs) => {
    const { api, store } = await watch({ expiredAs, before: (api) => api.configMap(REF.namespace, REF.name, { 'policy.yaml': policyText('2m') }) });
    await vi.waitFor(() => expect(api.activeWatches('configmaps')).toBe(1), eventually);
    api.expireHistory();
    api.configMap(REF.namespace, REF.name, { 'policy.yaml': policyText('7m') });
    await vi.waitFor(() => expect(period(store)).toBe('7m'), eventually);
    expect(api.count('configmaps', 'list')).toBe(2);
  });

  test('the API server goes away and comes back: the policy stays, then the edit made meanwhile comes into force', async () => {
    const { api, store, watcher } = await watch({ before: (api) => api.configMap(REF.namespace, REF.name, { 'policy.yaml': policyText('2m') }) });
    await vi.waitFor(() => expect(api.activeWatches('configmaps')).toBe(1), eventually);
    await api.stop();
    await vi.waitFor(() => expect(watcher.status().watch.error).toBeDefined(), eventually);
    expect(period(store)).toBe('2m');
    expect(watcher.check()).toEqual({ ok: true, message: expect.stringMatching(new RegExp(`^${SOURCE} in force \\(the watch is failing: cannot (list|watch) configmap`)) });
    api.configMap(REF.namespace, REF.name, { 'policy.yaml': policyText('9m') });
    await api.restart();
    await vi.waitFor(() => expect(period(store)).toBe('9m'), eventually);
    await vi.waitFor(() => expect(watcher.check()).toEqual({ ok: true, message: `${SOURCE} in force` }), eventually);
  });
});
