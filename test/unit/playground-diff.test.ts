/**
 * The playground's line diff (src/playground/diff.js): a shortest edit
 * script, checked against the two facts that define one: applying it gives
 * the new text, and its length is that of a longest common subsequence.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { diffLines, lines, unified } from '../../src/playground/diff.js';

/** The length of a longest common subsequence, by the textbook table. */
function lcs(a: string[], b: string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = x === b[j - 1] ? diagonal + 1 : Math.max(row[j]!, row[j - 1]!);
      diagonal = up;
    }
  }
  return row[b.length]!;
}

describe('diffLines', () => {
  test('an injection: only added lines, numbered in both texts', () => {
    const diff = diffLines(['a', 'b', 'c'], ['a', 'x', 'b', 'c', 'y']);
    expect(diff).toEqual([
      { op: 'same', text: 'a', a: 1, b: 1 },
      { op: 'add', text: 'x', b: 2 },
      { op: 'same', text: 'b', a: 2, b: 3 },
      { op: 'same', text: 'c', a: 3, b: 4 },
      { op: 'add', text: 'y', b: 5 },
    ]);
    expect(unified(diff)).toBe(' a\n+x\n b\n c\n+y');
  });

  test('empty texts, and one side empty', () => {
    expect(diffLines([], [])).toEqual([]);
    expect(diffLines([], ['a']).map((l) => l.op)).toEqual(['add']);
    expect(diffLines(['a', 'b'], []).map((l) => l.op)).toEqual(['del', 'del']);
  });

  test('a replaced line is a deletion and an addition', () => {
    expect(unified(diffLines(['k: 1', 'v: old', 'z'], ['k: 1', 'v: new', 'z']))).toBe(' k: 1\n-v: old\n+v: new\n z');
  });

  test('for any two texts: the old lines and the new lines in order, with as many kept as a longest common subsequence', () => {
    const text = fc.array(fc.constantFrom('a', 'b', 'c', 'd', ''), { maxLength: 30 });
    fc.assert(
      fc.property(text, text, (a, b) => {
        const diff = diffLines(a, b);
        expect(diff.filter((l) => l.op !== 'add').map((l) => l.text)).toEqual(a);
        expect(diff.filter((l) => l.op !== 'del').map((l) => l.text)).toEqual(b);
        expect(diff.filter((l) => l.op === 'same').length).toBe(lcs(a, b));
        for (const l of diff) {
          if (l.a !== undefined) expect(a[l.a - 1]).toBe(l.text);
          if (l.b !== undefined) expect(b[l.b - 1]).toBe(l.text);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('lines', () => {
  test('a final newline ends the last line; CRLF counts as one break', () => {
    expect(lines('')).toEqual([]);
    expect(lines('a\nb\n')).toEqual(['a', 'b']);
    expect(lines('a\r\nb')).toEqual(['a', 'b']);
    expect(lines('a\n\n')).toEqual(['a', '']);
  });
});
