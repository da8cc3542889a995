/**
 * The benchmark's report (bench/report.ts): the parts' rows and what each
 * part costs, worked out from the CPU per request of servers in one run.
 */
import { describe, expect, it } from 'vitest';
import { formatReport, partCosts } from '../../bench/report.ts';
import type { BenchResults, ScenarioResult, ServerResult } from '../../bench/run.ts';

const server = (cpu: number, rps: number): ServerResult => ({
  requests: rps * 9,
  seconds: 9,
  requestsPerSecond: rps,
  latencyMs: { p50: 1, p90: 2, p99: 3, max: 4 },
  non2xx: 0,
  errors: 0,
  statusCodes: { 200: rps * 9 },
  clientCpuPercent: 50,
  serverCpuUsPerRequest: cpu,
});

const scenario = (parts: boolean): ScenarioResult => ({
  name: 'airflow',
  description: 'one review',
  connections: 16,
  baseline: server(150, 6000),
  ours: server(450, 2000),
  ...(parts && { parts: [{ kind: 'ours-no-log', result: server(400, 2250) }, { kind: 'ours-no-log-metrics', result: server(375, 2400) }] }),
  ratio: 2000 / 6000,
  p99Ratio: 1,
  cpuRatio: 150 / 450,
});

const results = (s: ScenarioResult): BenchResults => ({
  date: '2026-12-01T00:00:00.000Z',
  machine: { cpus: 2, cpuModel: 'test', node: 'v24', platform: 'linux x64', pinned: 'no', otherCpuPercent: 1, servers: 'compiled' },
  options: { duration: 9, warmup: 3, rounds: 3, connections: 16, pin: false, core: 1, parts: s.parts !== undefined, engineBudgetMs: 400 },
  reviews: [{ name: 'airflow', description: 'one review', outcome: 'injected', requestBytes: 1740, responseBytes: 5900 }],
  engine: [{ name: 'airflow', engineUs: 70, admissionUs: 117, floorUs: 28, admissionsPerSecond: 8547 }],
  growth: [],
  scenarios: [s],
  peakRssMiB: { baseline: 90, ours: 110 },
  logLines: 18_000,
});

describe('the benchmark report', () => {
  it('sets the floor beside each admission: what any webhook giving the same answer must do', () => {
    expect(formatReport(results(scenario(false)))).toMatch(/^\| airflow +\| +injected \| +1\.7 \| +5\.8 \| +70\.0 \| +117\.0 \| +28\.0 \| +8,547 \|$/m);
  });

  it('says what the log line and the metrics cost, and where the webhook stands without them', () => {
    expect(partCosts(scenario(true))).toBe(
      'parts, CPU µs per request: the log line 50, the metrics 25; without both, the webhook costs 225 more than the baseline (cost ratio 0.40)',
    );
  });

  it('has a row for each part, and nothing about parts when they were not measured', () => {
    const withParts = formatReport(results(scenario(true)));
    expect(withParts).toMatch(/^\| … without its log line +\| +2,250 \|/m);
    expect(withParts).toMatch(/^\| … without log line and metrics +\| +2,400 \|/m);
    expect(withParts).toContain('the log line 50, the metrics 25');
    expect(partCosts(scenario(false))).toBeUndefined();
    expect(formatReport(results(scenario(false)))).not.toMatch(/without|parts,/);
  });
});
