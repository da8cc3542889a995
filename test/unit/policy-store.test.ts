/** The policy store: what replaces the policy in force, what is refused, and what listeners hear. */
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { loadBuiltinPolicy, loadPolicyText } from '../../src/policy/load.ts';
import { policyViewYaml, PolicyStore, type PolicyEvent } from '../../src/policy/store.ts';
import { captureLogger } from '../support/server.ts';

const VALID = 'defaults:\n  period: 2m\n';
const OTHER = 'defaults:\n  period: 5m\n';
const INVALID = 'limits:\n  minPeriod: 5\ndefaults:\n  period: 5x\n';

function newStore() {
  const { logger, lines } = captureLogger();
  const store = new PolicyStore(loadBuiltinPolicy(), logger);
  const events: PolicyEvent[] = [];
  store.onChange((e) => events.push(e));
  return { store, events, lines };
}

describe('PolicyStore', () => {
  test('starts with the policy it is given, nothing counted', () => {
    const { store } = newStore();
    expect(store.current.source).toBe('built-in');
    expect(store.current.hash).toBe(loadBuiltinPolicy().compiled.engine.hash);
    expect(store.rejected).toBeUndefined();
    expect(store.counts).toEqual({ loaded: 0, rejected: 0 });
  });

  test('started from a text, the same text from that source again is neither read again nor announced', () => {
    const compiled = loadPolicyText(VALID, 'policy.yaml').compiled!;
    const store = new PolicyStore({ compiled, source: 'policy.yaml', text: VALID });
    const events: PolicyEvent[] = [];
    store.onChange((e) => events.push(e));
    expect(store.apply(VALID, 'policy.yaml')).toBe(true);
    expect(store.current.compiled).toBe(compiled);
    expect(events).toEqual([]);
    expect(store.counts).toEqual({ loaded: 0, rejected: 0 });
    expect(store.apply(OTHER, 'policy.yaml')).toBe(true);
    expect(store.current.compiled).not.toBe(compiled);
  });

  test('a valid text comes into force and is announced', () => {
    const { store, events } = newStore();
    const before = store.current.hash;
    expect(store.apply(VALID, 'policy.yaml')).toBe(true);
    expect(store.current.source).toBe('policy.yaml');
    expect(store.current.compiled.document.defaults).toEqual({ period: '2m' });
    expect(events).toEqual([{ type: 'loaded', source: 'policy.yaml', hash: store.current.hash, previousHash: before }]);
    expect(store.counts).toEqual({ loaded: 1, rejected: 0 });
  });

  test('an invalid text is rejected with every problem and its position; the last good policy stays', () => {
    const { store, events, lines } = newStore();
    store.apply(VALID, 'policy.yaml');
    const good = store.current;
    expect(store.apply(INVALID, 'policy.yaml')).toBe(false);
    expect(store.current).toBe(good);
    expect(store.rejected).toEqual({
      source: 'policy.yaml',
      at: expect.any(String),
      problems: [
        'policy.yaml:2:14: limits.minPeriod: 5 is not a string; use a Go duration such as 10s [POLICY_TYPE_INVALID]',
        'policy.yaml:4:11: defaults.period: "5x" is not a duration; use a Go duration such as 30s, 5m or 1h30m [DURATION_INVALID]',
      ],
    });
    expect(events.at(-1)).toEqual({ type: 'rejected', source: 'policy.yaml', problems: store.rejected!.problems, hashInForce: good.hash });
    expect(store.counts).toEqual({ loaded: 1, rejected: 1 });
    // The log line carries every problem and names the policy that stays.
    const logged = lines.find((l) => l.level === 'error');
    expect(logged).toMatchObject({ source: 'policy.yaml', problems: store.rejected!.problems, inForce: { source: 'policy.yaml', hash: good.hash } });
    expect(logged?.msg).toContain('rejected (2 problems); the policy in force stays');
  });

  test('problem positions are named after the text, not the source', () => {
    const { store } = newStore();
    store.apply(INVALID, 'configmap ns/cm key policy.yaml', 'policy.yaml');
    expect(store.rejected?.source).toBe('configmap ns/cm key policy.yaml');
    expect(store.rejected?.problems[0]).toMatch(/^policy\.yaml:2:14: /);
  });

  test('the same text again changes nothing and is not announced again', () => {
    const { store, events } = newStore();
    store.apply(VALID, 'policy.yaml');
    store.apply(INVALID, 'policy.yaml');
    store.apply(INVALID, 'policy.yaml');
    expect(events.map((e) => e.type)).toEqual(['loaded', 'rejected']);
    expect(store.counts).toEqual({ loaded: 1, rejected: 1 });
  });

  test('returning to the good text after a rejection clears it and is announced', () => {
    const { store, events } = newStore();
    store.apply(VALID, 'policy.yaml');
    const hash = store.current.hash;
    store.apply(INVALID, 'policy.yaml');
    expect(store.apply(VALID, 'policy.yaml')).toBe(true);
    expect(store.rejected).toBeUndefined();
    expect(store.current.hash).toBe(hash);
    expect(events.at(-1)).toEqual({ type: 'loaded', source: 'policy.yaml', hash, previousHash: hash });
  });

  test('a new valid text replaces the previous one; a text equal in effect keeps the hash', () => {
    const { store } = newStore();
    store.apply(VALID, 'policy.yaml');
    const first = store.current.hash;
    store.apply(OTHER, 'policy.yaml');
    expect(store.current.hash).not.toBe(first);
    store.apply(`# a comment only\n${VALID}`, 'policy.yaml');
    expect(store.current.hash).toBe(first);
  });

  test('reject() keeps the policy and makes the next text from that source count again', () => {
    const { store, events } = newStore();
    store.apply(VALID, 'policy.yaml');
    store.reject('policy.yaml', ['policy.yaml: cannot read the policy file: ENOENT [POLICY_SOURCE_UNAVAILABLE]']);
    expect(store.current.source).toBe('policy.yaml');
    expect(store.rejected?.problems).toEqual(['policy.yaml: cannot read the policy file: ENOENT [POLICY_SOURCE_UNAVAILABLE]']);
    // The file comes back unchanged: that is news (the rejection is over).
    expect(store.apply(VALID, 'policy.yaml')).toBe(true);
    expect(store.rejected).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(['loaded', 'rejected', 'loaded']);
  });

  test('a listener that throws does not stop the others or the store', () => {
    const { store, lines } = newStore();
    const heard: string[] = [];
    store.onChange(() => {
      throw new Error('boom');
    });
    store.onChange((e) => heard.push(e.type));
    store.apply(VALID, 'policy.yaml');
    expect(heard).toEqual(['loaded']);
    expect(lines.some((l) => l.msg === 'a policy listener failed')).toBe(true);
  });

  test('onChange returns a function that stops listening', () => {
    const { store } = newStore();
    const heard: string[] = [];
    const off = store.onChange((e) => heard.push(e.type));
    off();
    store.apply(VALID, 'policy.yaml');
    expect(heard).toEqual([]);
  });
});

describe('an empty text', () => {
  test.each([
    ['a truncated file', ''],
    ['whitespace', '\n  \n'],
    ['comments only', '# policy.yaml\n'],
  ])('%s is rejected, names the way to the built-in policy, and the last good policy stays', (_what, text) => {
    const { store, lines } = newStore();
    store.apply(VALID, 'policy.yaml');
    const good = store.current;
    expect(store.apply(text, 'policy.yaml')).toBe(false);
    expect(store.current).toBe(good);
    expect(store.rejected?.problems).toEqual([expect.stringMatching(/^policy\.yaml: the policy is empty .*write \{\} to use the built-in policy.* \[POLICY_EMPTY\]$/)]);
    expect(lines.find((l) => l.level === 'error')?.msg).toContain('rejected (1 problem); the policy in force stays');
  });

  test('{} is the built-in policy, asked for explicitly', () => {
    const { store } = newStore();
    store.apply(VALID, 'policy.yaml');
    expect(store.apply('{}\n', 'policy.yaml')).toBe(true);
    expect(store.current.hash).toBe(loadBuiltinPolicy().compiled.engine.hash);
    expect(store.current.source).toBe('policy.yaml');
  });
});

describe('policy views', () => {
  test('view() holds the policy, its source and hash, and a pending rejection', () => {
    const { store } = newStore();
    store.apply(VALID, 'policy.yaml');
    expect(store.view()).toEqual({ source: 'policy.yaml', hash: store.current.hash, since: expect.any(String), policy: store.current.compiled.document });
    store.apply(INVALID, 'policy.yaml');
    expect(store.view().rejected?.problems).toHaveLength(2);
  });

  test('the YAML view is a policy file with the same hash, under comments naming source, hash and rejection', () => {
    const { store } = newStore();
    store.apply(OTHER, 'policy.yaml');
    store.apply(INVALID, 'policy.yaml');
    const yaml = policyViewYaml(store.view());
    expect(yaml).toMatch(/^# gitsync-injector policy\n# source: policy\.yaml\n# hash: [0-9a-f]{12}\n# in force since: /);
    expect(yaml).toContain('# rejected: policy.yaml at ');
    expect(yaml).toContain('#   policy.yaml:4:11: defaults.period: "5x" is not a duration');
    const reloaded = loadPolicyText(yaml, 'effective.yaml');
    expect(reloaded.problems).toEqual([]);
    expect(reloaded.compiled?.engine.hash).toBe(store.current.hash);
    expect(parse(yaml)).toEqual(store.current.compiled.document);
  });
});
