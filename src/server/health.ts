/**
 * Probes on their own plain-HTTP port: the kubelet reaches them without a
 * certificate, and a probe never waits behind admissions. /healthz says the
 * process runs (liveness); /readyz says whether to send it admissions;
 * /metrics is for Prometheus.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { capConnections } from './connections.ts';
import { errorResponder, installErrorHandling } from './errors.ts';
import type { Readiness } from './readiness.ts';

/** What /metrics serves: the Prometheus exposition text. */
export interface MetricsSource {
  contentType: string;
  render(): Promise<string>;
}

export interface HealthServerOptions {
  readiness: Readiness;
  logger: Logger;
  /** Serves GET /metrics when given. */
  metrics?: MetricsSource;
}

/** Probes and scrapes take milliseconds; a connection idle this long, or a request this slow, is closed. */
export const HEALTH_TIMEOUT_MS = 10_000;
/** The kubelet's probes and a few scrapers need a handful of connections. */
export const HEALTH_MAX_CONNECTIONS = 64;

export type HealthServer = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>;

export function buildHealthServer(options: HealthServerOptions): HealthServer {
  const { readiness, logger } = options;
  const respond = errorResponder(logger);
  const app = fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    loggerInstance: logger,
    // Probes come every few seconds; a line for each would bury the admissions.
    logController: new LogController({ disableRequestLogging: true }),
    // Probes have no body: anything large is not a probe.
    bodyLimit: 1024,
    // A probe or a scrape is answered in milliseconds; a socket that sends nothing is not one.
    connectionTimeout: HEALTH_TIMEOUT_MS,
    requestTimeout: HEALTH_TIMEOUT_MS,
    keepAliveTimeout: HEALTH_TIMEOUT_MS,
    frameworkErrors: respond,
  });
  installErrorHandling(app, respond);
  // The kubelet and Prometheus hold a few; this port is as reachable as the webhook's.
  capConnections(app.server, HEALTH_MAX_CONNECTIONS, logger);

  app.get('/healthz', (_request, reply) => {
    void reply.send({ status: 'ok' });
  });
  app.get('/readyz', (_request, reply) => {
    const report = readiness.report();
    void reply.code(report.ready ? 200 : 503).send(report);
  });
  const { metrics } = options;
  if (metrics) {
    app.get('/metrics', async (_request, reply) => {
      const text = await metrics.render();
      return reply.type(metrics.contentType).send(text);
    });
  }
  return app;
}
