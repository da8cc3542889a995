/**
 * Driving a server with autocannon: keep-alive connections, each cycling
 * through the review mix. A server is measured in several stretches (the
 * benchmark alternates them with the baseline's, so that background activity
 * on the machine weighs on both alike); a Tally adds the stretches up.
 *
 * autocannon's own latency histogram has whole milliseconds as its unit, too
 * coarse for a webhook whose answers take a few; every response time is kept
 * here instead, at full resolution.
 */
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  /** PEM of the CA the server's certificate chains to. */
  ca: string;
  servername: string;
  bodies: readonly string[];
  connections: number;
  /** Seconds. */
  duration: number;
}

export interface LatencyMs {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadResult {
  requests: number;
  /** Seconds under load, all stretches together, as autocannon measured them. */
  seconds: number;
  requestsPerSecond: number;
  /** Of 2xx responses. */
  latencyMs: LatencyMs;
  non2xx: number;
  /** Socket errors, timeouts included. */
  errors: number;
  statusCodes: Record<string, number>;
  /** CPU the load generator used, as a share of one core: near 100% means it, not the server, may be the limit. */
  clientCpuPercent: number;
  /**
   * CPU microseconds the server process used per request. Unlike requests per
   * second, this hardly moves when other work shares the machine: it is what
   * a request costs, not how fast the server got to run.
   */
  serverCpuUsPerRequest: number;
}

/** Response times, growing in blocks so a long run never copies a huge array. */
class Samples {
  private static readonly BLOCK = 65_536;
  private blocks: Float64Array[] = [];
  private used = 0;

  add(value: number): void {
    if (this.used % Samples.BLOCK === 0) this.blocks.push(new Float64Array(Samples.BLOCK));
    this.blocks[this.blocks.length - 1]![this.used % Samples.BLOCK] = value;
    this.used++;
  }

  sorted(): Float64Array {
    const all = new Float64Array(this.used);
    let at = 0;
    for (const block of this.blocks) {
      const n = Math.min(Samples.BLOCK, this.used - at);
      all.set(block.subarray(0, n), at);
      at += n;
    }
    return all.sort();
  }
}

/** The nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** What the stretches of load against one server add up to. */
export class Tally {
  private readonly samples = new Samples();
  private seconds = 0;
  private non2xx = 0;
  private errors = 0;
  private readonly statusCodes: Record<string, number> = {};
  private clientCpuUs = 0;
  private wallUs = 0;
  private serverCpuUs = 0;

  /** Drives the server for one stretch and adds what happened; `serverCpu` reads the server process's CPU time, in microseconds. */
  async run(options: LoadOptions, serverCpu: () => number): Promise<void> {
    const serverBefore = serverCpu();
    await this.drive(options);
    this.serverCpuUs += serverCpu() - serverBefore;
  }

  private drive(options: LoadOptions): Promise<void> {
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
      const instance = autocannon(
        {
          url: options.url,
          connections: options.connections,
          duration: options.duration,
          pipelining: 1,
          timeout: 10,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          requests: options.bodies.map((body) => ({ method: 'POST', body })),
          servername: options.servername,
          // autocannon turns certificate checks off for its connections; the CA is
          // given anyway so the handshake is the one the API server makes.
          tlsOptions: { ca: options.ca },
        },
        (error, result) => {
          if (error) {
            reject(error);
            return;
          }
          this.wallUs += Number(process.hrtime.bigint() - started) / 1000;
          const cpu = process.cpuUsage(cpuBefore);
          this.clientCpuUs += cpu.user + cpu.system;
          this.seconds += result.duration;
          this.non2xx += result.non2xx;
          this.errors += result.errors;
          for (const [code, s] of Object.entries(result.statusCodeStats)) this.statusCodes[code] = (this.statusCodes[code] ?? 0) + s.count;
          resolve();
        },
      );
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode >= 200 && statusCode < 300) this.samples.add(responseTime);
      });
    });
  }

  result(): LoadResult {
    const sorted = this.samples.sorted();
    const requests = Object.values(this.statusCodes).reduce((a, b) => a + b, 0);
    return {
      requests,
      seconds: this.seconds,
      requestsPerSecond: requests / this.seconds,
      latencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? Number.NaN },
      non2xx: this.non2xx,
      errors: this.errors,
      statusCodes: { ...this.statusCodes },
      clientCpuPercent: (100 * this.clientCpuUs) / this.wallUs,
      serverCpuUsPerRequest: this.serverCpuUs / requests,
    };
  }
}
