/**
 * Writing data as YAML (or JSON) for Kubernetes and for people, with every
 * string quoted where any reader in a pipeline could take it for something
 * else. Readers differ: Kubernetes reads YAML 1.1 with go-yaml v2 (`on` is a
 * boolean, `0755` octal), PyYAML and older tools also read timestamps and
 * base-60 numbers (`2024-01-01`, `12:30`), YAML 1.2 readers read `0o17` and
 * `.inf`. A plain (unquoted) string is written only when all of them read it
 * back as that very string; anything else is quoted.
 */
import { Document, visit, type Node, type SchemaOptions } from 'yaml';
import type { YamlStyle } from './yaml-patch.ts';

/** How added content is written: block YAML, flow YAML (inside `{}`/`[]`), or JSON (inside a document written as JSON). */
export type Layout = 'block' | 'flow' | 'json';

/**
 * Characters a plain string may be made of, conservatively: go-yaml v2 (what
 * kubectl reads with) refuses some plain scalars other YAML readers accept,
 * such as `:1234` inside a flow mapping. In flow context `:`, `,`, `[`, `]`,
 * `{`, `}` and `#` end or break a plain scalar, so only the plainest
 * strings stay plain there; in block context the usual URL and image
 * characters are fine, but nothing may start with an indicator.
 */
const PLAIN_FLOW = /^[A-Za-z0-9_/][A-Za-z0-9_./-]*$/;
const PLAIN_BLOCK = /^[A-Za-z0-9_/][A-Za-z0-9_./:@+=~-]*$/;

/**
 * How YAML 1.1 (with timestamps, base-60 numbers and merge keys, as PyYAML
 * reads it) and YAML 1.2 (core schema) resolve a plain scalar: every tag's
 * test but the string's. A string that none of them matches is read as that
 * string by all. Tests, not a parse per string: the preview writes answers of
 * megabytes with this.
 */
const RESOLVERS: readonly RegExp[] = (['1.1', '1.2'] as const).flatMap((version) =>
  new Document(null, { version }).schema.tags.flatMap((t) => (t.tag !== 'tag:yaml.org,2002:str' && t.test ? [t.test] : [])),
);

/** Whether every reader reads `text`, written plain, as the string `text`. */
const readsAsItself = (text: string): boolean => !RESOLVERS.some((test) => test.test(text));

/** Whether `text` may be written as a plain scalar in the given context. */
export function plainIsSafe(text: string, context: 'block' | 'flow'): boolean {
  // `: ` never matches the patterns' character classes with a space, and a trailing `:` would end a key.
  if (!(context === 'flow' ? PLAIN_FLOW : PLAIN_BLOCK).test(text) || text.endsWith(':')) return false;
  return readsAsItself(text);
}

/**
 * Characters JSON leaves as they are but that YAML 1.1 takes for line breaks
 * or byte-order marks (NEL, LS, PS, BOM), and other C1 controls: escaped so
 * that every reader sees the same characters.
 */
const UNSAFE_IN_QUOTES = /[\u007f-\u009f\u2028\u2029\ufeff]/g;

/** A double-quoted scalar that is valid JSON and valid YAML (JSON escapes are YAML escapes). */
export const doubleQuoted = (text: string): string =>
  JSON.stringify(text).replace(UNSAFE_IN_QUOTES, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** No character a single-quoted scalar would fold, trim or hide. */
const SINGLE_QUOTABLE = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff']*$/;

/** A scalar in a flow collection (YAML) or a JSON value. */
function flowScalar(value: unknown, layout: 'flow' | 'json'): string {
  if (typeof value === 'string') {
    if (layout === 'flow' && plainIsSafe(value, 'flow')) return value;
    // JSON inside a string (the status annotation) reads best in single quotes, as the block writer does.
    if (layout === 'flow' && value.includes('"') && SINGLE_QUOTABLE.test(value)) return `'${value}'`;
    return doubleQuoted(value);
  }
  if (value === null || value === undefined) return 'null';
  return JSON.stringify(value);
}

/** Lines longer than this are broken up: one member or item per line. */
const FLOW_WIDTH = 100;

/**
 * A value written in flow style (or as JSON), laid out for people: a
 * collection that fits on a line of FLOW_WIDTH stays on one line, a longer one
 * gets one member per line, indented one step deeper than `indent` (the
 * column of the line it starts on), with its closing bracket back at `indent`.
 */
export function flowText(value: unknown, layout: 'flow' | 'json', indent: number, step: number, padding = false): string {
  if (typeof value !== 'object' || value === null) return flowScalar(value, layout);
  const list = Array.isArray(value);
  const entries: [string | undefined, unknown][] = list ? value.map((v) => [undefined, v]) : Object.entries(value);
  const [open, close] = list ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return open + close;
  const key = (k: string | undefined): string => (k === undefined ? '' : `${flowScalar(k, layout)}: `);
  const pad = padding && layout === 'flow' ? ' ' : '';
  const inline = `${open}${pad}${entries.map(([k, v]) => key(k) + flowText(v, layout, 0, step, padding)).join(', ')}${pad}${close}`;
  if (!inline.includes('\n') && indent + inline.length <= FLOW_WIDTH) return inline;
  const inner = ' '.repeat(indent + step);
  const lines = entries.map(([k, v]) => inner + key(k) + flowText(v, layout, indent + step, step, padding));
  return `${open}\n${lines.join(',\n')}\n${' '.repeat(indent)}${close}`;
}

/** Characters that only a double-quoted scalar can hold as themselves, and then only escaped. */
const NEEDS_ESCAPE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;

/**
 * Marks every string scalar of a new node that a reader could misread as
 * quoted: double quotes, or single quotes for JSON text such as the status
 * annotation; multi-line strings are left to the writer's block scalars.
 */
export function quoteForReaders(node: Node): void {
  visit(node, {
    Scalar(_, scalar) {
      const value = scalar.value;
      if (typeof value !== 'string') return;
      if (NEEDS_ESCAPE.test(value)) scalar.type = 'QUOTE_DOUBLE';
      else if (value.includes('\n') || plainIsSafe(value, 'block')) return;
      else scalar.type = value.includes('"') && SINGLE_QUOTABLE.test(value) ? 'QUOTE_SINGLE' : 'QUOTE_DOUBLE';
    },
  });
}

type Tags = Exclude<NonNullable<SchemaOptions['customTags']>, (tags: never) => unknown>;

/** The YAML 1.1 tags but the merge key's, whose writer would write a `<<` string plain (and so as a merge). */
const withoutMerge = (tags: Tags): Tags => tags.filter((t) => (typeof t === 'string' ? t : t.tag) !== 'tag:yaml.org,2002:merge');

/**
 * YAML 1.1 (what Kubernetes reads), quoted for every reader; no line
 * folding: a folded annotation value would still be correct, but
 * unreadable; no anchors, even for repeated values; `<<` is a key like any
 * other, never a merge.
 */
export function yamlText(value: unknown, style: Partial<YamlStyle> = {}): string {
  const doc = new Document(value, { version: '1.1', aliasDuplicateObjects: false, customTags: withoutMerge });
  if (doc.contents) quoteForReaders(doc.contents);
  // The writer leaves NEL, LS, PS and C1 controls raw inside double quotes, where YAML 1.1 readers take them for
  // line breaks or refuse them; quoteForReaders put every string holding one in double quotes, so escaping them
  // in the text escapes them inside those quotes.
  return doc.toString({ lineWidth: 0, indentSeq: false, ...style }).replace(UNSAFE_IN_QUOTES, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
