/**
 * Properties of AddOnlyPatch: whatever the keys, the recorded operations
 * rebuild the draft from the original, and a key written with '/' or '~'
 * lands under exactly that key.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddOnlyPatch, escapePointer } from '../../src/engine/patch.ts';
import { applyPatchToCopy } from '../support/apply.ts';
import { runs } from '../support/arbitraries.ts';
import { kubectlAvailable, kubectlPatch } from '../support/kubectl.ts';

const RUNS = runs(500);
const HAS_KUBECTL = kubectlAvailable();

/** Keys built from the characters JSON Pointer escapes, and the escape sequences themselves. */
const trickyKey = fc
  .array(fc.constantFrom('a', 'gitsync.dev', '/', '~', '0', '1', '~0', '~1', '~01', '//', '-', ' ', 'é'), { minLength: 1, maxLength: 6 })
  .map((parts) => parts.join(''));

/** Where annotations might be: absent at any level, null, or already there. */
const docArb = fc.constantFrom<Record<string, unknown>>(
  {},
  { metadata: null },
  { metadata: {} },
  { metadata: { annotations: null } },
  { metadata: { annotations: {} } },
  { metadata: { name: 'p', annotations: { existing: 'x', 'a/b': 'slash', 'c~d': 'tilde' } } },
);

describe('AddOnlyPatch', () => {
  it('escapes keys so that each lands under exactly its own name', () => {
    fc.assert(
      fc.property(docArb, fc.uniqueArray(trickyKey, { minLength: 1, maxLength: 5 }), fc.string({ maxLength: 10 }), (doc, keys, value) => {
        const original = structuredClone(doc) as { metadata?: { annotations?: Record<string, string> | null } | null };
        const taken = new Set(Object.keys(original.metadata?.annotations ?? {}));
        const fresh = keys.filter((k) => !taken.has(k));
        const patch = new AddOnlyPatch(structuredClone(doc));
        for (const k of fresh) patch.put(['metadata', 'annotations'], k, `${value}:${k}`);

        const patched = applyPatchToCopy<typeof original>(doc, patch.ops);
        expect(patched).toStrictEqual(patch.draft);
        const annotations = patched.metadata!.annotations!;
        for (const k of fresh) expect(annotations[k]).toBe(`${value}:${k}`);
        // Nothing else appeared: no half-unescaped or split keys.
        expect(Object.keys(annotations).sort()).toEqual([...taken, ...fresh].sort());
        expect(doc).toStrictEqual(original);
      }),
      { numRuns: RUNS },
    );
  });

  it('escapes every segment of a path, including ones it creates', () => {
    fc.assert(
      fc.property(fc.array(trickyKey, { minLength: 1, maxLength: 4 }), trickyKey, (path, key) => {
        const patch = new AddOnlyPatch({});
        patch.put(path, key, 1);
        patch.append([...path, `${key}-list`], 'first');
        patch.append([...path, `${key}-list`], 'second');
        const patched = applyPatchToCopy<Record<string, unknown>>({}, patch.ops);
        expect(patched).toStrictEqual(patch.draft);
        let node: unknown = patched;
        for (const segment of path) node = (node as Record<string, unknown>)[segment];
        expect((node as Record<string, unknown>)[key]).toBe(1);
        expect((node as Record<string, unknown>)[`${key}-list`]).toEqual(['first', 'second']);
      }),
      { numRuns: RUNS },
    );
  });

  it('json() is JSON.stringify of the ops, whether values come with their text or not, and wherever lists are created', () => {
    fc.assert(
      fc.property(docArb, fc.array(trickyKey, { minLength: 1, maxLength: 3 }), fc.jsonValue(), fc.boolean(), (doc, path, value, withText) => {
        const patch = new AddOnlyPatch(structuredClone(doc));
        const text = withText ? JSON.stringify(value) : undefined;
        patch.append([...path, 'list'], value, text);
        patch.append([...path, 'list'], value, text);
        patch.put(['metadata', 'annotations'], 'k', 'v');
        expect(patch.json()).toBe(JSON.stringify(patch.ops));
      }),
      { numRuns: RUNS },
    );
  });

  it('escapePointer is undone by RFC 6901 unescaping (~1 → /, then ~0 → ~)', () => {
    fc.assert(
      fc.property(fc.oneof(trickyKey, fc.string()), (key) => {
        const escaped = escapePointer(key);
        expect(escaped).not.toContain('/');
        expect(escaped.replaceAll('~1', '/').replaceAll('~0', '~')).toBe(key);
      }),
      { numRuns: RUNS },
    );
  });

  describe.skipIf(!HAS_KUBECTL)(HAS_KUBECTL ? 'kubectl agrees' : 'kubectl agrees: skipped, no kubectl client on PATH', () => {
    it('kubectl reads the escaped pointers the same way', () => {
      fc.assert(
        fc.property(docArb, fc.uniqueArray(trickyKey, { minLength: 1, maxLength: 3 }), (doc, keys) => {
          const pod: Record<string, unknown> = { ...structuredClone(doc), apiVersion: 'v1', kind: 'Pod' };
          const metadata = pod.metadata as { annotations?: object | null } | null | undefined;
          const taken = new Set(Object.keys(metadata?.annotations ?? {}));
          const patch = new AddOnlyPatch(structuredClone(pod));
          for (const k of keys.filter((k) => !taken.has(k))) patch.put(['metadata', 'annotations'], k, k);
          expect(kubectlPatch(pod, patch.ops)).toStrictEqual(patch.draft);
        }),
        { numRuns: 10 },
      );
    });
  });
});
