/**
 * Regenerates the README's tables from the code (`npm run docs`).
 * test/unit/readme.test.ts fails when the README is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderReadme } from '../src/docs/tables.ts';

const path = join(import.meta.dirname, '..', 'README.md');
const before = readFileSync(path, 'utf8');
const after = renderReadme(before);
if (after !== before) writeFileSync(path, after);
console.log(after === before ? 'README.md is up to date' : 'README.md updated');
