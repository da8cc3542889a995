/**
 * The import graph of src/, by folder, and the rules the architecture keeps:
 *
 * 1. The engine is pure by construction: a file in src/engine/ imports
 *    nothing in src/ outside the engine, and of packages only types, plus the
 *    few runtime modules listed in ENGINE_RUNTIME_PACKAGES (no file system,
 *    network or process).
 * 2. A folder is used through its public surface: a file imports another
 *    folder only through that folder's index.ts (or a sub-folder's index.ts,
 *    such as policy/sources/, which is loaded lazily on its own). Top-level
 *    files (src/log.ts, src/version.ts) are modules of one file.
 * 3. No cycles between folders.
 *
 * test/unit/architecture.test.ts fails when a rule is broken; run this file
 * (`npm run imports`) to print the folder graph.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Packages the engine may import for more than types. */
export const ENGINE_RUNTIME_PACKAGES: ReadonlySet<string> = new Set(['node:crypto']);

export interface ImportEdge {
  /** Importing file, relative to src/ with '/' separators. */
  from: string;
  /** The specifier as written. */
  specifier: string;
  /** For relative specifiers: the imported file, relative to src/ ('../x' when outside src/). */
  to?: string;
  /** `import type` / `export type`: erased at run time. */
  typeOnly: boolean;
}

// Static imports and re-exports (possibly over several lines), and dynamic import('…').
const STATIC = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The imports of one file's text; `file` is its path relative to src/. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const add = (specifier: string, typeOnly: boolean): void => {
    const edge: ImportEdge = { from: file, specifier, typeOnly };
    if (specifier.startsWith('.')) edge.to = join(dirname(file), specifier).split(sep).join('/');
    edges.push(edge);
  };
  for (const m of text.matchAll(STATIC)) add(m[3]!, m[2] !== undefined);
  for (const m of text.matchAll(DYNAMIC)) add(m[1]!, false);
  return edges;
}

/** The module a file belongs to: its top-level folder, or the file itself at the top. */
export const moduleOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : file);

/** Whether `to` is a public surface another module may import: an index.ts, or a top-level file. */
const isPublic = (to: string): boolean => !to.includes('/') || to.endsWith('/index.ts');

/** Every broken rule, as one sentence each. */
export function violations(edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const from = moduleOf(e.from);
    if (from === 'engine') {
      if (e.to !== undefined && moduleOf(e.to) !== 'engine') out.push(`${e.from} imports ${e.specifier}: the engine imports nothing outside src/engine/`);
      if (e.to === undefined && !e.typeOnly && !ENGINE_RUNTIME_PACKAGES.has(e.specifier)) {
        out.push(`${e.from} imports ${e.specifier} at run time: the engine takes only types from packages (besides ${[...ENGINE_RUNTIME_PACKAGES].join(', ')})`);
      }
    }
    if (e.to === undefined || e.to.startsWith('..')) continue;
    if (moduleOf(e.to) !== from && !isPublic(e.to)) {
      out.push(`${e.from} imports ${e.specifier}: another folder's internals; import it from that folder's index.ts`);
    }
  }
  for (const cycle of folderCycles(edges)) out.push(`folders import each other: ${cycle.join(' → ')}`);
  return out;
}

/** The folder graph: module → the modules it imports. */
export function folderGraph(edges: readonly ImportEdge[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const e of edges) {
    const from = moduleOf(e.from);
    if (!graph.has(from)) graph.set(from, new Set());
    if (e.to === undefined || e.to.startsWith('..')) continue;
    const to = moduleOf(e.to);
    if (to !== from) graph.get(from)!.add(to);
  }
  return graph;
}

/** Each cycle between folders, once, as the path that closes it (a → b → a). */
export function folderCycles(edges: readonly ImportEdge[]): string[][] {
  const graph = folderGraph(edges);
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of [...(graph.get(node) ?? [])].sort()) {
      if (state.get(next) === 'open') {
        const cycle = [...stack.slice(stack.indexOf(next)), next];
        const key = [...cycle.slice(0, -1)].sort().join(' ');
        if (!seen.has(key)) cycles.push(cycle), seen.add(key);
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

/** Every .ts file under `root`, relative to it. */
function sourceFiles(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(root, path);
    return entry.name.endsWith('.ts') ? [relative(root, path).split(sep).join('/')] : [];
  });
}

/** The imports of every file in src/. */
export function sourceImports(src = resolve(import.meta.dirname, '..', 'src')): ImportEdge[] {
  return sourceFiles(src).flatMap((file) => importsOf(file, readFileSync(join(src, file), 'utf8')));
}

/** What `npm run imports` prints: the folder graph, then every broken rule (or that none is). */
export function report(edges: readonly ImportEdge[]): string {
  const lines = [...folderGraph(edges)]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([from, to]) => `${from.padEnd(12)} → ${[...to].sort().join(', ') || '(nothing)'}`);
  const broken = violations(edges);
  return [...lines, '', ...(broken.length === 0 ? ['no rule broken: the engine is pure, folders meet at their index.ts, no cycles'] : broken)].join('\n');
}

if (import.meta.main) {
  const edges = sourceImports();
  console.log(report(edges));
  process.exitCode = violations(edges).length === 0 ? 0 : 1;
}
