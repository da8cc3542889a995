/**
 * The ceiling of this stack: a bare fastify HTTPS server with the webhook's
 * TLS and connection settings that parses each JSON body as the webhook does
 * and answers with a fixed AdmissionReview. The answers are the webhook's
 * own, computed once at start-up and picked by request uid, so both servers
 * send the same bytes back; the only difference left is the admission work
 * (engine, adapter, log line).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import { fastify, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { HEADERS_TIMEOUT_MS, SERVER_TUNING, type TlsFiles } from '../src/server/index.ts';
import { secureContextOptions } from '../src/server/webhook.ts';
import type { AdmissionReviewResponse } from '../src/admission/index.ts';

export type BaselineServer = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>;

export function buildBaselineServer(tls: TlsFiles, answers: ReadonlyMap<string, AdmissionReviewResponse>, fallback: AdmissionReviewResponse): BaselineServer {
  const app = fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    https: { ...secureContextOptions(tls), headersTimeout: HEADERS_TIMEOUT_MS },
    logger: false,
    // The webhook's own limits, timeouts and secure JSON parsing.
    ...SERVER_TUNING,
  });
  app.post('/mutate', (request, reply) => {
    const req = (request.body as { request?: { uid?: unknown } } | null)?.request;
    const answer = (typeof req?.uid === 'string' && answers.get(req.uid)) || fallback;
    void reply.send(answer);
  });
  return app;
}
