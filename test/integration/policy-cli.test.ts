/** `gitsync-injector policy`: validate a policy in CI and print the effective one, as a process. */
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../support/cli.ts';
import { loadBuiltinPolicy, loadPolicyText } from '../../src/policy/load.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));


const cli = runCli;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitsync-policy-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('gitsync-injector policy', () => {
  test('is listed by --help', async () => {
    const run = await cli(['--help']);
    expect(run.stdout).toMatch(/^ {2}policy +validate a policy and print the effective policy/m);
  });

  test('without --policy: the built-in policy, as YAML under its source and hash', async () => {
    const run = await cli(['policy']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const { compiled } = loadBuiltinPolicy();
    expect(run.stdout.startsWith(`# gitsync-injector policy\n# source: built-in\n# hash: ${compiled.engine.hash}\n`)).toBe(true);
    expect(loadPolicyText(run.stdout, 'out.yaml').compiled?.engine.hash).toBe(compiled.engine.hash);
  });

  test('a valid file: the effective policy, every field filled in, which loads back to the same hash', async () => {
    const file = join(FIXTURES, 'partial.yaml');
    const run = await cli(['policy', '--policy', file]);
    expect(run.code).toBe(0);
    const header = /^# gitsync-injector policy\n# source: (.+)\n# hash: ([0-9a-f]{12})\n/.exec(run.stdout);
    expect(header?.[1]).toBe(file);
    const reloaded = loadPolicyText(run.stdout, 'effective.yaml');
    expect(reloaded.compiled?.engine.hash).toBe(header?.[2]);
    // What the file leaves out comes from the built-in policy, shown explicitly.
    expect(run.stdout).toMatch(/^imagePullPolicy: IfNotPresent$/m);
    expect(run.stdout).toMatch(/^ {2}airflow:$/m);
  });

  test('--output json and the environment variable', async () => {
    const file = join(FIXTURES, 'full.yaml');
    const run = await cli(['policy', '-o', 'json'], { env: { GITSYNC_INJECTOR_POLICY: file } });
    expect(run.code).toBe(0);
    const view = JSON.parse(run.stdout) as { source: string; hash: string; policy: Record<string, unknown> };
    expect(view.source).toBe(file);
    expect(view.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(view.policy).toMatchObject({ annotationPrefix: 'git.example.com/', nativeSidecars: 'disabled' });
  });

  test('--policy - reads stdin', async () => {
    const run = await cli(['policy', '--policy', '-'], { stdin: 'defaults:\n  period: 2m\n' });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^# source: stdin$/m);
    expect(run.stdout).toMatch(/^ {2}period: 2m$/m);
  });

  test('an invalid file: exit 1, every problem on stderr with file:line:column, nothing on stdout', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'limits:\n  minPeriod: 5\ndefaults:\n  period: 5x\n  frobnicate: x\n');
    const run = await cli(['policy', '--policy', file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')).toEqual([
      `gitsync-injector policy: invalid policy in ${file} (3 problems):`,
      `${file}:2:14: limits.minPeriod: 5 is not a string; use a Go duration such as 10s [POLICY_TYPE_INVALID]`,
      `${file}:4:11: defaults.period: "5x" is not a duration; use a Go duration such as 30s, 5m or 1h30m [DURATION_INVALID]`,
      expect.stringMatching(new RegExp(`^${file}:5:3: defaults\\.frobnicate: .* \\[UNKNOWN_ANNOTATION\\]$`)),
      '',
    ]);
  });

  test('YAML that does not parse: exit 1 with the position', async () => {
    const run = await cli(['policy', '--policy', join(FIXTURES, 'syntax-error.yaml')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/syntax-error\.yaml:\d+:\d+: invalid YAML: .* \[POLICY_YAML_INVALID\]/);
  });

  test('a file that cannot be read: exit 1, naming it', async () => {
    const run = await cli(['policy', '--policy', join(dir, 'missing.yaml')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`gitsync-injector policy: cannot read ${join(dir, 'missing.yaml')}: ENOENT: no such file or directory, open '${join(dir, 'missing.yaml')}'\n`);
  });

  test.each([
    [['--output', 'xml'], '--output: "xml" is not an output format; use one of yaml, json'],
    [['--policy', ''], '--policy: the file name is empty'],
    [['--frobnicate'], 'unknown option --frobnicate'],
    [['stray'], 'unexpected argument "stray"'],
  ])('usage error %j: exit 2 with one line and a hint', async (args, message) => {
    const run = await cli(['policy', ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`gitsync-injector policy: ${message}\nRun 'gitsync-injector policy --help' for its options.\n`);
  });
});
