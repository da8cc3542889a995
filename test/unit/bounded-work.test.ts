/**
 * Work and answers stay bounded however large the pod (issue 15, item 9):
 * what the engine does per container is a set lookup, not a scan of every
 * other container; a message about a pod with thousands of containers
 * names a few and counts the rest; annotations past Kubernetes' own limit
 * are not read one by one; and the scan that refuses deep nesting before
 * JSON.parse skips strings as JSON does.
 */
import { describe, expect, test } from 'vitest';
import { MAX_COLLECTIONS, MAX_NESTING, nestingBeyond, shapeBeyond } from '../../src/admission/index.ts';
import { injectPod } from '../../src/engine/index.ts';
import { ANNOTATIONS_SIZE_LIMIT } from '../../src/engine/pod.ts';
import { engineContext } from '../support/server.ts';

const REPO = 'https://github.com/acme/dags.git';
const ctx = engineContext();

/** A pod of `count` containers c0, c1, … with the given containers annotation. */
const podOf = (count: number, containers: string) => ({
  metadata: { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/containers': containers } },
  spec: { containers: Array.from({ length: count }, (_, i) => ({ name: `c${i}`, image: 'nginx' })) },
});

describe('a containers annotation on a pod with many containers', () => {
  test('mounts into exactly the containers named, in the pod’s order', () => {
    const r = injectPod({ pod: podOf(20_000, 'c19999,c7,c12345'), namespace: 'team-a' }, ctx);
    expect(r.outcome).toBe('injected');
    expect(r.injection?.appContainers).toEqual(['c7', 'c12345', 'c19999']);
  });

  test('a name the pod lacks is refused with the first containers listed and the rest counted', () => {
    const r = injectPod({ pod: podOf(5_000, 'c1,nope'), namespace: 'team-a' }, ctx);
    expect(r.outcome).toBe('denied');
    const [error] = r.errors;
    expect(error?.code).toBe('CONTAINER_NOT_FOUND');
    const names = Array.from({ length: 20 }, (_, i) => `c${i}`).join(', ');
    expect(error?.message).toBe(`"c1,nope" names "nope", which the pod does not have; its containers are ${names} and 4980 more`);
  });

  test('a pod with few containers still lists them all', () => {
    const r = injectPod({ pod: podOf(3, 'nope'), namespace: 'team-a' }, ctx);
    expect(r.errors[0]?.message).toBe('"nope" names "nope", which the pod does not have; its containers are c0, c1, c2');
  });
});

describe('annotations beyond what Kubernetes allows a pod', () => {
  const withAnnotations = (count: number, nameLength: number) => {
    const annotations: Record<string, string> = { 'gitsync.dev/repo': REPO };
    for (let i = 0; i < count; i++) annotations[`gitsync.dev/${'x'.repeat(nameLength - 8)}${String(i).padStart(8, '0')}`] = 'v';
    return { metadata: { annotations }, spec: { containers: [{ name: 'app', image: 'nginx' }] } };
  };

  test('35,000 unknown annotations (2.3 MiB) are not read one by one: the pod is left to the API server, which refuses it', () => {
    const r = injectPod({ pod: withAnnotations(35_000, 60), namespace: 'team-a' }, ctx);
    expect(r.outcome).toBe('skipped');
    expect(r.skip).toEqual({
      reason: 'unreadable-pod',
      message: `the object does not have the shape of a pod; the API server will judge it: metadata.annotations hold more than ${ANNOTATIONS_SIZE_LIMIT} bytes, the most Kubernetes allows a pod`,
    });
    expect(r.warnings).toEqual([]);
  });

  test('a pod just within the limit is read as usual: the unknown ones are named for the first few and counted after', () => {
    // 3,500 annotations of 61 + 1 characters each: about 212 KiB.
    const r = injectPod({ pod: withAnnotations(3_500, 60), namespace: 'team-a' }, ctx);
    expect(r.outcome).toBe('injected');
    expect(r.warnings.at(-1)?.message).toMatch(/^3490 more annotations with this prefix are not known/);
  });
});

describe('the nesting scan before JSON.parse', () => {
  test.each([
    ['brackets inside strings do not count', `{"a":"${'['.repeat(300)}"}`, -1],
    ['an escaped quote does not end a string', `{"a":"\\"${'['.repeat(300)}"}`, -1],
    // The string ends at character 8; the brackets start at 9, one level below the object's.
    ['an escaped backslash before a quote does', `{"a":"\\\\"${'['.repeat(300)}`, 8 + MAX_NESTING],
    ['a string never closed hides the rest', `{"a":"${'['.repeat(300)}`, -1],
    ['nesting deeper than the limit, at the first bracket too deep', `${'['.repeat(300)}${']'.repeat(300)}`, MAX_NESTING],
  ])('%s', (_name, text, at) => {
    expect(nestingBeyond(text)).toBe(at);
  });
});

describe('the count of objects and lists before JSON.parse', () => {
  test(`more than ${MAX_COLLECTIONS} objects and lists are found at the first one too many; strings do not count`, () => {
    expect(shapeBeyond(`[${'{},'.repeat(MAX_COLLECTIONS)}{}]`)).toEqual({ reason: 'many', at: 3 * MAX_COLLECTIONS - 2 });
    expect(shapeBeyond(`[${'{},'.repeat(MAX_COLLECTIONS - 2)}{}]`)).toBeUndefined();
    expect(shapeBeyond(`["${'{}'.repeat(MAX_COLLECTIONS)}"]`)).toBeUndefined();
  });

  test('whichever limit the text passes first is the one reported', () => {
    expect(shapeBeyond('['.repeat(MAX_NESTING + 1), MAX_NESTING, 10)).toEqual({ reason: 'many', at: 10 });
    expect(shapeBeyond('['.repeat(MAX_NESTING + 1))).toEqual({ reason: 'deep', at: MAX_NESTING });
  });
});
