import { fail, ok, type Parsed } from './result.ts';
import { quote } from '../problems.ts';

export interface GitRepo {
  /** The URL exactly as git-sync will receive it. */
  url: string;
  transport: 'https' | 'ssh';
  /** Lower-case host name, without brackets for IPv6. */
  host: string;
  port?: number;
  /** Path on the server, without leading '/'. */
  path: string;
}

// Host names are DNS names or IP literals. A host or user that begins with '-'
// would be read by ssh as an option (CVE-2017-1000117), so neither may.
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;
const SSH_USER = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/;
// Repository paths: the characters real hosting services use. No spaces, quotes,
// backslashes or shell metacharacters.
const REPO_PATH = /^[A-Za-z0-9._~%+@-]+(?:\/[A-Za-z0-9._~%+@-]+)*\/?$/;
const SCP_LIKE = /^(?:([^@/:]+)@)?([^@/:[\]]+|\[[^\]]+\]):(.*)$/;

const ALLOWED = 'use https://host/org/repo.git, ssh://git@host/org/repo.git or git@host:org/repo.git';

function checkHost(raw: string, host: string): Parsed<string> {
  if (HOSTNAME.test(host) || IPV6.test(host)) return ok(host.replace(/^\[|\]$/g, '').toLowerCase());
  return fail('REPO_INVALID', `${quote(raw)} has an invalid host ${quote(host)}; ${ALLOWED}`);
}

function checkPath(raw: string, path: string): Parsed<string> {
  const trimmed = path.replace(/^\/+/, '');
  const segments = trimmed.split('/');
  // '.', '..' and percent-encoded dots would be resolved away by git's URL
  // handling; refusing them keeps the written URL the one that is fetched.
  const dotted = segments.some((s) => s === '.' || s === '..') || /%2e/i.test(trimmed);
  if (trimmed === '' || !REPO_PATH.test(trimmed) || dotted || trimmed.startsWith('-')) {
    return fail('REPO_INVALID', `${quote(raw)} has no valid repository path; ${ALLOWED}`);
  }
  return ok(trimmed);
}

function parseUrlForm(raw: string): Parsed<GitRepo> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail('REPO_INVALID', `${quote(raw)} is not a valid URL; ${ALLOWED}`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'https' && scheme !== 'ssh') {
    const why = scheme === 'http' || scheme === 'git' ? 'is not encrypted' : 'is not supported';
    return fail('REPO_INVALID', `${quote(raw)} uses ${scheme}://, which ${why}; ${ALLOWED}`);
  }
  const authority = /^[a-z]+:\/\/([^/]*)/i.exec(raw)?.[1] ?? '';
  if (url.password || (scheme === 'https' && authority.includes('@'))) {
    return fail(
      'REPO_CREDENTIALS_IN_URL',
      `${quote(raw.replace(/\/\/[^@/]*@/, '//***@'))} carries credentials; remove them from the URL, put them in a Secret and name it with the secret annotation`,
    );
  }
  if (url.search || url.hash) return fail('REPO_INVALID', `${quote(raw)} has a query or fragment; ${ALLOWED}`);
  if (url.username && !SSH_USER.test(decodeURIComponent(url.username))) {
    return fail('REPO_INVALID', `${quote(raw)} has an invalid user name; ${ALLOWED}`);
  }
  // The WHATWG parser lower-cases and punycodes hosts; check what was written.
  const writtenHost = /^[a-z]+:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^:/]*)/i.exec(raw)?.[1] ?? '';
  const host = checkHost(raw, writtenHost);
  if (!host.ok) return host;
  const path = checkPath(raw, raw.replace(/^[a-z]+:\/\/[^/]*/i, ''));
  if (!path.ok) return path;
  const repo: GitRepo = { url: raw, transport: scheme, host: host.value, path: path.value };
  if (url.port) repo.port = Number(url.port);
  return ok(repo);
}

/**
 * A git repository URL that git-sync can clone: https://, ssh:// or scp-style
 * `user@host:path`. Everything else (file paths, file://, git://, http://,
 * ext:: transports, values starting with '-') is refused, as are URLs that
 * carry a password or token.
 */
export function parseRepo(raw: string): Parsed<GitRepo> {
  if (raw.length > 2048) return fail('REPO_INVALID', `the URL is longer than 2048 characters; ${ALLOWED}`);
  if (/\s/.test(raw)) return fail('REPO_INVALID', `${quote(raw)} contains white space; ${ALLOWED}`);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(raw)) return parseUrlForm(raw);
  if (/^[A-Za-z0-9+.-]*::/.test(raw)) return fail('REPO_INVALID', `${quote(raw)} names a git remote helper, which is not allowed; ${ALLOWED}`);
  const scp = SCP_LIKE.exec(raw);
  if (!scp) return fail('REPO_INVALID', `${quote(raw)} is not a git URL; ${ALLOWED}`);
  const [, user, hostPart = '', pathPart = ''] = scp;
  if (user !== undefined && !SSH_USER.test(user)) return fail('REPO_INVALID', `${quote(raw)} has an invalid user name; ${ALLOWED}`);
  const host = checkHost(raw, hostPart);
  if (!host.ok) return host;
  // git reads "host:path" as a local path when the host part has no dot and no
  // user; 'localhost:repo' style values are almost always a mistake anyway.
  const path = checkPath(raw, pathPart);
  if (!path.ok) return path;
  return ok({ url: raw, transport: 'ssh', host: host.value, path: path.value });
}
