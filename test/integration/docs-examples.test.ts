/**
 * The documentation's command examples, run: every `$ npx gitsync-injector
 * check|inject …` line in a console block of README.md, docs/preview.md and
 * docs/big-repositories.md and docs/several-repositories.md that reads fixtures and pipes nowhere is run from
 * the repository root, and its output must be what the block shows; a yaml
 * block whose first line names a fixture (`# test/fixtures/…`) must be that
 * file, so the page shows what the commands read; the invalid policy example
 * in docs/policy.md is written to a file and `gitsync-injector policy` must
 * refuse it with the problems shown; the theme pages' complete examples
 * (networks, credentials, GitHub App) are injected and compared.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { injectPod } from '../../src/engine/index.ts';
import { validatePolicyDocument } from '../../src/policy/index.ts';
import { VERSION } from '../../src/version.ts';
import { runCli, type CliRun } from '../support/cli.ts';

const root = join(import.meta.dirname, '..', '..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

/** The command in `cwd`, as a user runs it there. */
const run = (args: string[], cwd: string): Promise<CliRun> => runCli(args, { cwd });

interface Example {
  file: string;
  command: string;
  args: string[];
  echoesExit: boolean;
  shown: string;
}

/** Every runnable `$ npx gitsync-injector …` example of a file's console blocks, with the output it shows. */
function examples(file: string): Example[] {
  const found: Example[] = [];
  for (const block of read(file).matchAll(/```console\n([\s\S]*?)```/g)) {
    const lines = block[1]!.replace(/\n$/, '').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^\$ npx gitsync-injector ((?:check|inject) [^|;]*?)(; echo "exit \$\?")?$/.exec(lines[i]!);
      if (!m) continue;
      let end = i + 1;
      while (end < lines.length && !lines[end]!.startsWith('$ ')) end++;
      const shown = lines.slice(i + 1, end).join('\n').replace(/\n+$/, '');
      found.push({ file, command: lines[i]!, args: m[1]!.split(/\s+/), echoesExit: m[2] !== undefined, shown });
    }
  }
  return found;
}

const all = ['README.md', 'docs/preview.md', 'docs/big-repositories.md', 'docs/several-repositories.md'].flatMap(examples);

/** Every yaml block whose first line is `# <fixture path>`, with the text it shows after that line. */
function shownFixtures(file: string): { path: string; shown: string }[] {
  return [...read(file).matchAll(/```yaml\n# (test\/fixtures\/\S+)\n([\s\S]*?)```/g)].map((m) => ({ path: m[1]!, shown: m[2]! }));
}

describe('check and inject examples', () => {
  test('the documentation has examples to run', () => {
    expect(all.length).toBeGreaterThanOrEqual(5);
  });

  test.each(all.map((e) => [`${e.file}: ${e.command}`, e] as const))('%s', async (_, example) => {
    const result = await run(example.args, root);
    const output = `${result.stdout}${result.stderr}`.replace(/\n$/, '');
    expect(example.echoesExit ? `${output}\nexit ${result.code}` : output).toBe(example.shown);
    if (!example.echoesExit) expect(result.code).toBe(0);
  });
});

describe('fixtures shown in the docs', () => {
  const shown = shownFixtures('docs/big-repositories.md');
  const several = shownFixtures('docs/several-repositories.md');

  test('docs/big-repositories.md shows its manifest and its policy', () => {
    expect(shown.map((f) => f.path)).toEqual(['test/fixtures/manifests/big-repositories/monorepo-dags.yaml', 'test/fixtures/policies/big-repositories.yaml']);
  });

  test('docs/several-repositories.md shows the manifests its examples check', () => {
    expect(several.map((f) => f.path)).toEqual(['test/fixtures/manifests/several-repositories/airflow-dags-plugins.yaml', 'test/fixtures/manifests/several-repositories/job-two-repositories.yaml']);
  });

  test.each([...shown, ...several].map((f) => [f.path, f] as const))('%s is shown as it is', (_, f) => {
    expect(f.shown).toBe(read(f.path));
  });
});

describe('policy examples', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'docs-examples-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('docs/policy.md: the policy with mistakes is refused with every problem shown', async () => {
    const m = /is refused with every problem[\s\S]*?```text\n([\s\S]*?)```\s*\n+for\s*\n+```yaml\n([\s\S]*?)```/.exec(read('docs/policy.md'));
    expect(m).not.toBeNull();
    const [, shown, policy] = m!;
    writeFileSync(join(tmp, 'bad.yaml'), policy!);
    const result = await run(['policy', '--policy', 'bad.yaml'], tmp);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe(shown);
  });
});

/**
 * The complete examples of the theme pages: a policy, a pod, and the
 * environment of the pod's first git-sync container as the page shows it,
 * each in a yaml block after an `<!-- example: policy|pod|env -->` marker.
 * The policy must load without a problem, and the pod injected under it must
 * give git-sync exactly that environment.
 */
describe('theme page examples', () => {
  const block = (text: string, name: string): unknown => {
    const m = new RegExp(`<!-- example: ${name} -->\\s*\`\`\`yaml\\n([\\s\\S]*?)\`\`\``).exec(text);
    if (!m) throw new Error(`no ${name} example`);
    return parseYaml(m[1]!);
  };
  test.each(['docs/networks.md', 'docs/credentials.md', 'docs/github-app.md'])('%s', (file) => {
    const text = read(file);
    const validation = validatePolicyDocument(block(text, 'policy'));
    expect(validation.problems).toEqual([]);
    const pod = block(text, 'pod') as { metadata: { namespace: string } };
    const result = injectPod({ pod, namespace: pod.metadata.namespace }, { policy: validation.compiled!.engine, cluster: { nativeSidecars: true }, version: VERSION });
    expect([...result.errors, ...result.warnings]).toEqual([]);
    const spec = (result.pod as { spec: { initContainers: { image: string; env: unknown }[] } }).spec;
    expect(spec.initContainers.find((c) => c.image.includes('git-sync'))!.env).toEqual(block(text, 'env'));
  });
});
