/** The benchmark's results as the tables it prints (Markdown, so they can go into the README as they are). */
import type { BenchResults, ServerResult } from './run.ts';

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
    fixed(r.peakRssMiB, 0),
    `${fixed(r.clientCpuPercent, 0)}%`,
  ];
}

export function formatReport(results: BenchResults): string {
  const { machine, options } = results;
  const out: string[] = [];
  out.push(`machine: ${machine.cpus} CPUs (${machine.cpuModel}), Node.js ${machine.node}, ${machine.platform}; pinned: ${machine.pinned}`);
  out.push(
    `other processes used ${fixed(machine.otherCpuPercent, 0)}% of the machine's CPU during the measurement${machine.otherCpuPercent > 5 ? ': expect noisier latencies and req/s (CPU µs/req and the cost ratio move least)' : ''}`,
  );
  out.push(
    `load: ${options.connections} keep-alive HTTPS connections, each cycling through the ${results.reviews.length} reviews below; ${options.duration} s per server in ${options.rounds} alternating rounds, after ${options.warmup} s of warm-up`,
  );
  out.push('');
  out.push(
    table(
      ['server', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors (non-2xx + socket)', 'server CPU µs/req', 'peak RSS MiB', 'load generator CPU'],
      [serverRow('bare fastify (baseline)', results.baseline), serverRow('gitsync-injector', results.ours)],
    ),
  );
  out.push('');
  out.push(`throughput ratio, gitsync-injector / baseline: ${fixed(results.ratio, 2)} (measured req/s)`);
  out.push(
    `cost ratio, baseline CPU per request / gitsync-injector's: ${fixed(results.cpuRatio, 2)} (the throughput ratio with a core each to themselves; steadier when other work shares the machine)`,
  );
  out.push(`log lines written by gitsync-injector: ${thousands(results.ours.logLines)} (one per admission, warm-up and checks included)`);
  if (Math.max(results.baseline.clientCpuPercent, results.ours.clientCpuPercent) > 90) {
    out.push('note: the load generator used most of a core; the figures may be its limit rather than the server\'s (use --pin on a machine with more cores)');
  }
  out.push('');
  out.push('engine alone, in-process (CPU time per call; admission = JSON.parse + admit + JSON.stringify, no HTTP, no log):');
  out.push('');
  const reviews = new Map(results.reviews.map((r) => [r.name, r]));
  out.push(
    table(
      ['pod', 'outcome', 'request KiB', 'answer KiB', 'engine µs', 'admission µs', 'admissions/s on one core'],
      results.engine.map((e) => {
        const r = reviews.get(e.name);
        return [
          e.name,
          r?.outcome ?? `all ${results.reviews.length} in turn`,
          r ? fixed(r.requestBytes / 1024, 1) : '',
          r ? fixed(r.responseBytes / 1024, 1) : '',
          fixed(e.engineUs, 1),
          fixed(e.admissionUs, 1),
          thousands(e.admissionsPerSecond),
        ];
      }),
    ),
  );
  return out.join('\n');
}
