/**
 * The ceiling of this stack: a bare fastify HTTPS server with the webhook's
 * TLS and connection settings that does what any JSON webhook must (parse
 * the body as JSON with the same secure parser, read `request.uid`) and
 * answers with ready bytes and their content type: no object is serialised
 * per request. The bytes are the webhook's own answer to that review,
 * worked out once at start-up and picked by uid, so both servers send the
 * same bytes back and the only difference left is the admission work
 * (engine, adapter, serialising the answer, log line, metrics).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import { fastify, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { HEADERS_TIMEOUT_MS, SERVER_TUNING, type TlsFiles } from '../src/server/index.ts';
import { secureContextOptions } from '../src/server/webhook.ts';

export type BaselineServer = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>;

/** `answers`: the bytes of the answer to each review, by request uid; `fallback` for any other uid. */
export function buildBaselineServer(tls: TlsFiles, answers: ReadonlyMap<string, Buffer>, fallback: Buffer): BaselineServer {
  const app = fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    https: { ...secureContextOptions(tls), headersTimeout: HEADERS_TIMEOUT_MS },
    logger: false,
    // The webhook's own limits, timeouts and secure JSON parsing.
    ...SERVER_TUNING,
  });
  app.post('/mutate', (request, reply) => {
    const req = (request.body as { request?: { uid?: unknown } } | null)?.request;
    const answer = (typeof req?.uid === 'string' && answers.get(req.uid)) || fallback;
    void reply.type('application/json; charset=utf-8').send(answer);
  });
  return app;
}
