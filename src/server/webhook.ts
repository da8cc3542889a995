/**
 * The webhook's HTTPS server: POST /mutate answers AdmissionReviews through
 * the adapter, and nothing else is served here (/preview and /policy have a
 * listener of their own, preview-server.ts). Everything around it is tuned
 * for one client, the API server: its body limit, its keep-alive habits,
 * its timeouts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { admit, answerJson, MAX_COLLECTIONS, MAX_NESTING, shapeBeyond, type Admission, type AdmissionDeps, type AdmissionSummary } from '../admission/index.ts';
import { capConnections } from './connections.ts';
import { BODY_LIMIT, clientErrorHandler, EMPTY_REVIEW_MESSAGE, errorResponder, installErrorHandling } from './errors.ts';
import { HttpError } from './http-errors.ts';
import { onePerTurn } from './one-per-turn.ts';
import { refuseWhilePending, type PolicyPending } from './policy-gate.ts';

export interface TlsFiles {
  key: string | Buffer;
  cert: string | Buffer;
}

export interface WebhookServerOptions {
  tls: TlsFiles;
  /** Read on every request: replacing `deps.ctx` swaps the policy without a restart. */
  deps: AdmissionDeps;
  logger: Logger;
  /** Called once per answered admission, with what the log line says (metrics count these). */
  onAdmission?(summary: AdmissionSummary, durationMs: number): void;
  /** While it says why, /mutate answers 503 POLICY_NOT_LOADED instead of using the policy in memory. */
  policyPending?: PolicyPending;
  /** Open connections at most (MAX_CONNECTIONS by default). */
  maxConnections?: number;
}

export type WebhookServer = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger> & {
  /**
   * Starts draining while still listening (the shutdown delay): every answer
   * from now on says Connection: close, so clients holding a keep-alive
   * connection to this replica reconnect through the Service, which by then
   * routes to the others. close() does this too.
   */
  startDraining(): void;
};

/**
 * The TLS settings of the webhook's secure context. A reloaded certificate
 * must go through this too: setSecureContext resets every option not given.
 */
export const secureContextOptions = (tls: TlsFiles): { key: string | Buffer; cert: string | Buffer; minVersion: 'TLSv1.2' } => ({
  key: tls.key,
  cert: tls.cert,
  minVersion: 'TLSv1.2',
});

/**
 * The API server keeps idle webhook connections for about 90 s; closing
 * them sooner would race its next request on a dying socket.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;
/** Headers arrive in one packet from the API server; a client still sending them after 10 s is stalling. */
export const HEADERS_TIMEOUT_MS = 10_000;
/**
 * The whole request, body included. The API server gives up on a webhook
 * after at most 30 s, so a request still arriving after that has no one
 * waiting for its answer.
 */
export const REQUEST_TIMEOUT_MS = 30_000;
/** A socket with a request under way that sends nothing for this long is closed. */
export const CONNECTION_TIMEOUT_MS = 30_000;
/**
 * Open connections at most (connections.ts): any pod that can reach the
 * Service could otherwise open thousands, take the process past its memory
 * limit, and with failurePolicy Fail every opted-in pod creation with it.
 * An API server calls at most as many times at once as it admits mutating
 * requests (--max-mutating-requests-inflight, 200 by default), one call per
 * HTTP/1.1 connection, spread over the replicas; 512 leaves room for several
 * API servers, and at about 50 KB each is at most about 27 MB.
 */
export const MAX_CONNECTIONS = 512;
/** How often Node looks for connections past the headers and request timeouts (default 30 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 2_000;
/** While draining, how often connections that went idle are closed. */
const DRAIN_SWEEP_MS = 250;

/**
 * The limits and timeouts of the webhook's fastify instance, in one place so
 * that anything measured against it (the benchmark's baseline) is tuned alike.
 */
export const SERVER_TUNING = {
  bodyLimit: BODY_LIMIT,
  keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  requestTimeout: REQUEST_TIMEOUT_MS,
  connectionTimeout: CONNECTION_TIMEOUT_MS,
  // Secure JSON parsing: bodies with __proto__ or constructor.prototype keys are refused.
  onProtoPoisoning: 'error',
  onConstructorPoisoning: 'error',
} as const;

/**
 * Bodies from this size on wait for their turn (one-per-turn.ts). Ordinary
 * pods are a few KiB; one at the limit (3 MiB) holds the loop for its
 * parse, and several at once would hold it for all of theirs in a row.
 */
const LARGE_BODY = 256 * 1024;

type JsonCallbackParser = (request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void) => void;

/** Why a body the default parser refused is not usable, in words a person can act on. */
function explainJsonError(body: string): HttpError {
  if (body.trim() === '') return new HttpError('EMPTY_BODY', EMPTY_REVIEW_MESSAGE);
  try {
    JSON.parse(body);
  } catch (error) {
    return new HttpError('INVALID_JSON', `the body is not valid JSON: ${(error as Error).message}`);
  }
  // It parses, so the secure parser refused it for a prototype-poisoning key.
  return new HttpError('FORBIDDEN_JSON_KEY', 'the body contains a "__proto__" or "constructor.prototype" key, which is refused');
}

const JSON_TYPE = 'application/json; charset=utf-8';

function logAdmission(logger: Logger, admission: Admission, durationMs: number): void {
  const fields = { ...admission.summary, durationMs: Math.round(durationMs * 1000) / 1000 };
  if (admission.error !== undefined) logger.error({ ...fields, err: admission.error }, 'admission');
  else if (admission.summary.outcome === 'invalid') logger.warn(fields, 'admission');
  else logger.info(fields, 'admission');
}

export function buildServer(options: WebhookServerOptions): WebhookServer {
  const { deps, logger } = options;
  const respond = errorResponder(logger);
  const app = fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    https: {
      ...secureContextOptions(options.tls),
      headersTimeout: HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    loggerInstance: logger,
    // The route writes one line per admission; fastify's own request lines would double it.
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: fastify's default builds one (a pino child with the request id
    // bound) for every request, which nothing here reads; the admission's line carries its uid.
    childLoggerFactory: (serverLogger) => serverLogger,
    ...SERVER_TUNING,
    // While draining, keep answering requests that arrive on open connections (with
    // Connection: close) instead of 503s that the API server would count as webhook failures.
    return503OnClosing: false,
    frameworkErrors: respond,
    clientErrorHandler,
  });
  installErrorHandling(app, respond);
  capConnections(app.server, options.maxConnections ?? MAX_CONNECTIONS, logger);

  // JSON only: the API server sends nothing else, so any other type is a client mistake (415).
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error') as JsonCallbackParser;
  // Large bodies are read (and admitted: the route runs in the same call) one per turn of the event loop.
  const large = onePerTurn();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const read = (): void => {
      // Before parsing: JSON.parse would build every level, and every object, of a hostile body first.
      const shape = shapeBeyond(body as string);
      if (shape?.reason === 'deep') {
        return done(new HttpError('TOO_DEEP', `the body nests more than ${MAX_NESTING} levels deep (at character ${shape.at + 1}), which no Kubernetes object does`));
      }
      if (shape?.reason === 'many') {
        return done(new HttpError('BODY_TOO_COMPLEX', `the body holds more than ${MAX_COLLECTIONS} objects and lists (at character ${shape.at + 1}), far more than any pod does`));
      }
      parseJson(request, body as string, (error, value) => (error ? done(explainJsonError(body as string)) : done(null, value)));
    };
    if ((body as string).length < LARGE_BODY) read();
    else large(read);
  });

  // Draining: Node closes the connections that are idle when close() starts, but a
  // keep-alive connection busy at that moment would then idle for the whole
  // keep-alive timeout and hold the shutdown up. Answers sent while draining
  // say Connection: close, and stragglers that went idle are closed as they appear.
  let draining = false;
  const startDraining = (): void => {
    draining = true;
  };
  app.addHook('preClose', (done) => {
    startDraining();
    // Sweeping waits for close(), which stops the listener right after this hook: while
    // listening, a connection just accepted counts as idle until its first request
    // arrives, and a sweep would cut it.
    const sweep = setInterval(() => app.server.closeIdleConnections(), DRAIN_SWEEP_MS).unref();
    app.server.once('close', () => clearInterval(sweep));
    done();
  });

  app.post('/mutate', (request, reply) => {
    if (refuseWhilePending(options.policyPending, request, reply)) return;
    const body = request.body;
    // Let go of the parsed body at once: it may be tens of MiB, and the request lives until its answer is flushed.
    request.body = undefined;
    const admission = admit(body, deps);
    const durationMs = reply.elapsedTime;
    logAdmission(logger, admission, durationMs);
    options.onAdmission?.(admission.summary, durationMs);
    if (draining) reply.header('connection', 'close');
    // Ready text with its content type: fastify sends a string as it is instead of serialising the object again.
    void reply.code(admission.statusCode).type(JSON_TYPE).send(answerJson(admission.review));
  });
  return Object.assign(app, { startDraining });
}
