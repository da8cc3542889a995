/**
 * The export's named values (src/export/cel.ts, Scope): a bound value's
 * matches against a constant pattern are made once, as VAP variables or
 * hoisted to the top of a mutation, because v1.32 compiles a `matches()`
 * pattern at every call. What the expressions mean must not change.
 */
import { describe, expect, test } from 'vitest';
import { and, matches, or, podVal, Scope, type Input } from '../../src/export/cel.ts';

const input = (annotations: Record<string, string>): Input => ({ pod: { metadata: { annotations } }, namespace: 'apps', namespaceAnnotations: {}, namespaceLabels: {} });
const count = (text: string, what: string): number => text.split(what).length - 1;

describe('Scope: matches of bound values', () => {
  const build = () => {
    const scope = new Scope();
    const ref = scope.bind('ref', podVal('gitsync.dev/ref'));
    // The same pair twice, another pattern once, and a match of an unbound value.
    const e = and(matches(ref, /^[a-z]+$/), or(matches(ref, /^[a-z]+$/), matches(ref, /^v[0-9]$/)), matches(podVal('gitsync.dev/mode'), /^(?:sidecar|native)$/));
    return { scope, e };
  };

  test('inline writes every match out, as before', () => {
    const { scope, e } = build();
    const text = scope.inline(e.cel);
    expect(count(text, '.matches(')).toBe(4);
    expect(text).not.toMatch(/[\u0001-\u0003]/);
  });

  test('inlineOnce makes each distinct pair once, at the top, and reads it from there', () => {
    const { scope, e } = build();
    const text = scope.inlineOnce(e.cel);
    expect(text.startsWith('[[')).toBe(true);
    expect(text.endsWith(')[0]')).toBe(true);
    // Two distinct pairs hoisted; the unbound value's match stays where it is.
    expect(count(text, '.matches(')).toBe(3);
    expect(count(text, 'gsMatched[0]')).toBe(2);
    expect(count(text, 'gsMatched[1]')).toBe(1);
    expect(text).not.toMatch(/[\u0001-\u0003]/);
  });

  test('inlineOnce leaves an expression without a repeated pair as inline writes it', () => {
    const scope = new Scope();
    const ref = scope.bind('ref', podVal('gitsync.dev/ref'));
    const e = matches(ref, /^[a-z]+$/);
    expect(scope.inlineOnce(e.cel)).toBe(scope.inline(e.cel));
  });

  test('asVariables: each distinct pair is a variable, defined after the value it matches', () => {
    const { scope, e } = build();
    const { texts, variables } = scope.asVariables([e.cel]);
    expect(variables.map((v) => v.name)).toEqual(['ref', 'refMatches0', 'refMatches1']);
    expect(variables[1]!.expression).toBe("variables.ref.matches('^[a-z]+$')");
    expect(variables[2]!.expression).toBe("variables.ref.matches('^v[0-9]$')");
    expect(count(texts[0]!, 'variables.refMatches0')).toBe(2);
    expect(count(texts[0]!, '.matches(')).toBe(1);
    expect(texts[0]).not.toMatch(/[\u0001-\u0003]/);
  });

  test('the TypeScript side is unchanged', () => {
    const { e } = build();
    expect(e.ev(input({ 'gitsync.dev/ref': 'main', 'gitsync.dev/mode': 'native' }))).toBe(true);
    expect(e.ev(input({ 'gitsync.dev/ref': 'v1', 'gitsync.dev/mode': 'native' }))).toBe(false);
    expect(e.ev(input({ 'gitsync.dev/ref': 'main', 'gitsync.dev/mode': 'auto' }))).toBe(false);
  });
});
