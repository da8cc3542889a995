/**
 * Kubernetes resource quantities ("100m", "64Mi", "0.5", "1e3"), as the
 * policy writes them for every injected container and as a pod writes its
 * own git-sync resources. One reading for both, so that the policy's
 * maximum and a pod's value are compared by the same rules.
 */
import { fail, ok, type Parsed } from './result.ts';
import { quote } from '../problems.ts';

const QUANTITY = /^\+?(\d+(?:\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;
const SUFFIXES: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};
/** Longer than any quantity a person writes; a bound, so that no value is the client's to size. */
const MAX_LENGTH = 32;

/** A non-negative Kubernetes quantity, kept as written (the API server normalises it). */
export function parseQuantity(raw: string): Parsed<string> {
  if (raw.length <= MAX_LENGTH && QUANTITY.test(raw)) return ok(raw);
  return fail('QUANTITY_INVALID', `${quote(raw)} is not a Kubernetes quantity; use a number with an optional suffix, such as 100m, 64Mi or 1Gi`);
}

/** The amount a valid quantity stands for, to compare a request with its limit or a maximum; NaN for anything else. */
export function quantityValue(raw: string): number {
  const m = QUANTITY.exec(raw);
  if (!m) return Number.NaN;
  const suffix = m[2] ?? '';
  if (/^[eE]/.test(suffix)) return Number(`${m[1]}${suffix}`);
  return Number(m[1]) * (SUFFIXES[suffix] ?? Number.NaN);
}
