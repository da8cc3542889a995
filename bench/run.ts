/**
 * `npm run bench`: what the webhook costs, measured against the ceiling of
 * its stack on the same machine in the same run.
 *
 *   node bench/run.ts [--duration S] [--warmup S] [--rounds N] [--connections N]
 *                     [--pin [--core N]] [--parts] [--json FILE] [--cpu-prof DIR] [--engine-budget MS]
 *
 * 1. The engine alone, in this process: CPU time per admission, per pod,
 *    and how it grows with the pod (containers, env entries, annotations).
 * 2. The bare fastify baseline (baseline.ts) and the webhook (buildServer
 *    with the production log level), each in its own process (server.ts),
 *    optionally pinned to one core with taskset. Each is first checked to
 *    give the expected answer to every review; then, scenario by scenario
 *    (the realistic mix, the single Airflow review, that review over one
 *    connection), both are warmed up and autocannon, in this process,
 *    drives them over keep-alive HTTPS connections in alternating stretches.
 *
 * With --parts, two more servers run beside them: the webhook without its
 * log line, and without its log line and metrics (server.ts). What each
 * costs under load is the difference in CPU per request, which is what a
 * profile cannot say (its samples move with the load: the log line is a
 * few microseconds in a loop and several times that between requests).
 *
 * The webhook's log lines go to a file in a temporary folder, a real write
 * per admission as in a container (whose stdout is a pipe or a file, never
 * nothing); there must be at least one line per measured request, and the
 * folder is removed at the end.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { admit, type AdmissionDeps, type AdmissionReviewResponse } from '../src/admission/index.ts';
import { certificatePaths, createCA, issueServingCertificate, writeCertificates } from '../src/tls/index.ts';
import { compileServers, deploymentNodeOptions } from './compiled.ts';
import { measureEngine, measureGrowth, type EngineRow, type GrowthRow } from './engine.ts';
import { Tally, type LoadResult } from './load.ts';
import { formatProfile, type CpuProfile } from './profile.ts';
import { formatReport } from './report.ts';
import { airflowReview, benchContext, benchReviews, optedOutReview, type BenchReview } from './reviews.ts';
import { PART_KINDS, type PartKind, type ServerKind } from './kinds.ts';
import type { ServerMessage } from './server.ts';

const USAGE = `Usage: node bench/run.ts [options]

  --duration S        seconds of measured load per server and scenario, all rounds together (default 9)
  --warmup S          seconds of load before measuring, per server (default 3)
  --rounds N          measure each server in N stretches, alternating with the other (default 3)
  --connections N     keep-alive connections (default 16)
  --pin               pin the servers to one core with taskset, the load generator to the others
  --core N            the core for --pin (default: the last one)
  --parts             also measure the webhook without its log line, and without its log line and metrics
  --json FILE         write the results as JSON (default bench-results.json)
  --cpu-prof DIR      run the servers under node --cpu-prof and summarise their profiles
  --engine-budget MS  CPU milliseconds per in-process engine measurement (default 400)
  -h, --help          show this help
`;


export interface BenchOptions {
  duration: number;
  warmup: number;
  rounds: number;
  connections: number;
  pin: boolean;
  core: number;
  parts: boolean;
  json: string;
  cpuProf?: string;
  engineBudgetMs: number;
}

class UsageError extends Error {}

function positive(name: string, raw: string, integer: boolean): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name}: ${JSON.stringify(raw)} is not a positive ${integer ? 'whole number' : 'number'}`);
  }
  return n;
}

function readOptions(args: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args,
    options: {
      duration: { type: 'string', default: '9' },
      warmup: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '16' },
      pin: { type: 'boolean', default: false },
      core: { type: 'string' },
      parts: { type: 'boolean', default: false },
      json: { type: 'string', default: 'bench-results.json' },
      'cpu-prof': { type: 'string' },
      'engine-budget': { type: 'string', default: '400' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const cores = availableParallelism();
  const core = values.core === undefined ? cores - 1 : Number(values.core);
  if (!Number.isInteger(core) || core < 0 || core >= cores) throw new UsageError(`--core: ${JSON.stringify(values.core)} is not a core of this machine (0 to ${cores - 1})`);
  if (values.core !== undefined && !values.pin) throw new UsageError('--core only has an effect with --pin');
  const options: BenchOptions = {
    duration: positive('duration', values.duration, false),
    warmup: Number(values.warmup),
    rounds: positive('rounds', values.rounds, true),
    connections: positive('connections', values.connections, true),
    pin: values.pin,
    core,
    parts: values.parts,
    json: values.json,
    engineBudgetMs: positive('engine-budget', values['engine-budget'], false),
  };
  if (!Number.isFinite(options.warmup) || options.warmup < 0) throw new UsageError(`--warmup: ${JSON.stringify(values.warmup)} is not a number of seconds`);
  if (values['cpu-prof'] !== undefined) options.cpuProf = values['cpu-prof'];
  return options;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Cores other than `core`, as a taskset list. */
const otherCores = (core: number): string =>
  Array.from({ length: availableParallelism() }, (_, i) => i)
    .filter((i) => i !== core)
    .join(',');

export interface Machine {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  pinned: string;
  /**
   * CPU other processes used while the servers were measured, as a share of
   * the whole machine: other work skews every figure, latencies and requests
   * per second most.
   */
  otherCpuPercent: number;
  /** How the server processes run: compiled JavaScript, with the Deployment's NODE_OPTIONS. */
  servers: string;
}

/** The server processes' script (compiled, bench/compiled.ts) and the NODE_OPTIONS they run with. */
interface ServerCommand {
  script: string;
  nodeOptions: string;
}

interface RunningServer {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
}

/** Starts one server process and waits until it listens (or says why it cannot). */
function startServer(kind: ServerKind, server: ServerCommand, tlsDir: string, stdoutFd: number | 'ignore', options: BenchOptions): Promise<RunningServer> {
  const nodeArgs = options.cpuProf === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProf, '--cpu-prof-name', `${kind}.cpuprofile`];
  const argv = [...nodeArgs, server.script, kind, tlsDir];
  const [command, args] = options.pin ? ['taskset', ['-c', String(options.core), process.execPath, ...argv]] : [process.execPath, argv];
  // Both servers get the production heap flags: the baseline is the same runtime doing the least a webhook must.
  const env = { ...process.env, NODE_OPTIONS: server.nodeOptions };
  const child = spawn(command, args as string[], { stdio: ['ignore', stdoutFd, 'inherit', 'ipc'], env });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the ${kind} server did not start within 30 s`));
    }, 30_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the ${kind} server exited (code ${code}) before it listened`));
    });
    child.on('message', (message: ServerMessage) => {
      clearTimeout(timer);
      if (message.type === 'listening') resolve({ child, port: message.port, exited });
      else reject(new Error(`the ${kind} server failed to start: ${message.message}`));
    });
  });
}

async function stopServer(server: RunningServer): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.send('stop');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await server.exited;
  clearTimeout(timer);
}

/** Clock ticks per second of the times in /proc/PID/stat. */
function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** A reader of the CPU time (user + system, in microseconds) process `pid` has used so far. */
function cpuTimeOf(pid: number): () => number {
  const usPerTick = 1e6 / clockTicks();
  return () => {
    // Fields after the command name (which may hold spaces, so split after its closing parenthesis): utime is the 14th, stime the 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * usPerTick;
  };
}

/** Busy and total CPU time of the whole machine so far, in microseconds (the first line of /proc/stat). */
function machineCpu(): { busyUs: number; totalUs: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const values = ticks.slice(0, 8).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = values[3]! + values[4]!;
  const usPerTick = 1e6 / clockTicks();
  return { busyUs: (total - idle) * usPerTick, totalUs: total * usPerTick };
}

/** The highest resident set size the process has had (VmHWM), in MiB. */
function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  if (!kb) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kb[1]) / 1024;
}

function post(port: number, ca: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', servername: 'localhost', port, ca, path: '/mutate', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Every review gets exactly the answer the webhook gives in-process: the numbers are for the outcomes they claim. */
async function preflight(kind: ServerKind, port: number, ca: string, reviews: readonly BenchReview[], expected: ReadonlyMap<string, AdmissionReviewResponse>): Promise<void> {
  for (const r of reviews) {
    const res = await post(port, ca, r.body);
    const want = JSON.stringify(expected.get(r.name));
    if (res.status !== 200 || res.text !== want) {
      let at = 0;
      while (at < want.length && res.text[at] === want[at]) at++;
      const context = (s: string) => JSON.stringify(s.slice(Math.max(0, at - 60), at + 120));
      throw new Error(`the ${kind} server answered the ${r.name} review with HTTP ${res.status} and, from character ${at}, ${context(res.text)}; expected ${context(want)}`);
    }
  }
}

/** What each review must get, computed in-process; refuses to run when an outcome is not the one the review is there for. */
function expectedAnswers(reviews: readonly BenchReview[], deps: AdmissionDeps): Map<string, AdmissionReviewResponse> {
  const answers = new Map<string, AdmissionReviewResponse>();
  for (const r of reviews) {
    const admission = admit(JSON.parse(r.body), deps);
    if (admission.summary.outcome !== r.expected) {
      throw new Error(`the ${r.name} review is ${admission.summary.outcome} (${admission.summary.reason}), not ${r.expected}: the benchmark's mix no longer measures what it says`);
    }
    answers.set(r.name, admission.review);
  }
  return answers;
}

export type ServerResult = LoadResult;

/** One way of loading both servers: a set of reviews, over a number of connections. */
export interface Scenario {
  name: string;
  description: string;
  reviews: readonly BenchReview[];
  connections: number;
}

/** The webhook with part of its per-admission work left out (--parts). */
export interface PartResult {
  kind: PartKind;
  result: ServerResult;
}

export interface ScenarioResult {
  name: string;
  description: string;
  connections: number;
  baseline: ServerResult;
  ours: ServerResult;
  /** With --parts: the webhook without its log line, then without its log line and metrics. */
  parts?: PartResult[];
  /** Our requests per second over the baseline's. */
  ratio: number;
  /** Our p99 over the baseline's. */
  p99Ratio: number;
  /** The baseline's CPU per request over ours: the throughput ratio of two servers each with a core to itself. */
  cpuRatio: number;
}

export interface BenchResults {
  date: string;
  machine: Machine;
  options: Omit<BenchOptions, 'json'>;
  reviews: { name: string; description: string; outcome: string; requestBytes: number; responseBytes: number }[];
  engine: EngineRow[];
  growth: GrowthRow[];
  scenarios: ScenarioResult[];
  /** The highest resident set size of each server over the whole run (VmHWM), in MiB. */
  peakRssMiB: { baseline: number; ours: number };
  /** Log lines the webhook wrote: one per admission, warm-up and checks included. */
  logLines: number;
}

const countLines = (path: string): number => {
  const text = readFileSync(path);
  let n = 0;
  for (const byte of text) if (byte === 0x0a) n++;
  return n;
};

interface Contender {
  kind: ServerKind;
  server: RunningServer;
  cpu: () => number;
}

/**
 * Both servers, checked and warmed up, then measured scenario by scenario
 * in alternating stretches (baseline, ours, baseline, ours…): a burst of
 * activity elsewhere on the machine then falls on both rather than on
 * whichever ran at the time.
 */
async function measureServers(dir: string, command: ServerCommand, ca: string, scenarios: readonly Scenario[], expected: ReadonlyMap<string, AdmissionReviewResponse>, options: BenchOptions, logFd: number) {
  const contenders: Contender[] = [];
  try {
    for (const kind of ['baseline', 'ours', ...(options.parts ? PART_KINDS : [])] as const) {
      const server = await startServer(kind, command, dir, kind === 'ours' ? logFd : 'ignore', options);
      contenders.push({ kind, server, cpu: cpuTimeOf(server.child.pid!) });
      for (const s of scenarios) await preflight(kind, server.port, ca, s.reviews, expected);
    }
    // Everything this benchmark runs (servers, load generator), to tell it from what else the machine did meanwhile.
    const ownCpu = () => contenders.reduce((sum, c) => sum + c.cpu(), 0) + process.cpuUsage().user + process.cpuUsage().system;
    const [machineBefore, ownBefore] = [machineCpu(), ownCpu()];
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) {
      const load = (c: Contender, duration: number) => ({
        url: `https://127.0.0.1:${c.server.port}/mutate`,
        ca,
        servername: 'localhost',
        bodies: scenario.reviews.map((r) => r.body),
        connections: scenario.connections,
        duration,
      });
      for (const c of contenders) if (options.warmup > 0) await new Tally().run(load(c, options.warmup), c.cpu);
      const tallies = contenders.map(() => new Tally());
      for (let round = 1; round <= options.rounds; round++) {
        process.stderr.write(`${scenario.name}, round ${round} of ${options.rounds}: ${contenders.map((c) => `${c.kind} ${options.duration / options.rounds} s`).join(', ')}\n`);
        for (const [i, c] of contenders.entries()) await tallies[i]!.run(load(c, options.duration / options.rounds), c.cpu);
      }
      const [baseline, ours, ...parts] = tallies.map((t) => t.result()) as [ServerResult, ServerResult, ...ServerResult[]];
      results.push({
        name: scenario.name,
        description: scenario.description,
        connections: scenario.connections,
        baseline,
        ours,
        ...(options.parts && { parts: parts.map((result, i) => ({ kind: PART_KINDS[i]!, result })) }),
        ratio: ours.requestsPerSecond / baseline.requestsPerSecond,
        p99Ratio: ours.latencyMs.p99 / baseline.latencyMs.p99,
        cpuRatio: baseline.serverCpuUsPerRequest / ours.serverCpuUsPerRequest,
      });
    }
    const [machineAfter, ownAfter] = [machineCpu(), ownCpu()];
    const otherUs = machineAfter.busyUs - machineBefore.busyUs - (ownAfter - ownBefore);
    const otherCpuPercent = Math.max(0, (100 * otherUs) / (machineAfter.totalUs - machineBefore.totalUs));
    const [baselineRss, oursRss] = contenders.slice(0, 2).map((c) => peakRssMiB(c.server.child.pid!)) as [number, number];
    return { scenarios: results, peakRssMiB: { baseline: baselineRss, ours: oursRss }, otherCpuPercent };
  } finally {
    for (const c of contenders) await stopServer(c.server);
  }
}

async function bench(options: BenchOptions): Promise<BenchResults> {
  const machine: Machine = {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    pinned: 'no',
    otherCpuPercent: Number.NaN,
    servers: '',
  };
  if (options.pin) {
    if (!hasTaskset()) throw new UsageError('--pin needs taskset (util-linux), which is not installed');
    if (machine.cpus < 2) throw new UsageError('--pin needs at least 2 cores: one for the servers, one for the load generator');
    // -a: every thread of this process (libuv, V8's helpers), not only the main one.
    execFileSync('taskset', ['-a', '-p', '-c', otherCores(options.core), String(process.pid)], { stdio: 'ignore' });
    machine.pinned = `servers on core ${options.core}, load generator on ${otherCores(options.core)}`;
  }

  const mix = benchReviews();
  const airflow = airflowReview();
  const optedOut = optedOutReview();
  const reviews = [...mix, airflow, optedOut];
  const scenarios: Scenario[] = [
    { name: 'mix', description: `the ${mix.length} reviews of the realistic mix in turn`, reviews: mix, connections: options.connections },
    { name: 'airflow', description: `the single ${airflow.description}`, reviews: [airflow], connections: options.connections },
    { name: 'airflow, 1 connection', description: 'the same review, one request at a time', reviews: [airflow], connections: 1 },
    // What the server costs without an injection: with the Airflow row, it splits our extra cost into the server's and the injection's.
    { name: 'airflow, opted out', description: optedOut.description, reviews: [optedOut], connections: options.connections },
  ];
  const deps: AdmissionDeps = { ctx: benchContext(), namespaceAnnotations: () => undefined };
  const expected = expectedAnswers(reviews, deps);

  const dir = mkdtempSync(join(tmpdir(), 'gitsync-injector-bench-'));
  try {
    const ca = await createCA('gitsync-injector bench CA');
    const serving = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    await writeCertificates(certificatePaths(dir), ca, serving);

    process.stderr.write('compiling the servers…\n');
    const command: ServerCommand = { script: compileServers(dir), nodeOptions: deploymentNodeOptions() };
    machine.servers = `compiled JavaScript (as the image runs it), NODE_OPTIONS=${command.nodeOptions} (manifests/base/deployment.yaml)`;

    process.stderr.write('measuring the engine in-process…\n');
    const engine = measureEngine(reviews, deps, options.engineBudgetMs);
    const growth = measureGrowth(deps, options.engineBudgetMs);

    const logPath = join(dir, 'webhook.log');
    const logFd = openSync(logPath, 'w');
    let servers: Awaited<ReturnType<typeof measureServers>>;
    try {
      servers = await measureServers(dir, command, ca.cert, scenarios, expected, options, logFd);
    } finally {
      closeSync(logFd);
    }

    machine.otherCpuPercent = servers.otherCpuPercent;
    const logLines = countLines(logPath);
    const measured = servers.scenarios.reduce((n, s) => n + s.ours.requests, 0);
    if (logLines < measured) {
      throw new Error(`the webhook wrote ${logLines} log lines for ${measured} admissions: its logging was not measured`);
    }
    const { duration, warmup, rounds, connections, pin, core, parts, cpuProf, engineBudgetMs } = options;
    return {
      date: new Date().toISOString(),
      machine,
      options: { duration, warmup, rounds, connections, pin, core, parts, engineBudgetMs, ...(cpuProf !== undefined && { cpuProf }) },
      reviews: reviews.map((r) => ({
        name: r.name,
        description: r.description,
        outcome: r.expected,
        requestBytes: Buffer.byteLength(r.body),
        responseBytes: Buffer.byteLength(JSON.stringify(expected.get(r.name))),
      })),
      engine,
      growth,
      scenarios: servers.scenarios,
      peakRssMiB: servers.peakRssMiB,
      logLines,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  let options: BenchOptions | undefined;
  try {
    options = readOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    const results = await bench(options);
    process.stdout.write(`${formatReport(results)}\n`);
    writeFileSync(options.json, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`\nresults written to ${options.json}\n`);
    if (options.cpuProf !== undefined) {
      for (const kind of ['baseline', 'ours'] as const) {
        const file = join(options.cpuProf, `${kind}.cpuprofile`);
        process.stdout.write(`\n--- CPU profile of the ${kind} server (${file}) ---\n`);
        process.stdout.write(`${formatProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, 30)}\n`);
      }
    }
    return 0;
  } catch (error) {
    process.stderr.write(`bench failed: ${error instanceof UsageError ? error.message : (error as Error).stack}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main();
