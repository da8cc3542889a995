import { fail, ok, type Parsed } from './result.ts';
import { quote } from '../problems.ts';

/** A whole number written in plain decimal digits, between min and max inclusive. */
export function parseInteger(raw: string, min: number, max: number): Parsed<number> {
  const n = /^\d{1,10}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    return fail('INTEGER_INVALID', `${quote(raw)} is not a whole number from ${min} to ${max}`);
  }
  return ok(n);
}
