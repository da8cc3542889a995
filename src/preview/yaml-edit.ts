/**
 * Removing members and list items from a YAML (or JSON) document, and
 * replacing scalar values, by editing its text: what `uninject` and
 * `annotate` write. It is the counterpart of yaml-splice.ts, which only adds:
 * every byte that is not removed or replaced is the author's, copied.
 *
 * - block mapping or list: the lines of the member or item go, from the start
 *   of its first line to the end of its last, so what yaml-splice added as
 *   whole lines comes out as it went in;
 * - flow collection (and JSON): the entry goes with the comma and spacing
 *   between it and the entry before it (or, for the first, after it), which
 *   undoes yaml-splice's `, entry` and `entry,` alike;
 * - a replaced scalar keeps its place; the new value is written plain when
 *   every reader reads it back as itself, else double-quoted.
 *
 * What it cannot do (an entry sharing its line with another part, an alias
 * on the way) it refuses with a YamlPatchError; the caller checks what it
 * wrote and writes the document another way if need be.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { keyName, YamlPatchError } from './yaml-patch.ts';
import { writtenAsJson } from './yaml-splice.ts';
import { doubleQuoted, plainIsSafe } from './yaml-text.ts';

export type TextPath = readonly (string | number)[];

type Collection = YAMLMap | YAMLSeq;

export interface TextEdits {
  /** Members and items to remove. */
  remove: readonly TextPath[];
  /** Scalars to write anew (strings only: annotation values). */
  replace: readonly { path: TextPath; value: string }[];
}

interface Cut {
  from: number;
  to: number;
  text: string;
}

const range = (node: unknown): [number, number] => {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  if (!r) throw new YamlPatchError('a node without a position in the text');
  return [r[0], r[1]];
};

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1;
}

function nextLine(text: string, pos: number): number {
  if (pos > 0 && text[pos - 1] === '\n') return pos;
  const nl = text.indexOf('\n', pos);
  return nl === -1 ? text.length : nl + 1;
}

/** The collection at `path` and the index of `last` in its items. */
function locate(doc: Document, path: TextPath): { node: Collection; index: number } {
  let node: unknown = doc.contents;
  for (const [i, segment] of path.entries()) {
    if (isAlias(node)) throw new YamlPatchError(`the path goes through the alias *${node.source}`);
    if (!isMap(node) && !isSeq(node)) throw new YamlPatchError(`cannot descend into ${JSON.stringify(segment)}`);
    const index = isMap(node) ? node.items.findIndex((p) => keyName(p.key) === String(segment)) : Number(segment);
    if (index < 0 || index >= node.items.length) throw new YamlPatchError(`no ${JSON.stringify(segment)} in the document's text`);
    if (i === path.length - 1) return { node, index };
    node = isMap(node) ? (node.items[index] as Pair).value : node.items[index];
  }
  throw new YamlPatchError('the path names the whole document');
}

/** Where an entry starts and ends: a member from its key to its value's end. */
function entryRange(node: Collection, index: number): [number, number] {
  const item = node.items[index];
  if (isMap(node)) {
    const pair = item as Pair;
    return [range(pair.key)[0], range(pair.value ?? pair.key)[1]];
  }
  return range(item);
}

function blockCuts(text: string, node: Collection, indices: number[]): Cut[] {
  return indices.map((i) => {
    const [start, end] = entryRange(node, i);
    const from = lineStart(text, start);
    const before = text.slice(from, start);
    if (!(isSeq(node) ? /^ *- +$/ : /^ *$/).test(before)) throw new YamlPatchError('an entry that shares its first line with another part');
    return { from, to: nextLine(text, end), text: '' };
  });
}

function flowCuts(node: Collection, indices: number[]): Cut[] {
  const removed = new Set(indices);
  const kept = node.items.findIndex((_, i) => !removed.has(i));
  if (kept === -1) throw new YamlPatchError('every entry of a flow collection removed, not the collection');
  const cuts: Cut[] = [];
  if (kept > 0) cuts.push({ from: entryRange(node, 0)[0], to: entryRange(node, kept)[0], text: '' });
  for (const i of indices) if (i > kept) cuts.push({ from: entryRange(node, i - 1)[1], to: entryRange(node, i)[1], text: '' });
  return cuts;
}

/**
 * The text of one document (`span` of `text`, which `doc` was parsed from)
 * with `edits` made. Throws YamlPatchError; the caller checks the result.
 */
export function editYamlDocument(text: string, span: readonly [number, number], doc: Document.Parsed, edits: TextEdits): string {
  const groups = new Map<Collection, number[]>();
  for (const path of edits.remove) {
    const { node, index } = locate(doc, path);
    groups.set(node, [...(groups.get(node) ?? []), index]);
  }
  const cuts: Cut[] = [];
  for (const [node, indices] of groups) {
    const sorted = [...new Set(indices)].sort((a, b) => a - b);
    cuts.push(...(node.flow ? flowCuts(node, sorted) : blockCuts(text, node, sorted)));
  }
  const json = writtenAsJson(doc);
  for (const { path, value } of edits.replace) {
    const { node, index } = locate(doc, path);
    const target = isMap(node) ? (node.items[index] as Pair).value : node.items[index];
    if (!isScalar(target)) throw new YamlPatchError(`${path.join('.')} is not a scalar`);
    const [from, to] = range(target);
    const context = node.flow ? 'flow' : 'block';
    cuts.push({ from, to, text: !json && plainIsSafe(value, context) ? value : doubleQuoted(value) });
  }
  cuts.sort((a, b) => a.from - b.from);
  let out = '';
  let at = span[0];
  for (const cut of cuts) {
    if (cut.from < at || cut.to > span[1]) throw new YamlPatchError('edits that overlap or leave the document');
    out += text.slice(at, cut.from) + cut.text;
    at = cut.to;
  }
  return out + text.slice(at, span[1]);
}
