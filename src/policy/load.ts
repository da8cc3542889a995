/**
 * Loading a policy from YAML text or a file: syntax, schema and annotation
 * values are all checked, every problem is reported with where it is in the
 * text, and only a policy without problems is compiled. The same path serves
 * start-up (a file) and live reload (a ConfigMap's text).
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { BUILTIN_POLICY } from './builtin.ts';
import { mustCompile, type CompiledPolicy } from './compile.ts';
import { DUPLICATE_KEY_MESSAGE, duplicateKey } from '../yaml-keys.ts';
import { formatPolicyProblem, type PolicyProblem } from './problems.ts';
import { MAX_POLICY_BYTES } from './schema.ts';
import { validatePolicyDocument } from './validate.ts';

/** Where the policy in force came from when no file or ConfigMap is configured. */
export const BUILTIN_SOURCE = 'built-in';

export interface ParsedPolicyYaml {
  source: string;
  /** The document as plain data; null for an empty document. Undefined when it has syntax errors. */
  document: unknown;
  /** Syntax errors. */
  problems: PolicyProblem[];
  /** Adds the position of each problem's field in the text, where the field appears in it. */
  locate(problems: readonly PolicyProblem[]): PolicyProblem[];
}

export interface LoadedPolicy {
  compiled?: CompiledPolicy;
  problems: PolicyProblem[];
  /** The file path, ConfigMap name or 'built-in': shown by the server next to the policy hash. */
  source: string;
}


/**
 * Finds the node a field path ("gitSync.httpPort", "knownHosts[1]",
 * "resources.limits.memory") names. Keys may themselves contain dots
 * (preset names), so the longest key that fits is taken at each level.
 */
function find(node: unknown, rest: string, wantKey: boolean): Node | undefined {
  if (isSeq(node)) {
    const m = /^\[(\d+)\]\.?/.exec(rest);
    const item: unknown = m ? node.items[Number(m[1])] : undefined;
    if (!m || item === undefined) return undefined;
    return rest.length === m[0].length ? (item as Node) : find(item, rest.slice(m[0].length), wantKey);
  }
  if (!isMap(node)) return undefined;
  let best: { key: Node; value: unknown; name: string } | undefined;
  for (const pair of node.items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (name === undefined || (best && best.name.length >= name.length)) continue;
    if (rest === name || rest.startsWith(`${name}.`) || rest.startsWith(`${name}[`)) best = { key: pair.key as Node, value: pair.value, name };
  }
  if (!best) return undefined;
  if (rest === best.name) return wantKey || !best.value ? best.key : (best.value as Node);
  return find(best.value, rest.slice(best.name.length).replace(/^\./, ''), wantKey);
}

function position(doc: Document, lines: LineCounter, p: PolicyProblem): { line: number; column: number } | undefined {
  // A problem whose value is the last part of its field is about a key (an unknown field, a bad preset name).
  const aboutKey = p.value !== undefined && (p.field === p.value || p.field.endsWith(`.${p.value}`));
  const node = p.field === '' ? doc.contents : find(doc.contents, p.field, aboutKey);
  const offset = node?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

/** In the reader's words, "please use YAML.parseAllDocuments()": advice for a programmer, not for whoever wrote the file. */
const MULTIPLE_DOCUMENTS = 'a second YAML document starts here (a line of ---), and a policy is one document; put every field in one';

/** Parses YAML text; syntax errors become problems with their line and column. */
export function parsePolicyYaml(text: string, source: string): ParsedPolicyYaml {
  const lines = new LineCounter();
  // `merge`: YAML anchors with `<<:` let presets share values. `uniqueKeys`: checked below, in linear time.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: false });
  const locate = (problems: readonly PolicyProblem[]): PolicyProblem[] => problems.map((p) => ({ ...p, ...position(doc, lines, p) }));
  const problem = (offset: number, message: string): PolicyProblem => {
    const { line, col } = lines.linePos(offset);
    return { code: 'POLICY_YAML_INVALID', field: '', message: `invalid YAML: ${message}`, line, column: col };
  };
  const problems = doc.errors.map((e) => problem(e.pos[0], e.code === 'MULTIPLE_DOCS' ? MULTIPLE_DOCUMENTS : e.message));
  const duplicate = duplicateKey(doc.contents);
  if (duplicate?.range) problems.push(problem(duplicate.range[0], DUPLICATE_KEY_MESSAGE));
  problems.sort((a, b) => a.line! - b.line! || a.column! - b.column!);
  if (problems.length > 0) return { source, document: undefined, problems, locate };
  try {
    return { source, document: doc.toJS(), problems, locate };
  } catch (e) {
    // toJS refuses documents that expand aliases excessively (a "billion laughs" document).
    return { source, document: undefined, problems: [{ code: 'POLICY_YAML_INVALID', field: '', message: `unusable YAML: ${(e as Error).message}` }], locate };
  }
}

/**
 * Why a text without a single field is refused. A file truncated and not yet
 * written again reads exactly like this, and taking it as "nothing set" once
 * put the built-in policy (no allowedRepos) in force; asking for the built-in
 * policy takes a document that says so.
 */
export const EMPTY_POLICY_MESSAGE =
  'the policy is empty (nothing but whitespace or comments), as a file caught in the middle of being written is; ' +
  'write {} to use the built-in policy (a document that sets any field takes the built-in values for the rest)';

/**
 * Problems shown for one text; past it they are counted. A text of 50,000
 * unknown keys would otherwise make 50,000 log lines, each located in the text.
 */
export const MAX_POLICY_PROBLEMS = 100;

/** Refuses a text larger than a policy may be, before anything reads it. */
function sizeProblem(text: string): PolicyProblem | undefined {
  // Characters first: counting bytes is a pass over the text, and a text within the limit in bytes is within it in characters.
  if (text.length <= MAX_POLICY_BYTES / 3) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= MAX_POLICY_BYTES) return undefined;
  return {
    code: 'POLICY_TOO_LARGE',
    field: '',
    value: String(bytes),
    message: `the policy is ${bytes} bytes; a policy may have at most ${MAX_POLICY_BYTES} (1 MiB, what a ConfigMap holds)`,
  };
}

/**
 * The problems to show, in the order of the text: the first
 * MAX_POLICY_PROBLEMS found (only those are located in the text), then a
 * line that counts the rest.
 */
function shown(problems: readonly PolicyProblem[], locate: (problems: readonly PolicyProblem[]) => PolicyProblem[]): PolicyProblem[] {
  const located = locate(problems.slice(0, MAX_POLICY_PROBLEMS)).map((p, i) => ({ p, i }));
  // Stable: problems without a position (in a built-in value) come last, in their order.
  located.sort((a, b) => (a.p.line ?? Infinity) - (b.p.line ?? Infinity) || (a.p.column ?? 0) - (b.p.column ?? 0) || a.i - b.i);
  const result = located.map(({ p }) => p);
  const more = problems.length - MAX_POLICY_PROBLEMS;
  if (more > 0) result.push({ code: problems[MAX_POLICY_PROBLEMS]!.code, field: '', message: `${more} more problems, not shown; fix these and check the policy again` });
  return result;
}

/** Validates and compiles a policy text; problems are in the order of the text. */
export function loadPolicyText(text: string, source: string): LoadedPolicy {
  const tooLarge = sizeProblem(text);
  if (tooLarge) return { problems: [tooLarge], source };
  const parsed = parsePolicyYaml(text, source);
  // Syntax problems carry their position already.
  if (parsed.problems.length > 0) return { problems: shown(parsed.problems, (p) => [...p]), source };
  // null: empty, comments only, `---` alone, or an explicit null. `{}` is a map, and means the built-in policy.
  if (parsed.document === null || parsed.document === undefined) return { problems: [{ code: 'POLICY_EMPTY', field: '', message: EMPTY_POLICY_MESSAGE }], source };
  const result = validatePolicyDocument(parsed.document);
  return result.compiled ? { compiled: result.compiled, problems: [], source } : { problems: shown(result.problems, parsed.locate), source };
}

/** A policy that cannot be used, with every problem found in it. */
export class PolicyError extends Error {
  readonly problems: PolicyProblem[];
  readonly source: string;

  constructor(source: string, problems: PolicyProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super([`invalid policy in ${source} (${count}):`, ...problems.map((p) => formatPolicyProblem(p, source))].join('\n'));
    this.name = 'PolicyError';
    this.problems = problems;
    this.source = source;
  }
}

let builtin: CompiledPolicy | undefined;

/** The built-in policy, compiled (once): the one way every command and server gets it. */
export function loadBuiltinPolicy(): { compiled: CompiledPolicy; source: string } {
  builtin ??= mustCompile(BUILTIN_POLICY);
  return { compiled: builtin, source: BUILTIN_SOURCE };
}

/**
 * How long a policy file's bytes must stay the same before they are used.
 * A file rewritten in place is empty, then half written, for as long as the
 * writer takes (150 ms was enough to inject thousands of pods under the wrong
 * policy); the TLS reload waits the same way (tls/reload.ts).
 */
export const POLICY_SETTLE_MS = 1_000;

/**
 * Reads a file until two reads `settleMs` apart give the same bytes: a file
 * is used only once it has stopped changing. `known` is a text already
 * judged: reading it again needs no wait, since nothing new would be used.
 * Throws the file system's error, or an AbortError when `signal` aborts.
 */
export async function readSettled(path: string, settleMs: number, options: { signal?: AbortSignal; known?: string } = {}): Promise<string> {
  let text = await readFile(path, { encoding: 'utf8', signal: options.signal });
  if (text === options.known) return text;
  for (;;) {
    await sleep(settleMs, undefined, { signal: options.signal });
    const again = await readFile(path, { encoding: 'utf8', signal: options.signal });
    if (again === text) return text;
    text = again;
  }
}

/**
 * A policy file, read once it has stopped changing (see readSettled; a
 * `settleMs` of 0 reads it once) and compiled, with the text it was compiled
 * from (a store seeded with it knows an unchanged file when it reads it
 * again). Throws PolicyError listing every problem; a file that cannot be
 * read throws the file system's error, with the path in the message.
 */
export async function readPolicyFile(path: string, options: { settleMs?: number } = {}): Promise<{ compiled: CompiledPolicy; text: string }> {
  let text: string;
  try {
    text = options.settleMs ? await readSettled(path, options.settleMs) : await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read policy file ${path}: ${(e as Error).message}`, { cause: e });
  }
  const loaded = loadPolicyText(text, path);
  if (!loaded.compiled) throw new PolicyError(path, loaded.problems);
  return { compiled: loaded.compiled, text };
}

/** The policy from a file, or the built-in one when no path is given; throws as readPolicyFile does. */
export async function loadPolicy(path?: string): Promise<{ compiled: CompiledPolicy; source: string }> {
  if (path === undefined) return loadBuiltinPolicy();
  return { compiled: (await readPolicyFile(path)).compiled, source: path };
}

/** The policy from a file, compiled; throws PolicyError listing every problem. */
export async function loadPolicyFile(path: string): Promise<CompiledPolicy> {
  return (await loadPolicy(path)).compiled;
}
