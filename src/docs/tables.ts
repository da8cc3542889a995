/**
 * Documentation tables generated from the definitions in code, so the
 * documentation cannot drift from what the injector does: the annotation
 * table, the problem codes, the skip reasons, the policy reference and the
 * HTTP error reasons.
 *
 * A generated section is the text between the lines `<!-- NAME:start -->`
 * and `<!-- NAME:end -->` in any Markdown file (README.md, docs/*.md);
 * `npm run docs` rewrites them and test/unit/docs.test.ts fails when one is
 * out of date, when a marker names no generator, or when a generator's
 * section is missing or appears twice.
 */
import { ANNOTATIONS, ANNOTATION_KEYS, PROBLEM_CODES, SKIP_REASONS } from '../engine/index.ts';
import { BUILTIN_POLICY, POLICY_PROBLEM_CODES, policyReferenceTable } from '../policy/index.ts';
import { httpErrorTable } from '../server/index.ts';
import { ANNOTATION_EXPORT, EXPORT_REFUSAL_CODES, OTHER_FEATURES } from '../export/index.ts';

/** How the table shows whether a named repository has its own value (docs/several-repositories.md). */
const SCOPES = {
  pod: 'no: the whole pod',
  repository: '`<name>.`key; else the policy default',
  distinct: '`<name>.`key only',
} as const;

const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function annotationTable(prefix = BUILTIN_POLICY.annotationPrefix): string {
  const rows = ANNOTATION_KEYS.map((key) => {
    const d = ANNOTATIONS[key] as { type: string; allowed: string; default?: string; defaultText?: string; help: string; scope: keyof typeof SCOPES };
    const fallback = d.default !== undefined ? `\`${d.default}\`` : '';
    const dflt = d.defaultText ?? fallback;
    return `| \`${prefix}${key}\` | ${cell(d.type)} | ${cell(d.allowed)} | ${cell(dflt)} | ${SCOPES[d.scope]} | ${cell(d.help)} |`;
  });
  return ['| annotation | type | allowed | default | per repository | meaning |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

export function problemTable(): string {
  // The engine's codes (pods), then the policy's own (a policy that does not load).
  const rows = Object.entries({ ...PROBLEM_CODES, ...POLICY_PROBLEM_CODES }).map(([code, text]) => `| \`${code}\` | ${cell(text)} |`);
  return ['| code | meaning |', '|---|---|', ...rows].join('\n');
}

export function skipTable(): string {
  const rows = Object.entries(SKIP_REASONS).map(([reason, text]) => `| \`${reason}\` | ${cell(text)} |`);
  return ['| reason | meaning |', '|---|---|', ...rows].join('\n');
}

const DECISIONS = { exported: 'exported', difference: 'exported, with a difference', 'webhook-only': 'webhook only' } as const;

/** The webhook-free export's feature table (docs/webhook-free.md), from the decisions in src/export/features.ts. */
export function webhookFreeTable(prefix = BUILTIN_POLICY.annotationPrefix): string {
  const rows = ANNOTATION_KEYS.map((key) => {
    const row = ANNOTATION_EXPORT[key];
    const values = row.allowed ? `values served: ${row.allowed}` : '';
    const note = [row.note, values].filter(Boolean).join('; ');
    return `| \`${prefix}${key}\` | ${DECISIONS[row.decision]} | ${cell(note)} |`;
  });
  const others = OTHER_FEATURES.map((f) => `| ${cell(f.feature)} | ${DECISIONS[f.decision]} | ${cell(f.note)} |`);
  return ['| feature | webhook-free | notes |', '|---|---|---|', ...rows, ...others].join('\n');
}

/** Why a policy is not exported: the refusal codes of `export-policy`. */
export function exportRefusalTable(): string {
  const rows = Object.entries(EXPORT_REFUSAL_CODES).map(([code, text]) => `| \`${code}\` | ${cell(text)} |`);
  return ['| code | meaning |', '|---|---|', ...rows].join('\n');
}

/** Every generated section, by marker name: the body to put between its markers. */
export function generatedSections(): Record<string, string> {
  return { annotations: annotationTable(), problems: problemTable(), skips: skipTable(), policy: policyReferenceTable(), 'http-errors': httpErrorTable(), 'webhook-free': webhookFreeTable(), 'export-refusals': exportRefusalTable() };
}

/** A pair of markers in a text: the section's name and where its body lies. */
export interface MarkedSection {
  name: string;
  /** Offset just after the start marker. */
  from: number;
  /** Offset of the end marker. */
  to: number;
}

/** A marker is a line of its own, so that prose and code can mention one. */
const MARKER = /^<!-- ([A-Za-z0-9_-]+):(start|end) -->$/gm;

/**
 * The generated sections a Markdown text marks, in order. Throws when a start
 * marker has no end marker (or the other way round), or when sections nest.
 */
export function markedSections(text: string, file = 'the text'): MarkedSection[] {
  const found: MarkedSection[] = [];
  let open: { name: string; from: number } | undefined;
  for (const m of text.matchAll(MARKER)) {
    const [marker, name, side] = m as unknown as [string, string, 'start' | 'end'];
    if (side === 'start') {
      if (open) throw new Error(`${file}: ${marker} inside the section ${open.name}; close it with <!-- ${open.name}:end --> first`);
      open = { name, from: m.index + marker.length };
    } else {
      if (open?.name !== name) throw new Error(`${file}: ${marker} without <!-- ${name}:start --> before it`);
      found.push({ name, from: open.from, to: m.index });
      open = undefined;
    }
  }
  if (open) throw new Error(`${file}: <!-- ${open.name}:start --> has no <!-- ${open.name}:end -->`);
  return found;
}

/**
 * Replaces the body of every generated section in a Markdown text with what
 * its generator renders now. A marker whose name has no generator is an
 * error; a text without markers comes back unchanged.
 */
export function renderMarkdown(text: string, sections: Record<string, string> = generatedSections(), file = 'the text'): string {
  let out = '';
  let at = 0;
  for (const { name, from, to } of markedSections(text, file)) {
    const body = sections[name];
    if (body === undefined) {
      throw new Error(`${file}: <!-- ${name}:start --> names no generated section; known: ${Object.keys(sections).join(', ')}`);
    }
    out += `${text.slice(at, from)}\n${body}\n`;
    at = to;
  }
  return out + text.slice(at);
}

/**
 * Where each generated section is, across a set of files (path → text).
 * Returns the problems: a section no file holds, or one held more than once.
 */
export function sectionPlacementProblems(files: Record<string, string>, sections: Record<string, string> = generatedSections()): string[] {
  const places = new Map<string, string[]>(Object.keys(sections).map((name) => [name, []]));
  for (const [path, text] of Object.entries(files)) {
    for (const { name } of markedSections(text, path)) places.get(name)?.push(path);
  }
  const problems: string[] = [];
  for (const [name, paths] of places) {
    if (paths.length === 0) problems.push(`the generated section "${name}" is in no file; add <!-- ${name}:start --> and <!-- ${name}:end --> where it belongs`);
    if (paths.length > 1) problems.push(`the generated section "${name}" is in more than one place: ${paths.join(', ')}`);
  }
  return problems;
}
