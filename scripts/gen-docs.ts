/**
 * Regenerates the generated tables in README.md and docs/**\/*.md from the
 * code (`npm run docs`). test/unit/docs.test.ts fails when a file is out of
 * date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { documentationFiles } from '../src/docs/files.ts';
import { generatedSections, renderMarkdown, sectionPlacementProblems } from '../src/docs/tables.ts';

const root = join(import.meta.dirname, '..');
const sections = generatedSections();
const texts: Record<string, string> = {};
for (const file of documentationFiles(root)) {
  const path = join(root, file);
  const before = readFileSync(path, 'utf8');
  const after = renderMarkdown(before, sections, file);
  texts[file] = after;
  if (after !== before) writeFileSync(path, after);
  console.log(after === before ? `${file} is up to date` : `${file} updated`);
}
const problems = sectionPlacementProblems(texts, sections);
for (const problem of problems) console.error(problem);
if (problems.length > 0) process.exitCode = 1;
