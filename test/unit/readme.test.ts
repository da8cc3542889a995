import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { renderReadme } from '../../src/docs/tables.ts';
import { ANNOTATION_KEYS } from '../../src/engine/annotations.ts';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

test('the README tables are generated from the code (run `npm run docs` after changing them)', () => {
  expect(renderReadme(readme)).toBe(readme);
});

test('the README documents every annotation', () => {
  for (const key of ANNOTATION_KEYS) expect(readme).toContain(`\`gitsync.dev/${key}\``);
});

test('the README opens with the two commands', () => {
  const head = readme.split('\n').slice(0, 25).join('\n');
  expect(head).toContain('npm start');
  expect(head).toContain('npm test');
});

test('the README\'s complete example policy is valid', async () => {
  const { loadPolicyText } = await import('../../src/policy/load.ts');
  const example = /### A complete example[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  const result = loadPolicyText(example!, 'README example');
  expect(result.problems).toEqual([]);
  expect(result.compiled?.engine.presets.has('docs')).toBe(true);
  expect(example).toBe(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'policies', 'platform-example.yaml'), 'utf8'));
});
