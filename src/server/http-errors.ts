/**
 * Every reason the HTTP server can give for refusing a request, in one
 * table, like the engine's problem codes and fastify's own error catalogue
 * (fastify/lib/errors.js): a stable UPPER_SNAKE code that clients and
 * alerts can match on, the HTTP status that goes with it, and one sentence
 * for the docs. The status is the table's, never the call site's, so one
 * reason always comes with one status; a reason that needed two statuses
 * would be two reasons.
 *
 * Errors are sent as `{ error: { code, reason, message } }`, shaped like a
 * Kubernetes Status (code = HTTP status, reason = the code here, message =
 * what was wrong in this request). Admission problems are not here: /mutate
 * answers a request it can read with an AdmissionReview, whose problems are
 * the engine's problem codes.
 */

/** One row of the catalogue. */
interface HttpErrorSpec {
  /** The HTTP status; only INTERNAL and POLICY_NOT_LOADED are 5xx, every other reason is a client mistake. */
  readonly status: 400 | 404 | 408 | 413 | 415 | 429 | 431 | 500 | 503;
  /** One sentence for the docs: when the server sends it. */
  readonly meaning: string;
}

export const HTTP_ERRORS = {
  // The request itself, before any route reads it.
  MALFORMED_REQUEST: {
    status: 400,
    meaning: "Node's HTTP parser refused the request (request line, headers, Content-Length or chunked framing); the connection is closed.",
  },
  HEADERS_TOO_LARGE: { status: 431, meaning: 'The request headers are larger than the HTTP parser accepts; the connection is closed.' },
  REQUEST_TIMEOUT: { status: 408, meaning: "The headers or the whole request did not arrive within the server's timeouts; the connection is closed." },
  BAD_URL: { status: 400, meaning: 'The URL cannot be decoded (a malformed %-escape).' },
  NOT_FOUND: { status: 404, meaning: 'No route for this method and path.' },
  BAD_CONTENT_LENGTH: { status: 400, meaning: 'The body is shorter or longer than its Content-Length header says.' },
  BAD_REQUEST: {
    status: 400,
    meaning: 'The web framework refused the request for a reason not listed here (such as a QUERY request without a content type); the message has its words.',
  },

  // The body: its size, type and syntax (/mutate and /preview).
  BODY_TOO_LARGE: { status: 413, meaning: "The body is larger than the server's limit, which is the API server's own (the message gives it); the connection is closed." },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    meaning: 'The content type is not one the endpoint reads: /mutate reads application/json only; /preview reads JSON, YAML and untyped text.',
  },
  EMPTY_BODY: { status: 400, meaning: 'The body is empty or only whitespace.' },
  INVALID_JSON: { status: 400, meaning: 'The body is not valid JSON; /preview also gives the line and column.' },
  INVALID_YAML: { status: 400, meaning: '/preview: the body is not valid YAML (syntax, duplicate keys, too many aliases); with the line and column.' },
  TOO_DEEP: { status: 400, meaning: 'The body nests deeper than any Kubernetes object does (refused before it is parsed); /preview also gives the line and column.' },
  FORBIDDEN_JSON_KEY: { status: 400, meaning: '/mutate: the body has a "__proto__" or "constructor.prototype" key, which is refused for safety.' },

  // /preview's parameters and limits.
  INVALID_NAMESPACE: { status: 400, meaning: '/preview: the namespace query parameter is not a namespace name, or is given more than once.' },
  INVALID_MODE: { status: 400, meaning: '/preview: the mode query parameter is neither `webhook` nor `webhook-free` (docs/webhook-free.md).' },
  INVALID_PREVIEW_REQUEST: {
    status: 400,
    meaning: '/preview: a PreviewRequest body has fields that are missing, unknown or of the wrong type; `problems` lists each field and what it must be.',
  },
  INVALID_POLICY: {
    status: 400,
    meaning: '/preview: the policy in a PreviewRequest has problems; `problems` lists each with its code, field, line and column, as `serve` would refuse it.',
  },
  TOO_MANY_OBJECTS: { status: 413, meaning: '/preview: the body has more objects than one preview answers (the message gives the limit); the offline commands have none.' },
  BODY_TOO_COMPLEX: {
    status: 413,
    meaning: 'The body costs more than a request may: /mutate, more objects and lists than any pod (counted before parsing); /preview, more values, time or memory than a preview may use.',
  },
  ANSWER_TOO_LARGE: {
    status: 413,
    meaning: "/preview: the body was read, but its answer costs more to write as YAML than a preview may use; the same request asking for JSON (Accept: application/json) gets it.",
  },
  BUSY: { status: 429, meaning: '/preview: too many previews are waiting already; retry after the seconds the Retry-After header gives.' },

  // The injector's own state.
  POLICY_NOT_LOADED: {
    status: 503,
    meaning: '/mutate, /preview: the policy source (the ConfigMap) has not been read yet, or has no valid policy yet; the failurePolicy decides.',
  },
  INTERNAL: { status: 500, meaning: "A bug in the injector; the message says only to see the logs, which have the details." },
} as const satisfies Record<string, HttpErrorSpec>;

/** A catalogued reason: the only kind HttpError and errorBody accept. */
export type HttpErrorReason = keyof typeof HTTP_ERRORS;

/** The HTTP status of a reason. */
export const statusOf = (reason: HttpErrorReason): number => HTTP_ERRORS[reason].status;

/** What the server sends for an error. */
export interface ErrorBody {
  error: { code: number; reason: HttpErrorReason; message: string };
}

/** The body for a reason; `extra` adds fields such as a parser's line and column. */
export function errorBody<E extends object = object>(reason: HttpErrorReason, message: string, extra?: E): ErrorBody & { error: E } {
  return { error: { code: statusOf(reason), reason, message, ...(extra as E) } };
}

/** An error a route throws to refuse a request: the error handler answers it with its reason's status. */
export class HttpError extends Error {
  readonly reason: HttpErrorReason;
  readonly statusCode: number;

  constructor(reason: HttpErrorReason, message: string) {
    super(message);
    this.name = 'HttpError';
    this.reason = reason;
    this.statusCode = statusOf(reason);
  }
}

const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The catalogue as a Markdown table for the docs, in the catalogue's order. */
export function httpErrorTable(): string {
  const rows = Object.entries(HTTP_ERRORS).map(([reason, { status, meaning }]) => `| \`${reason}\` | ${status} | ${cell(meaning)} |`);
  return ['| reason | status | meaning |', '|---|---|---|', ...rows].join('\n');
}
