/**
 * The preview listener: POST /preview, GET /policy and the playground page
 * (GET /, src/playground/) on an HTTPS port of
 * their own, apart from /mutate's. They are for people and pipelines, not
 * for the API server, and they are open (no authentication): /preview
 * reads any namespace's `gitsync.dev/*` defaults through `?namespace=` and
 * spends the webhook's CPU. On /mutate's port, which the Service exposes to
 * the whole cluster, they do not exist; this port is off unless serve is
 * asked for it, and listens on loopback by default, so that only
 * `kubectl port-forward` reaches it. It shares the webhook's dependencies
 * (policy, namespace defaults, cluster facts), so its answer is the
 * webhook's, and its serving certificate, reloaded with it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AdmissionDeps } from '../admission/index.ts';
import { capConnections } from './connections.ts';
import { clientErrorHandler, errorResponder, installErrorHandling } from './errors.ts';
import { refuseWhilePending, type PolicyPending } from './policy-gate.ts';
import { registerPlayground } from './playground.ts';
import { registerPolicyRoute, type PolicyViewSource } from './policy-route.ts';
import { registerPreview } from './preview.ts';
import { HEADERS_TIMEOUT_MS, MAX_CONNECTIONS, SERVER_TUNING, secureContextOptions, type TlsFiles } from './webhook.ts';

export interface PreviewServerOptions {
  tls: TlsFiles;
  /** The webhook's own: a preview is the webhook's answer. */
  deps: AdmissionDeps;
  logger: Logger;
  /** The policy store behind `deps.ctx.policy`: when given, GET /policy shows it. */
  policy?: PolicyViewSource;
  /** While it says why, /preview answers 503 POLICY_NOT_LOADED, as /mutate does. */
  policyPending?: PolicyPending;
}

export type PreviewServer = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>;

export function buildPreviewServer(options: PreviewServerOptions): PreviewServer {
  const { logger } = options;
  const respond = errorResponder(logger);
  const app = fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    https: { ...secureContextOptions(options.tls), headersTimeout: HEADERS_TIMEOUT_MS },
    loggerInstance: logger,
    // /preview writes one line per preview.
    logController: new LogController({ disableRequestLogging: true }),
    ...SERVER_TUNING,
    frameworkErrors: respond,
    clientErrorHandler,
  });
  installErrorHandling(app, respond);
  capConnections(app.server, MAX_CONNECTIONS, logger);
  // Before the body is read: a preview under the built-in policy would mislead as much as an admission.
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url === '/preview' && refuseWhilePending(options.policyPending, request, reply)) return reply;
    return undefined;
  });
  registerPreview(app, options.deps);
  if (options.policy) registerPolicyRoute(app, options.policy);
  // The page for people, at the root: it asks /preview and nothing else.
  registerPlayground(app);
  return app;
}
