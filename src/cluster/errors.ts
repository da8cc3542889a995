/**
 * Errors from the API server in words an operator can act on. client-node
 * reports them in three shapes: ApiException (HTTP status, Status body as
 * JSON text), a plain Error with `statusCode` from a watch, and fetch's
 * TypeError whose `cause` says why the connection failed.
 */
import { ApiException } from '@kubernetes/client-node';

/** The HTTP status of a failed request, when the server answered. */
export function statusCodeOf(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The Status message the API server sent with an error, if any. */
function statusMessage(body: unknown): string | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body.trim() || undefined;
    }
  }
  const message = (value as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message !== '' ? message : undefined;
}

/** One line: what failed and why, e.g. `HTTP 403: namespaces is forbidden: …` or `connect ECONNREFUSED 10.0.0.1:443`. */
export function describeKubeError(error: unknown): string {
  if (error instanceof ApiException) {
    const message = statusMessage(error.body);
    return `HTTP ${error.code}${message ? `: ${message}` : ''}`;
  }
  if (error instanceof Error) {
    const status = statusCodeOf(error);
    if (status !== undefined) return `HTTP ${status}: ${error.message}`;
    // fetch failures hide the reason (ECONNREFUSED, ENOTFOUND, certificate errors) in `cause`.
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error) return cause.message || (cause as { code?: string }).code || error.message;
    if (error.name === 'TimeoutError') return 'the request timed out';
    return error.message;
  }
  return String(error);
}
