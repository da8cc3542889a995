/**
 * The main thread's side of the preview worker. Reading 3 MiB of YAML takes
 * the yaml library seconds, and writing a large answer as YAML as long; on
 * the webhook's event loop that would hold every admission up behind one
 * preview. One worker thread does those jobs one at a time: a bounded queue
 * turns a flood of previews away instead of letting it grow, a job that runs
 * too long or needs too much memory ends the worker (the next job gets a new
 * one), a job whose client hung up is dropped (or its worker ended, if it
 * runs), and an idle worker never keeps the process alive.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PlainDocument } from './evaluate.ts';
import { InputError, type InputFormat } from './parse.ts';
import { TooManyObjectsError } from './preview.ts';
import type { WorkerJob, WorkerReply } from './worker.ts';

/** The queue is full, or a job waited too long for its turn: the client should come back later. */
export class WorkerBusyError extends Error {}

/** A job ran longer than allowed, or needed more memory than the worker may use. */
export class WorkerLimitError extends Error {}

/** A job whose caller gave up (its signal aborted): dropped if it waited, its worker ended if it ran. */
export class WorkerAbortedError extends Error {}

export interface PreviewWorkerOptions {
  /** How long one job may run. */
  timeoutMs: number;
  /** How many jobs may wait behind the running one. */
  maxQueued: number;
  /** How long a job may wait for its turn; then it is turned away as busy, while its client is still there to be told. */
  maxWaitMs: number;
  /** Heap limit of the worker (old generation); a job that needs more ends it with a WorkerLimitError. */
  memoryMb: number;
  /** The worker's young generation, which its heap limit does not include. */
  youngMb: number;
}

/**
 * The worker's whole heap (old and young generation, 44 MiB) fits beside
 * the main thread's own heap (80 MiB, NODE_OPTIONS in
 * manifests/base/deployment.yaml) and the process's ~90 MiB outside them
 * within the container's memory limit (256 MiB): a job that needs more is
 * refused (BODY_TOO_COMPLEX), and the process is never killed for it. With
 * 48 MiB the worst case of test/integration/memory-bound reached 247-260 MiB
 * (four 3 MiB YAML lists at once: the main thread's garbage from the bodies
 * comes on top); 40 MiB still reads about a thousand ordinary objects (0.6
 * MiB of YAML, measured: a thousand Deployments of 0.6 KiB each); bigger
 * inputs go to the offline commands, which have no limit. A job may wait 8
 * s and run 20 s, so that every answer, even a refusal, comes before the
 * connection's 30 s idle timeout.
 */
export const DEFAULT_WORKER_OPTIONS: PreviewWorkerOptions = { timeoutMs: 20_000, maxQueued: 8, maxWaitMs: 8_000, memoryMb: 40, youngMb: 4 };

// src/preview/worker.ts when running from source, dist/preview/worker.js when built.
const WORKER_URL = new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

type Job = { op: 'parse'; name: string; text: string; format: InputFormat | 'auto'; maxObjects: number } | { op: 'yaml'; value: unknown };

interface Pending {
  job: Job;
  resolve(reply: WorkerReply & { ok: true }): void;
  reject(error: Error): void;
  /** Turns the job away if it is still waiting when it fires. */
  wait: NodeJS.Timeout;
  /** Stops listening to the caller's abort signal. */
  unlisten(): void;
}

export class PreviewWorker {
  private readonly options: PreviewWorkerOptions;
  private worker: Worker | undefined;
  private readonly queue: Pending[] = [];
  private running: (Pending & { id: number; timer: NodeJS.Timeout }) | undefined;
  /** A worker being ended: the next one starts once it is gone, so that two heaps never add up. */
  private ending: Promise<unknown> | undefined;
  private nextId = 1;
  private closed = false;

  constructor(options: Partial<PreviewWorkerOptions> = {}) {
    this.options = { ...DEFAULT_WORKER_OPTIONS, ...options };
  }

  /**
   * Parses a body; rejects with InputError (with its position),
   * TooManyObjectsError, WorkerBusyError, WorkerLimitError or, when
   * `signal` aborts first, WorkerAbortedError.
   */
  async parse(name: string, text: string, format: InputFormat | 'auto', maxObjects = Infinity, signal?: AbortSignal): Promise<{ format: InputFormat; documents: PlainDocument[] }> {
    const reply = await this.submit({ op: 'parse', name, text, format, maxObjects }, signal);
    if (!('documents' in reply)) throw new Error('the preview worker answered a parse job without documents');
    return { format: reply.format, documents: reply.documents };
  }

  /** Writes a value as YAML for people and Kubernetes. */
  async yaml(value: unknown, signal?: AbortSignal): Promise<string> {
    const reply = await this.submit({ op: 'yaml', value }, signal);
    if (!('text' in reply)) throw new Error('the preview worker answered a YAML job without text');
    return reply.text;
  }

  /** Ends the worker; jobs still waiting or running are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const error = new Error('the preview worker is shut down');
    for (const pending of this.queue.splice(0)) this.drop(pending, error);
    this.finish(error);
    await this.stop();
  }

  private submit(job: Job, signal?: AbortSignal): Promise<WorkerReply & { ok: true }> {
    if (this.closed) return Promise.reject(new Error('the preview worker is shut down'));
    if (signal?.aborted) return Promise.reject(new WorkerAbortedError('the caller gave up before the job was queued'));
    if (this.queue.length >= this.options.maxQueued) {
      return Promise.reject(new WorkerBusyError(`${this.queue.length} previews are already waiting`));
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => this.abort(pending);
      const pending: Pending = {
        job,
        resolve,
        reject,
        wait: setTimeout(() => {
          if (this.remove(pending)) this.drop(pending, new WorkerBusyError(`the preview waited ${this.options.maxWaitMs / 1000} s for its turn`));
        }, this.options.maxWaitMs).unref(),
        unlisten: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(pending);
      this.pump();
    });
  }

  /**
   * The caller gave up: a waiting job leaves the queue; a running one ends
   * its worker at once, so that a client that hangs up does not leave
   * seconds of parsing behind for the next one to wait on.
   */
  private abort(pending: Pending): void {
    const error = new WorkerAbortedError('the caller gave up');
    if (this.remove(pending)) return this.drop(pending, error);
    if (this.running?.job === pending.job) {
      void this.stop();
      this.finish(error);
    }
  }

  /** Takes a job out of the queue; false when it is not there (running, or settled). */
  private remove(pending: Pending): boolean {
    const i = this.queue.indexOf(pending);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    return true;
  }

  private drop(pending: Pending, error: Error): void {
    clearTimeout(pending.wait);
    pending.unlisten();
    pending.reject(error);
  }

  private start(): Worker {
    const worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: this.options.memoryMb, maxYoungGenerationSizeMb: this.options.youngMb } });
    worker.unref();
    // Events of a worker that was replaced (after a timeout) are ignored.
    worker.on('message', (reply: WorkerReply) => {
      if (this.worker === worker && this.running?.id === reply.id) this.settle(reply);
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (this.worker !== worker) return;
      this.forget(worker);
      const limit = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.finish(limit ? new WorkerLimitError(`the job needs more than ${this.options.memoryMb} MiB`) : error);
    });
    worker.on('exit', () => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.finish(new Error('the preview worker exited'));
    });
    return worker;
  }

  private pump(): void {
    if (this.running || this.closed || this.ending) return;
    const next = this.queue.shift();
    if (!next) return;
    // No longer waiting: the job's own deadline takes over.
    clearTimeout(next.wait);
    this.worker ??= this.start();
    const id = this.nextId++;
    const timer = setTimeout(() => {
      // The worker goes first, so that the next job starts on a new one.
      void this.stop();
      this.finish(new WorkerLimitError(`the job took longer than ${this.options.timeoutMs / 1000} s`));
    }, this.options.timeoutMs).unref();
    this.running = { ...next, id, timer };
    this.worker.postMessage({ id, ...next.job } satisfies WorkerJob);
  }

  private settle(reply: WorkerReply): void {
    const running = this.running!;
    clearTimeout(running.timer);
    running.unlisten();
    this.running = undefined;
    if (reply.ok) running.resolve(reply);
    else if ('input' in reply) {
      const { source, reason, line, column, detail } = reply.input;
      running.reject(new InputError(source, reason, line, column, detail));
    } else if ('tooMany' in reply) running.reject(new TooManyObjectsError(reply.tooMany.count, reply.tooMany.max));
    else if ('tooComplex' in reply) running.reject(new WorkerLimitError(`the body holds more than ${reply.tooComplex.max} values`));
    else running.reject(new Error(reply.message));
    this.pump();
  }

  /** Rejects the running job, if any, and moves on to the next. */
  private finish(error: Error): void {
    const running = this.running;
    if (!running) return;
    clearTimeout(running.timer);
    running.unlisten();
    this.running = undefined;
    running.reject(error);
    this.pump();
  }

  /** Ends the current worker; it is forgotten at once, so its last events are ignored. */
  private async stop(): Promise<void> {
    const worker = this.worker;
    if (worker) this.forget(worker);
    await worker?.terminate();
  }

  /**
   * Forgets a worker that is ending (ended by us, or out of memory) and
   * holds the next job back until its thread is gone: a worker that ran out
   * of memory still holds its whole heap until then, and four such in a row
   * once added up to more than the container's limit.
   */
  private forget(worker: Worker): void {
    this.worker = undefined;
    const gone = new Promise((resolve) => worker.once('exit', resolve));
    this.ending = gone;
    void gone.then(() => {
      if (this.ending !== gone) return;
      this.ending = undefined;
      this.pump();
    });
  }
}
