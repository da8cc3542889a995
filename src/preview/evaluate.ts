/**
 * The preview of manifests: for every object in the input, in input order,
 * what the webhook will do to it (or to the pods a workload creates). Pods
 * and workloads go through `injectWorkload`, which makes the engine call the
 * webhook makes; an AdmissionReview goes through the webhook's own adapter,
 * `admit`, so its answer is the webhook's answer, byte for byte.
 */
import type { Operation } from 'fast-json-patch';
import { admit, type AdmissionDeps, type AdmissionOutcome, type AdmissionReviewResponse, type PassReason } from '../admission/index.ts';
import { podDisplayName, type Injection, type Problem, type SkipReason } from '../engine/index.ts';
import { injectWorkload } from '../workloads/index.ts';
import { isList, type ParsedSource, type SourceDocument } from './parse.ts';
import { isObject } from '../engine/index.ts';
import { webhookFreeObject } from './webhook-free.ts';

/** What happens to an object: the webhook's outcomes, and `ignored` for objects that are neither pods nor workloads. */
export type PreviewOutcome = AdmissionOutcome | 'ignored';

export const PREVIEW_OUTCOMES: readonly PreviewOutcome[] = ['injected', 'skipped', 'denied', 'ignored', 'allowed', 'invalid', 'error'];

/** Outcomes that mean the webhook would refuse the pod: `inject` and `check` exit 1 on them. */
export const REFUSED: ReadonlySet<PreviewOutcome> = new Set(['denied', 'invalid', 'error']);

/** Which mode a result stands for: the webhook, or the exported admission policies (docs/webhook-free.md). */
export type PreviewMode = 'webhook' | 'webhook-free';

export interface PreviewObject {
  /** The mode the result stands for. */
  mode: PreviewMode;
  /** The file the object came from (command line only). */
  source?: string;
  /** 1-based position of its document in the input. */
  document: number;
  /** Its index in the items of a List. */
  item?: number;
  /** 1-based line where it starts, when the input is YAML (JSON: where the document starts). */
  line?: number;
  apiVersion: string;
  kind: string;
  /** metadata.name, else generateName with a '*'. */
  name: string;
  /** The namespace its pods are created in (for pods and workloads), else its own. */
  namespace: string;
  outcome: PreviewOutcome;
  injected: boolean;
  skip?: { reason: SkipReason; message: string };
  /** Why the object is passed through, for the outcomes that have no skip reason or errors. */
  note?: string;
  /** JSON Pointer of the pod template in the object ('' for a Pod). */
  podTemplate?: string;
  /** JSON Patch against the object; empty unless injected. */
  patch: Operation[];
  /** The object after the patch (for an AdmissionReview: the pod). */
  object: unknown;
  warnings: Problem[];
  errors: Problem[];
  injection?: Injection;
  /** For an AdmissionReview: the webhook's answer. */
  review?: AdmissionReviewResponse;
}

export interface PreviewOptions {
  /** Namespace of objects that do not name one; default 'default', as kubectl does. */
  namespace?: string;
  /** What the exported admission policies would do instead of the webhook (docs/webhook-free.md). */
  webhookFree?: boolean;
}

export interface Location {
  document: number;
  item?: number;
  line?: number;
}

/** A document with what the preview found in it. */
export interface EvaluatedDocument {
  doc: SourceDocument;
  objects: PreviewObject[];
  /** The document as `inject` writes it: patched, the webhook's answer for a review, or the input as it was. */
  output: unknown;
  /** Whether `output` differs from the input. */
  changed: boolean;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

const isReview = (v: unknown): v is Record<string, unknown> => isObject(v) && v.kind === 'AdmissionReview';

function ownNamespace(object: unknown): string {
  const metadata = isObject(object) ? object.metadata : undefined;
  return isObject(metadata) ? str(metadata.namespace) : '';
}

const PASS_NOTES: Record<PassReason, string> = {
  'not-a-pod': 'the request is not for a Pod; the webhook allows it untouched',
  subresource: 'the request is for a subresource; the webhook allows it untouched',
  'not-create': 'only CREATE requests are mutated; the webhook allows this one untouched',
};

function fromReview(body: Record<string, unknown>, deps: AdmissionDeps, where: Location): PreviewObject {
  const admission = admit(body, deps);
  const { summary, result, review } = admission;
  const request = isObject(body.request) ? body.request : {};
  const requested = request.object;
  let note: string | undefined;
  if (summary.outcome === 'allowed') note = PASS_NOTES[summary.reason as PassReason] ?? summary.reason;
  else if (summary.outcome === 'invalid' || summary.outcome === 'error') note = review.response.status?.message ?? summary.reason;
  return {
    // An AdmissionReview is the webhook's own protocol: its answer is the webhook's in either mode.
    mode: 'webhook',
    ...where,
    apiVersion: isObject(requested) ? str(requested.apiVersion) : '',
    kind: summary.kind || 'AdmissionReview',
    name: summary.pod || summary.uid || '(no uid)',
    namespace: summary.namespace,
    outcome: summary.outcome,
    injected: summary.outcome === 'injected',
    ...(result?.skip && { skip: result.skip }),
    ...(note !== undefined && { note }),
    patch: result?.patch ?? [],
    object: result?.pod ?? requested ?? null,
    warnings: result?.warnings ?? [],
    errors: result?.errors ?? [],
    ...(result?.injection && { injection: result.injection }),
    review,
  };
}

/** The preview of one object that is not an AdmissionReview: a pod, a workload, or anything else (passed through). */
export function previewObject(object: unknown, deps: AdmissionDeps, options: PreviewOptions, where: Location): PreviewObject {
  const webhook = webhookPreview(object, deps, options, where);
  if (!options.webhookFree) return webhook;
  return webhookFreeObject(object, webhook, deps.ctx, deps.namespaceAnnotations(webhook.namespace));
}

function webhookPreview(object: unknown, deps: AdmissionDeps, options: PreviewOptions, where: Location): PreviewObject {
  const own = ownNamespace(object);
  const base = {
    mode: (options.webhookFree ? 'webhook-free' : 'webhook') as PreviewMode,
    ...where,
    apiVersion: isObject(object) ? str(object.apiVersion) : '',
    kind: isObject(object) ? str(object.kind) : '',
    name: podDisplayName(object),
  };
  if (isList(object)) {
    return { ...base, namespace: own, outcome: 'ignored', injected: false, note: 'a List inside a List is not expanded', patch: [], object, warnings: [], errors: [] };
  }
  // Where the pods will run: the object's namespace, else the one the caller gives (kubectl's -n), else kubectl's default.
  const namespace = own || options.namespace || 'default';
  try {
    const result = injectWorkload({ object, namespace, namespaceAnnotations: deps.namespaceAnnotations(namespace) }, deps.ctx);
    if (result.workload === undefined) {
      return { ...base, namespace: own, outcome: 'ignored', injected: false, note: `${result.note}; passed through untouched`, patch: [], object, warnings: [], errors: [] };
    }
    return {
      ...base,
      namespace,
      outcome: result.outcome,
      injected: result.outcome === 'injected',
      ...(result.skip && { skip: result.skip }),
      podTemplate: result.template,
      patch: result.patch,
      object: result.object,
      warnings: result.warnings,
      errors: result.errors,
      ...(result.injection && { injection: result.injection }),
    };
  } catch (error) {
    // The webhook denies a pod when the engine fails (admit does the same), so the preview says so rather than guessing.
    const note = `internal error while injecting: ${error instanceof Error ? error.message : String(error)}`;
    return { ...base, namespace, outcome: 'error', injected: false, note, patch: [], object, warnings: [], errors: [] };
  }
}

/** A document without its syntax tree: what a parsing worker sends back. */
export type PlainDocument = Omit<SourceDocument, 'yaml'>;

/**
 * The preview of each object of a document, one at a time, so that the
 * server can let other requests through between them: a List's items one by
 * one, an AdmissionReview through `admit`, nothing for an empty document.
 */
export function* previewObjects(doc: PlainDocument, deps: AdmissionDeps, options: PreviewOptions): Generator<PreviewObject> {
  const { value } = doc;
  const where: Location = { document: doc.index, line: doc.line };
  if (value === null || value === undefined) return;
  if (isReview(value)) {
    yield fromReview(value, deps, where);
  } else if (isList(value)) {
    for (const [i, item] of value.items.entries()) yield previewObject(item, deps, options, { document: doc.index, item: i, line: doc.itemLines?.[i] ?? doc.line });
  } else {
    yield previewObject(value, deps, options, where);
  }
}

/** Every object of a document, and the document as `inject` writes it. */
export function evaluateDocument(doc: SourceDocument, deps: AdmissionDeps, options: PreviewOptions): EvaluatedDocument {
  const objects = [...previewObjects(doc, deps, options)];
  const { value } = doc;
  if (objects.length === 0) return { doc, objects, output: value, changed: false };
  if (isReview(value)) return { doc, objects, output: objects[0]!.review, changed: true };
  if (isList(value)) {
    const changed = objects.some((o) => o.patch.length > 0);
    return { doc, objects, output: changed ? { ...value, items: objects.map((o) => o.object) } : value, changed };
  }
  return { doc, objects, output: objects[0]!.object, changed: objects[0]!.patch.length > 0 };
}

export function evaluateSource(source: ParsedSource, deps: AdmissionDeps, options: PreviewOptions): EvaluatedDocument[] {
  return source.documents.map((doc) => evaluateDocument(doc, deps, options));
}

/** The operations that turn the document into its output: each object's patch, under /items/N for List items. */
export function documentPatch(evaluated: EvaluatedDocument): Operation[] {
  return evaluated.objects.flatMap((o) => (o.item === undefined ? o.patch : o.patch.map((op) => ({ ...op, path: `/items/${o.item}${op.path}` }))));
}

export type PreviewSummary = Record<'objects' | PreviewOutcome, number>;

export function summarise(objects: readonly PreviewObject[]): PreviewSummary {
  const summary = { objects: objects.length } as PreviewSummary;
  for (const outcome of PREVIEW_OUTCOMES) summary[outcome] = 0;
  for (const o of objects) summary[o.outcome]++;
  return summary;
}
