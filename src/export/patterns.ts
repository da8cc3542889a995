/**
 * The policy's repository allow-list as anchored regexes over the repository
 * URL, for the URLs the export serves (features.ts: a lower-case host, no
 * percent-escapes, no trailing '/'). The engine reduces a URL to host and
 * path parts and compares (src/engine/values/repo-pattern.ts); over that
 * envelope, these regexes decide the same, which
 * test/property/export-patterns.test.ts checks against the engine's
 * repoAllowed.
 */
import type { RepoPattern } from '../engine/index.ts';
import { escapeRegex } from './cel.ts';

const PART = '[^/]+';

export function repoPatternRegex(p: RepoPattern): RegExp {
  const host = escapeRegex(p.host);
  // Ports: a pattern without one matches any; with one, the URL's port or the transport's default.
  const anyPort = '(?::[0-9]+)?';
  const https = p.port === undefined ? anyPort : p.port === 443 ? '(?::443)?' : `:${p.port}`;
  const ssh = p.port === undefined ? anyPort : p.port === 22 ? '(?::22)?' : `:${p.port}`;
  const prefixes = [`https://${host}${https}/`, `ssh://git@${host}${ssh}/`];
  if (p.port === undefined || p.port === 22) prefixes.push(`git@${host}:`);
  const literal = p.parts.map(escapeRegex);
  let path: string;
  if (p.wildcard === 'exact') {
    // One `.git` on the last part is dropped before comparing; stripped only from a part longer than four characters.
    // A last part that still ends in .git after that only matches a URL that wrote .git twice.
    const last = p.parts.at(-1) ?? '';
    path = last.length > 4 && last.endsWith('.git') ? `${literal.join('/')}\\.git` : `${literal.join('/')}(?:\\.git)?`;
  } else {
    const before = literal.length ? `${literal.join('/')}/` : '';
    path = p.wildcard === 'one' ? `${before}${PART}` : `${before}${PART}(?:/${PART})*`;
  }
  return new RegExp(`^(?:${prefixes.join('|')})${path}$`);
}
