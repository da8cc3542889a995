/**
 * The PreviewRequest: a body for POST /preview that carries, besides the
 * manifests, what a bare manifest cannot: a policy to preview them under,
 * the namespace, and whether to add each object written as YAML before and
 * after (for a diff). The playground sends it; pipelines may too.
 *
 *   {"apiVersion": "gitsync.dev/v1", "kind": "PreviewRequest",
 *    "manifests": "<JSON or YAML text>", "policy": "<policy YAML>",
 *    "namespace": "airflow", "yaml": true}
 *
 * It is recognised, like an AdmissionReview, by its apiVersion and kind, in
 * a body of one document (JSON or YAML); the manifests are a string, read as
 * a body is, so that problems in them come with the line and column in that
 * text, as in the editor it came from. A policy in the request is checked as
 * `serve` checks one (every problem, with its line and column) and used for
 * this preview only; without one, the policy in force answers.
 */
import { createHash } from 'node:crypto';
import type { AdmissionDeps } from '../admission/index.ts';
import { isDnsLabel, isObject } from '../engine/index.ts';
import { loadPolicyText, type PolicyProblem } from '../policy/index.ts';
import type { PlainDocument, PreviewObject, PreviewResponse, PreviewWorker } from '../preview/index.ts';

export const PREVIEW_REQUEST_API_VERSION = 'gitsync.dev/v1';
export const PREVIEW_REQUEST_KIND = 'PreviewRequest';

/**
 * A policy is a page of YAML (the example platform policy is 2 KiB); this
 * leaves room for many presets and host keys while bounding what is parsed
 * and compiled on the event loop, outside the worker.
 */
export const MAX_POLICY_BYTES = 64 * 1024;

/** The fields of a PreviewRequest, with what each must be: the one table validation and the docs read. */
export const PREVIEW_REQUEST_FIELDS = {
  apiVersion: `"${PREVIEW_REQUEST_API_VERSION}"`,
  kind: `"${PREVIEW_REQUEST_KIND}"`,
  manifests: 'a string: the manifests, JSON or YAML, as a body of its own would be',
  policy: `a string (optional): a policy as YAML, at most ${MAX_POLICY_BYTES / 1024} KiB; without it, the policy in force`,
  namespace: 'a namespace name (optional): for objects that do not name one, as ?namespace= does',
  yaml: 'true or false (optional): add to each pod and workload its input and output written as YAML',
  webhookFree: 'true or false (optional): answer for the webhook-free mode, the exported admission policies (docs/webhook-free.md), as ?mode=webhook-free does',
} as const;

type Field = keyof typeof PREVIEW_REQUEST_FIELDS;

export interface PreviewRequest {
  manifests: string;
  policy?: string;
  namespace?: string;
  yaml: boolean;
  webhookFree: boolean;
}

/** Whether a parsed body is a PreviewRequest: one document naming its apiVersion and kind. */
export function isPreviewRequest(documents: readonly PlainDocument[]): boolean {
  const values = documents.map((d) => d.value).filter((v) => v !== null && v !== undefined);
  return values.length === 1 && isObject(values[0]) && values[0].apiVersion === PREVIEW_REQUEST_API_VERSION && values[0].kind === PREVIEW_REQUEST_KIND;
}

/** A PreviewRequest whose fields are wrong: every problem, one per field. */
export class PreviewRequestError extends Error {
  readonly problems: { field: string; message: string }[];

  constructor(problems: { field: string; message: string }[]) {
    super(`the PreviewRequest is not valid: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
    this.problems = problems;
  }
}

const shown = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v.slice(0, 100)) : v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v);

/** Reads the fields of a PreviewRequest (isPreviewRequest said it is one); throws PreviewRequestError with every problem. */
export function readPreviewRequest(documents: readonly PlainDocument[]): PreviewRequest {
  const body = documents.map((d) => d.value).find(isObject)!;
  const problems: { field: string; message: string }[] = [];
  const want = (field: Field, value: unknown): void => {
    problems.push({ field, message: `is ${shown(value)}; it must be ${PREVIEW_REQUEST_FIELDS[field]}` });
  };
  for (const key of Object.keys(body)) {
    if (!Object.hasOwn(PREVIEW_REQUEST_FIELDS, key)) problems.push({ field: key.slice(0, 100), message: `is not a field of a PreviewRequest; its fields are ${Object.keys(PREVIEW_REQUEST_FIELDS).join(', ')}` });
  }
  const { manifests, policy, namespace, yaml, webhookFree } = body;
  if (typeof manifests !== 'string') want('manifests', manifests);
  else if (manifests.trim() === '') problems.push({ field: 'manifests', message: 'is empty; give a Pod, a workload, a List or several YAML documents' });
  if (policy !== undefined && policy !== null) {
    if (typeof policy !== 'string') want('policy', policy);
    else if (Buffer.byteLength(policy) > MAX_POLICY_BYTES) problems.push({ field: 'policy', message: `is ${Buffer.byteLength(policy)} bytes; a preview takes a policy of at most ${MAX_POLICY_BYTES} bytes` });
  }
  if (namespace !== undefined && (typeof namespace !== 'string' || !isDnsLabel(namespace))) want('namespace', namespace);
  if (yaml !== undefined && typeof yaml !== 'boolean') want('yaml', yaml);
  if (webhookFree !== undefined && typeof webhookFree !== 'boolean') want('webhookFree', webhookFree);
  if (problems.length > 0) throw new PreviewRequestError(problems);
  return {
    manifests: manifests as string,
    ...(typeof policy === 'string' && { policy }),
    ...(typeof namespace === 'string' && { namespace }),
    yaml: yaml === true,
    webhookFree: webhookFree === true,
  };
}

/** A policy in a request that cannot be used: every problem, with its line and column. */
export class RequestPolicyError extends Error {
  readonly problems: PolicyProblem[];

  constructor(problems: PolicyProblem[]) {
    super(`the policy in the request has ${problems.length === 1 ? '1 problem' : `${problems.length} problems`}`);
    this.problems = problems;
  }
}

type Compiled = { ok: true; engine: AdmissionDeps['ctx']['policy'] } | { ok: false; problems: PolicyProblem[] };

/**
 * Policies compiled lately, by the hash of their text: the playground sends
 * the same policy with every edit of the manifests, and compiling it again
 * each time would spend the event loop for nothing. A few entries: the
 * texts are small, and an entry costs no more than a policy in force.
 */
export class RequestPolicies {
  private readonly cache = new Map<string, Compiled>();
  private readonly size: number;

  constructor(size = 8) {
    this.size = size;
  }

  /** The deps with the request's policy in place of the one in force; throws RequestPolicyError. */
  depsWith(deps: AdmissionDeps, text: string): AdmissionDeps {
    const compiled = this.compile(text);
    if (!compiled.ok) throw new RequestPolicyError(compiled.problems);
    return { ctx: { ...deps.ctx, policy: compiled.engine }, namespaceAnnotations: deps.namespaceAnnotations };
  }

  private compile(text: string): Compiled {
    const key = createHash('sha256').update(text).digest('hex');
    let entry = this.cache.get(key);
    if (entry) {
      this.cache.delete(key); // most recently used last
    } else {
      const loaded = loadPolicyText(text, 'the policy');
      entry = loaded.compiled ? { ok: true, engine: loaded.compiled.engine } : { ok: false, problems: loaded.problems };
      if (this.cache.size >= this.size) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(key, entry);
    return entry;
  }
}

/** An object of the answer, with its input and output as YAML when the request asks for them. */
export type ObjectWithYaml = PreviewObject & { yaml?: { input: string; output: string } };

/** The object as the input had it: the document, a List's item, or an AdmissionReview's pod. */
function inputOf(o: PreviewObject, documents: ReadonlyMap<number, unknown>): unknown {
  const value = documents.get(o.document);
  if (o.item !== undefined) return isObject(value) && Array.isArray(value.items) ? value.items[o.item] : undefined;
  if (o.review) return isObject(value) && isObject(value.request) ? value.request.object : undefined;
  return value;
}

/**
 * Adds each pod's and workload's input and output written as YAML, by the
 * worker (the cost grows with the objects), one object at a time so that
 * other previews' jobs take turns with this one's. Objects that are neither
 * are left as they are: nothing is done to them.
 */
export async function addYaml(response: PreviewResponse, documents: readonly PlainDocument[], worker: PreviewWorker, signal?: AbortSignal): Promise<PreviewResponse> {
  const byIndex = new Map(documents.map((d) => [d.index, d.value]));
  const objects: ObjectWithYaml[] = [];
  for (const o of response.objects) {
    const input = o.outcome === 'ignored' ? undefined : inputOf(o, byIndex);
    if (input === undefined) {
      objects.push(o);
      continue;
    }
    const inputText = await worker.yaml(input, signal);
    const outputText = o.patch.length === 0 ? inputText : await worker.yaml(o.object, signal);
    objects.push({ ...o, yaml: { input: inputText, output: outputText } });
  }
  return { ...response, objects };
}
