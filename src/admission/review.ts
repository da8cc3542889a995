/**
 * The AdmissionReview v1 wire format: the few request fields the webhook
 * reads, the response it writes, and the checks that tell a usable review
 * from anything else a client may send. Nothing here trusts the body: every
 * field is checked before it is used, and every failure says what is wrong.
 */
import { isObject } from '../engine/index.ts';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

export interface AdmissionStatus {
  code: number;
  message: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** base64 of the JSON Patch array. */
  patch?: string;
  warnings?: string[];
  status?: AdmissionStatus;
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_KIND;
  response: AdmissionResponse;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/** The request fields the webhook reads; the API server sends more, which are ignored. */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource: string;
  name: string;
  namespace: string;
  operation: string;
  object: unknown;
  oldObject: unknown;
  dryRun: boolean;
}


/**
 * Deeper than any Kubernetes object nests (a pod with its managed fields
 * reaches about twenty levels, CRD schemas a few dozen), and shallow enough
 * that building and walking the value costs nothing worth mentioning.
 */
export const MAX_NESTING = 256;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Where the text first nests deeper than `max` brackets and braces (outside
 * double-quoted strings), or -1. A scan of the characters, run before
 * JSON.parse: a 3 MiB body of nested arrays is 1.5 million levels, which
 * JSON.parse would build (hundreds of MiB) before any check on the value
 * could refuse it. YAML flow collections nest the same way; since only
 * double quotes are understood, for YAML the count is an estimate, and the
 * limit is far above what any manifest nests.
 */
export function nestingBeyond(text: string, max = MAX_NESTING): number {
  return shapeBeyond(text, max, Infinity)?.at ?? -1;
}

/**
 * Objects and lists a body may hold. Real pods hold a few hundred to a few
 * thousand (a thousand env entries, managed fields and all, make some ten
 * thousand); a body of 3 MiB can hold a million empty ones, which
 * JSON.parse builds into 70 MiB of heap, and four such bodies at once once
 * took more than the container's whole memory.
 */
export const MAX_COLLECTIONS = 100_000;

/**
 * Where a text first nests deeper than `maxDepth` brackets and braces, or
 * holds more than `maxCollections` of them (outside double-quoted strings),
 * and which; undefined when neither. One scan for both, before JSON.parse.
 */
export function shapeBeyond(text: string, maxDepth = MAX_NESTING, maxCollections = MAX_COLLECTIONS): { reason: 'deep' | 'many'; at: number } | undefined {
  let depth = 0;
  let collections = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) i = closingQuote(text, i);
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > maxDepth) return { reason: 'deep', at: i };
      if (++collections > maxCollections) return { reason: 'many', at: i };
    } else if ((c === CLOSE_BRACKET || c === CLOSE_BRACE) && depth > 0) depth--;
  }
  return undefined;
}

/**
 * Where the double-quoted string that opens at `open` ends: its closing
 * quote, the first one not escaped by an odd number of backslashes (or the
 * end of the text). Found with indexOf rather than a look at every
 * character: in a pod most characters are inside strings, and the scan
 * runs on every body.
 */
export function closingQuote(text: string, open: number): number {
  for (let i = text.indexOf('"', open + 1); i >= 0; i = text.indexOf('"', i + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(i - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return i;
  }
  return text.length;
}

/** What kind of JSON value something is, for messages: "missing", "null", "an array", "a string", "an object". */
export function typeOf(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** How a field's value reads in a message: its type, or the string itself (quoted, cut) when it is one. */
export function describe(value: unknown): string {
  if (typeof value !== 'string') return typeOf(value);
  return value === '' ? 'empty' : JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/** A body that is not an AdmissionReview at all: answered with HTTP 400. */
export interface EnvelopeProblem {
  ok: false;
  /** request.uid when the body carries a string one, else ''. */
  uid: string;
  message: string;
}

/** Checks the review's envelope: apiVersion, kind, request, request.uid. */
export function readEnvelope(body: unknown): { ok: true; uid: string; request: Record<string, unknown> } | EnvelopeProblem {
  if (!isObject(body)) {
    return { ok: false, uid: '', message: `the body is ${typeOf(body)}, not an AdmissionReview object` };
  }
  const request = body.request;
  const uid = isObject(request) && typeof request.uid === 'string' ? request.uid : '';
  const problem = (message: string): EnvelopeProblem => ({ ok: false, uid, message });
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    return problem(
      `apiVersion is ${describe(body.apiVersion)}; only ${ADMISSION_API_VERSION} is supported (admissionReviewVersions: ["v1"] in the webhook configuration)`,
    );
  }
  if (body.kind !== ADMISSION_KIND) return problem(`kind is ${describe(body.kind)}; expected ${ADMISSION_KIND}`);
  if (!isObject(request)) return problem(`request is ${describe(request)}; an AdmissionReview sent to a webhook must carry a request object`);
  if (typeof request.uid !== 'string' || request.uid === '') {
    return problem(`request.uid is ${describe(request.uid)}; it must be a non-empty string`);
  }
  return { ok: true, uid, request };
}

const isGroupVersion = (v: unknown, field: 'kind' | 'resource'): boolean =>
  isObject(v) && typeof v[field] === 'string' && (v.group === undefined || typeof v.group === 'string') && (v.version === undefined || typeof v.version === 'string');

const optionalString = (v: unknown): v is string | undefined => v === undefined || v === null || typeof v === 'string';

/**
 * Reads the request fields the webhook needs. A review with a uid whose
 * request lacks them is answered in a well-formed review (HTTP 200) with
 * allowed: false, so the API server shows the reason.
 */
export function readRequest(uid: string, request: Record<string, unknown>): { ok: true; request: AdmissionRequest } | { ok: false; message: string } {
  const problems: string[] = [];
  if (typeof request.operation !== 'string' || request.operation === '') problems.push(`request.operation is ${describe(request.operation)}`);
  if (!isGroupVersion(request.kind, 'kind')) problems.push(`request.kind is ${describe(request.kind)}, not a {group, version, kind} object`);
  if (!isGroupVersion(request.resource, 'resource')) {
    problems.push(`request.resource is ${describe(request.resource)}, not a {group, version, resource} object`);
  }
  for (const field of ['subResource', 'name', 'namespace'] as const) {
    if (!optionalString(request[field])) problems.push(`request.${field} is ${describe(request[field])}, not a string`);
  }
  if (request.dryRun !== undefined && request.dryRun !== null && typeof request.dryRun !== 'boolean') {
    problems.push(`request.dryRun is ${describe(request.dryRun)}, not a boolean`);
  }
  if (problems.length > 0) return { ok: false, message: `the AdmissionReview request cannot be used: ${problems.join('; ')}` };

  const kind = request.kind as Partial<GroupVersionKind> & { kind: string };
  const resource = request.resource as Partial<GroupVersionResource> & { resource: string };
  return {
    ok: true,
    request: {
      uid,
      kind: { group: kind.group ?? '', version: kind.version ?? '', kind: kind.kind },
      resource: { group: resource.group ?? '', version: resource.version ?? '', resource: resource.resource },
      subResource: (request.subResource as string | undefined) ?? '',
      name: (request.name as string | undefined) ?? '',
      namespace: (request.namespace as string | undefined) ?? '',
      operation: request.operation as string,
      object: request.object,
      oldObject: request.oldObject,
      dryRun: request.dryRun === true,
    },
  };
}

export function review(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}
