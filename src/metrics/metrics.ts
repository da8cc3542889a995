/**
 * Prometheus metrics for `/metrics` on the health port. Each server gets its
 * own registry (never prom-client's global one), so tests can run several
 * servers in one process and count each one's requests exactly.
 *
 * Label values are always drawn from closed sets (outcomes, skip reasons,
 * problem codes): nothing a client sends can become a label and grow the
 * number of series without bound.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ADMISSION_OUTCOMES, PASS_REASONS, type AdmissionSummary, type PassReason } from '../admission/index.ts';
import { PROBLEM_CODES, SKIP_REASONS } from '../engine/index.ts';
import type { PolicyEvent } from '../policy/index.ts';

/**
 * An admission costs well under a millisecond; anything past 100 ms means a
 * starved process. Buckets resolve the sub-millisecond range and stop at
 * 100 ms (the +Inf bucket catches the rest).
 */
export const ADMISSION_DURATION_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

const isPassReason = (reason: string): reason is PassReason => (PASS_REASONS as readonly string[]).includes(reason);

/**
 * The part of the policy store's PolicyEvent that metrics read, picked from
 * the store's own type so that the two cannot drift apart. Only a part:
 * `serve` also reports the policy it starts with, before any event, and has
 * no previous hash or problems to give; a store listener takes full events.
 */
export type ObservedPolicyEvent =
  | Pick<Extract<PolicyEvent, { type: 'loaded' }>, 'type' | 'source' | 'hash'>
  | Pick<Extract<PolicyEvent, { type: 'rejected' }>, 'type' | 'source'>;

/** The outcome of one attempt to load a new serving certificate. */
export type CertificateEvent = { result: 'success'; notAfter: Date } | { result: 'failure' };

export interface MetricsOptions {
  /** The injector's version, for gitsync_injector_build_info. */
  version: string;
  /** Node.js and process metrics (process_*, nodejs_*); default true. */
  processMetrics?: boolean;
  /** Log lines dropped so far because stdout was not read (src/log.ts), read at each scrape. */
  droppedLogLines?: () => number;
}

export interface Metrics {
  readonly registry: Registry;
  /** The Content-Type of `render()`'s text. */
  readonly contentType: string;
  /** Counts one admission and its duration; the summary is the one admit() returned. */
  observeAdmission(summary: Pick<AdmissionSummary, 'outcome' | 'reason' | 'repositories'>, durationMs: number): void;
  /** Counts a policy load or refusal; a loaded policy becomes the one gitsync_injector_policy_info shows. */
  observePolicy(event: ObservedPolicyEvent): void;
  /** Counts a certificate reload; a success also records the new certificate's expiry. */
  observeCertificate(event: CertificateEvent): void;
  /** Records the expiry of the certificate served from the start (not a reload). */
  certificateInUse(notAfter: Date): void;
  /** The exposition text for a scrape. */
  render(): Promise<string>;
}

/**
 * The reason label of an admission: the skip reason, the sorted error codes
 * of a denial, or why a request passed untouched. Invalid requests and
 * internal errors carry free text in their summary, which is never a label.
 */
export function admissionReason(summary: Pick<AdmissionSummary, 'outcome' | 'reason'>): string {
  switch (summary.outcome) {
    case 'skipped':
      return Object.hasOwn(SKIP_REASONS, summary.reason) ? summary.reason : 'other';
    case 'allowed':
      return isPassReason(summary.reason) ? summary.reason : 'other';
    case 'denied': {
      const codes = new Set(summary.reason.split(',').filter((code) => Object.hasOwn(PROBLEM_CODES, code)));
      return [...codes].sort().join(',');
    }
    default:
      return '';
  }
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  const registers = [registry];

  const admissions = new Counter({
    name: 'gitsync_injector_admissions_total',
    help: 'Admission requests answered, by outcome (injected, skipped, denied, allowed, invalid, error) and reason (skip reason, denial error codes, or why a request passed untouched).',
    labelNames: ['outcome', 'reason'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'gitsync_injector_admission_duration_seconds',
    help: 'Time from receiving an admission request to having its answer, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: [...ADMISSION_DURATION_BUCKETS],
    registers,
  });
  const repositories = new Counter({
    name: 'gitsync_injector_repositories_injected_total',
    help: 'Repositories given a git-sync in injected pods, the main one included: with gitsync_injector_admissions_total{outcome="injected"}, how many a pod syncs on average.',
    registers,
  });
  const policyLoads = new Counter({
    name: 'gitsync_injector_policy_loads_total',
    help: 'Policies read, by result: loaded (now in force) or rejected (invalid; the last good policy stays in force).',
    labelNames: ['result'] as const,
    registers,
  });
  const policyInfo = new Gauge({
    name: 'gitsync_injector_policy_info',
    help: 'The policy in force: always 1, with its source and hash as labels.',
    labelNames: ['source', 'hash'] as const,
    registers,
  });
  const certificateReloads = new Counter({
    name: 'gitsync_injector_certificate_reloads_total',
    help: 'Serving certificate changes seen on disk, by result: success (now served) or failure (unreadable or mismatched; the previous certificate stays in use).',
    labelNames: ['result'] as const,
    registers,
  });
  const certificateExpiry = new Gauge({
    name: 'gitsync_injector_certificate_expiration_timestamp_seconds',
    help: 'When the serving certificate in use expires, as a Unix timestamp.',
    registers,
  });
  const droppedLogLines = options.droppedLogLines ?? ((): number => 0);
  new Counter({
    name: 'gitsync_injector_log_lines_dropped_total',
    help: 'Log lines dropped because stdout was not read and the lines waiting for it reached their bound; a warning line with the count follows once there is room.',
    registers,
    collect() {
      this.reset();
      this.inc(droppedLogLines());
    },
  });
  const buildInfo = new Gauge({
    name: 'gitsync_injector_build_info',
    help: 'Always 1; the injector version and Node.js version as labels.',
    labelNames: ['version', 'node'] as const,
    registers,
  });

  // Series that exist from the start read 0 instead of being absent, so rate() and
  // alerts on them work before the first event.
  for (const outcome of ADMISSION_OUTCOMES) duration.zero({ outcome });
  // Label sets bound once, so that an admission builds no labels object. prom-client
  // still validates and hashes the labels on every call of a bound series: the three
  // updates of an admission cost about 1.4 µs in a loop (docs/benchmark.md).
  // Outcome and reason come from closed sets, so these maps stay as small as the series.
  const durations = new Map(ADMISSION_OUTCOMES.map((outcome) => [outcome, duration.labels({ outcome })]));
  const admissionCounters = new Map<string, { inc(): void }>();
  admissions.inc({ outcome: 'injected', reason: '' }, 0);
  admissions.inc({ outcome: 'error', reason: '' }, 0);
  repositories.inc(0);
  for (const result of ['loaded', 'rejected']) policyLoads.inc({ result }, 0);
  for (const result of ['success', 'failure']) certificateReloads.inc({ result }, 0);
  buildInfo.set({ version: options.version, node: process.version }, 1);
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  return {
    registry,
    contentType: registry.contentType,
    observeAdmission(summary, durationMs) {
      const reason = admissionReason(summary);
      const key = `${summary.outcome}\u0000${reason}`;
      let counter = admissionCounters.get(key);
      if (counter === undefined) {
        counter = admissions.labels({ outcome: summary.outcome, reason });
        admissionCounters.set(key, counter);
      }
      counter.inc();
      if (summary.repositories !== undefined) repositories.inc(summary.repositories);
      durations.get(summary.outcome)!.observe(durationMs / 1000);
    },
    observePolicy(event) {
      policyLoads.inc({ result: event.type });
      if (event.type === 'loaded') {
        policyInfo.reset();
        policyInfo.set({ source: event.source, hash: event.hash }, 1);
      }
    },
    observeCertificate(event) {
      certificateReloads.inc({ result: event.result });
      if (event.result === 'success') certificateExpiry.set(event.notAfter.getTime() / 1000);
    },
    certificateInUse(notAfter) {
      certificateExpiry.set(notAfter.getTime() / 1000);
    },
    render: () => registry.metrics(),
  };
}
