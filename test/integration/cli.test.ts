/**
 * The `gitsync-injector` command as a process: dispatch, usage errors, and
 * `serve` from start to a graceful SIGTERM.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { type CliRun, killServes, localhostCertificates, runCli, type ServeProcess, startServe } from '../support/cli.ts';
import { createCA, type CertificatePaths } from '../../src/tls/index.ts';
import { VERSION } from '../../src/version.ts';
import { postReview, reviewOf, samplePod, send } from '../support/server.ts';



const cli = (args: string[], env: Record<string, string> = {}): Promise<CliRun> => runCli(args, { env });

describe('dispatch', () => {
  test('--version prints the version', async () => {
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  test('--help lists the commands on stdout', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: gitsync-injector <command>/);
    expect(run.stdout).toMatch(/^ {2}serve +run the admission webhook/m);
  });

  test('no command prints the usage on stderr and exits 2', async () => {
    const run = await cli([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: gitsync-injector');
  });

  test('an unknown command is named in one line with a hint, exit 2', async () => {
    const run = await cli(['deploy']);
    expect(run).toEqual({ code: 2, stdout: '', stderr: `gitsync-injector: unknown command "deploy"\nRun 'gitsync-injector --help' for the commands.\n` });
    const typo = await cli(['injct']);
    expect(typo.stderr).toBe(`gitsync-injector: unknown command "injct"; did you mean inject?\nRun 'gitsync-injector --help' for the commands.\n`);
  });

  test('serve --help shows its flags and their environment variables', async () => {
    const run = await cli(['serve', '--help']);
    expect(run.code).toBe(0);
    for (const v of ['GITSYNC_INJECTOR_PORT', 'GITSYNC_INJECTOR_HEALTH_PORT', 'GITSYNC_INJECTOR_TLS_CERT', 'GITSYNC_INJECTOR_POLICY', 'GITSYNC_INJECTOR_LOG_LEVEL']) {
      expect(run.stdout).toContain(v);
    }
  });
});

describe('serve: invalid settings exit 2 with a message that names them', () => {
  test.each([
    [['--port', 'https'], {}, '--port: "https" is not a port number'],
    [['--health-port', '70000'], {}, '--health-port: "70000" is not a port number'],
    [[], { GITSYNC_INJECTOR_PORT: '-1' }, 'GITSYNC_INJECTOR_PORT: "-1" is not a port number'],
    [['--log-level', 'loud'], {}, '--log-level: "loud" is not a log level'],
    [[], { GITSYNC_INJECTOR_LOG_LEVEL: 'verbose' }, 'GITSYNC_INJECTOR_LOG_LEVEL: "verbose" is not a log level'],
    [['--frobnicate'], {}, 'unknown option --frobnicate'],
    [['--polcy', 'x.yaml'], {}, 'unknown option --polcy (did you mean --policy?)'],
    [['extra'], {}, 'unexpected argument "extra"'],
    [['--tls-cert', '/tmp/x.crt'], {}, '--tls-cert is set but --tls-key (or GITSYNC_INJECTOR_TLS_KEY) is not'],
    [['--port', '9000', '--health-port', '9000'], {}, 'need different ports'],
  ])('%j %j', async (args, env, message) => {
    const run = await cli(['serve', ...args], env as Record<string, string>);
    expect(run.code).toBe(2);
    // One line saying what is wrong, one saying where the help is: not the whole help.
    expect(run.stderr).toMatch(/^gitsync-injector serve: [^\n]+\nRun 'gitsync-injector serve --help' for its options\.\n$/);
    expect(run.stderr).toContain(message);
  });
});

describe('serve', () => {
  let dir: string;
  let certs: CertificatePaths;
  let caCert: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitsync-injector-cli-'));
    ({ files: certs, caCert } = await localhostCertificates(dir, 'cli test CA'));
  });
  afterEach(() => {
    killServes();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts `serve` on free ports and waits for its startup line. */
  const start = (args: string[], env: Record<string, string> = {}): Promise<ServeProcess> => startServe(args, certs, env);

  test('serves admissions and probes, then drains and exits 0 on SIGTERM', async () => {
    const s = await start([]);
    expect(s.lines.at(-1)).toMatchObject({ version: VERSION, policy: { source: 'built-in', hash: expect.any(String) } });

    const res = await postReview({ port: s.port, ca: caCert }, reviewOf(samplePod(), { uid: 'cli-1' }));
    expect(res.status).toBe(200);
    expect(res.json().response).toMatchObject({ uid: 'cli-1', allowed: true, patchType: 'JSONPatch' });
    expect((await send({ port: s.healthPort, path: '/readyz' })).status).toBe(200);

    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    expect(s.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['admission', 'shutting down: draining in-flight admissions', 'stopped']));
  });

  test('uses a policy file, named with its hash on /readyz', async () => {
    const policy = join(dir, 'policy.yaml');
    await writeFile(policy, 'limits:\n  minPeriod: 30s\n');
    const s = await start(['--policy', policy]);
    const ready = (await send({ port: s.healthPort, path: '/readyz' })).json();
    expect(ready.policy.source).toBe(policy);
    expect(s.lines.at(-1)).toMatchObject({ policy: { source: policy, hash: ready.policy.hash } });
    s.child.kill('SIGINT');
    expect(await s.exit).toBe(0);
  });

  test('an invalid policy file stops startup with its problems, exit 1', async () => {
    const policy = join(dir, 'bad-policy.yaml');
    await writeFile(policy, 'limits:\n  minPeriod: soon\n');
    const run = await cli(['serve', '--host', '127.0.0.1', '--port', '0', '--health-port', '0', '--policy', policy], {
      GITSYNC_INJECTOR_TLS_CERT: certs.cert,
      GITSYNC_INJECTOR_TLS_KEY: certs.key,
    });
    expect(run.code).toBe(1);
    const fatal = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(fatal.level).toBe('fatal');
    expect(fatal.msg).toContain(policy);
    expect(fatal.msg).toContain('minPeriod');
  });

  test('missing TLS files stop startup with the path and what to do, exit 1', async () => {
    const run = await cli(['serve', '--tls-cert', join(dir, 'none.crt'), '--tls-key', join(dir, 'none.key'), '--port', '0', '--health-port', '0']);
    expect(run.code).toBe(1);
    const fatal = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(fatal).toMatchObject({ level: 'fatal', msg: expect.stringContaining(join(dir, 'none.crt')) });
    expect(fatal.msg).toContain('--tls-cert');
  });

  test('a key that does not belong to the certificate stops startup, exit 1', async () => {
    const other = await createCA('unrelated');
    const wrongKey = join(dir, 'wrong.key');
    await writeFile(wrongKey, other.key);
    const run = await cli(['serve', '--tls-cert', certs.cert, '--tls-key', wrongKey, '--port', '0', '--health-port', '0']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!).msg).toContain('the TLS certificate or key cannot be used');
  });

  test('a port in use stops startup, exit 1', async () => {
    const s = await start([]);
    try {
      const run = await cli(['serve', '--host', '127.0.0.1', '--port', String(s.port), '--health-port', '0'], {
        GITSYNC_INJECTOR_TLS_CERT: certs.cert,
        GITSYNC_INJECTOR_TLS_KEY: certs.key,
      });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('EADDRINUSE');
    } finally {
      s.child.kill('SIGTERM');
      await s.exit;
    }
  });
});
