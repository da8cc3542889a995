/**
 * kubectl, as the suite's client for the API server. The suite talks to the
 * cluster the way its users do: the denial message and the warnings it checks
 * are the ones kubectl prints, `--dry-run=server` and `apply -k` are kubectl
 * features, and every failure names a command that can be run by hand.
 * Every call is bounded by a timeout and never throws for a non-zero exit:
 * the caller decides what an exit code means.
 */
import { spawn } from 'node:child_process';

export interface KubectlResult {
  /** The command as it could be typed, for messages. */
  command: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

export class KubectlError extends Error {
  readonly result: KubectlResult;
  constructor(result: KubectlResult) {
    super(`${result.command} exited with ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'KubectlError';
    this.result = result;
  }
}

export interface KubectlOptions {
  /** Written to kubectl's standard input (a manifest for `-f -`). */
  input?: string;
  timeoutMs?: number;
}

const quote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);

export class Kubectl {
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeoutMs: number;

  constructor(kubeconfig: string, timeoutMs: number) {
    this.env = { ...process.env, KUBECONFIG: kubeconfig };
    this.timeoutMs = timeoutMs;
  }

  run(args: readonly string[], options: KubectlOptions = {}): Promise<KubectlResult> {
    const command = ['kubectl', ...args].map(quote).join(' ');
    return new Promise((resolve) => {
      const child = spawn('kubectl', args, { env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? this.timeoutMs);
      child.on('error', (error) => err.push(Buffer.from(`cannot run kubectl: ${error.message}`)));
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ command, code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      });
      child.stdin.on('error', () => {});
      child.stdin.end(options.input ?? '');
    });
  }

  /** Runs and requires exit code 0. */
  async must(args: readonly string[], options: KubectlOptions = {}): Promise<KubectlResult> {
    const result = await this.run(args, options);
    if (result.code !== 0) throw new KubectlError(result);
    return result;
  }

  /** Runs with `-o json` and parses the output; requires exit code 0. */
  async json<T = any>(args: readonly string[], options: KubectlOptions = {}): Promise<T> {
    const result = await this.must([...args, '-o', 'json'], options);
    return JSON.parse(result.stdout) as T;
  }
}

/** Polls `check` until it returns a value, or fails with what it last said after `timeoutMs`. */
export async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s${last ? ` (last: ${(last as Error).message})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
