/**
 * The documentation against the code: every generated table in README.md and
 * docs/**\/*.md is what `npm run docs` writes now, each in exactly one place;
 * the README opens with the two commands and documents every annotation; the
 * complete example policy is the one the tests load.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { documentationFiles } from '../../src/docs/files.ts';
import { generatedSections, markedSections, renderMarkdown, sectionPlacementProblems } from '../../src/docs/tables.ts';
import { ANNOTATION_KEYS } from '../../src/engine/annotations.ts';

const root = join(import.meta.dirname, '..', '..');
const files = documentationFiles(root);
const texts = Object.fromEntries(files.map((file) => [file, readFileSync(join(root, file), 'utf8')]));
const readme = texts['README.md']!;

describe('generated tables (run `npm run docs` after changing them)', () => {
  test.each(files)('%s is up to date', (file) => {
    expect(renderMarkdown(texts[file]!, generatedSections(), file)).toBe(texts[file]);
  });

  test('every generated section is in exactly one file, once', () => {
    expect(sectionPlacementProblems(texts)).toEqual([]);
  });

  test('a marker that names no generator fails, and so do unpaired markers', () => {
    const sections = { known: 'BODY' };
    expect(renderMarkdown('a\n<!-- known:start -->\nold\n<!-- known:end -->\nb\n', sections)).toBe('a\n<!-- known:start -->\nBODY\n<!-- known:end -->\nb\n');
    expect(() => renderMarkdown('<!-- nosuch:start -->\n<!-- nosuch:end -->\n', sections, 'x.md')).toThrow(/x\.md: <!-- nosuch:start --> names no generated section/);
    expect(() => markedSections('<!-- known:start -->\n', 'x.md')).toThrow(/has no <!-- known:end -->/);
    expect(() => markedSections('<!-- known:end -->\n', 'x.md')).toThrow(/without <!-- known:start -->/);
    expect(markedSections('mentioned in prose, `<!-- known:start -->`, is not a marker\n')).toEqual([]);
    expect(sectionPlacementProblems({ 'a.md': '' }, sections)).toEqual([expect.stringContaining('"known" is in no file')]);
    const twice = '<!-- known:start -->\n<!-- known:end -->\n';
    expect(sectionPlacementProblems({ 'a.md': twice, 'b.md': twice }, sections)).toEqual([expect.stringContaining('more than one place: a.md, b.md')]);
  });
});

test('the README documents every annotation', () => {
  for (const key of ANNOTATION_KEYS) expect(readme).toContain(`\`gitsync.dev/${key}\``);
});

test('the README opens with the two commands', () => {
  const head = readme.split('\n').slice(0, 25).join('\n');
  expect(head).toContain('npm start');
  expect(head).toContain('npm test');
});

test('the complete example policy is valid', async () => {
  const { loadPolicyText } = await import('../../src/policy/load.ts');
  const heading = /^#+ A complete example$[\s\S]*?```yaml\n([\s\S]*?)```/m;
  const holder = files.find((file) => heading.test(texts[file]!));
  expect(holder).toBe('docs/policy.md');
  const example = heading.exec(texts[holder!]!)?.[1];
  expect(example).toBeDefined();
  const result = loadPolicyText(example!, `${holder} example`);
  expect(result.problems).toEqual([]);
  expect(result.compiled?.engine.presets.has('docs')).toBe(true);
  expect(example).toBe(readFileSync(join(root, 'test', 'fixtures', 'policies', 'platform-example.yaml'), 'utf8'));
});
