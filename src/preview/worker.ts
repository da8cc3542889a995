/**
 * The preview worker: runs in a worker thread and does the two jobs whose
 * cost grows with what a client sends, reading a body and writing a YAML
 * answer, so that the webhook's event loop keeps answering admissions
 * meanwhile. It holds no state; the engine stays on the main thread, with
 * the webhook's own policy.
 */
import { parentPort } from 'node:worker_threads';
import type { PlainDocument } from './evaluate.ts';
import { shapeBeyond } from '../admission/index.ts';
import { InputError, MAX_DEPTH, objectCount, parseSource, sniffFormat, type InputErrorReason, type InputFormat } from './parse.ts';
import { yamlText } from './yaml-text.ts';

export type WorkerJob = { id: number } & (
  | { op: 'parse'; name: string; text: string; format: InputFormat | 'auto'; maxObjects: number }
  | { op: 'yaml'; value: unknown }
);

export interface InputErrorData {
  source: string;
  reason: InputErrorReason;
  line: number;
  column: number;
  detail: string;
}

export type WorkerReply =
  | { id: number; ok: true; format: InputFormat; documents: PlainDocument[] }
  | { id: number; ok: true; text: string }
  | { id: number; ok: false; input: InputErrorData }
  | { id: number; ok: false; tooMany: { count: number; max: number } }
  | { id: number; ok: false; tooComplex: { max: number } }
  | { id: number; ok: false; message: string };

/**
 * Values (objects, lists and scalars) a body may hold. What the worker
 * parses is copied to the main thread, whose heap the webhook shares, and
 * has to fit the worker's own heap first. A hundred ordinary objects hold
 * some ten thousand values; a body of a million empty objects, within the
 * size limit, would take 70 MiB in each.
 */
export const MAX_PREVIEW_VALUES = 100_000;

/** Whether some values hold more than `max` values in all, counted without recursion; stops past `max`. */
function holdsMoreThan(roots: readonly unknown[], max: number): boolean {
  let count = roots.length;
  const stack = roots.filter((v) => typeof v === 'object' && v !== null);
  while (count <= max && stack.length > 0) {
    const children = Object.values(stack.pop()!);
    count += children.length;
    for (const child of children) if (typeof child === 'object' && child !== null) stack.push(child);
  }
  return count > max;
}

function handle(job: WorkerJob): WorkerReply {
  try {
    if (job.op === 'yaml') return { id: job.id, ok: true, text: yamlText(job.value) };
    // JSON.parse runs to its end once started, past the worker's heap limit (a million empty objects
    // took 100 MiB beyond it): JSON with more objects and lists than the budget is refused from its text.
    const json = job.format === 'json' || (job.format === 'auto' && sniffFormat(job.text) === 'json');
    if (json && shapeBeyond(job.text, MAX_DEPTH, MAX_PREVIEW_VALUES)?.reason === 'many') return { id: job.id, ok: false, tooComplex: { max: MAX_PREVIEW_VALUES } };
    const parsed = parseSource(job.name, job.text, job.format);
    // Counted here, so that an input with too many objects costs the main thread nothing.
    const count = parsed.documents.reduce((n, doc) => n + objectCount(doc), 0);
    if (count > job.maxObjects) return { id: job.id, ok: false, tooMany: { count, max: job.maxObjects } };
    if (holdsMoreThan(parsed.documents.map((doc) => doc.value), MAX_PREVIEW_VALUES)) return { id: job.id, ok: false, tooComplex: { max: MAX_PREVIEW_VALUES } };
    // The syntax trees stay here: the main thread needs the data only.
    const documents = parsed.documents.map(({ yaml: _tree, ...doc }) => doc);
    return { id: job.id, ok: true, format: parsed.format, documents };
  } catch (error) {
    if (error instanceof InputError) {
      const { source, reason, line, column, detail } = error;
      return { id: job.id, ok: false, input: { source, reason, line, column, detail } };
    }
    return { id: job.id, ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

parentPort?.on('message', (job: WorkerJob) => parentPort!.postMessage(handle(job)));
