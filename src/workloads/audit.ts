/**
 * What `audit` finds in a cluster, object by object, with the engine as the
 * judge (pure: the command reads the cluster, this decides):
 *
 * - `not-injected`: a pod that asks for git-sync but has none, because it
 *   was created while the webhook was down or before it was installed, or
 *   the webhook configuration does not send it, or the engine skips it now
 *   (with the skip reason it gives);
 * - `drift`: a pod injected under another policy hash, or by another
 *   injector version, than the ones in force: it keeps its old git-sync
 *   settings until it is re-created;
 * - `wrong-level`: a workload whose gitsync.dev/* annotations sit on its own
 *   metadata (or a CronJob's job template's), where no pod sees them.
 */
import { formatProblem, injectPod, isObject, WRITTEN_ANNOTATIONS, type EngineContext, type SkipReason } from '../engine/index.ts';
import { classify } from './kinds.ts';
import { misplacedAnnotations } from './misplaced.ts';
import { readStatus } from './uninject.ts';

export const FINDINGS = ['not-injected', 'drift', 'wrong-level'] as const;
export type FindingKind = (typeof FINDINGS)[number];

export interface Finding {
  finding: FindingKind;
  kind: string;
  namespace: string;
  name: string;
  /** A stable word for machines: the skip reason, `would-inject`, `would-deny`, `policy`, `version`, or the warning code. */
  reason: string;
  /** What is wrong and what to do, for people. */
  detail: string;
}

/** Skip reasons that mean the pod does not ask for git-sync, or asked not to have it: nothing to report. */
const NOT_ASKING: ReadonlySet<SkipReason> = new Set(['not-opted-in', 'opted-out', 'mirror-pod']);

const meta = (o: unknown): Record<string, unknown> => (isObject(o) && isObject(o.metadata) ? o.metadata : {});
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

export interface AuditContext {
  ctx: EngineContext;
  namespaceAnnotations(namespace: string): Record<string, string> | undefined;
  /** The injector version pods are expected to carry. */
  version: string;
}

const RECREATE = 'delete the pod (or roll out its workload) so that it is created again';

export function auditPod(pod: unknown, a: AuditContext): Finding[] {
  const m = meta(pod);
  const namespace = text(m.namespace);
  const base = { kind: 'Pod', namespace, name: text(m.name) };
  const annotations = isObject(m.annotations) ? m.annotations : {};
  const prefix = a.ctx.policy.prefix;
  const raw = annotations[`${prefix}${WRITTEN_ANNOTATIONS.status}`];
  if (typeof raw === 'string') {
    const status = readStatus(raw);
    if (typeof status === 'string') return [{ ...base, finding: 'drift', reason: 'unreadable-status', detail: `${status}; ${RECREATE}` }];
    const findings: Finding[] = [];
    if (status.policy !== a.ctx.policy.hash) {
      findings.push({ ...base, finding: 'drift', reason: 'policy', detail: `injected under policy ${status.policy ?? '(none recorded)'}; the policy in force is ${a.ctx.policy.hash}; ${RECREATE}` });
    }
    if (status.version !== a.version) {
      findings.push({ ...base, finding: 'drift', reason: 'version', detail: `injected by version ${status.version ?? '(none recorded)'}; expected ${a.version}; ${RECREATE}` });
    }
    return findings;
  }
  const result = injectPod({ pod, namespace, namespaceAnnotations: a.namespaceAnnotations(namespace) }, a.ctx);
  const why = 'it was created while the webhook was down or before it was installed, or the webhook configuration does not send it';
  if (result.outcome === 'injected') return [{ ...base, finding: 'not-injected', reason: 'would-inject', detail: `the webhook would inject it now; ${why}; ${RECREATE}` }];
  if (result.outcome === 'denied') {
    return [{ ...base, finding: 'not-injected', reason: 'would-deny', detail: `the webhook would deny it now (${result.errors.map(formatProblem).join('; ')}); ${why}` }];
  }
  const reason = result.skip?.reason;
  const asks = Object.keys(annotations).some((k) => k.startsWith(prefix));
  if (!reason || NOT_ASKING.has(reason) || !asks) return [];
  const errors = result.errors.length > 0 ? ` (${result.errors.map(formatProblem).join('; ')})` : '';
  return [{ ...base, finding: 'not-injected', reason, detail: `${result.skip!.message}${errors}` }];
}

/** Workloads a controller owns (a Deployment's ReplicaSets, a CronJob's Jobs) copy their owner's annotations: the owner is the one to report. */
function controlled(object: unknown): boolean {
  const owners = meta(object).ownerReferences;
  return Array.isArray(owners) && owners.some((o) => isObject(o) && o.controller === true);
}

export function auditWorkload(object: unknown, prefix: string): Finding[] {
  const c = classify(object);
  if ('note' in c || c.workload.kind === 'Pod' || controlled(object)) return [];
  const m = meta(object);
  return misplacedAnnotations(object, c.workload, prefix).map((p) => ({
    finding: 'wrong-level',
    kind: c.workload.kind,
    namespace: text(m.namespace),
    name: text(m.name),
    reason: p.code,
    detail: p.message,
  }));
}
