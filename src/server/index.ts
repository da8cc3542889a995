/** The HTTP edges: the webhook's HTTPS server, the preview listener and the probes' plain-HTTP server. */
export {
  buildServer,
  CONNECTION_TIMEOUT_MS,
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  MAX_CONNECTIONS,
  REQUEST_TIMEOUT_MS,
  SERVER_TUNING,
  secureContextOptions,
  type TlsFiles,
  type WebhookServer,
  type WebhookServerOptions,
} from './webhook.ts';
export { type PolicyPending } from './policy-gate.ts';
export { buildPreviewServer, type PreviewServer, type PreviewServerOptions } from './preview-server.ts';
export { buildHealthServer, HEALTH_MAX_CONNECTIONS, HEALTH_TIMEOUT_MS, type HealthServer, type HealthServerOptions } from './health.ts';
export { Readiness, webhookReadiness, type Check, type CheckResult, type ReadinessReport } from './readiness.ts';
export { BODY_LIMIT } from './errors.ts';
export { errorBody, HTTP_ERRORS, HttpError, httpErrorTable, statusOf, type ErrorBody, type HttpErrorReason } from './http-errors.ts';
