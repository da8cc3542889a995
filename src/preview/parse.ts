/**
 * Reading manifests: JSON, or YAML with any number of documents, as
 * Kubernetes reads them. YAML is parsed as YAML 1.1, the version kubectl and
 * the API server use (`on`, `yes` and `off` are booleans there), so a preview
 * sees the values the cluster will see. Every document keeps its place in the
 * text, so that output can copy untouched documents byte for byte and
 * messages can point at a line.
 */
import { LineCounter, isAlias, isMap, isSeq, parseAllDocuments, visit, type Document, type DocumentOptions, type Node, type ParseOptions, type SchemaOptions } from 'yaml';
import { closingQuote, MAX_NESTING, nestingBeyond } from '../admission/index.ts';
import { isObject } from '../engine/index.ts';
import { DUPLICATE_KEY_MESSAGE, duplicateKey } from '../yaml-keys.ts';

export type InputFormat = 'json' | 'yaml';

type Tags = Exclude<NonNullable<SchemaOptions['customTags']>, (tags: never) => unknown>;
const tagName = (tag: Tags[number]): string => (typeof tag === 'string' ? tag : tag.tag);
const tagFormat = (tag: Tags[number]): string | undefined => (typeof tag === 'string' ? undefined : tag.format);

/**
 * YAML as Kubernetes reads it (sigs.k8s.io/yaml, a go-yaml v2 fork): YAML 1.1
 * scalars (`on` and `yes` are booleans, `0755` is octal), but a value that
 * looks like a timestamp or a base-60 number (`2024-01-01`, `12:30`) stays a
 * string, and `!!binary` is not decoded into bytes.
 */
export const KUBERNETES_YAML: DocumentOptions & SchemaOptions = {
  version: '1.1',
  customTags: (tags) =>
    (tags as Tags).filter((t) => !['tag:yaml.org,2002:timestamp', 'tag:yaml.org,2002:binary'].includes(tagName(t)) && tagFormat(t) !== 'TIME'),
};

/**
 * Deeper than any real manifest (CRD schemas reach a few dozen levels), and
 * far below the depth at which serialising the answer would exhaust the stack;
 * the same limit as /mutate's.
 */
export const MAX_DEPTH = MAX_NESTING;
/** Aliases a document may expand, as the yaml library counts them; guards against "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;
/**
 * Nodes that aliases may add to the input, all aliases together, nested
 * ones multiplied out. The library's count is per anchor, so a body with
 * many anchors, each aliased up to its limit, expanded a 0.1 MiB text a
 * hundredfold into an answer of many megabytes. Real manifests alias a few
 * shared blocks (env, resources) a few times: a few hundred nodes.
 */
export const MAX_ALIAS_NODES = 10_000;
/** Aliases in the input: the library resolves each by scanning every anchor and alias before it. */
export const MAX_ALIASES = 1_000;

export interface SourceDocument {
  /** 1-based position among the documents of its source, counting empty ones. */
  index: number;
  /** 1-based line where the document's content starts. */
  line: number;
  /** [start, end) of the document in the source text; the spans of all documents cover the text, in order. */
  span: readonly [number, number];
  /** The document as plain data; null for an empty document. */
  value: unknown;
  /** The YAML syntax tree, for output that keeps comments and key order. */
  yaml?: Document.Parsed;
  /** For a List in YAML: the 1-based line of each item. */
  itemLines?: readonly number[];
}

export interface ParsedSource {
  /** File name, or what the input is called in messages ('<stdin>', 'the body'). */
  name: string;
  text: string;
  format: InputFormat;
  documents: SourceDocument[];
  /** The input began with a byte-order mark, which `text` leaves out. */
  bom?: true;
}

/**
 * Why an input cannot be read. POST /preview sends these as they are, as
 * HTTP error reasons, so each one is also a row of the server's catalogue
 * (src/server/http-errors.ts); the compiler checks that where /preview sends them.
 */
export type InputErrorReason = 'INVALID_JSON' | 'INVALID_YAML' | 'TOO_DEEP';

/** Input that cannot be read, with the parser's line and column (1-based). */
export class InputError extends Error {
  readonly source: string;
  readonly reason: InputErrorReason;
  readonly line: number;
  readonly column: number;
  /** What is wrong, without the position. */
  readonly detail: string;

  constructor(source: string, reason: InputErrorReason, line: number, column: number, detail: string) {
    super(`${source}:${line}:${column}: ${detail}`);
    this.name = 'InputError';
    this.source = source;
    this.reason = reason;
    this.line = line;
    this.column = column;
    this.detail = detail;
  }
}


/** A `List` (or a typed list such as `PodList`): its items are objects of their own. */
export const isList = (v: unknown): v is Record<string, unknown> & { items: unknown[] } =>
  isObject(v) && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items);

/** How many objects a document holds: its List items, one, or none when it is empty. */
export function objectCount(doc: Pick<SourceDocument, 'value'>): number {
  const { value } = doc;
  if (value === null || value === undefined) return 0;
  return isList(value) ? value.items.length : 1;
}

/** JSON when the text starts like a JSON object or array, YAML otherwise (YAML also reads most JSON). */
export function sniffFormat(text: string): InputFormat {
  const first = /\S/.exec(text)?.[0];
  return first === '{' || first === '[' ? 'json' : 'yaml';
}

/** 1-based line and column of a character offset. */
function linePos(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const line = before.split('\n').length;
  return { line, column: before.length - before.lastIndexOf('\n') };
}

/** How deep a value nests, counted without recursion so that a hostile document cannot exhaust the stack. */
function tooDeep(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * What the aliases of a document would add once expanded, counted on the
 * syntax tree before anything is expanded: the number of aliases, and the
 * nodes they copy in (an alias inside an anchored node counts each time that
 * node is copied). Stops counting past the limits.
 */
function aliasCost(doc: Document.Parsed): { aliases: number; nodes: number } {
  // Each alias refers to the last anchor of its name before it, as the library resolves it.
  const anchors = new Map<string, Node>();
  const targets = new Map<Node, Node | undefined>();
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) targets.set(node, anchors.get(node.source));
      else if (node.anchor) anchors.set(node.anchor, node);
    },
  });
  const sizes = new Map<Node, number>();
  // Memoised, so shared anchors cost once; the depth of the tree was checked by the bytes before parsing.
  const size = (node: unknown): number => {
    if (isAlias(node)) {
      const target = targets.get(node);
      return target === undefined ? 1 : size(target);
    }
    if (!isMap(node) && !isSeq(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    let total = 1;
    for (const item of node.items) {
      total += isMap(node) ? size((item as { key: unknown }).key) + size((item as { value: unknown }).value) : size(item);
      if (total > MAX_ALIAS_NODES) break;
    }
    sizes.set(node, total);
    return total;
  };
  let nodes = 0;
  for (const alias of targets.keys()) {
    nodes += size(alias);
    if (nodes > MAX_ALIAS_NODES) break;
  }
  return { aliases: targets.size, nodes };
}

function checkDepth(name: string, doc: SourceDocument): void {
  if (tooDeep(doc.value, MAX_DEPTH)) {
    throw new InputError(name, 'TOO_DEEP', doc.line, 1, `document ${doc.index} nests more than ${MAX_DEPTH} levels deep, which no Kubernetes manifest does`);
  }
}

function parseJson(name: string, text: string): ParsedSource {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // V8 says where: "… in JSON at position 12 (line 3 column 3)". Keep the words, compute the position ourselves.
    const message = (error as Error).message;
    const at = / in JSON at position (\d+)/.exec(message);
    const offset = at ? Number(at[1]) : text.length;
    const { line, column } = linePos(text, offset);
    const detail = message.replace(/ in JSON at position \d+.*$/, '').replace(/ of JSON input$/, ' of input');
    throw new InputError(name, 'INVALID_JSON', line, column, `invalid JSON: ${detail}`);
  }
  // JSON.parse keeps the last of repeated keys without a word; Kubernetes refuses them, and so do we, as for YAML.
  const duplicate = repeatedJsonKey(text);
  if (duplicate) {
    const { line, column } = linePos(text, duplicate.at);
    throw new InputError(name, 'INVALID_JSON', line, column, `invalid JSON: the key ${JSON.stringify(duplicate.key)} is repeated in its object`);
  }
  const start = /\S/.exec(text)?.index ?? 0;
  const doc: SourceDocument = { index: 1, line: linePos(text, start).line, span: [0, text.length], value };
  checkDepth(name, doc);
  return { name, text, format: 'json', documents: [doc] };
}

/**
 * The first key that repeats an earlier key of the same object, in a text
 * JSON.parse has accepted, and where it starts; undefined when none does.
 * One pass with a set of keys per open object; keys are compared decoded
 * (`"a"` and `"\u0061"` are one key).
 */
export function repeatedJsonKey(text: string): { key: string; at: number } | undefined {
  // One entry per open object (its keys so far) or list (undefined).
  const open: (Set<string> | undefined)[] = [];
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      i = closingQuote(text, i);
      if (!keyNext) continue;
      const raw = text.slice(start, i + 1);
      const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      const keys = open.at(-1)!;
      if (keys.has(key)) return { key, at: start };
      keys.add(key);
      keyNext = false;
    } else if (c === '{') {
      open.push(new Set());
      keyNext = true;
    } else if (c === '[') {
      open.push(undefined);
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      keyNext = open.at(-1) !== undefined;
    }
  }
  return undefined;
}

const isNodeWithRange = (v: unknown): v is { range: [number, number, number] } =>
  typeof v === 'object' && v !== null && Array.isArray((v as { range?: unknown }).range);

function parseYaml(name: string, text: string): ParsedSource {
  const lines = new LineCounter();
  let docs: Document.Parsed[];
  try {
    const options: ParseOptions & DocumentOptions & SchemaOptions = { ...KUBERNETES_YAML, lineCounter: lines, prettyErrors: false, uniqueKeys: false };
    const stream = parseAllDocuments(text, options);
    // A stream without documents (empty, or only comments) is not an array.
    docs = Array.isArray(stream) ? stream : [];
  } catch (error) {
    // The parser reports problems as errors on the documents; anything it throws is a limit it hit.
    throw new InputError(name, 'INVALID_YAML', 1, 1, `invalid YAML: ${(error as Error).message}`);
  }
  const at = (offset: number): { line: number; column: number } => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const { line, column } = at(error.pos[0]);
      // Nesting by indentation is not counted before parsing (nestingBeyond counts brackets); the
      // parser follows it recursively and gives up where the stack ends, which is a depth, not a typo.
      if (error.message.startsWith('Maximum call stack size exceeded')) {
        throw new InputError(name, 'TOO_DEEP', line, column, 'the input nests deeper here than it can be read, which no Kubernetes manifest does');
      }
      throw new InputError(name, 'INVALID_YAML', line, column, `invalid YAML: ${error.message}`);
    }
  }
  // The alias limits hold for the whole input, not per document: a stream of small documents must not multiply them.
  let aliases = 0;
  let aliasNodes = 0;
  const documents = docs.map((doc, i): SourceDocument => {
    // The spans tile the text: each document ends where its own range ends, the last one at the end of the text.
    const start = i === 0 ? 0 : docs[i - 1]!.range[2];
    const end = i === docs.length - 1 ? text.length : doc.range[2];
    const line = at(doc.contents?.range[0] ?? doc.range[0]).line;
    const cost = aliasCost(doc);
    aliases += cost.aliases;
    aliasNodes += cost.nodes;
    if (aliases > MAX_ALIASES || aliasNodes > MAX_ALIAS_NODES) {
      const what = aliases > MAX_ALIASES ? `more than ${MAX_ALIASES} aliases` : `aliases that expand to more than ${MAX_ALIAS_NODES} nodes`;
      throw new InputError(name, 'INVALID_YAML', line, 1, `the input has ${what} (counted up to document ${i + 1}), which no Kubernetes manifest needs; write the repeated parts out`);
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      throw new InputError(name, 'INVALID_YAML', line, 1, `unusable YAML in document ${i + 1}: ${(error as Error).message}`);
    }
    const items = isMap(doc.contents) ? doc.contents.get('items', true) : undefined;
    const itemLines = isSeq(items) ? items.items.map((item) => (isNodeWithRange(item) ? at(item.range[0]).line : line)) : undefined;
    const parsed: SourceDocument = { index: i + 1, line, span: [start, end], value, yaml: doc, ...(itemLines && { itemLines }) };
    checkDepth(name, parsed);
    const duplicate = duplicateKey(doc.contents);
    if (duplicate?.range) {
      const { line: l, column } = at(duplicate.range[0]);
      throw new InputError(name, 'INVALID_YAML', l, column, `invalid YAML: ${DUPLICATE_KEY_MESSAGE}`);
    }
    return parsed;
  });
  return { name, text, format: 'yaml', documents };
}

/**
 * Parses a source; 'auto' sniffs the format. A text that looks like JSON but
 * is not valid JSON gets a second chance as YAML (`{kind: Pod}` is YAML), and
 * if that fails too the JSON error is reported, since JSON was evidently meant.
 * Throws InputError.
 */
export function parseSource(name: string, text: string, format: InputFormat | 'auto'): ParsedSource {
  // A byte-order mark is not content; editors on some systems add one. It is put back when the source is written out alone.
  if (text.startsWith('\uFEFF')) return { ...parseText(name, text.slice(1), format), bom: true };
  return parseText(name, text, format);
}

function parseText(name: string, clean: string, format: InputFormat | 'auto'): ParsedSource {
  // Before parsing: both parsers build every level of a deeply nested text (YAML recursively) before a check on the value could refuse it.
  const deep = nestingBeyond(clean, MAX_DEPTH);
  if (deep >= 0) {
    const { line, column } = linePos(clean, deep);
    throw new InputError(name, 'TOO_DEEP', line, column, `the input nests more than ${MAX_DEPTH} brackets deep here, which no Kubernetes manifest does`);
  }
  if (format === 'yaml') return parseYaml(name, clean);
  if (format === 'json') return parseJson(name, clean);
  if (sniffFormat(clean) === 'yaml') return parseYaml(name, clean);
  try {
    return parseJson(name, clean);
  } catch (jsonError) {
    if (!(jsonError instanceof InputError) || jsonError.reason !== 'INVALID_JSON') throw jsonError;
    try {
      return parseYaml(name, clean);
    } catch {
      throw jsonError;
    }
  }
}
