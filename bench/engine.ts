/**
 * The engine alone, in this process, without HTTP or TLS: the CPU time of one
 * call, measured with process.cpuUsage over many calls (garbage collection
 * included, as it would be in the server), for each pod of the mix.
 *
 * - engine: injectPod on the parsed pod;
 * - admission: what the server does per request beyond fastify: JSON.parse
 *   of the body, admit() (adapter + engine + base64 patch) and
 *   the answer's JSON text (answerJson, as the server sends it). No log line.
 * - floor: the least any webhook that gives the same answer must do: parse
 *   the body, and (for an injected pod) write the same patch as JSON text
 *   from ready objects and base64 it. No validation, no plan, no status annotation: what is left
 *   of an admission when everything the engine decides is known already.
 */
import { admit, answerJson, type AdmissionDeps } from '../src/admission/index.ts';
import { injectPod } from '../src/engine/index.ts';
import { growthReview, type BenchReview } from './reviews.ts';
import type { GrowthShape } from './pods.ts';

/** What the server does per request beyond fastify: parse the body, admit, and the answer's bytes. */
const admitBytes = (body: string, deps: AdmissionDeps): string => answerJson(admit(JSON.parse(body), deps).review);

export interface EngineRow {
  name: string;
  /** CPU microseconds of one injectPod call. */
  engineUs: number;
  /** CPU microseconds of one parse + admit + serialise. */
  admissionUs: number;
  /** CPU microseconds of the floor: parsing the body, and the same patch's text and base64 from ready objects. */
  floorUs: number;
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
  const row = (name: string, engine: () => unknown, admission: () => unknown, floor: () => unknown): EngineRow => {
    const engineUs = cpuPerCall(engine, budgetMs);
    const admissionUs = cpuPerCall(admission, budgetMs);
    const floorUs = cpuPerCall(floor, budgetMs);
    return { name, engineUs, admissionUs, floorUs, admissionsPerSecond: 1e6 / admissionUs };
  };
  const cases = reviews.map((r) => {
    const request = (r.review as { request: { object: unknown; namespace: string } }).request;
    const engine = () => injectPod({ pod: request.object, namespace: request.namespace }, deps.ctx);
    const result = engine();
    // Only an injected pod's answer carries a patch; any other answer's floor is the parse alone.
    const ops: unknown = result.outcome === 'injected' ? JSON.parse(result.patchJson) : undefined;
    return {
      name: r.name,
      engine,
      admission: () => admitBytes(r.body, deps),
      floor: () => (ops === undefined ? JSON.parse(r.body) : [JSON.parse(r.body), Buffer.from(JSON.stringify(ops)).toString('base64')]),
    };
  });
  // Warm the whole mix up first, so the first pod measured is not the one that pays for the compiler.
  const warmUntil = process.cpuUsage().user + budgetMs * 1000;
  while (process.cpuUsage().user < warmUntil) {
    for (const c of cases) {
      c.engine();
      c.admission();
      c.floor();
    }
  }
  const rows = cases.map((c) => row(c.name, c.engine, c.admission, c.floor));
  // The mix as the server sees it under load: each pod in turn.
  let next = 0;
  const cycle = (pick: (c: (typeof cases)[number]) => () => unknown) => () => pick(cases[next++ % cases.length]!)();
  rows.push(row('mix', cycle((c) => c.engine), cycle((c) => c.admission), cycle((c) => c.floor)));
  return rows;
}

/** One row of the cost-growth table: a pod shape and what admitting it costs. */
export interface GrowthRow {
  /** Which size this row grows: its series, and its value in that series. */
  series: 'containers' | 'env entries' | 'annotations';
  size: number;
  requestBytes: number;
  /** CPU microseconds of one parse + admit + serialise. */
  admissionUs: number;
}

/**
 * Each size grown on its own from the smallest pod (1 container of 10 env
 * entries, 1 annotation): the cost of an admission should grow no faster
 * than the pod.
 */
export const GROWTH: readonly { series: GrowthRow['series']; shape: GrowthShape; size: number }[] = [
  { series: 'containers', size: 1, shape: { containers: 1, env: 10, annotations: 1 } },
  { series: 'containers', size: 10, shape: { containers: 10, env: 10, annotations: 1 } },
  { series: 'containers', size: 100, shape: { containers: 100, env: 10, annotations: 1 } },
  { series: 'env entries', size: 10, shape: { containers: 1, env: 10, annotations: 1 } },
  { series: 'env entries', size: 1000, shape: { containers: 1, env: 1000, annotations: 1 } },
  { series: 'annotations', size: 1, shape: { containers: 1, env: 10, annotations: 1 } },
  { series: 'annotations', size: 20, shape: { containers: 1, env: 10, annotations: 20 } },
];

export function measureGrowth(deps: AdmissionDeps, budgetMs: number): GrowthRow[] {
  return GROWTH.map(({ series, size, shape }) => {
    const r = growthReview(shape);
    const outcome = admit(JSON.parse(r.body), deps).summary.outcome;
    if (outcome !== 'injected') throw new Error(`the cost-growth pod ${r.name} is ${outcome}, not injected: the table would not measure an injection`);
    return { series, size, requestBytes: Buffer.byteLength(r.body), admissionUs: cpuPerCall(() => admitBytes(r.body, deps), budgetMs) };
  });
}
