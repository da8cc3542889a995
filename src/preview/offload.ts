/**
 * The main thread's side of the preview worker. Reading 3 MiB of YAML takes
 * the yaml library seconds, and writing a large answer as YAML as long; on
 * the webhook's event loop that would hold every admission up behind one
 * preview. One worker thread does those jobs one at a time: a bounded queue
 * turns a flood of previews away instead of letting it grow, a job that runs
 * too long or needs too much memory ends the worker (the next job gets a new
 * one), and an idle worker never keeps the process alive.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PlainDocument } from './evaluate.ts';
import { InputError, type InputFormat } from './parse.ts';
import { TooManyObjectsError } from './preview.ts';
import type { WorkerJob, WorkerReply } from './worker.ts';

/** The queue is full: the client should come back later. */
export class WorkerBusyError extends Error {}

/** A job ran longer than allowed, or needed more memory than the worker may use. */
export class WorkerLimitError extends Error {}

export interface PreviewWorkerOptions {
  /** How long one job may run. */
  timeoutMs: number;
  /** How many jobs may wait behind the running one. */
  maxQueued: number;
  /** Heap limit of the worker; a job that needs more ends it with a WorkerLimitError. */
  memoryMb: number;
}

export const DEFAULT_WORKER_OPTIONS: PreviewWorkerOptions = { timeoutMs: 20_000, maxQueued: 8, memoryMb: 512 };

// src/preview/worker.ts when running from source, dist/preview/worker.js when built.
const WORKER_URL = new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

type Job = { op: 'parse'; name: string; text: string; format: InputFormat | 'auto'; maxObjects: number } | { op: 'yaml'; value: unknown };

interface Pending {
  job: Job;
  resolve(reply: WorkerReply & { ok: true }): void;
  reject(error: Error): void;
}

export class PreviewWorker {
  private readonly options: PreviewWorkerOptions;
  private worker: Worker | undefined;
  private readonly queue: Pending[] = [];
  private running: (Pending & { id: number; timer: NodeJS.Timeout }) | undefined;
  private nextId = 1;
  private closed = false;

  constructor(options: Partial<PreviewWorkerOptions> = {}) {
    this.options = { ...DEFAULT_WORKER_OPTIONS, ...options };
  }

  /**
   * Parses a body; rejects with InputError (with its position),
   * TooManyObjectsError, WorkerBusyError or WorkerLimitError.
   */
  async parse(name: string, text: string, format: InputFormat | 'auto', maxObjects = Infinity): Promise<{ format: InputFormat; documents: PlainDocument[] }> {
    const reply = await this.submit({ op: 'parse', name, text, format, maxObjects });
    if (!('documents' in reply)) throw new Error('the preview worker answered a parse job without documents');
    return { format: reply.format, documents: reply.documents };
  }

  /** Writes a value as YAML for people and Kubernetes. */
  async yaml(value: unknown): Promise<string> {
    const reply = await this.submit({ op: 'yaml', value });
    if (!('text' in reply)) throw new Error('the preview worker answered a YAML job without text');
    return reply.text;
  }

  /** Ends the worker; jobs still waiting or running are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const error = new Error('the preview worker is shut down');
    for (const pending of this.queue.splice(0)) pending.reject(error);
    this.finish(error);
    await this.stop();
  }

  private submit(job: Job): Promise<WorkerReply & { ok: true }> {
    if (this.closed) return Promise.reject(new Error('the preview worker is shut down'));
    if (this.queue.length >= this.options.maxQueued) {
      return Promise.reject(new WorkerBusyError(`${this.queue.length} previews are already waiting`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  private start(): Worker {
    const worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: this.options.memoryMb } });
    worker.unref();
    // Events of a worker that was replaced (after a timeout) are ignored.
    worker.on('message', (reply: WorkerReply) => {
      if (this.worker === worker && this.running?.id === reply.id) this.settle(reply);
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
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
    if (this.running || this.closed) return;
    const next = this.queue.shift();
    if (!next) return;
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
    this.running = undefined;
    if (reply.ok) running.resolve(reply);
    else if ('input' in reply) {
      const { source, reason, line, column, detail } = reply.input;
      running.reject(new InputError(source, reason, line, column, detail));
    } else if ('tooMany' in reply) running.reject(new TooManyObjectsError(reply.tooMany.count, reply.tooMany.max));
    else running.reject(new Error(reply.message));
    this.pump();
  }

  /** Rejects the running job, if any, and moves on to the next. */
  private finish(error: Error): void {
    const running = this.running;
    if (!running) return;
    clearTimeout(running.timer);
    this.running = undefined;
    running.reject(error);
    this.pump();
  }

  /** Ends the current worker; it is forgotten at once, so its last events are ignored. */
  private async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }
}
