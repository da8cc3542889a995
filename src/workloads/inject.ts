/**
 * Injecting a workload: the engine runs on its pod template with the same
 * call the webhook makes for a pod (`injectPod`, same context), and its
 * patch is moved under the template's path, so that it applies to the
 * workload document itself (`kubectl patch --local --type=json` on the
 * manifest). For a Pod the template is the object and nothing moves, so the
 * patch is byte for byte the webhook's.
 */
import type { Operation } from 'fast-json-patch';
import { injectPod, isObject, valueAt, type EngineContext, type InjectResult, type Injection, type Problem, type SkipReason } from '../engine/index.ts';
import { classify, dotted, pointer, type WorkloadKind } from './kinds.ts';
import { misplacedAnnotations } from './misplaced.ts';

export interface WorkloadRequest {
  /** The manifest as plain JSON. It is never modified. */
  object: unknown;
  /** The namespace its pods are created in. */
  namespace: string;
  /** Annotations of that namespace, whose prefixed ones are defaults for its pods; undefined when unknown. */
  namespaceAnnotations?: Record<string, string>;
}

export interface WorkloadResult {
  workload: WorkloadKind;
  /** JSON Pointer of the pod template in the object: '' for a Pod, '/spec/template', '/spec/jobTemplate/spec/template'. */
  template: string;
  outcome: InjectResult['outcome'];
  skip?: { reason: SkipReason; message: string };
  /** JSON Patch (adds only) against the whole object; empty unless injected. */
  patch: Operation[];
  /** The object after the patch; the input object itself when nothing changes. */
  object: unknown;
  /** The engine's warnings, then annotations written on the wrong level. */
  warnings: Problem[];
  errors: Problem[];
  injection?: Injection;
}

/** Not a pod or a workload: passed through untouched, with the reason. */
export interface NotAWorkload {
  workload: undefined;
  note: string;
}


/** A copy of `object` with `value` at `path`; every level on the path exists, since the engine found a pod there. */
function replaceAt(object: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(object) as Record<string, unknown>;
  let node = copy;
  for (const segment of path.slice(0, -1)) node = node[segment] as Record<string, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

/** Runs the engine on the object's pod template, or says why the object has none. */
export function injectWorkload(req: WorkloadRequest, ctx: EngineContext): WorkloadResult | NotAWorkload {
  const classified = classify(req.object);
  if ('note' in classified) return { workload: undefined, note: classified.note };
  const { workload } = classified;
  const path = workload.template;
  const template = valueAt(req.object, path);
  const result = injectPod({ pod: template, namespace: req.namespace, namespaceAnnotations: req.namespaceAnnotations }, ctx);

  const prefix = pointer(path);
  const patch = prefix === '' ? result.patch : result.patch.map((op) => ({ ...op, path: `${prefix}${op.path}` }));
  const object = result.outcome === 'injected' ? replaceAt(req.object, path, result.pod) : req.object;
  let skip = result.skip;
  // The engine speaks of "the object"; for a workload, say which part of the manifest it means.
  if (skip?.reason === 'unreadable-pod' && path.length > 0) {
    const message = isObject(template)
      ? `in the pod template ${dotted(path)}: ${skip.message}`
      : `${dotted(path)} is ${template === undefined ? 'missing' : 'not an object'}, so there is no pod template; the API server will judge the manifest`;
    skip = { reason: skip.reason, message };
  }
  return {
    workload,
    template: prefix,
    outcome: result.outcome,
    ...(skip && { skip }),
    patch,
    object,
    warnings: [...result.warnings, ...misplacedAnnotations(req.object, workload, ctx.policy.prefix)],
    errors: result.errors,
    ...(result.injection && { injection: result.injection }),
  };
}
