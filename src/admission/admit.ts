/**
 * The webhook's adapter: a parsed request body in, an AdmissionReview v1
 * response out, with the engine in between. Pure apart from calling the
 * engine and the namespace annotations provider: no HTTP, no logging. The
 * HTTP route logs the summary; a preview endpoint can reuse the whole thing.
 */
import { formatProblem, injectPod, podDisplayName, POLICY_REFUSALS, type EngineContext, type InjectResult, type Problem } from '../engine/index.ts';
import { readEnvelope, readRequest, review, type AdmissionRequest, type AdmissionResponse, type AdmissionReviewResponse } from './review.ts';
import { capWarnings } from './warnings.ts';

export interface AdmissionDeps {
  /**
   * Read on every admission, never cached: a policy reload replaces it and
   * the next request uses the new one.
   */
  ctx: EngineContext;
  /** Annotations of a namespace, whose prefixed ones are defaults for its pods; undefined when unknown. */
  namespaceAnnotations(namespace: string): Record<string, string> | undefined;
}

/** Every outcome of an admission, listed once: metrics create a series for each, so a new one cannot be left out. */
export const ADMISSION_OUTCOMES = ['injected', 'skipped', 'denied', 'allowed', 'invalid', 'error'] as const;
export type AdmissionOutcome = (typeof ADMISSION_OUTCOMES)[number];

/** What one admission did, for the log line (and later metrics). Never holds pod contents. */
export interface AdmissionSummary {
  uid: string;
  namespace: string;
  /** The pod's name, or its generateName with a '*'. */
  pod: string;
  operation: string;
  kind: string;
  outcome: AdmissionOutcome;
  /** Skip reason, comma-joined error codes, why a request was let through untouched, or what was invalid. */
  reason: string;
  dryRun: boolean;
  warnings: number;
  /** For an injected pod: how many repositories it syncs, the main one included. */
  repositories?: number;
}

export interface Admission {
  /** 400 for a body that is not a usable AdmissionReview; 200 for every answer the API server should act on. */
  statusCode: 200 | 400;
  review: AdmissionReviewResponse;
  summary: AdmissionSummary;
  /** The engine's full result (mutated pod, problems, injection), for callers that show more than the webhook answers. */
  result?: InjectResult;
  /** What the engine threw, for the caller to log with its stack. */
  error?: unknown;
}

/**
 * Why a request is let through untouched; stable identifiers for logs and
 * metrics. Listed as values, not only as a type, so that metrics can tell a
 * pass reason from free text by this very list and a new reason cannot be
 * forgotten there.
 */
export const PASS_REASONS = ['not-create', 'not-a-pod', 'subresource'] as const;
export type PassReason = (typeof PASS_REASONS)[number];

function passReason(req: AdmissionRequest): PassReason | undefined {
  const { kind, resource } = req;
  if (kind.kind !== 'Pod' || kind.group !== '' || resource.resource !== 'pods' || resource.group !== '') return 'not-a-pod';
  if (req.subResource !== '') return 'subresource';
  if (req.operation !== 'CREATE') return 'not-create';
  return undefined;
}

const namespaceOf = (pod: Record<string, unknown>): string => {
  const metadata = pod.metadata as { namespace?: unknown } | undefined;
  return typeof metadata?.namespace === 'string' ? metadata.namespace : '';
};

/** Every patch admit() answers is made here: base64, whose characters JSON writes as they are (answerJson counts on it). */
const base64 = (text: string): string => Buffer.from(text).toString('base64');

const PATCH_MEMBER = '"patch":""';

/**
 * A review admit() answered, as JSON text: exactly `JSON.stringify(review)`.
 * Its patch is base64 (from base64() above), kilobytes long, and needs no
 * escaping, so it is written in as it is: JSON.stringify would scan it
 * character by character, which cost a tenth of an Airflow admission. The
 * rest is JSON.stringify's own text, with the patch left empty; no string
 * member before the patch can contain `"patch":""`, as its quotes would be
 * escaped.
 */
export function answerJson(review: AdmissionReviewResponse): string {
  const { patch } = review.response;
  if (patch === undefined) return JSON.stringify(review);
  const text = JSON.stringify({ ...review, response: { ...review.response, patch: '' } });
  const at = text.indexOf(PATCH_MEMBER) + PATCH_MEMBER.length - 1;
  return `${text.slice(0, at)}${patch}${text.slice(at)}`;
}

const withWarnings = (response: AdmissionResponse, warnings: string[]): AdmissionResponse =>
  warnings.length > 0 ? { ...response, warnings } : response;

function denialMessage(namespace: string, pod: string, errors: Problem[]): string {
  const who = namespace ? `${namespace}/${pod}` : pod;
  const count = errors.length === 1 ? '1 error' : `${errors.length} errors`;
  return `gitsync-injector cannot inject git-sync into pod ${who}: ${count}:\n${errors.map(formatProblem).join('\n')}`;
}

export function admit(body: unknown, deps: AdmissionDeps): Admission {
  const envelope = readEnvelope(body);
  if (!envelope.ok) {
    return {
      statusCode: 400,
      review: review({ uid: envelope.uid, allowed: false, status: { code: 400, message: envelope.message } }),
      summary: { uid: envelope.uid, namespace: '', pod: '', operation: '', kind: '', outcome: 'invalid', reason: envelope.message, dryRun: false, warnings: 0 },
    };
  }
  const { uid } = envelope;
  const read = readRequest(uid, envelope.request);
  if (!read.ok) {
    return {
      statusCode: 200,
      review: review({ uid, allowed: false, status: { code: 400, message: read.message } }),
      summary: { uid, namespace: '', pod: '', operation: '', kind: '', outcome: 'invalid', reason: read.message, dryRun: false, warnings: 0 },
    };
  }
  const req = read.request;
  const named = podDisplayName(req.object ?? req.oldObject);
  const summary: AdmissionSummary = {
    uid,
    namespace: req.namespace,
    pod: named === '(unnamed)' && req.name ? req.name : named,
    operation: req.operation,
    kind: req.kind.kind,
    outcome: 'allowed',
    reason: '',
    dryRun: req.dryRun,
    warnings: 0,
  };

  // dryRun needs no branch: the engine has no side effects, so a dry run is answered exactly like a real one.
  const pass = passReason(req);
  if (pass) return { statusCode: 200, review: review({ uid, allowed: true }), summary: { ...summary, reason: pass } };

  if (typeof req.object !== 'object' || req.object === null || Array.isArray(req.object)) {
    const message = `request.object is ${req.object === undefined ? 'missing' : 'not a JSON object'}; a Pod CREATE must carry the pod`;
    return {
      statusCode: 200,
      review: review({ uid, allowed: false, status: { code: 400, message } }),
      summary: { ...summary, outcome: 'invalid', reason: message },
    };
  }

  // Pods created by controllers often carry no metadata.namespace; request.namespace is the truth, the pod's own the fallback.
  summary.namespace ||= namespaceOf(req.object as Record<string, unknown>);
  let result: InjectResult;
  try {
    result = injectPod({ pod: req.object, namespace: summary.namespace, namespaceAnnotations: deps.namespaceAnnotations(summary.namespace) }, deps.ctx);
  } catch (error) {
    const message = `internal error while injecting pod ${summary.namespace ? `${summary.namespace}/` : ''}${summary.pod}; see the injector's logs (request uid ${uid})`;
    return {
      statusCode: 200,
      review: review({ uid, allowed: false, status: { code: 500, message } }),
      summary: { ...summary, outcome: 'error', reason: error instanceof Error ? error.message : String(error) },
      error,
    };
  }

  switch (result.outcome) {
    case 'injected': {
      const warnings = capWarnings(result.warnings.map(formatProblem));
      const response = withWarnings({ uid, allowed: true, patchType: 'JSONPatch', patch: base64(result.patchJson) }, warnings);
      return { statusCode: 200, review: review(response), summary: { ...summary, outcome: 'injected', warnings: warnings.length, repositories: 1 + (result.injection?.repositories?.length ?? 0) }, result };
    }
    case 'skipped': {
      // A pod admitted untouched despite bad annotations hears about every problem, errors first.
      const warnings = capWarnings([...result.errors, ...result.warnings].map(formatProblem));
      const reason = result.skip?.reason ?? '';
      return {
        statusCode: 200,
        review: review(withWarnings({ uid, allowed: true }, warnings)),
        summary: { ...summary, outcome: 'skipped', reason, warnings: warnings.length },
        result,
      };
    }
    case 'denied': {
      const warnings = capWarnings(result.warnings.map(formatProblem));
      const message = denialMessage(summary.namespace, summary.pod, result.errors);
      // 403 when the policy refuses what the pod asks for (a repository, an enforced setting), 400 for values wrong in themselves.
      const code = result.errors.some((e) => POLICY_REFUSALS.has(e.code)) ? 403 : 400;
      const response = withWarnings({ uid, allowed: false, status: { code, message } }, warnings);
      const reason = [...new Set(result.errors.map((e) => e.code))].join(',');
      return { statusCode: 200, review: review(response), summary: { ...summary, outcome: 'denied', reason, warnings: warnings.length }, result };
    }
  }
}
