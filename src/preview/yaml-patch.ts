/**
 * Applying the engine's JSON Patch to a YAML syntax tree instead of to plain
 * data, so that what `inject` writes keeps the author's comments, key order
 * and quoting. Writing the tree re-creates every line, though (a comment's
 * spacing, a list's indentation), so `inject` uses it only for documents the
 * text splice (yaml-splice.ts) cannot take. Added strings are quoted for
 * every reader (yaml-text.ts), so "on", "12:30" or ":1234" come out quoted.
 */
import type { Operation } from 'fast-json-patch';
import { isAlias, isMap, isScalar, isSeq, type Document, type Node } from 'yaml';
import { quoteForReaders } from './yaml-text.ts';

/** An operation the tree cannot take; the caller falls back to writing the document from its data. */
export class YamlPatchError extends Error {}

// The engine's values never share objects, but anchors in output would be surprising if they ever did.
const CREATE = { aliasDuplicateObjects: false } as const;

const unescape = (segment: string): string => segment.replaceAll('~1', '/').replaceAll('~0', '~');

export function segments(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new YamlPatchError(`${JSON.stringify(path)} is not a JSON Pointer`);
  return path.slice(1).split('/').map(unescape);
}

export const keyName = (key: unknown): string | undefined => (isScalar(key) ? String(key.value) : undefined);

export const INDEX = /^(?:0|[1-9]\d*)$/;

/**
 * An alias on the way to a change is replaced by a copy of what it points
 * at: in plain data every alias is a copy (that is how Kubernetes reads it),
 * so changing the anchored original would change more than the patch says.
 */
function own(doc: Document, node: unknown): unknown {
  if (!isAlias(node)) return node;
  const target = node.resolve(doc);
  if (!target) throw new YamlPatchError(`alias *${node.source} has no anchor`);
  return doc.createNode(target.toJS(doc), CREATE);
}

function child(doc: Document, parent: unknown, segment: string, path: string): unknown {
  if (isMap(parent)) {
    const pair = parent.items.find((p) => keyName(p.key) === segment);
    if (!pair) throw new YamlPatchError(`${path}: no key ${JSON.stringify(segment)}`);
    pair.value = own(doc, pair.value);
    return pair.value;
  }
  if (isSeq(parent) && INDEX.test(segment) && Number(segment) < parent.items.length) {
    const i = Number(segment);
    parent.items[i] = own(doc, parent.items[i]);
    return parent.items[i];
  }
  throw new YamlPatchError(`${path}: cannot descend into ${JSON.stringify(segment)}`);
}

function add(doc: Document, op: Operation): void {
  const path = segments(op.path);
  const value = doc.createNode((op as { value?: unknown }).value, CREATE) as Node;
  quoteForReaders(value);
  if (path.length === 0) {
    doc.contents = value;
    return;
  }
  let parent: unknown = doc.contents;
  for (const segment of path.slice(0, -1)) parent = child(doc, parent, segment, op.path);
  const last = path.at(-1)!;
  if (isMap(parent)) {
    // JSON Patch `add` on an existing member replaces it: the engine does that for a null member it treats as absent.
    const pair = parent.items.find((p) => keyName(p.key) === last);
    if (pair) pair.value = value;
    else parent.items.push(doc.createPair(last, value, CREATE));
  } else if (isSeq(parent) && last === '-') {
    parent.items.push(value);
  } else if (isSeq(parent) && INDEX.test(last) && Number(last) <= parent.items.length) {
    parent.items.splice(Number(last), 0, value);
  } else {
    throw new YamlPatchError(`${op.path}: the parent is not a mapping or a list`);
  }
}

/** Applies `ops` (add operations, as the engine makes) to the document's tree, in order. Throws YamlPatchError. */
export function patchYamlDocument(doc: Document, ops: readonly Operation[]): void {
  for (const op of ops) {
    if (op.op !== 'add') throw new YamlPatchError(`${op.op} ${op.path}: only add operations are applied to YAML`);
    add(doc, op);
  }
}

export interface YamlStyle {
  /** Spaces per nesting level. */
  indent: number;
  /** Whether list items are indented under their key (`key:\n  - a`) or not (`key:\n- a`, kubectl's style). */
  indentSeq: boolean;
  /** Whether flow collections have spaces inside the brackets: `{ a: 1 }` or `{a: 1}`. */
  flowCollectionPadding: boolean;
}

const KEY_LINE = /^( *)(?:- +)*([^\s#-][^#]*?):\s*(?:#.*)?$/;
const ITEM_LINE = /^( *)- /;
const FLOW = /[:-]\s+[{[]( ?)[^\s}\]]/g;

/**
 * How the author indents, read from the text, so that added parts look like
 * the rest: the first nested mapping gives the indent, the first list under a
 * key says whether lists are indented, the first flow collection its padding.
 */
export function detectStyle(text: string): YamlStyle {
  let indent: number | undefined;
  let indentSeq: boolean | undefined;
  let previous: { keyColumn: number } | undefined;
  for (const line of text.split('\n')) {
    if (indent !== undefined && indentSeq !== undefined) break;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const column = line.length - line.trimStart().length;
    if (previous && column > 0) {
      if (ITEM_LINE.test(line)) indentSeq ??= column > previous.keyColumn;
      else if (column > previous.keyColumn) indent ??= column - previous.keyColumn;
    }
    const key = KEY_LINE.exec(line);
    previous = key ? { keyColumn: line.indexOf(key[2]!) } : undefined;
  }
  let padded = 0;
  let tight = 0;
  for (const m of text.matchAll(FLOW)) m[1] ? padded++ : tight++;
  return { indent: indent ?? 2, indentSeq: indentSeq ?? false, flowCollectionPadding: padded >= tight };
}
