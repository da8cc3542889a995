/** The benchmark's results as the tables it prints (Markdown, so they can go into the README as they are). */
import type { GrowthRow } from './engine.ts';
import type { BenchResults, ScenarioResult, ServerResult } from './run.ts';
import type { PartKind } from './kinds.ts';

const PART_NAMES: Record<PartKind, string> = {
  'ours-no-log': '… without its log line',
  'ours-no-log-metrics': '… without log line and metrics',
};

const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 2)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function serverRow(name: string, r: ServerResult): string[] {
  return [
    name,
    thousands(r.requestsPerSecond),
    fixed(r.latencyMs.p50, 2),
    fixed(r.latencyMs.p90, 2),
    fixed(r.latencyMs.p99, 2),
    fixed(r.latencyMs.max, 1),
    `${r.non2xx} + ${r.errors}`,
    fixed(r.serverCpuUsPerRequest, 0),
    `${fixed(r.clientCpuPercent, 0)}%`,
  ];
}

/**
 * What the log line and the metrics cost per request under load, from the
 * parts' CPU per request (differences between servers of the same run), and
 * where the webhook stands without them.
 */
export function partCosts(s: ScenarioResult): string | undefined {
  const cpu = (kind: PartKind) => s.parts?.find((p) => p.kind === kind)?.result.serverCpuUsPerRequest;
  const noLog = cpu('ours-no-log');
  const bare = cpu('ours-no-log-metrics');
  if (noLog === undefined || bare === undefined) return undefined;
  const ours = s.ours.serverCpuUsPerRequest;
  const baseline = s.baseline.serverCpuUsPerRequest;
  return (
    `parts, CPU µs per request: the log line ${fixed(ours - noLog, 0)}, the metrics ${fixed(noLog - bare, 0)}; ` +
    `without both, the webhook costs ${fixed(bare - baseline, 0)} more than the baseline (cost ratio ${fixed(baseline / bare, 2)})`
  );
}

export function formatReport(results: BenchResults): string {
  const { machine, options } = results;
  const out: string[] = [];
  out.push(`machine: ${machine.cpus} CPUs (${machine.cpuModel}), Node.js ${machine.node}, ${machine.platform}; pinned: ${machine.pinned}`);
  out.push(`servers: ${machine.servers}`);
  out.push(
    `other processes used ${fixed(machine.otherCpuPercent, 0)}% of the machine's CPU during the measurement${machine.otherCpuPercent > 5 ? ': expect noisier latencies and req/s (CPU µs/req and the ratios of the same run move least)' : ''}`,
  );
  out.push(`load: ${options.duration} s per server and scenario in ${options.rounds} alternating rounds, after ${options.warmup} s of warm-up; keep-alive HTTPS`);
  for (const s of results.scenarios) {
    out.push('');
    out.push(`scenario ${s.name}: ${s.description}, ${s.connections} connection${s.connections === 1 ? '' : 's'}`);
    out.push('');
    out.push(
      table(
        ['server', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors (non-2xx + socket)', 'server CPU µs/req', 'load generator CPU'],
        [serverRow('bare fastify (baseline)', s.baseline), serverRow('gitsync-injector', s.ours), ...(s.parts ?? []).map((p) => serverRow(PART_NAMES[p.kind], p.result))],
      ),
    );
    out.push('');
    out.push(`ratios, gitsync-injector / baseline: throughput ${fixed(s.ratio, 2)}, p99 ${fixed(s.p99Ratio, 2)}; cost (baseline CPU per request / ours) ${fixed(s.cpuRatio, 2)}`);
    const parts = partCosts(s);
    if (parts) out.push(parts);
    if (Math.max(s.baseline.clientCpuPercent, s.ours.clientCpuPercent) > 90) {
      out.push("note: the load generator used most of a core; the figures may be its limit rather than the server's");
    }
  }
  out.push('');
  out.push(`peak RSS (VmHWM) over the whole run: baseline ${fixed(results.peakRssMiB.baseline, 0)} MiB, gitsync-injector ${fixed(results.peakRssMiB.ours, 0)} MiB`);
  out.push(`log lines written by gitsync-injector: ${thousands(results.logLines)} (one per admission, warm-up and checks included)`);
  out.push('');
  out.push('engine alone, in-process (CPU time per call; admission = JSON.parse + admit + the answer\'s bytes, no HTTP, no log;');
  out.push('floor = what any webhook giving the same answer must do at least: JSON.parse of the body, the same patch as text from ready objects, base64):');
  out.push('');
  const reviews = new Map(results.reviews.map((r) => [r.name, r]));
  out.push(
    table(
      ['pod', 'outcome', 'request KiB', 'answer KiB', 'engine µs', 'admission µs', 'floor µs', 'admissions/s on one core'],
      results.engine.map((e) => {
        const r = reviews.get(e.name);
        return [
          e.name,
          r?.outcome ?? `all ${results.reviews.length} above in turn`,
          r ? fixed(r.requestBytes / 1024, 1) : '',
          r ? fixed(r.responseBytes / 1024, 1) : '',
          fixed(e.engineUs, 1),
          fixed(e.admissionUs, 1),
          fixed(e.floorUs, 1),
          thousands(e.admissionsPerSecond),
        ];
      }),
    ),
  );
  out.push('');
  out.push('cost growth, in-process (admission CPU per request; each size grown alone from 1 container of 10 env entries with 1 annotation):');
  out.push('');
  const first = new Map<string, GrowthRow>();
  for (const g of results.growth) if (!first.has(g.series)) first.set(g.series, g);
  out.push(
    table(
      ['grows', 'size', 'request KiB', 'admission µs', 'size ×', 'cost ×'],
      results.growth.map((g) => {
        const base = first.get(g.series)!;
        return [g.series, String(g.size), fixed(g.requestBytes / 1024, 1), fixed(g.admissionUs, 1), fixed(g.size / base.size, 0), fixed(g.admissionUs / base.admissionUs, 1)];
      }),
    ),
  );
  return out.join('\n');
}
