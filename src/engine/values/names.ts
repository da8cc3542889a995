import { fail, ok, type Parsed } from './result.ts';
import { quote } from '../problems.ts';
import { riskyEnvReason } from './risky-env.ts';

const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
// Kubernetes accepts almost any printable name, but a C identifier is what every
// shell, Python and Airflow config reader can use without quoting.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A DNS-1123 label (namespace and container names): lower-case letters, digits and '-', at most 63. */
export const isDnsLabel = (s: string): boolean => s.length <= 63 && DNS_LABEL.test(s);
/** A DNS-1123 subdomain (most object names, cluster domains): labels joined by '.', at most 253. */
export const isDnsSubdomain = (s: string): boolean => s.length <= 253 && DNS_SUBDOMAIN.test(s);

/** A Secret or preset name: a DNS-1123 subdomain (lower-case letters, digits, '-' and '.'). */
export function parseObjectName(raw: string): Parsed<string> {
  if (isDnsSubdomain(raw)) return ok(raw);
  return fail(
    'NAME_INVALID',
    `${quote(raw)} is not a valid name; use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (at most 253)`,
  );
}

/** A key inside a Secret: letters, digits, '-', '_' and '.'. */
export function parseSecretKey(raw: string): Parsed<string> {
  if (raw.length <= 253 && SECRET_KEY.test(raw) && raw !== '.' && raw !== '..') return ok(raw);
  return fail('SECRET_KEY_INVALID', `${quote(raw)} is not a valid Secret key; use letters, digits, '-', '_' and '.'`);
}

/** An environment variable name (C identifier) that does not change how programs are found, loaded or configured (risky-env.ts). */
export function parseEnvName(raw: string): Parsed<string> {
  if (!(raw.length <= 256 && ENV_NAME.test(raw))) {
    return fail(
      'ENV_NAME_INVALID',
      `${quote(raw)} is not a valid environment variable name; use letters, digits and '_', not starting with a digit`,
    );
  }
  const risky = riskyEnvReason(raw);
  if (risky) {
    return fail(
      'ENV_NAME_NOT_ALLOWED',
      `${quote(raw)} ${risky}, and its value would point into the repository; use a name of the app's own, such as DAGS_FOLDER`,
    );
  }
  return ok(raw);
}

/**
 * Names a containers list may hold. No pod needs more (leaving the annotation
 * out mounts into every app container), and each name is matched against
 * every container of the pod, so the list's length must not be the client's
 * to choose.
 */
export const MAX_CONTAINER_NAMES = 64;
/** Invalid names quoted in a message; the rest are counted. */
const BAD_NAMES_SHOWN = 5;

/** A comma-separated list of container names (DNS-1123 labels), without duplicates. */
export function parseContainerList(raw: string): Parsed<string[]> {
  const names = [...new Set(raw.split(',').map((s) => s.trim()))];
  if (names.length > MAX_CONTAINER_NAMES) {
    return fail(
      'VALUE_NOT_ALLOWED',
      `${quote(raw)} names ${names.length} containers; name at most ${MAX_CONTAINER_NAMES}, or leave the annotation out to mount into every app container`,
    );
  }
  const bad = names.filter((n) => !isDnsLabel(n));
  if (bad.length > 0) {
    const shown = bad.slice(0, BAD_NAMES_SHOWN).map((b) => quote(b)).join(', ');
    const rest = bad.length > BAD_NAMES_SHOWN ? ` and ${bad.length - BAD_NAMES_SHOWN} more` : '';
    return fail(
      'NAME_INVALID',
      `${quote(raw)} is not a comma-separated list of container names; ${shown}${rest} ${bad.length === 1 ? 'is' : 'are'} not valid (use lower-case letters, digits and '-')`,
    );
  }
  return ok(names);
}
