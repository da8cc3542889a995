/**
 * The preview in webhook-free mode: what the API server does with a pod (or
 * a workload's pod template) under the exported admission policies
 * (docs/webhook-free.md), instead of what the webhook does. The export's
 * own TypeScript side decides (src/export/evaluate.ts): the pod it would
 * store, status difference included, or the refusal it would give.
 */
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { cloneJson, isObject, type EngineContext, type Problem, type ProblemCode } from '../engine/index.ts';
import { compileExport, evaluateWebhookFree, formatRefusal, INJECTION_LABEL, type CompileOutcome } from '../export/index.ts';
import type { PreviewObject } from './evaluate.ts';

/** Compiled once per policy and cluster facts: the export is a function of both. */
const compiledFor = new WeakMap<object, Map<string, CompileOutcome>>();

function compiled(ctx: EngineContext): CompileOutcome {
  let byFacts = compiledFor.get(ctx.policy);
  if (!byFacts) compiledFor.set(ctx.policy, (byFacts = new Map()));
  const key = String(ctx.cluster.nativeSidecars);
  let outcome = byFacts.get(key);
  // The preview runs with the facts it has; unknown support is the webhook's "unknown" too (auto never picks native).
  if (!outcome) byFacts.set(key, (outcome = compileExport(ctx, { allowUnknownFacts: true })));
  return outcome;
}

/** `field: message [CODE]` back into a problem. */
function problemOf(line: string): Problem {
  const m = /^(.*?): (.*) \[([A-Z_]+)\]$/s.exec(line);
  if (!m) return { code: 'VALUE_NOT_ALLOWED', field: '', message: line };
  return { code: m[3] as ProblemCode, field: m[1]!, message: m[2]! };
}

const unescape = (s: string): string => s.replaceAll('~1', '/').replaceAll('~0', '~');

/**
 * The webhook-free result for an object the webhook preview has already
 * looked at (`webhook`): the same object, location and pod template, with
 * the export's outcome. Objects that are not pods or workloads, and
 * AdmissionReviews (the webhook's own protocol), keep the webhook's answer.
 */
export function webhookFreeObject(input: unknown, webhook: PreviewObject, ctx: EngineContext, namespaceAnnotations: Record<string, string> | undefined): PreviewObject {
  if (webhook.podTemplate === undefined || webhook.review !== undefined) return webhook;
  const base = { ...webhook, mode: 'webhook-free' as const, patch: [] as Operation[], object: input, warnings: [] as Problem[], errors: [] as Problem[] };
  delete base.skip;
  delete base.injection;
  delete base.note;
  const outcome = compiled(ctx);
  if (!outcome.ok) {
    return { ...base, outcome: 'error', injected: false, note: `the policy cannot be exported: ${outcome.refusals.map(formatRefusal).join('; ')}` };
  }
  const path = webhook.podTemplate === '' ? [] : webhook.podTemplate.slice(1).split('/').map(unescape);
  let template: unknown = input;
  for (const p of path) template = isObject(template) ? template[p] : undefined;
  if (!isObject(template)) return { ...base, outcome: 'skipped', injected: false, note: 'no pod template' };
  const free = evaluateWebhookFree(outcome.compiled, {
    pod: template,
    namespace: webhook.namespace,
    // The preview, like the webhook's, assumes the pod is sent: its namespace is labelled for injection.
    namespaceLabels: { [INJECTION_LABEL]: 'enabled' },
    ...(namespaceAnnotations && { namespaceAnnotations }),
  });
  switch (free.outcome) {
    case 'skipped':
      return { ...base, outcome: 'skipped', injected: false, ...(webhook.skip && { skip: webhook.skip }), note: `no exported policy matches the pod (${free.unmatched})` };
    case 'admitted':
      return { ...base, outcome: 'skipped', injected: false, warnings: free.warnings.map(problemOf), note: 'admitted untouched with warnings (onInvalidAnnotations: admit)' };
    case 'denied':
      return { ...base, outcome: 'denied', injected: false, errors: free.denials.map(problemOf), warnings: free.warnings.map(problemOf) };
    case 'injected': {
      const patch = fastJsonPatch.compare(template, free.pod as object).map((op) => ({ ...op, path: `${webhook.podTemplate}${op.path}` }));
      const object = fastJsonPatch.applyPatch(cloneJson(input), patch, false, false).newDocument;
      return { ...base, outcome: 'injected', injected: true, patch, object, ...(webhook.injection && { injection: webhook.injection }) };
    }
  }
}
