/**
 * The command line for GitOps, through the real CLI as a subprocess:
 * annotate, uninject, previews against a cluster (--kubeconfig, --context,
 * KUBECONFIG), audit, and the input and output conventions (- for stdin,
 * -f URL, -n, version, completion, one-line usage errors). The cluster is
 * the fake API server (test/support/fake-apiserver.ts).
 *
 * docs/cli.md shows the output of the commands marked `show(...)` here:
 * each `<!-- cli:NAME -->` console block must be what the command printed
 * (the fake server's address and the temporary kubeconfig's path replaced
 * by stable ones). `UPDATE_DOCS=1 npx vitest run test/integration/gitops-cli.test.ts`
 * rewrites the blocks; review the diff.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ANNOTATION_KEYS, isRepositoryKey } from '../../src/engine/index.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { mustCompile } from '../../src/policy/compile.ts';
import { loadPolicyText } from '../../src/policy/index.ts';
import { injectWorkload } from '../../src/workloads/index.ts';
import { VERSION } from '../../src/version.ts';
import { applyPatchToCopy } from '../support/apply.ts';
import { runCli, type CliRun } from '../support/cli.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';

const root = join(import.meta.dirname, '..', '..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');
const cli = (args: string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<CliRun> => runCli(args, { cwd: root, ...options });

const POLICY = 'test/fixtures/policies/partial.yaml';
const DAGS = 'https://github.com/acme/dags.git';

let api: FakeApiServer;
let tmp: string;
let kubeconfig: string;
const partial = loadPolicyText(read(POLICY), POLICY).compiled!.engine;
const policyHash = partial.hash;
const builtinHash = mustCompile(BUILTIN_POLICY).engine.hash;

// ---- docs/cli.md: the blocks the tests fill in ----

const shown = new Map<string, string>();

/** Records what a command printed for the docs block `name`: the command line, then stdout and stderr in the order given. */
function show(name: string, command: string, run: CliRun, order: 'out-err' | 'err-out' = 'out-err', exit = false): void {
  const streams = order === 'out-err' ? [run.stdout, run.stderr] : [run.stderr, run.stdout];
  let text = `$ ${command}\n${streams.join('')}`;
  if (exit) text += `$ echo $?\n${run.code}\n`;
  text = text.replaceAll(api.url, 'https://203.0.113.10:6443').replaceAll(kubeconfig, '~/.kube/config').replaceAll(VERSION, 'VERSION');
  shown.set(name, text.replace(/\n+$/, ''));
}

beforeAll(async () => {
  api = await FakeApiServer.start();
  tmp = mkdtempSync(join(tmpdir(), 'gitops-cli-'));
  kubeconfig = join(tmp, 'kubeconfig.yaml');
  writeFileSync(kubeconfig, api.kubeconfigYaml());
});

afterAll(async () => {
  await api.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('annotate', () => {
  test('writes the annotations on the pod template, keeping every line of the input', async () => {
    const run = await cli(['annotate', '-f', 'test/fixtures/cli/web.yaml', '--repo', 'https://github.com/acme/handbook.git', '--mount-path', '/usr/share/nginx/html']);
    show('annotate', 'gitsync-injector annotate -f test/fixtures/cli/web.yaml --repo https://github.com/acme/handbook.git --mount-path /usr/share/nginx/html', run);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const input = read('test/fixtures/cli/web.yaml');
    // Only lines are added: removing the new ones gives the input back, byte for byte.
    const added = ['      annotations:', '        gitsync.dev/repo: https://github.com/acme/handbook.git', '        gitsync.dev/mount-path: /usr/share/nginx/html'];
    expect(run.stdout.split('\n').filter((l) => !added.includes(l)).join('\n')).toBe(input);
    const doc = parseYaml(run.stdout) as { metadata: { annotations?: unknown }; spec: { template: { metadata: { annotations: Record<string, string> } } } };
    expect(doc.metadata.annotations).toBeUndefined();
    expect(doc.spec.template.metadata.annotations).toEqual({ 'gitsync.dev/repo': 'https://github.com/acme/handbook.git', 'gitsync.dev/mount-path': '/usr/share/nginx/html' });
  });

  test("a CronJob is annotated on its job template's pod template; the result injects", async () => {
    const cronjob = 'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly, namespace: analytics}\nspec:\n  schedule: "0 3 * * *"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: run, image: "busybox:1.36"}]\n';
    const run = await cli(['annotate', '--repo', DAGS, '-o', 'json'], { stdin: cronjob });
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { metadata: Record<string, unknown>; spec: { jobTemplate: { metadata?: unknown; spec: { template: { metadata: unknown } } } } };
    expect(out.spec.jobTemplate.spec.template.metadata).toEqual({ annotations: { 'gitsync.dev/repo': DAGS } });
    expect(out.spec.jobTemplate.metadata).toBeUndefined();
    expect(out.metadata.annotations).toBeUndefined();
    const check = await cli(['check'], { stdin: JSON.stringify(out) });
    expect(check.stdout).toMatch(/CronJob analytics\/nightly: injected, mode init-only/);
  });

  test('-o patch gives the operations that make -o json from the input', async () => {
    const input = read('test/fixtures/cli/web.yaml');
    const patch = await cli(['annotate', '-f', '-', '--repo', DAGS, '-o', 'patch'], { stdin: input });
    const json = await cli(['annotate', '-f', '-', '--repo', DAGS, '-o', 'json'], { stdin: input });
    const [entry] = JSON.parse(patch.stdout) as { patch: never[] }[];
    expect(applyPatchToCopy(parseYaml(input), entry!.patch)).toEqual(JSON.parse(json.stdout));
  });

  test('the engine judges every object first: one the webhook would deny stops the command, nothing is written', async () => {
    const run = await cli(['annotate', '-f', 'test/fixtures/cli/web.yaml', '--repo', 'https://token:s3cret@github.com/acme/handbook.git', '--period', 'often']);
    show('annotate-denied', 'gitsync-injector annotate -f test/fixtures/cli/web.yaml --repo https://token:s3cret@github.com/acme/handbook.git --period often', run, 'out-err', true);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('[REPO_CREDENTIALS_IN_URL]');
    expect(run.stderr).toContain('gitsync.dev/period');
    expect(run.stderr).not.toContain('s3cret');
    expect(run.stderr).toMatch(/nothing was written\n$/);
  });

  test('a value already set is an error without --overwrite, and replaced in place with it', async () => {
    const file = 'test/fixtures/manifests/workloads/deployment.yaml';
    const refused = await cli(['annotate', '-f', file, '--ref', 'v2']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('gitsync.dev/ref is already "main", not "v2"; give --overwrite to replace it');
    const run = await cli(['annotate', '-f', file, '--ref', 'v2', '--overwrite']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(read(file).replace('gitsync.dev/ref: main', 'gitsync.dev/ref: v2'));
    const same = await cli(['annotate', '-f', file, '--ref', 'main']);
    expect(same.stdout).toBe(read(file));
  });

  test('one flag per annotation of the table; none clashes with the common flags', async () => {
    const help = await cli(['annotate', '--help']);
    for (const key of ANNOTATION_KEYS) expect(help.stdout).toContain(`--${key} VALUE`);
    const common = ['filename', 'output', 'policy', 'namespace', 'kubeconfig', 'context', 'policy-configmap', 'policy-configmap-key', 'overwrite', 'help'];
    expect(ANNOTATION_KEYS.filter((k) => common.includes(k))).toEqual([]);
    const none = await cli(['annotate', '-f', 'test/fixtures/cli/web.yaml']);
    expect(none).toMatchObject({ code: 2, stderr: "gitsync-injector annotate: no annotation given: give at least one, such as --repo URL\nRun 'gitsync-injector annotate --help' for its options.\n" });
  });
});

describe('annotate --repository: a named repository\'s keys', () => {
  const SCHEDULER = 'test/fixtures/manifests/workloads/deployment.yaml';
  const PLUGINS = 'https://github.com/acme/airflow-plugins.git';
  const templateAnnotations = (yaml: string): Record<string, string> =>
    (parseYaml(yaml) as { spec: { template: { metadata: { annotations: Record<string, string> } } } }).spec.template.metadata.annotations;

  test('qualifies every flag of the run: gitsync.dev/plugins.repo, …; the main repository is untouched and the result injects both', async () => {
    const args = ['annotate', '-f', SCHEDULER, '--repository', 'plugins', '--repo', PLUGINS, '--ref', 'v1.4.0', '--secret', 'airflow-git-credentials'];
    const run = await cli(args);
    show('annotate-repository', `gitsync-injector ${args.join(' ')}`, run);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const added = ['gitsync.dev/plugins.repo: https://github.com/acme/airflow-plugins.git', 'gitsync.dev/plugins.ref: v1.4.0', 'gitsync.dev/plugins.secret: airflow-git-credentials'].map((l) => `        ${l}`);
    expect(run.stdout.split('\n').filter((l) => !added.includes(l)).join('\n')).toBe(read(SCHEDULER));
    expect(templateAnnotations(run.stdout)).toMatchObject({ 'gitsync.dev/repo': 'https://github.com/acme/airflow-dags.git', 'gitsync.dev/ref': 'main', 'gitsync.dev/plugins.repo': PLUGINS });
    const check = await cli(['check'], { stdin: run.stdout });
    expect(check.stdout).toContain('repository plugins: repo https://github.com/acme/airflow-plugins.git, ref v1.4.0; scheduler reads /opt/airflow/plugins/repo');
  });

  test('one repository per run: runs piped together annotate the main repository and two named ones', async () => {
    const main = await cli(['annotate', '-f', 'test/fixtures/cli/web.yaml', '--repo', 'https://github.com/acme/handbook.git', '--mount-path', '/usr/share/nginx/html']);
    const theme = await cli(['annotate', '--repository', 'theme', '--repo', 'https://github.com/acme/theme.git', '--mount-path', '/usr/share/nginx/theme'], { stdin: main.stdout });
    const config = await cli(['annotate', '--repository', 'config', '--repo', 'https://github.com/acme/nginx-config.git', '--mount-path', '/etc/nginx/conf.d'], { stdin: theme.stdout });
    expect([main.code, theme.code, config.code], theme.stderr + config.stderr).toEqual([0, 0, 0]);
    expect(templateAnnotations(config.stdout)).toEqual({
      'gitsync.dev/repo': 'https://github.com/acme/handbook.git',
      'gitsync.dev/mount-path': '/usr/share/nginx/html',
      'gitsync.dev/theme.repo': 'https://github.com/acme/theme.git',
      'gitsync.dev/theme.mount-path': '/usr/share/nginx/theme',
      'gitsync.dev/config.repo': 'https://github.com/acme/nginx-config.git',
      'gitsync.dev/config.mount-path': '/etc/nginx/conf.d',
    });
    const check = await cli(['check'], { stdin: config.stdout });
    expect(check.stdout).toMatch(/injected, mode sidecar: init containers git-sync-init, git-sync-init-config, git-sync-init-theme, sidecars git-sync, git-sync-config, git-sync-theme;/);
  });

  test('a qualified value already set is an error without --overwrite, and replaced in place with it', async () => {
    const once = await cli(['annotate', '-f', SCHEDULER, '--repository', 'plugins', '--repo', PLUGINS, '--secret', 'airflow-git-credentials']);
    const refused = await cli(['annotate', '--repository', 'plugins', '--repo', 'https://github.com/acme/other.git'], { stdin: once.stdout });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`gitsync.dev/plugins.repo is already "${PLUGINS}", not "https://github.com/acme/other.git"; give --overwrite to replace it`);
    const replaced = await cli(['annotate', '--repository', 'plugins', '--repo', 'https://github.com/acme/other.git', '--overwrite'], { stdin: once.stdout });
    expect(replaced.code).toBe(0);
    expect(replaced.stdout).toBe(once.stdout.replace(`gitsync.dev/plugins.repo: ${PLUGINS}`, 'gitsync.dev/plugins.repo: https://github.com/acme/other.git'));
  });

  test('the engine judges the named repository: without a main one the webhook would deny the pod, nothing is written', async () => {
    const run = await cli(['annotate', '-f', 'test/fixtures/cli/web.yaml', '--repository', 'content', '--repo', 'https://github.com/acme/content.git']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('the pod names repository content, which comes in addition to the main one, and no main repository is set');
    expect(run.stderr).toMatch(/\[REPO_REQUIRED\]\nnothing was written\n$/);
  });

  test('usage errors: pod-wide flags with it, a name that is not one, two names in one run', async () => {
    const hint = "\nRun 'gitsync-injector annotate --help' for its options.\n";
    const podWide = await cli(['annotate', '-f', SCHEDULER, '--repository', 'plugins', '--repo', PLUGINS, '--mode', 'native']);
    show('annotate-repository-pod-wide', `gitsync-injector annotate -f ${SCHEDULER} --repository plugins --repo ${PLUGINS} --mode native`, podWide);
    expect(podWide).toMatchObject({ code: 2, stdout: '', stderr: `gitsync-injector annotate: --mode is one value for the whole pod, not for repository plugins; give it in a run without --repository${hint}` });
    const two = await cli(['annotate', '-f', SCHEDULER, '--repository', 'plugins', '--preset', 'airflow', '--inject', 'true']);
    expect(two.stderr).toContain('--inject and --preset are values for the whole pod, not for repository plugins; give them in a run without --repository');
    const bad = await cli(['annotate', '-f', SCHEDULER, '--repository', 'init-plugins', '--repo', PLUGINS]);
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toContain('--repository: "init-plugins" is not a repository name: init and names beginning with init- would read');
    const upper = await cli(['annotate', '-f', SCHEDULER, '--repository', 'Plugins', '--repo', PLUGINS]);
    expect(upper.stderr).toContain('--repository: "Plugins" is not a repository name; use at most 20 lower-case letters');
    const twice = await cli(['annotate', '-f', SCHEDULER, '--repository', 'plugins', '--repository', 'libs', '--repo', PLUGINS]);
    expect(twice).toMatchObject({ code: 2, stderr: `gitsync-injector annotate: --repository is given 2 times; name one repository per run and pipe one annotate into the next for more${hint}` });
    const nothing = await cli(['annotate', '-f', SCHEDULER, '--repository', 'plugins']);
    expect(nothing.stderr).toContain('no annotation given');
  });

  test('the help lists --repository and, from the table, the pod-wide flags it refuses', async () => {
    const help = await cli(['annotate', '--help']);
    expect(help.stdout).toContain('--repository NAME');
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(`${ANNOTATION_KEYS.filter((k) => !isRepositoryKey(k)).map((k) => `--${k}`).join(', ').replace(/, ([^,]*)$/, ' and $1')} are one value for the whole pod`);
  });
});

describe('uninject', () => {
  const corpus = (): string[] => {
    const found = spawnSync('find', ['test/fixtures/manifests', '-name', '*.yaml', '-o', '-name', '*.json'], { cwd: root, encoding: 'utf8' }).stdout.split('\n');
    return found.filter((f) => f !== '' && !f.includes('broken') && !f.endsWith('kustomization.yaml')).sort();
  };

  // The corpus goes through as users pipe a rendered repository, several files in one process:
  // a node process per file made this the suite's slowest test, and proved nothing more, since
  // each file comes back at its own place in the stream and is compared there, byte for byte.
  test('inject then uninject gives back every manifest of the corpus byte for byte', { timeout: 120_000 }, async () => {
    const files = corpus();
    const injected = await cli(['inject', ...files]);
    expect(injected.stdout.match(/gitsync\.dev\/status/g)?.length).toBeGreaterThan(15);
    const [back, original] = await Promise.all([cli(['uninject'], { stdin: injected.stdout }), cli(['uninject', ...files])]);
    expect(back).toMatchObject({ code: 0, stderr: '' });
    // The stream is the files in order, each byte for byte, with at most a `---` line between two.
    let at = 0;
    for (const [i, file] of files.entries()) {
      const text = read(file);
      if (i > 0 && back.stdout.startsWith('---\n', at) && !back.stdout.startsWith(text, at)) at += 4;
      expect(back.stdout.slice(at, at + text.length), file).toBe(text);
      at += text.length;
    }
    expect(back.stdout.length).toBe(at);
    // And uninject leaves a stream that was never injected as it is.
    expect(original.stdout).toBe(back.stdout);
  });

  test('a JSON manifest alone: piped from inject into uninject, JSON comes back byte for byte', async () => {
    const json = corpus().filter((f) => f.endsWith('.json'));
    expect(json.length).toBeGreaterThan(0);
    for (const file of json) {
      const injected = await cli(['inject', '-f', file]);
      expect(injected.stdout, file).toContain('gitsync.dev/status');
      const back = await cli(['uninject', '-f', '-'], { stdin: injected.stdout });
      expect(back, file).toEqual({ code: 0, stdout: read(file), stderr: '' });
    }
  });

  test('a file that begins with a byte-order mark keeps it: untouched it comes out byte for byte, and inject then uninject gives it back', async () => {
    const bom = `\uFEFF${read(corpus().find((f) => f.endsWith('.yaml'))!)}`;
    const plain = `\uFEFFapiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: "1"\n`;
    expect(await cli(['inject', '-f', '-'], { stdin: plain })).toEqual({ code: 0, stdout: plain, stderr: '' });
    const injected = await cli(['inject', '-f', '-'], { stdin: bom });
    expect(injected.stdout.startsWith('\uFEFF')).toBe(true);
    expect(injected.stdout).toContain('gitsync.dev/status');
    expect(await cli(['uninject', '-f', '-'], { stdin: injected.stdout })).toEqual({ code: 0, stdout: bom, stderr: '' });
  });

  test('and value for value as JSON', { timeout: 120_000 }, async () => {
    const files = corpus();
    const json = await cli(['inject', '-o', 'json', ...files]);
    const [backJson, originalJson] = await Promise.all([cli(['uninject', '-o', 'json'], { stdin: json.stdout }), cli(['uninject', '-o', 'json', ...files])]);
    expect(JSON.parse(backJson.stdout)).toEqual(JSON.parse(originalJson.stdout));
  });

  test('-o patch lists the remove operations, which kubectl patch --type=json applies', async () => {
    const injected = await cli(['inject', '-f', 'test/fixtures/manifests/workloads/pod.yaml', '-o', 'json']);
    const patch = await cli(['uninject', '-o', 'patch'], { stdin: injected.stdout });
    const [entry] = JSON.parse(patch.stdout) as { kind: string; patch: { op: string }[] }[];
    expect(entry!.kind).toBe('Pod');
    expect(new Set(entry!.patch.map((op) => op.op))).toEqual(new Set(['remove']));
    expect(applyPatchToCopy(JSON.parse(injected.stdout), entry!.patch as never)).toEqual(parseYaml(read('test/fixtures/manifests/workloads/pod.yaml')));
  });

  test('shown in the docs', async () => {
    const injected = await cli(['inject', '-f', 'test/fixtures/cli/web.yaml'], {});
    const annotated = await cli(['annotate', '-f', 'test/fixtures/cli/web.yaml', '--repo', 'https://github.com/acme/handbook.git']);
    const both = await cli(['inject'], { stdin: annotated.stdout });
    const back = await cli(['uninject'], { stdin: both.stdout });
    writeFileSync(join(tmp, 'injected.yaml'), both.stdout);
    show('uninject', 'gitsync-injector uninject -f injected.yaml | diff - annotated.yaml && echo same', { ...back, stdout: back.stdout === annotated.stdout ? 'same\n' : back.stdout });
    expect(injected.code).toBe(0);
    expect(back.stdout).toBe(annotated.stdout);
  });
});

describe('previews that match the cluster', () => {
  beforeAll(() => {
    api.configMap('gitsync-injector', 'gitsync-injector-policy', { 'policy.yaml': read(POLICY) });
    api.namespace('airflow', { 'gitsync.dev/repo': DAGS, 'gitsync.dev/ref': 'main', owner: 'data-team' });
    api.namespace('web');
    // The fake API server is v1.31.2; its nodes' kubelets decide, with it, whether mode auto may choose native sidecars.
    api.node('node-a', 'v1.31.2');
    api.node('node-b', 'v1.30.6');
  });

  test('KUBECONFIG: check reads the policy ConfigMap and the namespace defaults, and says so', async () => {
    const run = await cli(['check', '-f', 'test/fixtures/cli/scheduler.yaml'], { env: { KUBECONFIG: kubeconfig } });
    show('check-live', 'KUBECONFIG=~/.kube/config gitsync-injector check -f test/fixtures/cli/scheduler.yaml', run, 'err-out');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`policy: configmap gitsync-injector/gitsync-injector-policy key policy.yaml (hash ${policyHash})`);
    expect(run.stderr).toContain(`namespace airflow: defaults gitsync.dev/repo=${DAGS}, gitsync.dev/ref=main`);
    // The cluster's versions allow native sidecars, so auto chooses them, as the webhook would.
    expect(run.stderr).toContain('native sidecars: yes: the API server (v1.31.2) and every kubelet (2 nodes) are 1.29 or newer');
    expect(run.stdout).toContain(`injected, mode native: native sidecar git-sync; repo ${DAGS}, ref main`);
    // Offline, the same manifest has no repository: the namespace's default is unknown.
    const offline = await cli(['check', '-f', 'test/fixtures/cli/scheduler.yaml']);
    expect(offline.code).toBe(1);
    expect(offline.stderr).toBe('');
  });

  test('--kubeconfig and --context: inject records the live policy hash; check -o json names the sources', async () => {
    const two = join(tmp, 'two-contexts.yaml');
    // The current context points at a server that is not there: only --context fake reaches the cluster.
    const config = api
      .kubeconfigYaml()
      .replace('current-context: fake', 'current-context: elsewhere')
      .replace('clusters:\n', 'clusters:\n- name: nowhere\n  cluster:\n    server: http://127.0.0.1:1\n    insecure-skip-tls-verify: true\n')
      .replace('contexts:\n', 'contexts:\n- name: elsewhere\n  context:\n    cluster: nowhere\n    user: tester\n');
    writeFileSync(two, config);
    const unreachable = await cli(['inject', '--kubeconfig', two, '-f', 'test/fixtures/cli/scheduler.yaml']);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain('ECONNREFUSED');
    const run = await cli(['inject', '--kubeconfig', two, '--context', 'fake', '-f', 'test/fixtures/cli/scheduler.yaml']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`"policy":"${policyHash}"`);
    expect(run.stderr).toContain(`cluster: kubeconfig ${two}, context fake (${api.url})`);
    const json = await cli(['check', '-o', 'json', '--kubeconfig', kubeconfig, '-f', 'test/fixtures/cli/scheduler.yaml']);
    const body = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(body).toMatchObject({ policy: policyHash, policySource: 'configmap gitsync-injector/gitsync-injector-policy key policy.yaml', namespaces: { airflow: { 'gitsync.dev/repo': DAGS, 'gitsync.dev/ref': 'main' } } });
    const unknown = await cli(['check', '--kubeconfig', kubeconfig, '--context', 'staging', '-f', 'test/fixtures/cli/web.yaml']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--context: no context "staging"');
  });

  test('annotate with a cluster judges with the namespace defaults: inject: "true" is enough in airflow', async () => {
    const deployment = read('test/fixtures/cli/web.yaml').replace('namespace: web', 'namespace: airflow');
    const offline = await cli(['annotate', '-f', '-', '--inject', 'true'], { stdin: deployment });
    expect(offline.code).toBe(1);
    expect(offline.stderr).toContain('[REPO_REQUIRED]');
    const live = await cli(['annotate', '-f', '-', '--inject', 'true', '--kubeconfig', kubeconfig], { stdin: deployment });
    expect(live.code).toBe(0);
    expect(live.stderr).not.toContain('will not inject');
    expect(live.stderr).toContain('namespace airflow: defaults');
  });

  test('--policy wins over the ConfigMap; a missing ConfigMap means the built-in policy, as for the webhook', async () => {
    const own = await cli(['check', '--kubeconfig', kubeconfig, '--policy', '-', '-f', 'test/fixtures/cli/scheduler.yaml'], { stdin: '{}\n' });
    expect(own.stderr).toContain(`policy: stdin (hash ${builtinHash})`);
    const missing = await cli(['check', '--kubeconfig', kubeconfig, '--policy-configmap', 'platform/injector-policy', '-f', 'test/fixtures/cli/scheduler.yaml']);
    expect(missing.stderr).toContain(`policy: built-in (hash ${builtinHash})`);
    expect(missing.stderr).toContain('note: configmap platform/injector-policy does not exist');
  });

  test('cluster facts: the same versions the webhook reads decide mode auto, and check -o json carries them', async () => {
    const json = async () => JSON.parse((await cli(['check', '-o', 'json', '--kubeconfig', kubeconfig, '-f', 'test/fixtures/cli/scheduler.yaml'])).stdout) as {
      cluster: { facts: Record<string, unknown> };
      objects: { injection?: { mode: string } }[];
    };
    const now = await json();
    expect(now.cluster.facts).toEqual({ nativeSidecars: true, reason: 'the API server (v1.31.2) and every kubelet (2 nodes) are 1.29 or newer', apiServer: 'v1.31.2', nodes: 2 });
    // A node with an old kubelet joins: the webhook would stop choosing native sidecars, and so does the preview.
    api.node('node-old', 'v1.28.9');
    try {
      const old = await cli(['check', '--kubeconfig', kubeconfig, '-f', 'test/fixtures/cli/scheduler.yaml']);
      expect(old.stderr).toContain('native sidecars: no: node node-old runs kubelet v1.28.9; native sidecars need 1.29 or newer on every node');
      expect(old.stdout).toContain('injected, mode sidecar: init container git-sync-init, sidecar git-sync');
      expect((await json()).cluster.facts).toMatchObject({ nativeSidecars: false, nodes: 3 });
    } finally {
      api.remove('nodes', 'node-old');
    }
    // A user who may not list nodes: unknown, said with the reason, and auto falls back to classic sidecars as the webhook does until it knows.
    api.forbid('nodes');
    try {
      const run = await cli(['check', '--kubeconfig', kubeconfig, '-f', 'test/fixtures/cli/scheduler.yaml']);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/native sidecars: unknown, mode auto does not choose them: cannot tell \(GET \/api\/v1\/nodes\?limit=500: HTTP 403[^)]*\)/);
      expect(run.stdout).toContain('injected, mode sidecar:');
    } finally {
      api.allow('nodes');
    }
  });

  test('a ConfigMap the user may not read: exit 2, saying what to do', async () => {
    api.forbid('configmaps');
    try {
      const run = await cli(['inject', '--kubeconfig', kubeconfig, '-f', 'test/fixtures/cli/web.yaml']);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^cannot read the policy from configmap gitsync-injector\/gitsync-injector-policy \(GET .*HTTP 403.*\); give --policy FILE/);
    } finally {
      api.allow('configmaps');
    }
  });
});

describe('audit', () => {
  const builtin = { policy: mustCompile(BUILTIN_POLICY).engine, cluster: {}, version: VERSION };
  const pod = (name: string, namespace: string, annotations: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, annotations },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
  });

  beforeAll(() => {
    api.namespace('monitoring');
    api.namespace('airflow', { 'gitsync.dev/repo': DAGS, 'gitsync.dev/ref': 'main' });
    api.configMap('gitsync-injector', 'gitsync-injector-policy', { 'policy.yaml': read(POLICY) });
  });

  test('a clean cluster: nothing found, exit 0', async () => {
    const run = await cli(['audit', '--kubeconfig', kubeconfig]);
    expect(run).toMatchObject({ code: 0, stdout: 'nothing found in 0 pods and 0 workloads\n' });
  });

  test('each class of finding, as a table, JSON and YAML; exit 1', async () => {
    // Created while the webhook was down: asks, has nothing.
    api.apply('pods', pod('docs-7c9f', 'web', { 'gitsync.dev/repo': 'https://github.com/acme/handbook.git' }));
    // Asks, but its namespace is excluded by the policy in force.
    api.apply('pods', pod('exporter-0', 'monitoring', { 'gitsync.dev/repo': 'https://github.com/acme/rules.git' }));
    // Does not ask: never a finding.
    api.apply('pods', pod('plain', 'web', {}));
    // Injected under the built-in policy: the policy in force is partial.yaml's.
    const injected = injectWorkload({ object: pod('scheduler-5d8b', 'airflow', { 'gitsync.dev/inject': 'true' }), namespace: 'airflow', namespaceAnnotations: { 'gitsync.dev/repo': DAGS } }, builtin);
    api.apply('pods', (injected as { object: unknown }).object as never);
    // Injected under the policy in force, by an older injector.
    const current = { ...builtin, policy: partial, version: '0.0.9' };
    api.apply('pods', (injectWorkload({ object: pod('worker-0', 'airflow', { 'gitsync.dev/inject': 'true' }), namespace: 'airflow', namespaceAnnotations: { 'gitsync.dev/repo': DAGS } }, current) as unknown as { object: never }).object);
    // The most common mistake, and the ReplicaSet its Deployment made (not reported twice).
    const wrong = parseYaml(read('test/fixtures/manifests/wrong-level.yaml').split('\n---')[0]!) as never;
    api.apply('deployments', wrong);
    api.apply('replicasets', { ...(wrong as object), metadata: { ...(wrong as { metadata: object }).metadata, name: 'docs-6b7f', ownerReferences: [{ kind: 'Deployment', name: 'docs', controller: true }] } } as never);

    const run = await cli(['audit', '--kubeconfig', kubeconfig]);
    show('audit', 'gitsync-injector audit', run, 'err-out', true);
    expect(run.code).toBe(1);
    const rows = run.stdout.split('\n').slice(1, -3).map((l) => l.split(/\s{2,}/).slice(0, 4));
    expect(rows).toEqual([
      ['not-injected', 'Pod', 'monitoring/exporter-0', 'excluded-namespace'],
      ['not-injected', 'Pod', 'web/docs-7c9f', 'would-inject'],
      ['drift', 'Pod', 'airflow/scheduler-5d8b', 'policy'],
      ['drift', 'Pod', 'airflow/worker-0', 'version'],
      ['wrong-level', 'Deployment', 'web/docs', 'ANNOTATIONS_ON_WORKLOAD'],
    ]);
    expect(run.stdout).toMatch(/\n5 found in 5 pods and 2 workloads: 2 not-injected, 2 drift, 1 wrong-level\n$/);

    const json = await cli(['audit', '--kubeconfig', kubeconfig, '-o', 'json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { summary: unknown; policy: unknown; findings: { detail: string }[] };
    expect(report.summary).toEqual({ 'not-injected': 2, drift: 2, 'wrong-level': 1 });
    expect(report.policy).toEqual({ source: 'configmap gitsync-injector/gitsync-injector-policy key policy.yaml', hash: policyHash });
    expect(report.findings[2]!.detail).toContain(`injected under policy ${builtinHash}; the policy in force is ${policyHash}`);
    const yaml = await cli(['audit', '--kubeconfig', kubeconfig, '-o', 'yaml']);
    expect(parseYaml(yaml.stdout)).toEqual(report);

    const one = await cli(['audit', '--kubeconfig', kubeconfig, '-n', 'web', '-o', 'json']);
    expect((JSON.parse(one.stdout) as { summary: unknown }).summary).toEqual({ 'not-injected': 1, drift: 0, 'wrong-level': 1 });
    const matching = await cli(['audit', '--kubeconfig', kubeconfig, '-n', 'airflow', '--injector-version', '0.0.9', '-o', 'json']);
    expect((JSON.parse(matching.stdout) as { summary: unknown }).summary).toEqual({ 'not-injected': 0, drift: 2, 'wrong-level': 0 });
  });

  test('without a cluster: exit 2 and why', async () => {
    const run = await cli(['audit'], { env: { HOME: tmp } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no cluster is configured');
  });
});

describe('input and output conventions', () => {
  test('--policy - reads the policy from standard input', async () => {
    const run = await cli(['check', '--policy', '-', '-f', 'test/fixtures/cli/web.yaml', '-o', 'json'], { stdin: read(POLICY) });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ policy: policyHash, policySource: 'stdin' });
    const both = await cli(['inject', '--policy', '-']);
    expect(both).toMatchObject({ code: 2, stderr: "gitsync-injector inject: --policy - and the manifests both read standard input; give the manifests with -f FILE\nRun 'gitsync-injector inject --help' for its options.\n" });
  });

  test('-f takes http(s) URLs', async () => {
    const server: Server = createServer((req, res) => {
      if (req.url === '/app.yaml') res.writeHead(200, { 'content-type': 'application/yaml' }).end(read('test/fixtures/manifests/workloads/pod.yaml'));
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const run = await cli(['check', '-f', `${base}/app.yaml`]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^${base}/app\\.yaml:2 \\(document 1\\) Pod web/docs: injected`));
      const missing = await cli(['inject', '-f', `${base}/gone.yaml`]);
      expect(missing).toMatchObject({ code: 2, stderr: `cannot read ${base}/gone.yaml: HTTP 404 Not Found\n` });
    } finally {
      server.close();
    }
  });

  test('-n is --namespace', async () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {gitsync.dev/repo: "https://github.com/acme/x.git"}}\nspec: {containers: [{name: a, image: nginx}]}\n';
    const run = await cli(['check', '-n', 'team-a'], { stdin: pod });
    expect(run.stdout).toContain('Pod team-a/p: injected');
  });

  test('version, and --version', async () => {
    const [a, b, json] = await Promise.all([cli(['version']), cli(['--version']), cli(['version', '-o', 'json'])]);
    expect(a).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    expect(b.stdout).toBe(a.stdout);
    expect(JSON.parse(json.stdout)).toEqual({ version: VERSION, node: expect.any(String) });
  });

  test('completion bash completes commands and each command flags, in a real bash', async () => {
    const script = await cli(['completion', 'bash']);
    expect(script.code).toBe(0);
    const file = join(tmp, 'completion.bash');
    writeFileSync(file, script.stdout);
    const complete = (...words: string[]): string[] => {
      const line = `source ${file}; COMP_WORDS=(gitsync-injector ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}; _gitsync_injector; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return spawnSync('bash', ['-c', line], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    };
    expect(complete('un')).toEqual(['uninject']);
    expect(complete('audit', '--inj')).toEqual(['--injector-version']);
    expect(complete('annotate', '--secret')).toEqual(['--secret', '--secret-layout']);
    const [zsh, fish, bad] = await Promise.all([cli(['completion', 'zsh']), cli(['completion', 'fish']), cli(['completion', 'tcsh'])]);
    expect(zsh.stdout).toMatch(/^#compdef gitsync-injector\n/);
    expect(zsh.stdout).toContain('complete -o filenames -F _gitsync_injector gitsync-injector');
    expect(fish.stdout).toContain("complete -c gitsync-injector -n '__fish_seen_subcommand_from annotate' -l repo");
    expect(bad.stderr).toBe(`gitsync-injector completion: "tcsh" is not a shell this command knows; use bash, zsh, fish\nRun 'gitsync-injector completion --help' for its options.\n`);
  });

  test('usage errors are one line and a hint, never the whole help', async () => {
    const run = await cli(['check', '--output', 'xml']);
    show('usage-error', 'gitsync-injector check -o xml', run);
    expect(run).toEqual({ code: 2, stdout: '', stderr: "gitsync-injector check: --output: \"xml\" is not an output format; use text, json\nRun 'gitsync-injector check --help' for its options.\n" });
  });
});

describe('docs/cli.md', () => {
  test('every command is documented, with the output the tests above printed', async () => {
    const page = read('docs/cli.md');
    const help = await cli(['--help']);
    const headings = page.split('\n').filter((l) => l.startsWith('## ')).join('\n');
    for (const command of help.stdout.matchAll(/^ {2}([a-z]+) {2,}/gm)) expect(headings).toContain(`\`${command[1]}\``);
    const blocks = /<!-- cli:([a-z-]+) -->\n```console\n([\s\S]*?)```/g;
    const names = [...page.matchAll(blocks)].map((m) => m[1]);
    expect(names.sort()).toEqual([...shown.keys()].sort());
    if (process.env.UPDATE_DOCS === '1') {
      writeFileSync(join(root, 'docs/cli.md'), page.replace(blocks, (_, name: string) => `<!-- cli:${name} -->\n\`\`\`console\n${shown.get(name)}\n\`\`\``));
      return;
    }
    for (const m of page.matchAll(blocks)) expect(m[2], m[1]).toBe(`${shown.get(m[1]!)}\n`);
  });
});
