/**
 * Log timestamps: isoTime keeps the text of the current second and writes
 * only the milliseconds per line; it must read exactly as Date's own
 * toISOString, whatever order the times come in (the clock can step back).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger, isoTime } from '../../src/log.ts';

// From 0001-01-01 to 9999-12-31: every year a four-digit ISO year can spell.
const instant = fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 });

describe('isoTime', () => {
  it('reads as Date#toISOString for any millisecond, in any order', () => {
    fc.assert(
      fc.property(fc.array(instant, { minLength: 1, maxLength: 20 }), (times) => {
        for (const t of times) expect(isoTime(t)).toBe(new Date(t).toISOString());
      }),
    );
  });

  it('reads as Date#toISOString across the milliseconds of one second and the next', () => {
    const start = Date.UTC(2026, 11, 1, 20, 34, 59, 0);
    for (let t = start - 3; t < start + 2_004; t++) expect(isoTime(t)).toBe(new Date(t).toISOString());
  });

  it('is the time of every log line, as pino writes it', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { destination: { write: (line: string) => void lines.push(line) } });
    const before = Date.now();
    logger.info('one');
    const time = Date.parse((JSON.parse(lines[0]!) as { time: string }).time);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
    expect(JSON.parse(lines[0]!).time).toBe(new Date(time).toISOString());
  });
});
