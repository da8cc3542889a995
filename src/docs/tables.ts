/**
 * README tables generated from the definitions in code, so the documentation
 * cannot drift from what the injector does: the annotation table, the
 * problem codes, the skip reasons and the policy reference.
 */
import { ANNOTATIONS, ANNOTATION_KEYS, PROBLEM_CODES, SKIP_REASONS } from '../engine/index.ts';
import { BUILTIN_POLICY, POLICY_PROBLEM_CODES, policyReferenceTable } from '../policy/index.ts';

const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function annotationTable(prefix = BUILTIN_POLICY.annotationPrefix): string {
  const rows = ANNOTATION_KEYS.map((key) => {
    const d = ANNOTATIONS[key] as { type: string; allowed: string; default?: string; defaultText?: string; help: string };
    const fallback = d.default !== undefined ? `\`${d.default}\`` : '';
    const dflt = d.defaultText ?? fallback;
    return `| \`${prefix}${key}\` | ${cell(d.type)} | ${cell(d.allowed)} | ${cell(dflt)} | ${cell(d.help)} |`;
  });
  return ['| annotation | type | allowed | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
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

/** The generated sections of the README, by marker name. */
export function generatedSections(): Record<string, string> {
  return { annotations: annotationTable(), problems: problemTable(), skips: skipTable(), policy: policyReferenceTable() };
}

/** Replaces the text between `<!-- NAME:start -->` and `<!-- NAME:end -->` for every generated section. */
export function renderReadme(readme: string, sections = generatedSections()): string {
  let out = readme;
  for (const [name, body] of Object.entries(sections)) {
    const start = `<!-- ${name}:start -->`;
    const end = `<!-- ${name}:end -->`;
    const from = out.indexOf(start);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} section`);
    out = `${out.slice(0, from + start.length)}\n${body}\n${out.slice(to)}`;
  }
  return out;
}
