/**
 * Reading a policy text off the event loop. The yaml library needs about a
 * second for a policy near the size limit (1 MiB), and on the webhook's
 * event loop every admission would wait for it on each reload: a policy of
 * 20,000 presets once held /mutate up for 6.7 s. A worker thread, started
 * for one text and gone after it, parses and validates the text; the main
 * thread compiles the validated document it sends back, which the limits
 * on entries (schema.ts) keep to a few tens of milliseconds. A text whose
 * reading needs more time or memory than allowed is refused like any other
 * bad policy (POLICY_TOO_LARGE), and the policy in force stays.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { compilePolicy } from './compile.ts';
import type { LoadedPolicy } from './load.ts';
import type { PolicyWorkerInput, PolicyWorkerReply } from './load-worker.ts';
import type { PolicyProblem } from './problems.ts';

export interface PolicyWorkerLimits {
  /** How long reading one text may take. */
  timeoutMs: number;
  /** Heap of the worker (old generation); a text that needs more is refused. */
  memoryMb: number;
}

/**
 * A policy at every limit (1 MiB of host keys, presets, patterns) takes
 * about a second and 32 MiB; 1 MiB of small entries (20,000 presets) takes
 * the yaml library 90 MiB, enough to read it and refuse it by name. The
 * worker lives only while a text is read, and the whole of it stays below
 * the container's memory limit beside the main thread's heap.
 */
export const POLICY_WORKER_LIMITS: PolicyWorkerLimits = { timeoutMs: 30_000, memoryMb: 96 };

// load-worker.ts when running from source, load-worker.js when built.
const WORKER_URL = new URL(`./load-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

const tooCostly = (why: string): PolicyProblem => ({ code: 'POLICY_TOO_LARGE', field: '', message: `reading the policy ${why}; make it smaller` });

/** As loadPolicyText, with the reading done in a worker thread: the event loop only compiles the validated document. */
export function loadPolicyTextInWorker(text: string, source: string, limits: PolicyWorkerLimits = POLICY_WORKER_LIMITS): Promise<LoadedPolicy> {
  return new Promise((resolve) => {
    const worker = new Worker(WORKER_URL, {
      workerData: { text, source } satisfies PolicyWorkerInput,
      resourceLimits: { maxOldGenerationSizeMb: limits.memoryMb, maxYoungGenerationSizeMb: Math.max(4, Math.floor(limits.memoryMb / 8)) },
    });
    // Neither the worker nor its deadline keeps a process that is shutting down alive.
    worker.unref();
    let settled = false;
    const settle = (loaded: LoadedPolicy): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(loaded);
    };
    const timer = setTimeout(() => settle({ problems: [tooCostly(`took longer than ${limits.timeoutMs / 1000} s`)], source }), limits.timeoutMs).unref();
    worker.on('message', (reply: PolicyWorkerReply) => {
      if ('problems' in reply) return settle({ problems: reply.problems, source });
      const compiled = compilePolicy(reply.policy);
      settle(compiled.ok ? { compiled: compiled.compiled, problems: [], source } : { problems: compiled.problems, source });
    });
    const failed = (why: string): PolicyProblem => ({ code: 'POLICY_SOURCE_UNAVAILABLE', field: '', message: `reading the policy failed: ${why}` });
    worker.on('error', (error: Error & { code?: string }) => {
      settle({ problems: [error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? tooCostly(`needed more than ${limits.memoryMb} MiB`) : failed(error.message)], source });
    });
    worker.on('exit', () => settle({ problems: [failed('the worker ended without an answer')], source }));
  });
}
