/** Prometheus metrics: one registry per server, served on the health port's /metrics. */
export {
  ADMISSION_DURATION_BUCKETS,
  admissionReason,
  createMetrics,
  type CertificateEvent,
  type Metrics,
  type MetricsOptions,
  type ObservedPolicyEvent,
} from './metrics.ts';
