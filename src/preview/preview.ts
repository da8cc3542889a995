/**
 * The preview as one call: text in (JSON or YAML), the answer for every
 * object out. This is what POST /preview returns; the commands build their
 * output from the same pieces.
 */
import type { AdmissionDeps } from '../admission/index.ts';
import { previewObjects, summarise, type PlainDocument, type PreviewMode, type PreviewObject, type PreviewOptions, type PreviewSummary } from './evaluate.ts';
import { objectCount, parseSource, type InputFormat } from './parse.ts';

export interface PreviewResponse {
  /** The mode the answer stands for: the webhook, or the exported admission policies (docs/webhook-free.md). */
  mode: PreviewMode;
  /** The injector's version, recorded in every status annotation it writes. */
  version: string;
  /** Hash of the policy in force, also recorded in the status annotation. */
  policy: string;
  summary: PreviewSummary;
  objects: PreviewObject[];
}

export function previewResponse(objects: PreviewObject[], deps: AdmissionDeps, options: PreviewOptions = {}): PreviewResponse {
  return { mode: options.webhookFree ? 'webhook-free' : 'webhook', version: deps.ctx.version, policy: deps.ctx.policy.hash, summary: summarise(objects), objects };
}

/** Parses and previews a text; throws InputError (with line and column) when it cannot be read. */
export function previewText(name: string, text: string, format: InputFormat | 'auto', deps: AdmissionDeps, options: PreviewOptions = {}): PreviewResponse {
  const objects = parseSource(name, text, format).documents.flatMap((doc) => [...previewObjects(doc, deps, options)]);
  return previewResponse(objects, deps, options);
}

/** More objects than one preview answers. */
export class TooManyObjectsError extends Error {
  readonly count: number;
  readonly max: number;

  constructor(count: number, max: number) {
    super(`the input has ${count} objects; a preview answers at most ${max}`);
    this.name = 'TooManyObjectsError';
    this.count = count;
    this.max = max;
  }
}

export interface PreviewLimits {
  /** Objects per preview: each costs engine time and answer size. */
  maxObjects: number;
  /** Called after every `every` objects, to let other work run in between. */
  pause?: { every: number; wait(): Promise<void> };
}

/**
 * Previews parsed documents with one set of dependencies throughout: the
 * caller passes a snapshot, so a policy reload that lands meanwhile does not
 * split one answer between two policies. Throws TooManyObjectsError before
 * any work is done.
 */
export async function previewDocuments(documents: readonly PlainDocument[], deps: AdmissionDeps, options: PreviewOptions, limits: PreviewLimits): Promise<PreviewResponse> {
  const count = documents.reduce((n, doc) => n + objectCount(doc), 0);
  if (count > limits.maxObjects) throw new TooManyObjectsError(count, limits.maxObjects);
  const objects: PreviewObject[] = [];
  for (const doc of documents) {
    for (const object of previewObjects(doc, deps, options)) {
      objects.push(object);
      if (limits.pause && objects.length % limits.pause.every === 0) await limits.pause.wait();
    }
  }
  return previewResponse(objects, deps, options);
}
