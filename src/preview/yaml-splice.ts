/**
 * Injecting into a YAML (or JSON) document by splicing text: the added
 * members and items are written on their own and inserted at the offsets the
 * parser gives for the nodes they follow; every other byte is the author's,
 * copied.
 *
 * Why not write the patched syntax tree (yaml-patch.ts): the yaml library
 * writes a tree from scratch. It keeps comments and key order, but not the
 * bytes around them: two spaces before a comment become one, an
 * over-indented list is re-indented, a flow collection spread over lines is
 * put on one, CRLF becomes LF, a JSON document loses its layout. Only text
 * the writer never touches stays byte-identical, which `inject` promises, so
 * the writer is given only the new parts.
 *
 * Where things go:
 * - block mapping or list: new lines after the line its last value ends on,
 *   at the column of its keys or dashes, so the diff only adds lines;
 * - a key written with an empty value (`annotations:`): new lines after it;
 * - flow collection (`{…}`, `[…]`, and JSON): after its last entry, one entry
 *   per new line with the comma leading (`, key: value`), so that the line of
 *   the last entry is not changed by a trailing comma; a collection that
 *   closes on the line of its last entry is split there, which no layout can
 *   avoid. A document written as JSON (a flow mapping with double-quoted
 *   keys) gets JSON, so it stays valid JSON.
 *
 * What it cannot place (a change under an alias, or to an anchored node that
 * an alias copies, a member written as `null`) it refuses with a
 * YamlPatchError, and the caller writes the document another way.
 */
import type { Operation } from 'fast-json-patch';
import { isAlias, isMap, isScalar, isSeq, visit, type Document, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { INDEX, keyName, segments, YamlPatchError, type YamlStyle } from './yaml-patch.ts';
import { doubleQuoted, flowText, plainIsSafe, yamlText } from './yaml-text.ts';

type Collection = YAMLMap | YAMLSeq;

/** A member (with its key) or list item the patch adds; later operations under it change `value`. */
interface Addition {
  key?: string;
  value: unknown;
}

interface Target {
  node: Collection;
  /** How deep the node is: of two insertions at one offset, the deeper one comes first. */
  depth: number;
  additions: Addition[];
}

/** A member whose value is written empty (`annotations:`): JSON Patch `add` replaces it. */
interface Fill extends Addition {
  pair: Pair;
  map: YAMLMap;
  depth: number;
}

interface Insertion {
  offset: number;
  depth: number;
  text: string;
}

/** Anchors that some alias in the document refers to. */
function anchorsInUse(doc: Document): Set<string> {
  const used = new Set<string>();
  visit(doc, {
    Alias(_, alias) {
      used.add(alias.source);
    },
  });
  return used;
}

/** JSON Patch `add` on plain data (what the patch adds before it is written). */
function addToData(root: object, path: readonly string[], value: unknown, pointer: string): void {
  let node: unknown = root;
  for (const segment of path.slice(0, -1)) {
    node = typeof node === 'object' && node !== null && Object.hasOwn(node, segment) ? (node as Record<string, unknown>)[segment] : undefined;
    if (typeof node !== 'object' || node === null) throw new YamlPatchError(`${pointer}: no parent to add to`);
  }
  const last = path.at(-1)!;
  if (!Array.isArray(node)) Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
  else if (last === '-') node.push(value);
  else if (INDEX.test(last) && Number(last) <= node.length) node.splice(Number(last), 0, value);
  else throw new YamlPatchError(`${pointer}: ${JSON.stringify(last)} is not a place in a list`);
}

const isEmptyValue = (value: unknown): boolean => value === null || (isScalar(value) && value.value === null && value.range?.[0] === value.range?.[1]);

/** Where the patch adds things, in terms of the document's own nodes. */
class Plan {
  readonly targets = new Map<Collection, Target>();
  readonly fills: Fill[] = [];
  private readonly doc: Document;
  private readonly aliased: Set<string>;

  constructor(doc: Document) {
    this.doc = doc;
    this.aliased = anchorsInUse(doc);
  }

  add(op: Operation): void {
    if (op.op !== 'add') throw new YamlPatchError(`${op.op} ${op.path}: only add operations are spliced`);
    const path = segments(op.path);
    if (path.length === 0) throw new YamlPatchError('the patch replaces the whole document');
    const value = structuredClone((op as { value?: unknown }).value);
    let node: unknown = this.doc.contents;
    for (let i = 0; i < path.length; i++) {
      if (!isMap(node) && !isSeq(node)) throw new YamlPatchError(`${op.path}: cannot descend into ${JSON.stringify(path[i])}`);
      if (node.anchor !== undefined && this.aliased.has(node.anchor)) {
        throw new YamlPatchError(`${op.path}: &${node.anchor} is copied by an alias, which must not change with it`);
      }
      const segment = path[i]!;
      const added = this.added(node, segment);
      if (added) {
        // Under something the patch adds: change the plain value that will be written.
        if (i === path.length - 1) added.value = value;
        else addToData(added, ['value', ...path.slice(i + 1)], value, op.path);
        return;
      }
      if (i === path.length - 1) {
        this.record(node, segment, value, i, op.path);
        return;
      }
      node = this.child(node, segment, op.path);
    }
  }

  private target(node: Collection, depth: number): Target {
    let target = this.targets.get(node);
    if (!target) this.targets.set(node, (target = { node, depth, additions: [] }));
    return target;
  }

  /** What the patch added so far at `segment` of `node`, if anything. */
  private added(node: Collection, segment: string): Addition | undefined {
    if (isMap(node)) {
      return this.targets.get(node)?.additions.find((a) => a.key === segment) ?? this.fills.find((f) => f.map === node && f.key === segment);
    }
    if (!INDEX.test(segment) || Number(segment) < node.items.length) return undefined;
    return this.targets.get(node)?.additions[Number(segment) - node.items.length];
  }

  private child(node: Collection, segment: string, path: string): unknown {
    let child: unknown;
    if (isMap(node)) child = node.items.find((p) => keyName(p.key) === segment)?.value;
    else if (INDEX.test(segment)) child = node.items[Number(segment)];
    if (isAlias(child)) throw new YamlPatchError(`${path}: the path goes through the alias *${child.source}`);
    if (child === undefined) throw new YamlPatchError(`${path}: no ${JSON.stringify(segment)} in the document's text (a merge key?)`);
    return child;
  }

  private record(node: Collection, last: string, value: unknown, depth: number, path: string): void {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyName(p.key) === last);
      if (!pair) this.target(node, depth).additions.push({ key: last, value });
      else if (isEmptyValue(pair.value) && !node.flow) this.fills.push({ pair, map: node, key: last, value, depth: depth + 1 });
      else throw new YamlPatchError(`${path}: the member is already written (${isScalar(pair.value) ? String(pair.value.source ?? pair.value.value) : 'a value'})`);
      return;
    }
    const target = this.target(node, depth);
    if (last !== '-' && Number(last) !== node.items.length + target.additions.length) throw new YamlPatchError(`${path}: only appending to a list is spliced`);
    target.additions.push({ value });
  }
}

/** The text around one document, with the helpers that read positions in it. */
class Source {
  readonly text: string;
  readonly eol: string;

  constructor(text: string) {
    this.text = text;
    this.eol = text.includes('\r\n') ? '\r\n' : '\n';
  }

  lineStart(pos: number): number {
    return this.text.lastIndexOf('\n', pos - 1) + 1;
  }

  column(pos: number): number {
    return pos - this.lineStart(pos);
  }

  /** Spaces at the start of the line `pos` is on. */
  lineIndent(pos: number): number {
    const start = this.lineStart(pos);
    let end = start;
    while (this.text[end] === ' ') end++;
    return end - start;
  }

  /** The start of the line after the one `pos` is on (the text's end if there is none). */
  nextLine(pos: number): number {
    if (pos > 0 && this.text[pos - 1] === '\n') return pos;
    const nl = this.text.indexOf('\n', pos);
    return nl === -1 ? this.text.length : nl + 1;
  }

  /** Lines in the document's own line ends, each indented by `column` (blank lines stay empty). */
  lines(text: string, column: number): string {
    const body = text.endsWith('\n') ? text.slice(0, -1) : text;
    return body
      .split('\n')
      .map((line) => (line === '' ? line : ' '.repeat(column) + line))
      .join(this.eol);
  }
}

const range = (node: unknown): [number, number] => {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  if (!r) throw new YamlPatchError('a node without a position in the text');
  return [r[0], r[1]];
};

export interface SpliceOptions {
  style: YamlStyle;
}

/**
 * Whether the document is written as JSON: a flow mapping whose keys are
 * double-quoted. kubectl reads a stream that starts with `{` as JSON, so what
 * is added to it must be JSON too.
 */
export function writtenAsJson(doc: Document): boolean {
  const root = doc.contents;
  return isMap(root) && root.flow === true && root.items.length > 0 && root.items.every((p) => isScalar(p.key) && p.key.type === 'QUOTE_DOUBLE');
}

/** Block YAML for one member or one list item, quoted for every reader, without indentation of its own. */
const blockText = (addition: Addition, style: YamlStyle): string => yamlText(addition.key === undefined ? [addition.value] : { [addition.key]: addition.value }, style);

/**
 * The text of one document (`span` of `text`, which `doc` was parsed from)
 * with `ops` (the engine's add operations) spliced in. Throws YamlPatchError
 * for what it cannot place; the caller checks that the result reads back as
 * the patched object.
 */
export function spliceYamlDocument(text: string, span: readonly [number, number], doc: Document.Parsed, ops: readonly Operation[], style: YamlStyle): string {
  const plan = new Plan(doc);
  for (const op of ops) plan.add(op);
  const source = new Source(text);
  const json = writtenAsJson(doc);
  // JSON is indented by its own rule (kubectl prints four spaces); read it from the first indented member.
  const step = json ? (/\n( +)"/.exec(text.slice(span[0], span[1]))?.[1]?.length ?? 2) : style.indent;
  // The document's last line may lack its line end; what is added after it brings one.
  const leadAt = (offset: number): string => (offset === span[1] && text[span[1] - 1] !== '\n' ? source.eol : '');
  const layout = json ? 'json' : 'flow';
  const entry = (a: Addition, indent: number): string =>
    (a.key === undefined ? '' : `${json || !plainIsSafe(a.key, 'flow') ? doubleQuoted(a.key) : a.key}: `) + flowText(a.value, layout, indent, step, style.flowCollectionPadding);

  const insertions: Insertion[] = [];
  for (const { node, depth, additions } of plan.targets.values()) {
    if (additions.length === 0) continue;
    const [start, end] = range(node);
    if (!node.flow) {
      // Block: new lines after the last line of the collection's content, at its column.
      const column = source.column(start);
      const offset = source.nextLine(end);
      const lead = leadAt(offset);
      const body = additions.map((a) => source.lines(blockText(a, style), column)).join(source.eol);
      insertions.push({ offset, depth, text: lead + body + source.eol });
      continue;
    }
    const close = end - 1;
    if (text[close] !== '}' && text[close] !== ']') throw new YamlPatchError('a flow collection that does not end with its bracket');
    const base = source.lineIndent(start);
    if (node.items.length === 0) {
      const inline = additions.map((a) => entry(a, 0)).join(', ');
      const pad = style.flowCollectionPadding && !json ? ' ' : '';
      if (!inline.includes('\n') && source.column(start) + inline.length + 2 * pad.length + 2 <= 100) {
        insertions.push({ offset: start + 1, depth, text: pad + inline + pad });
      } else {
        const inner = base + step;
        const lines = additions.map((a) => ' '.repeat(inner) + entry(a, inner)).join(`,${source.eol}`);
        // YAML needs a flow collection's continuation lines indented deeper than the block around it; JSON closes where it opened.
        insertions.push({ offset: start + 1, depth, text: source.eol + lines + (json ? source.eol + ' '.repeat(base) : '') });
      }
      continue;
    }
    const last = node.items.at(-1)!;
    const [lastStart, lastEnd] = isMap(node) ? [range((last as Pair).key)[0], range((last as Pair).value ?? (last as Pair).key)[1]] : range(last);
    // A trailing comma the author wrote is kept, and then the new entries follow that style.
    const between = text.slice(lastEnd, close).replace(/#[^\r\n]*/g, (c) => ' '.repeat(c.length));
    const comma = between.indexOf(',');
    const anchor = comma === -1 ? lastEnd : lastEnd + comma + 1;
    const nl = text.indexOf('\n', anchor);
    const restOfLine = nl === -1 || nl > close ? undefined : text.slice(anchor, nl).replace(/\r$/, '');
    const offset = restOfLine !== undefined && /^[ \t]*(#.*)?$/.test(restOfLine) ? anchor + restOfLine.length : anchor;
    const before = text.slice(source.lineStart(lastStart), lastStart);
    const indent = /^ *(, *)?$/.test(before) ? source.lineIndent(lastStart) : base + step;
    const pieces = additions.map((a) => source.eol + ' '.repeat(indent) + (comma === -1 ? `, ${entry(a, indent)}` : `${entry(a, indent)},`));
    insertions.push({ offset, depth, text: pieces.join('') });
  }
  for (const fill of plan.fills) {
    const { pair, value, depth } = fill;
    if (typeof value !== 'object' || value === null || Object.keys(value).length === 0) {
      throw new YamlPatchError(`${String(fill.key)}: an empty member filled with a scalar or empty collection`);
    }
    const column = source.column(range(pair.key)[0]) + (Array.isArray(value) && !style.indentSeq ? 0 : style.indent);
    const offset = source.nextLine(range(pair.key)[1]);
    const lead = leadAt(offset);
    insertions.push({ offset, depth, text: lead + source.lines(yamlText(value, style), column) + source.eol });
  }
  insertions.sort((a, b) => a.offset - b.offset || b.depth - a.depth);
  let out = '';
  let at = span[0];
  for (const { offset, text: added } of insertions) {
    if (offset < span[0] || offset > span[1]) throw new YamlPatchError('an insertion outside the document');
    out += text.slice(at, offset) + added;
    at = offset;
  }
  return out + text.slice(at, span[1]);
}
