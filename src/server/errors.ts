/**
 * How errors are answered: every HTTP error a client can cause gets a 4xx
 * with a JSON body that says what was wrong, with a reason from the
 * catalogue in http-errors.ts. Only a bug in the injector answers 5xx, and
 * that is logged with its stack.
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { errorBody, HttpError, statusOf, type HttpErrorReason } from './http-errors.ts';

/** The webhook's body limit: the API server's own, so anything it can send fits. */
export const BODY_LIMIT = 3 * 1024 * 1024;

/** What the webhook's JSON parser and fastify's say about an empty body. */
export const EMPTY_REVIEW_MESSAGE = 'the body is empty; send an AdmissionReview as JSON';

interface Described {
  reason: HttpErrorReason;
  message: string;
}

/** Clearer words for the errors fastify raises while reading a request. */
function describeFrameworkError(error: FastifyError, request: FastifyRequest): Described | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const limit = request.routeOptions.bodyLimit ?? BODY_LIMIT;
      const why = limit === BODY_LIMIT ? " (3 MiB, the API server's own limit)" : '';
      return { reason: 'BODY_TOO_LARGE', message: `the request body is larger than ${limit} bytes${why}` };
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const type = request.headers['content-type'];
      return {
        reason: 'UNSUPPORTED_MEDIA_TYPE',
        message: `${type ? `content type ${JSON.stringify(type.slice(0, 100))}` : 'a body without a content type'} is not supported; send application/json`,
      };
    }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { reason: 'EMPTY_BODY', message: EMPTY_REVIEW_MESSAGE };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { reason: 'BAD_CONTENT_LENGTH', message: 'the body length does not match the Content-Length header' };
    case 'FST_ERR_BAD_URL':
      return { reason: 'BAD_URL', message: error.message };
    default:
      return undefined;
  }
}

const isClientError = (status: unknown): boolean => typeof status === 'number' && status >= 400 && status < 500;

/**
 * The catalogued reason for an error. Anything that is not a client mistake
 * (4xx) is the injector's own failure. A 4xx from fastify that is not
 * described above (a QUERY request without a content type) is BAD_REQUEST,
 * with fastify's words: its code is the framework's, not one of ours.
 */
function describeError(error: FastifyError | HttpError, request: FastifyRequest): Described {
  if (error instanceof HttpError) return { reason: error.reason, message: error.message };
  if (!isClientError(error.statusCode)) return { reason: 'INTERNAL', message: "internal error; see the injector's logs" };
  return describeFrameworkError(error, request) ?? { reason: 'BAD_REQUEST', message: error.message };
}

export type ErrorResponder = (error: FastifyError | HttpError, request: FastifyRequest, reply: FastifyReply) => void;

/**
 * Answers an error with its JSON body. Client mistakes are logged as one
 * warn line with the reason only: the parser's message could quote the
 * body, which may carry secrets.
 */
export function errorResponder(logger: Logger): ErrorResponder {
  return (error, request, reply) => {
    const { reason, message } = describeError(error, request);
    const status = statusOf(reason);
    const fields = { method: request.method, url: request.url.slice(0, 200), statusCode: status, reason };
    if (status >= 500) logger.error({ ...fields, err: error }, 'request failed');
    // The framework's own code, for an operator to look up; never sent, since it is not a stable reason.
    else if (reason === 'BAD_REQUEST' && 'code' in error) logger.warn({ ...fields, code: error.code }, 'request rejected');
    else logger.warn(fields, 'request rejected');
    const body = errorBody(reason, message);
    // The client may still be sending a body that will not be used: answer at once, then
    // read and discard what remains (bounded) before closing, so the answer is not lost to a reset.
    if ((status === 413 || status === 415) && !request.raw.complete) answerThenDrain(reply, status, JSON.stringify(body));
    else void reply.code(status).send(body);
  };
}

/**
 * How much of an unwanted body is read and thrown away before the connection
 * is closed, at most. Closing a connection with unread data makes the kernel
 * reset it, and clients that send the whole body before reading (Python's
 * http.client, many others) then see the reset instead of the 413.
 */
export const DRAIN_LIMIT = 8 * 1024 * 1024;
/** And for at most this long: a client that trickles its body is not waited for. */
export const DRAIN_TIMEOUT_MS = 5_000;

/** A whole HTTP/1.1 response that closes the connection, as text. */
function closingResponse(status: number, json: string): string {
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`
  );
}

/**
 * Writes the answer on the socket itself (Node would destroy the socket as
 * soon as a Connection: close response is sent, unread data and all), then
 * reads and discards the rest of the body, up to DRAIN_LIMIT bytes and
 * DRAIN_TIMEOUT_MS, and only then ends the connection. A Content-Length
 * above the limit is not waited for.
 */
function answerThenDrain(reply: FastifyReply, status: number, json: string): void {
  const raw = reply.request.raw;
  const socket = raw.socket;
  reply.hijack();
  socket.write(closingResponse(status, json));
  const declared = Number(raw.headers['content-length']);
  if (raw.destroyed || (Number.isFinite(declared) && declared > DRAIN_LIMIT)) {
    socket.end();
    return;
  }
  let read = 0;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    raw.off('data', onData).off('end', finish).off('error', finish).off('close', finish);
    // Past the limit the client is not waited for: it may see a reset.
    if (read > DRAIN_LIMIT || !raw.complete) socket.destroy();
    else socket.end();
  };
  const onData = (chunk: Buffer): void => {
    read += chunk.length;
    if (read > DRAIN_LIMIT) finish();
  };
  const timer = setTimeout(finish, DRAIN_TIMEOUT_MS);
  raw.on('data', onData).once('end', finish).once('error', finish).once('close', finish);
  raw.resume();
}

/** Routes every error and unknown route of `app` through `respond`. */
export function installErrorHandling<S extends Server>(app: FastifyInstance<S>, respond: ErrorResponder): void {
  app.setErrorHandler(respond);
  app.setNotFoundHandler((request, reply) => {
    respond(new HttpError('NOT_FOUND', `no route ${request.method} ${request.url.slice(0, 200)}`), request, reply);
  });
}

/** Why Node's HTTP parser refused a request, in the same words as the rest. */
function describeClientError(error: Error & { code?: string }): Described {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { reason: 'REQUEST_TIMEOUT', message: 'the request did not arrive in time' };
    case 'HPE_HEADER_OVERFLOW':
      return { reason: 'HEADERS_TOO_LARGE', message: 'the request headers are too large' };
    default:
      return { reason: 'MALFORMED_REQUEST', message: 'the request is not valid HTTP/1.1 (request line, headers, Content-Length or chunked framing)' };
  }
}

/**
 * For requests Node's HTTP parser refuses before fastify sees them (a lying
 * Content-Length, broken chunked encoding, a garbage request line): the same
 * JSON body as every other client mistake, then the connection is closed,
 * since nothing after broken framing can be trusted.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const { reason, message } = describeClientError(error);
  const status = statusOf(reason);
  socket.end(closingResponse(status, JSON.stringify(errorBody(reason, message))));
}
