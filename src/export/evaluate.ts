/**
 * The webhook-free mode, run in TypeScript: what the API server does with a
 * pod under the exported policies. The same expressions as the CEL the
 * export writes: the match conditions, each check, and the mutation merged
 * into the pod as the API server merges an ApplyConfiguration (lists of
 * containers, init containers and volumes by name, volume mounts by
 * mountPath, env by name; new entries after the pod's own).
 */
import { cloneJson, isObject } from '../engine/index.ts';
import type { Input } from './cel.ts';
import type { Check } from './checks.ts';
import { INJECTION_LABEL, type CompiledExport } from './compile.ts';

export interface WebhookFreeRequest {
  pod: Record<string, unknown>;
  namespace: string;
  namespaceAnnotations?: Record<string, string>;
  namespaceLabels?: Record<string, string>;
}

export interface WebhookFreeResult {
  /** `skipped`: no export policy matches the pod; `admitted`: matched, refused as warnings only (onInvalidAnnotations: admit). */
  outcome: 'injected' | 'denied' | 'admitted' | 'skipped';
  /** The condition that did not match, for a skipped pod. */
  unmatched?: string;
  /** The pod as the API server would store it (the input for all but injected). */
  pod: unknown;
  /** Failed checks, as the API server words them (`field: message [CODE]`). */
  denials: string[];
  warnings: string[];
}

/** List-map keys, by field: how the API server merges the lists the export writes. */
const KEYS: Record<string, string> = { containers: 'name', initContainers: 'name', volumes: 'name', env: 'name', volumeMounts: 'mountPath' };

function merge(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(patch)) {
    const key = KEYS[k];
    if (key !== undefined && Array.isArray(v)) {
      if (v.length === 0) continue;
      const list = Array.isArray(target[k]) ? (target[k] as Record<string, unknown>[]) : [];
      for (const item of v as Record<string, unknown>[]) {
        const existing = list.find((e) => e[key] === item[key]);
        if (existing) merge(existing, item);
        else list.push(cloneJson(item));
      }
      target[k] = list;
    } else if (isObject(v) && isObject(target[k])) {
      merge(target[k], v);
    } else {
      target[k] = cloneJson(v);
    }
  }
}

/** The pod after the mutation. */
export function applyMutation(pod: Record<string, unknown>, mutation: Record<string, unknown>): Record<string, unknown> {
  const out = cloneJson(pod);
  merge(out, mutation);
  return out;
}

const failed = (checks: readonly Check[], input: Input): string[] => checks.filter((c) => !c.ok.ev(input)).map((c) => c.message.ev(input));

export function evaluateWebhookFree(c: CompiledExport, req: WebhookFreeRequest): WebhookFreeResult {
  const input: Input = {
    pod: req.pod,
    namespace: req.namespace,
    namespaceAnnotations: req.namespaceAnnotations ?? {},
    namespaceLabels: { 'kubernetes.io/metadata.name': req.namespace, ...req.namespaceLabels },
  };
  const untouched = { pod: req.pod, denials: [], warnings: [] };
  if (c.excludedNamespaces.includes(req.namespace)) return { outcome: 'skipped', unmatched: 'namespaceSelector', ...untouched };
  if (input.namespaceLabels[INJECTION_LABEL] === 'disabled') return { outcome: 'skipped', unmatched: 'namespaceSelector', ...untouched };
  const unmatched = c.match.find((m) => !m.expression.ev(input));
  if (unmatched) return { outcome: 'skipped', unmatched: unmatched.name, ...untouched };

  const webhookOnly = failed(
    c.checks.filter((k) => k.code === 'WEBHOOK_ONLY'),
    input,
  );
  const engine = failed(
    c.checks.filter((k) => k.code !== 'WEBHOOK_ONLY'),
    input,
  );
  if (c.onInvalidAnnotations === 'admit') {
    if (webhookOnly.length > 0) return { outcome: 'denied', pod: req.pod, denials: webhookOnly, warnings: engine };
    if (engine.length > 0) return { outcome: 'admitted', pod: req.pod, denials: [], warnings: engine };
  } else {
    const all = failed(c.checks, input);
    if (all.length > 0) return { outcome: 'denied', pod: req.pod, denials: all, warnings: [] };
  }
  // Each mutation sees the pod as the ones before it left it, as on the API server.
  let pod = req.pod;
  for (const m of c.mutations) pod = applyMutation(pod, m.ev({ ...input, pod }));
  return { outcome: 'injected', pod, denials: [], warnings: [] };
}
