/**
 * Probes on their own plain-HTTP port: the kubelet reaches them without a
 * certificate, and a probe never waits behind admissions. /healthz says the
 * process runs (liveness); /readyz says whether to send it admissions;
 * /metrics is for Prometheus.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
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
    frameworkErrors: respond,
  });
  installErrorHandling(app, respond);

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
