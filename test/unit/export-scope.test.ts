/**
 * The export's named values (src/export/cel.ts, Scope). The export has no
 * `variables`, so what an expression reads more than once is read once at
 * the top (`inlineOnce`): total values, in layers after the values they
 * read, then matches of total values against a constant pattern (v1.32
 * compiles a `matches()` pattern at every call). A value that may fail to
 * evaluate stays where its guards put it. What the expressions mean must
 * not change: the TypeScript side here, the API server in the e2e proof.
 */
import { describe, expect, test } from 'vitest';
import { and, concat, cond, durationSeconds, eq, gt, int, le, matches, or, podHas, podVal, Scope, str, type Input } from '../../src/export/cel.ts';

const input = (annotations: Record<string, string>): Input => ({ pod: { metadata: { annotations } }, namespace: 'apps', namespaceAnnotations: {}, namespaceLabels: {} });
const count = (text: string, what: string): number => text.split(what).length - 1;

describe('Scope: what an expression reads more than once', () => {
  const build = () => {
    const scope = new Scope();
    const ref = scope.bindTotal('ref', podVal('gitsync.dev/ref'));
    // A total value read from another: it needs a layer after ref's.
    const label = scope.bindTotal('label', concat(str('ref '), ref));
    // The same pair twice, another pattern once, a match of an unbound value, and label twice.
    const e = and(
      matches(ref, /^[a-z]+$/),
      or(matches(ref, /^[a-z]+$/), matches(ref, /^v[0-9]$/)),
      matches(podVal('gitsync.dev/mode'), /^(?:sidecar|native)$/),
      eq(label, label),
    );
    return { scope, e };
  };

  test('inline writes every read out', () => {
    const { scope, e } = build();
    const text = scope.inline(e.cel);
    expect(count(text, '.matches(')).toBe(4);
    expect(count(text, "orValue('')")).toBe(6);
    expect(text).not.toMatch(/[\u0001-\u0003]|gsValues|gsMatched/);
  });

  test('inlineOnce reads each total value once, in layers, then each repeated match once', () => {
    const { scope, e } = build();
    const text = scope.inlineOnce(e.cel);
    // ref, then label (which reads ref), then the match of ref made twice; the one made once stays in place.
    expect(text.startsWith("[[object.metadata.?annotations[?'gitsync.dev/ref'].orValue('')]].map(gsValues0, [[('ref ' + gsValues0[0])]].map(gsValues1, [[")).toBe(true);
    expect(text.endsWith(')[0])[0])[0]')).toBe(true);
    expect(count(text, "'gitsync.dev/ref'")).toBe(1);
    expect(count(text, 'gsValues0[0].matches(')).toBe(2);
    expect(count(text, 'gsMatched[0]')).toBe(2);
    expect(count(text, 'gsMatched[1]')).toBe(0);
    expect(count(text, '(gsValues1[0] == gsValues1[0])')).toBe(1);
    // The unbound value's match stays where it is.
    expect(count(text, '.matches(')).toBe(3);
    expect(text).not.toMatch(/[\u0001-\u0003]/);
  });

  test('inlineOnce leaves an expression that reads nothing twice as inline writes it', () => {
    const scope = new Scope();
    const ref = scope.bindTotal('ref', podVal('gitsync.dev/ref'));
    const e = matches(ref, /^[a-z]+$/);
    expect(scope.inlineOnce(e.cel)).toBe(scope.inline(e.cel));
  });

  test('a value that may fail is written where it is used, behind its guard, however often', () => {
    const scope = new Scope();
    const period = scope.bindTotal('period', podVal('gitsync.dev/period'));
    // duration('nonsense') fails: read only where the guard has checked the text.
    const seconds = scope.bind('seconds', durationSeconds(period));
    const valid = matches(period, /^[0-9]+s$/);
    const e = and(valid, gt(seconds, int(0)), or(le(seconds, seconds), podHas('x')));
    const text = scope.inlineOnce(e.cel);
    expect(count(text, 'duration(')).toBe(3);
    expect(text).not.toMatch(/\[\[duration/);
    expect(text.startsWith("[[object.metadata.?annotations[?'gitsync.dev/period'].orValue('')]].map(gsValues0, ")).toBe(true);
  });

  test('a total value cannot be built on one that may fail', () => {
    const scope = new Scope();
    const seconds = scope.bind('seconds', durationSeconds(podVal('gitsync.dev/period')));
    expect(() => scope.bindTotal('text', cond(gt(seconds, int(0)), str('yes'), str('no')))).toThrow(/total value text uses seconds, which is not total/);
  });

  test('an expression that uses a name inlineOnce binds is refused', () => {
    const scope = new Scope();
    expect(() => scope.inlineOnce('[1].map(gsValues0, gsValues0)[0] == 1')).toThrow(/uses/);
  });

  test('the TypeScript side is unchanged', () => {
    const { e } = build();
    expect(e.ev(input({ 'gitsync.dev/ref': 'main', 'gitsync.dev/mode': 'native' }))).toBe(true);
    expect(e.ev(input({ 'gitsync.dev/ref': 'v1', 'gitsync.dev/mode': 'native' }))).toBe(false);
    expect(e.ev(input({ 'gitsync.dev/ref': 'main', 'gitsync.dev/mode': 'auto' }))).toBe(false);
  });
});
