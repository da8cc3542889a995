/**
 * nestingBeyond skips strings with indexOf rather than character by
 * character; it must find exactly what a plain scan finds, escapes included.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { nestingBeyond } from '../../src/admission/index.ts';

/** The plain scan: one character at a time, a backslash in a string skipping the next. */
function reference(text: string, max: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (++depth > max) return i;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return -1;
}

describe('nestingBeyond', () => {
  test('agrees with a character-by-character scan on texts of brackets, quotes and escapes', () => {
    const text = fc.array(fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', ','), { maxLength: 80 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 6 }), (t, max) => {
        expect(nestingBeyond(t, max)).toBe(reference(t, max));
      }),
      { numRuns: 5000 },
    );
  });

  test('brackets inside strings, after escaped quotes, do not count', () => {
    expect(nestingBeyond('{"a":"\\"[[[[","b":[1]}', 2)).toBe(-1);
    expect(nestingBeyond('{"a":"\\\\",[[[1]]]}', 2)).toBe(11);
  });
});
