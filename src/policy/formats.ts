/**
 * Checks for the policy's free-form string values. A value that passes here
 * ends up in every injected pod, so anything the API server or git-sync would
 * refuse later (and then refuse for every pod) is refused when the policy is
 * loaded instead. Each check returns the value to use, as the annotation
 * value parsers do, and its message completes "<field>: …".
 */
import { Buffer } from 'node:buffer';
import {
  ANNOTATION_KEYS,
  CONTROL_CHARS,
  closest,
  fail,
  isAnnotationKey,
  isDnsLabel,
  isDnsSubdomain,
  ok,
  parseQuantity as parseEngineQuantity,
  quantityValue,
  quote,
  readRepoPattern,
  type RepoPattern,
} from '../engine/index.ts';
import type { PolicyParsed } from './problems.ts';
import { enforceableProblem } from './semantics.ts';

/** The part of an annotation key before the name: a DNS subdomain and '/', as Kubernetes requires. */
export function parseAnnotationPrefix(raw: string): PolicyParsed<string> {
  const allowed = "use a DNS subdomain followed by '/', such as gitsync.dev/";
  if (!raw.endsWith('/')) return fail('POLICY_VALUE_INVALID', `${quote(raw)} does not end with '/'; ${allowed}`);
  const domain = raw.slice(0, -1);
  if (!isDnsSubdomain(domain)) {
    return fail('POLICY_VALUE_INVALID', `${quote(raw)} is not an annotation prefix; ${allowed}`);
  }
  return ok(raw);
}

/** A container image reference; the registry is the judge of the rest, but a blank or split one never works. */
export function parseImage(raw: string): PolicyParsed<string> {
  const allowed = 'use an image reference such as registry.k8s.io/git-sync/git-sync:v4.7.1';
  if (raw === '') return fail('POLICY_VALUE_INVALID', `is empty; ${allowed}`);
  if (/\s/.test(raw) || CONTROL_CHARS.test(raw)) return fail('POLICY_VALUE_INVALID', `${quote(raw)} contains whitespace; ${allowed}`);
  return ok(raw);
}

/** A namespace name (DNS-1123 label); any other spelling would never match a namespace. */
export function parseNamespaceName(raw: string): PolicyParsed<string> {
  if (isDnsLabel(raw)) return ok(raw);
  return fail('NAME_INVALID', `${quote(raw)} is not a namespace name; use lower-case letters, digits and '-' (at most 63)`);
}

// Not starting with '.': git-sync keeps its worktrees in <root>/.worktrees.
const LINK = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;

/** The name git-sync gives its symlink inside the root: one folder name, never a path. */
export function parseLinkName(raw: string): PolicyParsed<string> {
  if (LINK.test(raw)) return ok(raw);
  if (raw.includes('/')) return fail('PATH_INVALID', `${quote(raw)} is a path; use a single folder name such as repo`);
  return fail('PATH_INVALID', `${quote(raw)} is not a folder name; use letters, digits, '.', '_' and '-', not starting with '.', such as repo`);
}

/** A Kubernetes resource quantity ("100m", "64Mi", "0.5"); negative amounts make no sense for resources. */
export function parseQuantity(raw: string): PolicyParsed<string> {
  const q = parseEngineQuantity(raw);
  return q.ok ? q : fail('POLICY_VALUE_INVALID', q.message);
}

/** The amount a valid quantity stands for, to compare a request with its limit (the engine's reading). */
export { quantityValue };

const KNOWN_HOSTS_LINE = 'use "<host> <key type> <base64 key>" as ssh-keyscan prints it';
const HOST_PATTERNS = /^[A-Za-z0-9.*?![\]:,|+=/_-]+$/;
const KEY_TYPE = /^[a-z0-9][a-z0-9@.-]*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

// How many length-prefixed fields (the type name included) a public key blob of each common type holds.
const KEY_FIELDS: Record<string, number> = {
  'ssh-ed25519': 2,
  'ssh-rsa': 3,
  'ssh-dss': 5,
  'ecdsa-sha2-nistp256': 3,
  'ecdsa-sha2-nistp384': 3,
  'ecdsa-sha2-nistp521': 3,
  'sk-ssh-ed25519@openssh.com': 3,
  'sk-ecdsa-sha2-nistp256@openssh.com': 4,
};

/**
 * Whether a base64 key is an SSH public key blob of the given type: a run of
 * length-prefixed fields that fills the blob exactly, the first naming the
 * type. A key cut short when it was pasted fails this.
 */
function isKeyBlob(base64: string, type: string): boolean {
  if (!BASE64.test(base64) || base64.length % 4 !== 0) return false;
  const blob = Buffer.from(base64, 'base64');
  const fields: Buffer[] = [];
  for (let at = 0; at < blob.length; ) {
    if (at + 4 > blob.length) return false;
    const end = at + 4 + blob.readUInt32BE(at);
    if (end > blob.length) return false;
    fields.push(blob.subarray(at + 4, end));
    at = end;
  }
  const expected = KEY_FIELDS[type];
  return fields[0]?.toString('latin1') === type && fields.length >= 2 && (expected === undefined || fields.length === expected);
}

/**
 * One line of an OpenSSH known_hosts file: an optional @cert-authority or
 * @revoked marker, host patterns, key type, base64 key and an optional
 * comment. Blank lines and '#' comments are kept, as ssh accepts them. The
 * key is decoded, so a line cut short when it was pasted is caught here and
 * not as a host key failure in every pod.
 */
export function parseKnownHostsLine(raw: string): PolicyParsed<string> {
  if (/[\r\n]/.test(raw)) {
    return fail('POLICY_VALUE_INVALID', `${quote(raw)} contains a line break; give each known_hosts line as its own list item`);
  }
  if (CONTROL_CHARS.test(raw)) return fail('POLICY_VALUE_INVALID', `${quote(raw)} contains a control character; ${KNOWN_HOSTS_LINE}`);
  const line = raw.trim();
  if (line === '' || line.startsWith('#')) return ok(raw);
  const fields = line.split(/\s+/);
  if (fields[0]?.startsWith('@')) {
    if (fields[0] !== '@cert-authority' && fields[0] !== '@revoked') {
      return fail('POLICY_VALUE_INVALID', `${quote(raw)} starts with ${quote(fields[0])}; the only markers are @cert-authority and @revoked`);
    }
    fields.shift();
  }
  const [hosts, type, key] = fields;
  if (hosts === undefined || type === undefined || key === undefined) {
    return fail('POLICY_VALUE_INVALID', `${quote(raw)} is not a known_hosts line; ${KNOWN_HOSTS_LINE}`);
  }
  if (!HOST_PATTERNS.test(hosts)) return fail('POLICY_VALUE_INVALID', `${quote(raw)} has invalid host names ${quote(hosts)}; ${KNOWN_HOSTS_LINE}`);
  if (!KEY_TYPE.test(type)) return fail('POLICY_VALUE_INVALID', `${quote(raw)} has no SSH key type where ${quote(type)} is; ${KNOWN_HOSTS_LINE}`);
  if (!isKeyBlob(key, type)) {
    return fail('POLICY_VALUE_INVALID', `the ${type} key for ${quote(hosts)} is cut short or not a ${type} key; copy the whole line again from ssh-keyscan`);
  }
  return ok(raw);
}

/** A key of `enforced`: an annotation (without the prefix) that pods may be kept from overriding. */
export function parseEnforcedKey(raw: string): PolicyParsed<string> {
  const why = enforceableProblem(raw);
  if (why === undefined) return ok(raw);
  const known = isAnnotationKey(raw);
  const bare = raw.slice(raw.lastIndexOf('/') + 1);
  const near = closest(raw, ANNOTATION_KEYS);
  let hint = '';
  if (!known && raw.includes('/') && isAnnotationKey(bare)) hint = `; write it without the prefix: ${bare}`;
  else if (!known) hint = near ? `; did you mean ${near}?` : '; use an annotation name without the prefix, such as period';
  return fail(known ? 'VALUE_NOT_ALLOWED' : 'UNKNOWN_ANNOTATION', `${quote(raw)} ${why}${hint}`);
}

/** A value of the seccomp profile map: one word or relative path, as the kubelet takes it. */
export function parseProfileValue(raw: string): PolicyParsed<string> {
  if (raw !== '' && !/\s/.test(raw) && !CONTROL_CHARS.test(raw)) return ok(raw);
  return fail('POLICY_VALUE_INVALID', `${quote(raw)} is not a seccomp profile value; use RuntimeDefault, Localhost, or a profile path such as profiles/git-sync.json`);
}

/**
 * One allowedRepos pattern, parsed (engine/values/repo-pattern.ts says what a
 * pattern is); a refusal is a policy value in the wrong form.
 */
export function parseRepoPattern(raw: string): PolicyParsed<RepoPattern> {
  const parsed = readRepoPattern(raw);
  return parsed.ok ? parsed : fail('POLICY_VALUE_INVALID', parsed.message);
}

/** The pattern's canonical spelling, for the schema (which keeps strings). */
export function normaliseRepoPattern(raw: string): PolicyParsed<string> {
  const parsed = parseRepoPattern(raw);
  return parsed.ok ? ok(parsed.value.text) : parsed;
}
