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
// backslashes, '@' (credentials/parseRepo) or shell metacharacters.
const REPO_PATH = /^[A-Za-z0-9._~%+-]+(?:\/[A-Za-z0-9._~%+-]+)*\/?$/;
const SCP_LIKE = /^(?:([^@/:]+)@)?([^@/:[\]]+|\[[^\]]+\]):(.*)$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
// '@' and the full-width and small '@', which Unicode-normalising readers fold into it.
const AT = /[@\uff20\ufe6b]/g;

const ALLOWED = 'use https://host/org/repo.git, ssh://git@host/org/repo.git or git@host:org/repo.git';

/**
 * The value with everything that may be a credential replaced by '***', for
 * messages about a value that was refused: whatever precedes the last '@'
 * (a user name, a password or token, however it is spelled: 'u:p@', 'u:p/T@',
 * 'u:p#T@', 'oauth2:T@', 'u:p@T@'), an authority whose 'port' is not a number
 * ('user:TOKEN'), and a query or fragment ('?private_token=…'). The host and
 * path stay, so the message still says which repository was meant.
 */
export function maskCredentials(raw: string): string {
  const scheme = SCHEME.exec(raw)?.[0] ?? '';
  let rest = raw.slice(scheme.length);
  const last = [...rest.matchAll(AT)].at(-1);
  if (last) rest = `***${rest.slice(last.index)}`;
  else if (scheme) {
    const end = rest.search(/[/?#\\]/);
    const authority = end === -1 ? rest : rest.slice(0, end);
    if (/:(?!\d*$)/.test(authority.replace(/^\[[^\]]*\]/, ''))) rest = `***${end === -1 ? '' : rest.slice(end)}`;
  }
  return scheme + rest.replace(/[?#][\s\S]*$/, (m) => `${m[0]}***`);
}

/** The value as messages may show it: as written when it is a URL the injector accepts (those carry no credentials), else masked. */
export const displayRepo = (raw: string): string => (parseRepo(raw).ok ? raw : maskCredentials(raw));

/**
 * Why the value carries credentials, or undefined. ssh names a plain user
 * before a single '@' ('git@host'); any other '@', wherever it is, is refused:
 * before it may be a password or token in any spelling ('u:p@', 'u:p/T@',
 * 'u:p T@', scp-style 'u:p@host:path', 'oauth2:T@host/path'), and URL readers
 * disagree on which '@' ends the user part, so one after the host is refused
 * too. An https user name alone is a token as often as not.
 */
function credentialsProblem(raw: string): string | undefined {
  const scheme = SCHEME.exec(raw)?.[0];
  const rest = raw.slice(scheme?.length ?? 0);
  const ats = [...rest.matchAll(AT)];
  if (ats.length === 0) return undefined;
  const first = ats[0]!.index;
  const ssh = scheme === undefined || /^ssh:\/\/$/i.test(scheme);
  const user = rest.slice(0, first);
  if (ssh && ats.length === 1 && rest[first] === '@' && !/[:/?#\\%\s]/.test(user)) return undefined;
  // Only a refused value is shown, and masking costs more than the checks: worked out for a message only.
  const shown = (): string => quote(maskCredentials(raw));
  const fix = 'remove them from the URL, put them in a Secret and name it with the secret annotation';
  const end = rest.search(/[/?#\\]/);
  if (end !== -1 && end < first) {
    return `${shown()} has an '@' after the host, where some URL readers find a user name and password; ${fix}`;
  }
  return `${shown()} carries credentials; ${fix}`;
}

function checkHost(raw: string, host: string): Parsed<string> {
  if (HOSTNAME.test(host) || IPV6.test(host)) return ok(host.replace(/^\[|\]$/g, '').toLowerCase());
  return fail('REPO_INVALID', `${quote(maskCredentials(raw))} has an invalid host ${quote(host)}; ${ALLOWED}`);
}

function checkPath(raw: string, path: string): Parsed<string> {
  const trimmed = path.replace(/^\/+/, '');
  const segments = trimmed.split('/');
  // '.', '..' and percent-encoded dots would be resolved away by git's URL
  // handling; refusing them keeps the written URL the one that is fetched.
  const dotted = segments.some((s) => s === '.' || s === '..') || /%2e/i.test(trimmed);
  if (trimmed === '' || !REPO_PATH.test(trimmed) || dotted || trimmed.startsWith('-')) {
    return fail('REPO_INVALID', `${quote(maskCredentials(raw))} has no valid repository path; ${ALLOWED}`);
  }
  return ok(trimmed);
}

function parseUrlForm(raw: string, shown: () => string): Parsed<GitRepo> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail('REPO_INVALID', `${shown()} is not a valid URL; ${ALLOWED}`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'https' && scheme !== 'ssh') {
    const why = scheme === 'http' || scheme === 'git' ? 'is not encrypted' : 'is not supported';
    return fail('REPO_INVALID', `${shown()} uses ${scheme}://, which ${why}; ${ALLOWED}`);
  }
  // Credentials were refused before (credentialsProblem); what is left of a user is a plain ssh user name.
  if (url.search || url.hash) return fail('REPO_INVALID', `${shown()} has a query or fragment; ${ALLOWED}`);
  if (url.username && !SSH_USER.test(decodeURIComponent(url.username))) {
    return fail('REPO_INVALID', `${shown()} has an invalid user name; ${ALLOWED}`);
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
 * carry a password or token in any spelling; no message repeats one.
 */
export function parseRepo(raw: string): Parsed<GitRepo> {
  if (raw.length > 2048) return fail('REPO_INVALID', `the URL is longer than 2048 characters; ${ALLOWED}`);
  // First, so that no other message is about a value with credentials in it; and every message shows the value masked.
  const credentials = credentialsProblem(raw);
  if (credentials) return fail('REPO_CREDENTIALS_IN_URL', credentials);
  // Only a refused value is shown, and masking costs more than the checks: worked out for a message only.
  const shown = (): string => quote(maskCredentials(raw));
  if (/\s/.test(raw)) return fail('REPO_INVALID', `${shown()} contains white space; ${ALLOWED}`);
  if (SCHEME.test(raw)) return parseUrlForm(raw, shown);
  if (/^[A-Za-z0-9+.-]*::/.test(raw)) return fail('REPO_INVALID', `${shown()} names a git remote helper, which is not allowed; ${ALLOWED}`);
  const scp = SCP_LIKE.exec(raw);
  if (!scp) return fail('REPO_INVALID', `${shown()} is not a git URL; ${ALLOWED}`);
  const [, user, hostPart = '', pathPart = ''] = scp;
  if (user !== undefined && !SSH_USER.test(user)) return fail('REPO_INVALID', `${shown()} has an invalid user name; ${ALLOWED}`);
  const host = checkHost(raw, hostPart);
  if (!host.ok) return host;
  // git reads "host:path" as a local path when the host part has no dot and no
  // user; 'localhost:repo' style values are almost always a mistake anyway.
  const path = checkPath(raw, pathPart);
  if (!path.ok) return path;
  return ok({ url: raw, transport: 'ssh', host: host.value, path: path.value });
}
