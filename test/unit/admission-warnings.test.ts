import { describe, expect, test } from 'vitest';
import { capWarnings, MAX_WARNINGS_TOTAL, MAX_WARNING_LENGTH } from '../../src/admission/index.ts';

const total = (ws: string[]): number => ws.reduce((n, w) => n + w.length, 0);

describe('capWarnings', () => {
  test('leaves a few short warnings as they are', () => {
    expect(capWarnings([])).toEqual([]);
    expect(capWarnings(['a', 'b'])).toEqual(['a', 'b']);
  });

  test('cuts a long warning to the limit, ending it with an ellipsis', () => {
    const [w] = capWarnings(['x'.repeat(1000)]);
    expect(w).toHaveLength(MAX_WARNING_LENGTH);
    expect(w!.endsWith('…')).toBe(true);
    expect(capWarnings(['y'.repeat(MAX_WARNING_LENGTH)])).toEqual(['y'.repeat(MAX_WARNING_LENGTH)]);
  });

  test('never splits a character made of two UTF-16 units', () => {
    const [w] = capWarnings([`${'a'.repeat(MAX_WARNING_LENGTH - 2)}😀😀😀`]);
    expect(w!.length).toBeLessThanOrEqual(MAX_WARNING_LENGTH);
    expect(w).toBe(`${'a'.repeat(MAX_WARNING_LENGTH - 2)}…`);
    expect(w!.isWellFormed()).toBe(true);
  });

  test('replaces line breaks and other control characters, which cannot travel in a header', () => {
    expect(capWarnings(['one\ntwo\r\n\tthree'])).toEqual(['one two three']);
  });

  test('keeps the total within the limit and says how many were left out', () => {
    const input = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(3, '0')} ${'w'.repeat(200)}`);
    const out = capWarnings(input);
    expect(total(out)).toBeLessThanOrEqual(MAX_WARNINGS_TOTAL);
    const shown = out.slice(0, -1);
    expect(shown).toEqual(input.slice(0, shown.length));
    expect(out.at(-1)).toBe(`… ${input.length - shown.length} more warnings not shown`);
  });

  test('drops one more warning when the note itself would not fit', () => {
    // Exactly fills the total, so the note needs the room of the last warning kept.
    const exact = Array.from({ length: 16 }, () => 'z'.repeat(MAX_WARNING_LENGTH));
    expect(total(exact)).toBe(MAX_WARNINGS_TOTAL);
    expect(capWarnings(exact)).toEqual(exact);
    const out = capWarnings([...exact, 'one too many']);
    expect(total(out)).toBeLessThanOrEqual(MAX_WARNINGS_TOTAL);
    expect(out).toEqual([...exact.slice(0, 15), '… 2 more warnings not shown']);
  });

  test('a single left-out warning is counted in the singular', () => {
    const out = capWarnings([...Array.from({ length: 15 }, () => 'z'.repeat(MAX_WARNING_LENGTH)), 'q'.repeat(200), 'r'.repeat(100)]);
    expect(out.at(-1)).toBe('… 1 more warning not shown');
  });
});
