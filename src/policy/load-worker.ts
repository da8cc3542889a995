/**
 * The policy worker: reads one policy text (YAML, schema, annotation values)
 * in a worker thread and answers with its problems, or with the validated
 * document, which is plain data; the main thread compiles that for the
 * engine (offload.ts says why).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadPolicyText } from './load.ts';
import type { PolicyProblem } from './problems.ts';
import type { Policy } from './types.ts';

export interface PolicyWorkerInput {
  text: string;
  source: string;
}

export type PolicyWorkerReply = { policy: Policy } | { problems: PolicyProblem[] };

const { text, source } = workerData as PolicyWorkerInput;
const loaded = loadPolicyText(text, source);
parentPort?.postMessage((loaded.compiled ? { policy: loaded.compiled.document } : { problems: loaded.problems }) satisfies PolicyWorkerReply);
