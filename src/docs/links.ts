/**
 * Relative links in Markdown, checked the way GitHub renders them: a link to
 * a file or folder must name one that exists, and a `#anchor` must be the
 * slug of a heading in the Markdown file it points into. Links to other
 * sites (`https:`, `mailto:`) are not followed.
 */
import { posix } from 'node:path';

export interface Link {
  /** The file the link is in, relative to the repository root. */
  file: string;
  line: number;
  target: string;
}

/** Lines of a Markdown text outside fenced code blocks, with their numbers. */
function proseLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((line, i) => {
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === undefined) fence = m[1]![0]!.repeat(m[1]!.length);
      else if (m[1]!.startsWith(fence)) fence = undefined;
      return;
    }
    if (fence === undefined) out.push({ line: i + 1, text: line });
  });
  return out;
}

/** GitHub's anchor for a heading text: lowercase, punctuation other than `-` and `_` dropped, spaces to `-`. */
export function headingSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // [text](url) → text
    .replace(/<[^>]+>/g, '') // inline HTML
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Every anchor a Markdown text's headings get; a repeated slug gets `-1`, `-2`, … */
export function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const { text: line } of proseLines(text)) {
    const m = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const slug = headingSlug(m[1]!);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** The inline links `[text](target)` and `<a href>`s of a Markdown text, outside code. */
export function markdownLinks(file: string, text: string): Link[] {
  const links: Link[] = [];
  for (const { line, text: raw } of proseLines(text)) {
    const prose = raw.replace(/(`+)[\s\S]*?\1/g, ''); // inline code spans
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ file, line, target: m[1]! });
    for (const m of prose.matchAll(/<a\s[^>]*href="([^"]+)"/g)) links.push({ file, line, target: m[1]! });
  }
  return links;
}

/** What the checker needs to know about the repository. */
export interface LinkWorld {
  /** Whether a path (relative to the repository root, without a trailing `/`) exists, file or folder. */
  exists(path: string): boolean;
  /** The text of a Markdown file (relative to the root), for its headings. */
  read(path: string): string;
}

/**
 * The broken links among `links`, each with why: a file or folder that does
 * not exist, a path outside the repository, or an anchor no heading has.
 */
export function brokenLinks(links: Link[], world: LinkWorld): string[] {
  const anchorsOf = new Map<string, Set<string>>();
  const anchors = (path: string): Set<string> => {
    let found = anchorsOf.get(path);
    if (!found) anchorsOf.set(path, (found = headingAnchors(world.read(path))));
    return found;
  };
  const problems: string[] = [];
  for (const { file, line, target } of links) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
    const where = `${file}:${line}: ${target}`;
    const hash = target.indexOf('#');
    const pathPart = decodeURI(hash === -1 ? target : target.slice(0, hash));
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const path = pathPart === '' ? file : posix.normalize(posix.join(posix.dirname(file), pathPart)).replace(/\/$/, '');
    if (path === '..' || path.startsWith('../') || posix.isAbsolute(path)) {
      problems.push(`${where}: points outside the repository`);
      continue;
    }
    if (!world.exists(path)) {
      problems.push(`${where}: ${path} does not exist`);
      continue;
    }
    if (anchor === undefined || anchor === '') continue;
    if (!path.endsWith('.md')) {
      if (!/^L\d+(-L\d+)?$/.test(anchor)) problems.push(`${where}: #${anchor} is not a heading or line anchor of ${path}`);
      continue;
    }
    if (!anchors(path).has(anchor)) problems.push(`${where}: ${path} has no heading with the anchor #${anchor}`);
  }
  return problems;
}
