/**
 * Plain JSON helpers, shared by every folder through the engine's index.
 *
 * Deep copies of JSON documents. structuredClone serialises through V8's
 * message format and back, which made it the largest single cost of an
 * admission (a quarter of the server's CPU under load, in the benchmark's
 * profile); a walk over plain objects and arrays does the same job for the
 * documents the engine handles, several times faster.
 */

/**
 * A deep copy of `value`, a JSON value as JSON.parse or a YAML parser returns
 * it. Plain objects and arrays are copied member by member; anything else
 * that is an object (a Date from a YAML timestamp, say) goes through
 * structuredClone, so the copy is always faithful.
 */
export function cloneJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneJson) as T;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const copy: Record<string, unknown> = proto === null ? Object.create(null) : {};
  for (const key of Object.keys(value)) {
    const member = cloneJson((value as Record<string, unknown>)[key]);
    // JSON.parse makes "__proto__" an own member; plain assignment would set the prototype instead.
    if (key === '__proto__') Object.defineProperty(copy, key, { value: member, enumerable: true, writable: true, configurable: true });
    else copy[key] = member;
  }
  return copy as T;
}

/** A JSON object: not null, not an array. Pods and manifests are plain JSON; this is how every part reads them. */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value at `path` in a JSON document, or undefined where any part is missing or not an object. */
export function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const part of path) {
    if (!isObject(node)) return undefined;
    node = node[part];
  }
  return node;
}
