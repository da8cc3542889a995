/**
 * Running the real `gitsync-injector` command from the TypeScript sources,
 * as a user would from a checkout: a child process with a clean environment,
 * its output collected, its exit code returned.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { COMPILE_CACHE_ENV } from './compile-cache.ts';
import { certificatePaths, createCA, issueServingCertificate, writeCertificates, type CertificatePaths } from '../../src/tls/index.ts';

/** The command's entry point; Node 24 runs the TypeScript directly. */
export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Environment variables besides PATH (and the compile cache's); nothing else from the test's environment leaks in. */
  env?: Record<string, string>;
  /** Written to standard input, which is then closed (closed at once when absent). */
  stdin?: string;
  /** The working directory (default: the test's). */
  cwd?: string;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd: options.cwd, env: { PATH: process.env.PATH ?? '', ...COMPILE_CACHE_ENV, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** A running `serve` process. */
export interface ServeProcess {
  child: ChildProcess;
  /** Every JSON log line so far, parsed. */
  lines: Record<string, unknown>[];
  port: number;
  healthPort: number;
  /** The /preview and /policy listener's port; undefined when it is off (give `--preview-port 0` to have one). */
  previewPort?: number;
  exit: Promise<number | null>;
  exited(): boolean;
}

const running = new Set<ChildProcess>();

/**
 * Starts `gitsync-injector serve` on free ports of 127.0.0.1 with the given
 * serving certificate and resolves once it logged that it started; rejects
 * with its log if it exits first. `main` runs another entry point (the
 * compiled one, compiled.ts), with `nodeArgs` before it.
 */
export function startServe(
  args: string[],
  tls: { cert: string; key: string },
  env: Record<string, string> = {},
  options: { main?: string; nodeArgs?: string[] } = {},
): Promise<ServeProcess> {
  const { main = CLI_MAIN, nodeArgs = [] } = options;
  const child = spawn(process.execPath, [...nodeArgs, main, 'serve', '--host', '127.0.0.1', '--port', '0', '--health-port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', ...COMPILE_CACHE_ENV, GITSYNC_INJECTOR_TLS_CERT: tls.cert, GITSYNC_INJECTOR_TLS_KEY: tls.key, ...env },
  });
  running.add(child);
  const lines: Record<string, unknown>[] = [];
  let done = false;
  const exit = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      done = true;
      running.delete(child);
      resolve(code);
    }),
  );
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let i = buffer.indexOf('\n'); i !== -1; i = buffer.indexOf('\n')) {
        const line = JSON.parse(buffer.slice(0, i)) as Record<string, unknown>;
        buffer = buffer.slice(i + 1);
        lines.push(line);
        if (line.msg === 'gitsync-injector started') {
          const port = Number(new URL(line.webhook as string).port);
          const healthPort = Number(new URL(line.health as string).port);
          const previewPort = line.preview === 'off' ? undefined : Number(new URL(line.preview as string).port);
          resolve({ child, lines, port, healthPort, previewPort, exit, exited: () => done });
        }
      }
    });
    void exit.then((code) => reject(new Error(`serve exited with ${code} before starting: ${JSON.stringify(lines)}`)));
  });
}

/** Kills every `serve` a test left running (for afterEach). */
export function killServes(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** A fresh CA and a serving certificate for localhost and 127.0.0.1, written into `dir` as serve reads them. */
export async function localhostCertificates(dir: string, caName: string): Promise<{ files: CertificatePaths; caCert: string }> {
  const files = certificatePaths(dir);
  const ca = await createCA(caName);
  await writeCertificates(files, ca, await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }));
  return { files, caCert: ca.cert };
}
