/**
 * The engine alone, in this process, without HTTP or TLS: the CPU time of one
 * call, measured with process.cpuUsage over many calls (garbage collection
 * included, as it would be in the server), for each pod of the mix.
 *
 * - engine: injectPod on the parsed pod;
 * - admission: what the server does per request beyond fastify: JSON.parse
 *   of the body, admit() (adapter + engine + base64 patch) and
 *   JSON.stringify of the answer. No log line.
 */
import { admit, type AdmissionDeps } from '../src/admission/index.ts';
import { injectPod } from '../src/engine/index.ts';
import type { BenchReview } from './reviews.ts';

export interface EngineRow {
  name: string;
  /** CPU microseconds of one injectPod call. */
  engineUs: number;
  /** CPU microseconds of one parse + admit + serialise. */
  admissionUs: number;
  /** Admissions one core can do per second (1 / admissionUs). */
  admissionsPerSecond: number;
}

const ROUNDS = 7;

/** CPU microseconds per call of `fn` over one stretch of at least `budgetUs` of CPU. */
function round(fn: () => unknown, budgetUs: number): number {
  let calls = 0;
  let used = 0;
  const start = process.cpuUsage();
  // Read the clock every batch, not every call: cpuUsage itself is a system call.
  while (used < budgetUs) {
    for (let i = 0; i < 20; i++) fn();
    calls += 20;
    const d = process.cpuUsage(start);
    used = d.user + d.system;
  }
  return used / calls;
}

/**
 * CPU microseconds per call of `fn`: after a warm-up, the median of several
 * rounds sharing `budgetMs` of CPU, so that a burst of activity elsewhere on
 * the machine (cache and memory bandwidth are shared) moves one round, not
 * the result.
 */
export function cpuPerCall(fn: () => unknown, budgetMs: number): number {
  for (let i = 0; i < 200; i++) fn();
  const rounds = Array.from({ length: ROUNDS }, () => round(fn, (budgetMs * 1000) / ROUNDS)).sort((a, b) => a - b);
  return rounds[Math.floor(ROUNDS / 2)]!;
}

export function measureEngine(reviews: readonly BenchReview[], deps: AdmissionDeps, budgetMs: number): EngineRow[] {
  const row = (name: string, engine: () => unknown, admission: () => unknown): EngineRow => {
    const engineUs = cpuPerCall(engine, budgetMs);
    const admissionUs = cpuPerCall(admission, budgetMs);
    return { name, engineUs, admissionUs, admissionsPerSecond: 1e6 / admissionUs };
  };
  const cases = reviews.map((r) => {
    const request = (r.review as { request: { object: unknown; namespace: string } }).request;
    return {
      name: r.name,
      engine: () => injectPod({ pod: request.object, namespace: request.namespace }, deps.ctx),
      admission: () => JSON.stringify(admit(JSON.parse(r.body), deps).review),
    };
  });
  // Warm the whole mix up first, so the first pod measured is not the one that pays for the compiler.
  const warmUntil = process.cpuUsage().user + budgetMs * 1000;
  while (process.cpuUsage().user < warmUntil) {
    for (const c of cases) {
      c.engine();
      c.admission();
    }
  }
  const rows = cases.map((c) => row(c.name, c.engine, c.admission));
  // The mix as the server sees it under load: each pod in turn.
  let next = 0;
  const cycle = (pick: (c: (typeof cases)[number]) => () => unknown) => () => pick(cases[next++ % cases.length]!)();
  rows.push(row('mix', cycle((c) => c.engine), cycle((c) => c.admission)));
  return rows;
}
