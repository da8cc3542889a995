/**
 * The project's documentation files: README.md and every Markdown file under
 * docs/, as paths relative to the repository root, sorted.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function documentationFiles(root: string): string[] {
  const found: string[] = ['README.md'];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) found.push(path);
    }
  };
  if (existsSync(join(root, 'docs'))) walk('docs');
  return found;
}
