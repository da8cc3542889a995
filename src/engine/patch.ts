/**
 * A JSON Patch recorder that can only add. Each change is applied to a draft
 * of the pod and recorded as an RFC 6902 `add` operation, so the draft is
 * always exactly the original with the recorded patch applied.
 *
 * The draft is copy-on-write: only the objects and lists on the path of a
 * change are copied (shallowly), and everything the patch does not touch is
 * shared with the original, which is never written to. Copying the whole pod
 * up front cost more than the rest of an injection for pods with hundreds of
 * env variables or volumes.
 *
 * - Missing parents are created by the same operation that needs them
 *   (`add /metadata/annotations {"k": "v"}`), never assumed.
 * - Lists are appended to with `/-`, never replaced.
 * - Object members are only added when absent; overwriting what a pod author
 *   wrote is a programming error here and throws.
 * - Keys are escaped as JSON Pointer requires (`~` → `~0`, `/` → `~1`).
 * - An operation's value is the very object added to the draft, not a copy
 *   (copying every value cost as much as building it). It stays what the
 *   operation added: the recorder never writes to an object it did not copy
 *   itself, so a later change below a value (an append into a list an
 *   earlier operation created) copies that part of the draft first. Callers
 *   hand over values they no longer change, and treat ops and draft as
 *   read-only.
 * - `json()` is the patch as JSON text, exactly `JSON.stringify(ops)`, made
 *   from the text of the values a caller has serialised already (`append`'s
 *   `text`): the git-sync containers are serialised once, for the config
 *   hash, and that text goes into the answer as it is.
 */
import type { AddOperation } from 'fast-json-patch';

type Json = unknown;
type Container = Record<string, Json> | Json[];

export const escapePointer = (segment: string): string =>
  segment.includes('~') || segment.includes('/') ? segment.replaceAll('~', '~0').replaceAll('/', '~1') : segment;
const pointer = (path: readonly (string | number)[]): string => path.map((s) => `/${escapePointer(String(s))}`).join('');

const isContainer = (v: Json): v is Container => typeof v === 'object' && v !== null;

export class AddOnlyPatch {
  readonly ops: AddOperation<Json>[] = [];
  /** Each op's value as JSON text, where the caller gave it (same index as ops). */
  private readonly texts: (string | undefined)[] = [];
  /** The original with the changes so far; it shares every part no change touched with the original. */
  readonly draft: Record<string, Json>;
  /** The copies this recorder made, which it may write to; anything else belongs to the original. A Set: they live as long as the draft does. */
  private readonly copies = new Set<object>();

  constructor(original: Record<string, Json>) {
    this.draft = this.copyOf(original);
  }

  /**
   * Appends `value` to the list at `path`, creating the list (and its parents) when absent.
   * `text`, when given, must be `JSON.stringify(value)`: json() uses it instead of serialising again.
   */
  append(path: readonly (string | number)[], value: Json, text?: string): void {
    const list = this.writable(path);
    if (Array.isArray(list)) {
      list.push(value);
      this.record(`${pointer(path)}/-`, value, text);
    } else {
      this.create(path, [value], text === undefined ? undefined : `[${text}]`);
    }
  }

  /** Adds `key: value` to the object at `path`, creating the object (and its parents) when absent. */
  put(path: readonly (string | number)[], key: string, value: Json): void {
    const obj = this.writable(path);
    if (isContainer(obj) && !Array.isArray(obj)) {
      if (obj[key] !== undefined && obj[key] !== null) throw new Error(`refusing to overwrite ${pointer([...path, key])}`);
      obj[key] = value;
      this.record(pointer([...path, key]), value);
    } else {
      this.create(path, { [key]: value });
    }
  }

  /** The patch as JSON text: `JSON.stringify(this.ops)`, with the values' own text where it was given. */
  json(): string {
    // One join of every piece: building each operation's text first copied the containers' kilobytes twice.
    const parts: string[] = ['['];
    this.ops.forEach((op, i) => parts.push(i === 0 ? '{"op":"add","path":' : ',{"op":"add","path":', JSON.stringify(op.path), ',"value":', this.texts[i] ?? JSON.stringify(op.value), '}'));
    parts.push(']');
    return parts.join('');
  }

  private record(path: string, value: Json, text?: string): void {
    this.ops.push({ op: 'add', path, value });
    this.texts.push(text);
  }

  /** The value at `path` in the draft, or undefined if any part of the path is missing. */
  lookup(path: readonly (string | number)[]): Json {
    let node: Json = this.draft;
    for (const segment of path) {
      if (!isContainer(node)) return undefined;
      node = (node as Record<string, Json>)[segment];
    }
    return node;
  }

  /**
   * The object or list at `path` in the draft, ready to be written to: it and
   * its ancestors are this recorder's own copies. Undefined when any part of
   * the path is missing or not an object or list.
   */
  private writable(path: readonly (string | number)[]): Container | undefined {
    let node: Container = this.draft;
    for (const segment of path) {
      const next = (node as Record<string, Json>)[segment];
      if (!isContainer(next)) return undefined;
      node = this.own(node, segment, next);
    }
    return node;
  }

  /** `child`, a member of `parent` (already writable), replaced by a copy unless it is one already. */
  private own(parent: Container, key: string | number, child: Container): Container {
    if (this.copies.has(child)) return child;
    const copy = this.copyOf(child);
    (parent as Record<string, Json>)[key] = copy;
    return copy;
  }

  private copyOf<T extends Container>(node: T): T {
    // Spread defines members rather than assigning them, so an own "__proto__" member stays a member.
    const copy = (Array.isArray(node) ? node.slice() : { ...node }) as T;
    this.copies.add(copy);
    return copy;
  }

  /**
   * Creates `value` at `path`: the deepest existing ancestor gets one `add`
   * carrying the missing levels nested inside it. A null member counts as
   * absent (the API server treats both alike).
   */
  private create(path: readonly (string | number)[], value: Json, text?: string): void {
    let depth = 0;
    let node: Container = this.draft;
    for (; depth < path.length - 1; depth++) {
      const next: Json = (node as Record<string, Json>)[path[depth]!];
      if (!isContainer(next)) break;
      node = this.own(node, path[depth]!, next);
    }
    let nested = value;
    let nestedText = text;
    for (let i = path.length - 1; i > depth; i--) {
      nested = { [path[i]!]: nested };
      if (nestedText !== undefined) nestedText = `{${JSON.stringify(String(path[i]))}:${nestedText}}`;
    }
    (node as Record<string, Json>)[path[depth]!] = nested;
    this.record(pointer(path.slice(0, depth + 1)), nested, nestedText);
  }
}
