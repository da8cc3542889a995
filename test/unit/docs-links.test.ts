/**
 * Every relative link in README.md and docs/**\/*.md resolves: the file or
 * folder exists (src/, manifests/, test/ included), and a `#anchor` is the
 * GitHub slug of a heading in the Markdown file it points into.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { documentationFiles } from '../../src/docs/files.ts';
import { brokenLinks, headingAnchors, headingSlug, markdownLinks, type LinkWorld } from '../../src/docs/links.ts';

const root = join(import.meta.dirname, '..', '..');
const disk: LinkWorld = { exists: (path) => existsSync(join(root, path)), read: (path) => readFileSync(join(root, path), 'utf8') };

test.each(documentationFiles(root))('every relative link in %s resolves', (file) => {
  const links = markdownLinks(file, disk.read(file));
  expect(brokenLinks(links, disk)).toEqual([]);
});

test('the documentation links every docs page from the README or the docs index', () => {
  const linked = new Set(
    ['README.md', 'docs/README.md'].flatMap((file) => markdownLinks(file, disk.read(file)).map((l) => join(file, '..', l.target.split('#')[0]!))),
  );
  for (const page of documentationFiles(root).filter((f) => f.startsWith('docs/') && f !== 'docs/README.md')) expect(linked).toContain(page);
});

describe('the checker itself', () => {
  test('GitHub heading slugs: lowercase, punctuation but - and _ dropped, spaces to -, repeats numbered', () => {
    expect(headingSlug('Which repositories: `allowedRepos`')).toBe('which-repositories-allowedrepos');
    expect(headingSlug('`POST /preview`')).toBe('post-preview');
    expect(headingSlug('2b. Without cert-manager')).toBe('2b-without-cert-manager');
    expect(headingSlug('Policy sources, live reload and namespace defaults')).toBe('policy-sources-live-reload-and-namespace-defaults');
    expect(headingSlug('Failure policy: `Fail`, and why')).toBe('failure-policy-fail-and-why');
    expect([...headingAnchors('# A\n## Notes\n### Notes\n```sh\n# Notes in a code block\n```\n## Notes!\n')]).toEqual(['a', 'notes', 'notes-1', 'notes-2']);
  });

  test('finds links outside code only', () => {
    const text = 'See [a](a.md#x) and `[not](a link)`.\n```md\n[nor](this.md)\n```\n<a href="b.md">b</a> [web](https://example.com)\n';
    expect(markdownLinks('docs/p.md', text).map((l) => [l.line, l.target])).toEqual([
      [1, 'a.md#x'],
      [5, 'https://example.com'],
      [5, 'b.md'],
    ]);
  });

  test('reports missing files, missing anchors and paths outside the repository; passes good links', () => {
    const files: Record<string, string> = {
      'README.md': '# Title\n## Try it\n',
      'docs/page.md': '# Page\n## Two words\n## Two words\n',
      'src/a.ts': '',
    };
    const world: LinkWorld = {
      exists: (path) => path in files || Object.keys(files).some((f) => f.startsWith(`${path}/`)),
      read: (path) => files[path] ?? '',
    };
    const text = [
      '[ok](../README.md#try-it) [ok](#two-words-1) [ok](../src/a.ts) [ok](../src/) [ok](../src/a.ts#L3) [web](https://example.com/nowhere)',
      '[gone](../src/b.ts) [bad anchor](../README.md#tryit) [own](#nowhere) [out](../../etc/passwd) [code anchor](../src/a.ts#top)',
    ].join('\n');
    expect(brokenLinks(markdownLinks('docs/page.md', text), world)).toEqual([
      'docs/page.md:2: ../src/b.ts: src/b.ts does not exist',
      'docs/page.md:2: ../README.md#tryit: README.md has no heading with the anchor #tryit',
      'docs/page.md:2: #nowhere: docs/page.md has no heading with the anchor #nowhere',
      'docs/page.md:2: ../../etc/passwd: points outside the repository',
      'docs/page.md:2: ../src/a.ts#top: #top is not a heading or line anchor of src/a.ts',
    ]);
  });
});
