import { fail, ok, type Parsed } from './result.ts';
import { quote } from '../problems.ts';

/** One of a fixed set of words, compared exactly (annotation values are case-sensitive in Kubernetes). */
export function parseChoice<const T extends string>(raw: string, values: readonly T[]): Parsed<T> {
  if ((values as readonly string[]).includes(raw)) return ok(raw as T);
  return fail('VALUE_NOT_ALLOWED', `${quote(raw)} is not allowed; use one of ${values.join(', ')}`);
}
