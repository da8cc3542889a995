/**
 * Applying a JSON Patch the strict way, for checking the engine's patches
 * against the documents they came from.
 */
import fastJsonPatch, { type Operation } from 'fast-json-patch';

const { applyPatch } = fastJsonPatch;

/**
 * Applies `ops` to a deep copy of `doc` and returns the copy; `doc` is never
 * touched. Validation is on, so an operation the API server would refuse
 * (an `add` whose parent is missing, an index out of bounds, a malformed
 * operation) throws a JsonPatchError instead of being patched over silently.
 */
export function applyPatchToCopy<T = unknown>(doc: unknown, ops: readonly Operation[]): T {
  // structuredClone rather than fast-json-patch's own JSON round trip, so that
  // a value JSON cannot carry (undefined, NaN) shows up as a difference in the
  // caller's comparison instead of being dropped quietly.
  const copy = structuredClone(doc);
  // mutateDocument: true patches our copy in place; the operations are cloned
  // too, so values in `ops` cannot end up shared with the result.
  return applyPatch(copy, structuredClone(ops as Operation[]), true, true).newDocument as T;
}
