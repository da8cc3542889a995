/**
 * The repository allow-list: which repositories pods may sync.
 *
 * A pattern is `host[:port]/path`, where the path is either a whole
 * repository (`github.com/acme/dags`) or ends in a wildcard part:
 *
 *   github.com/acme/*          every repository directly under acme
 *   gitlab.example.com/data/** every repository under data, in subgroups too
 *   git.example.com/**         every repository on the host
 *
 * A repository URL is reduced to the same shape before it is compared, so
 * that the three ways of writing one repository are one repository:
 * https://github.com/acme/dags.git, ssh://git@github.com/acme/dags and
 * git@github.com:acme/dags.git all become github.com/acme/dags. Hosts compare
 * without regard to case; the scheme and the user name are left out; one
 * trailing `.git` and a trailing '/' are dropped; paths compare exactly (git
 * servers differ on case, and refusing is the safe side). A pattern without
 * a port matches any port on its host (ssh on 2222 and https on 443 reach the
 * same server); a pattern with a port matches only URLs that reach that
 * port, counting 443 for https:// and 22 for ssh:// and scp-style URLs that
 * give none.
 *
 * Patterns are parsed once, when the policy is compiled; matching a pod's
 * repository is then a few string comparisons.
 *
 * Patterns are only ever written in a policy, so their parser leaves the
 * problem code to the policy (which reports every policy value it refuses
 * under its own codes): a refusal here is just the sentence that says why.
 */
import { quote } from '../problems.ts';
import { parseRepo, type GitRepo } from './repo.ts';

/** A parsed pattern, or the sentence completing "allowedRepos[i]: …" that says why it is not one. */
export type PatternParse<T> = { ok: true; value: T } | { ok: false; message: string };

const refuse = (message: string): PatternParse<never> => ({ ok: false, message });

export interface RepoPattern {
  /** The pattern in its canonical spelling, as shown in messages. */
  text: string;
  /** Lower-case host; IPv6 without brackets. */
  host: string;
  /** Only URLs that reach this port match; undefined matches any port. */
  port?: number;
  /** The literal path parts before the wildcard, if any. */
  parts: readonly string[];
  /** `exact`: the path is a repository; `one`: one more part (`*`); `any`: one or more (`**`). */
  wildcard: 'exact' | 'one' | 'any';
}

const EXAMPLES = 'such as github.com/acme/*, gitlab.example.com/data/** or github.com/acme/dags';
// The characters repository paths use (as in repo.ts), without '%': patterns are written decoded.
const PART = /^[A-Za-z0-9._~+@-]+$/;

const stripGitSuffix = (part: string): string => (part.length > 4 && part.endsWith('.git') ? part.slice(0, -4) : part);
const hostText = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** What a URL-shaped pattern should have been written as, for the message. */
function suggestionFor(raw: string): string | undefined {
  const url = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^@/]*@)?(.*)$/.exec(raw);
  if (url) return url[1];
  const scp = /^[^@/:]+@([^:/]+):(.*)$/.exec(raw);
  return scp ? `${scp[1]}/${scp[2]}` : undefined;
}

/**
 * Parses one allow-list pattern into its canonical form. Messages complete
 * "allowedRepos[i]: …".
 */
export function readRepoPattern(raw: string): PatternParse<RepoPattern> {
  const suggested = suggestionFor(raw);
  if (suggested !== undefined) {
    return refuse(`${quote(raw)} is a URL; write the pattern without scheme and user, as ${quote(suggested)}`);
  }
  if (raw === '' || /\s/.test(raw)) return refuse(`${quote(raw)} is not a repository pattern; use host/path, ${EXAMPLES}`);
  const slash = raw.indexOf('/');
  const hostPart = slash < 0 ? raw : raw.slice(0, slash);
  const path = slash < 0 ? '' : raw.slice(slash + 1);
  if (path === '') {
    return refuse(`${quote(raw)} names no path; write ${quote(`${hostPart}/**`)} to allow every repository on the host`);
  }
  // Hosts and ports are checked exactly as repository URLs check them.
  const probe = /^[A-Za-z0-9.[\]:-]*[A-Za-z0-9\]]$/.test(hostPart) ? parseRepo(`ssh://git@${hostPart}/x`) : undefined;
  if (!probe?.ok) return refuse(`${quote(raw)} has an invalid host ${quote(hostPart)}; use host/path, ${EXAMPLES}`);
  const { host, port } = probe.value;
  if (port === 0) return refuse(`${quote(raw)} has port 0; use a port from 1 to 65535, or none to match any port`);

  const parts = path.split('/');
  const last = parts.at(-1)!;
  const wildcard = last === '**' ? 'any' : last === '*' ? 'one' : 'exact';
  const literal = wildcard === 'exact' ? parts : parts.slice(0, -1);
  for (const part of literal) {
    if (part.includes('*')) {
      return refuse(`${quote(raw)} has a wildcard inside the path; a wildcard is a whole last part: * (one level) or ** (any depth)`);
    }
    if (part === '' || part === '.' || part === '..' || !PART.test(part)) {
      return refuse(`${quote(raw)} has an invalid path part ${quote(part)}; use host/path, ${EXAMPLES}`);
    }
  }
  if (wildcard === 'exact') literal[literal.length - 1] = stripGitSuffix(last);
  const text = `${hostText(host)}${port !== undefined ? `:${port}` : ''}/${[...literal, ...(wildcard === 'exact' ? [] : [last])].join('/')}`;
  return { ok: true, value: { text, host, ...(port !== undefined && { port }), parts: literal, wildcard } };
}

/**
 * The path parts of a repository as patterns see them: percent-escapes
 * decoded (a server decodes them too), one `.git` dropped from the last part.
 * A part that decodes to something with '/' in it, or to nothing, would split
 * differently on the server than here, so such a path matches no pattern.
 */
function repoParts(repo: GitRepo): string[] | undefined {
  const parts = repo.path.replace(/\/+$/, '').split('/');
  const decoded: string[] = [];
  for (const part of parts) {
    let d: string;
    try {
      d = decodeURIComponent(part);
    } catch {
      return undefined;
    }
    if (d === '' || d === '.' || d === '..' || d.includes('/')) return undefined;
    decoded.push(d);
  }
  decoded[decoded.length - 1] = stripGitSuffix(decoded.at(-1)!);
  return decoded;
}

const effectivePort = (repo: GitRepo): number => repo.port ?? (repo.transport === 'https' ? 443 : 22);

function matchesPattern(pattern: RepoPattern, repo: GitRepo, parts: readonly string[]): boolean {
  if (pattern.host !== repo.host) return false;
  if (pattern.port !== undefined && pattern.port !== effectivePort(repo)) return false;
  const n = pattern.parts.length;
  if (pattern.wildcard === 'exact' ? parts.length !== n : pattern.wildcard === 'one' ? parts.length !== n + 1 : parts.length <= n) return false;
  return pattern.parts.every((p, i) => p === parts[i]);
}

/** Whether the repository is allowed: an empty allow-list allows every repository. */
export function repoAllowed(patterns: readonly RepoPattern[], repo: GitRepo): boolean {
  if (patterns.length === 0) return true;
  const parts = repoParts(repo);
  return parts !== undefined && patterns.some((p) => matchesPattern(p, repo, parts));
}

/** How many patterns a denial lists before it says how many more there are. */
const LISTED = 10;

/** The allow-list as a denial shows it. */
export function describePatterns(patterns: readonly RepoPattern[]): string {
  const shown = patterns.slice(0, LISTED).map((p) => p.text);
  const more = patterns.length - shown.length;
  return more > 0 ? `${shown.join(', ')} (and ${more} more)` : shown.join(', ');
}
