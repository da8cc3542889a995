/**
 * `gitsync-injector inject` and `check` as processes, offline: inputs from
 * files, directories and stdin, the three output formats, comments kept,
 * idempotence, exit statuses, and (where kubectl exists) the GitOps pipeline
 * and every workload patch applied by `kubectl patch --local`.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli, type CliRun } from '../support/cli.ts';
import { parseAllDocuments, type Document } from 'yaml';
import { admit, type AdmissionDeps } from '../../src/admission/index.ts';
import { evaluateSource, parseSource } from '../../src/preview/index.ts';
import { applyPatchToCopy } from '../support/apply.ts';
import { kubectlAvailable, kubectlPatch } from '../support/kubectl.ts';
import { badPod, engineContext, reviewOf, samplePod } from '../support/server.ts';

const MANIFESTS = fileURLToPath(new URL('../fixtures/manifests/', import.meta.url));
const path = (name: string): string => join(MANIFESTS, name);
const fixture = (name: string): string => readFileSync(path(name), 'utf8');
const deps: AdmissionDeps = { ctx: engineContext(), namespaceAnnotations: () => undefined };


/** Runs the command; `input` goes to its standard input. */
const cli = (args: string[], input = ''): Promise<CliRun> => runCli(args, { stdin: input });

/** Every document of a YAML stream as data, read as YAML 1.1 like Kubernetes; empty documents dropped. */
function readAll(text: string): unknown[] {
  const docs = parseAllDocuments(text, { version: '1.1' }) as Document[];
  for (const d of docs) expect(d.errors).toEqual([]);
  return docs.map((d) => d.toJS()).filter((v) => v !== null);
}

/** What the library says the output documents are, for comparison with what the process wrote. */
function expectedOutputs(name: string, namespace?: string): unknown[] {
  const source = parseSource(name, fixture(name), 'yaml');
  return evaluateSource(source, deps, namespace === undefined ? {} : { namespace })
    .map((d) => d.output)
    .filter((v) => v !== null);
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'inject-cli-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('help', () => {
  test('the command list names inject and check', async () => {
    const run = await cli(['--help']);
    expect(run.stdout).toMatch(/^ {2}inject +inject git-sync into manifests/m);
    expect(run.stdout).toMatch(/^ {2}check +say for each pod and workload/m);
  });

  test.each(['inject', 'check'])('%s --help shows the flags, exit statuses and examples', async (command) => {
    const run = await cli([command, '--help']);
    expect(run.code).toBe(0);
    for (const text of ['-f, --filename', '--policy FILE', '--namespace NAME', '-o, --output', 'Exit status:', 'Examples:', 'kustomize build overlays/prod | gitsync-injector']) {
      expect(run.stdout).toContain(text);
    }
  });
});

describe('inject: YAML out', () => {
  test('a multi-document file: re-parsed output equals the patched objects; untouched documents byte for byte', async () => {
    const run = await cli(['inject', '-f', path('mixed.yaml')]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(readAll(run.stdout)).toEqual(expectedOutputs('mixed.yaml'));
    const inDocs = fixture('mixed.yaml').split(/^(?=---$)/m);
    const outDocs = run.stdout.split(/^(?=---$)/m);
    expect(outDocs.map((d, i) => d === inDocs[i])).toEqual([true, true, false, true, true, true]);
  });

  test('comments, key order and quoting of the rest are kept in injected documents', async () => {
    const run = await cli(['inject', '-f', path('workloads/deployment.yaml')]);
    expect(run.code).toBe(0);
    const input = fixture('workloads/deployment.yaml');
    // Everything up to the status annotation is the input, unchanged.
    const head = input.slice(0, input.indexOf('    spec:'));
    expect(run.stdout.startsWith(head)).toBe(true);
    expect(run.stdout).toContain('        args: ["scheduler"]\n');
    // Untouched lines are byte for byte the input's, down to the two spaces before this comment.
    expect(run.stdout).toContain('          value: "False"  # a string, as Airflow expects\n');
    // YAML 1.1 words that must stay strings are quoted, so Kubernetes reads them as strings.
    expect(run.stdout).toContain('          value: "off"\n');
    expect(run.stdout).toContain('          value: "true"\n');
  });

  test('a second inject over its own output changes nothing', async () => {
    for (const name of ['mixed.yaml', 'list.yaml', 'workloads/cronjob.yaml', 'wrong-level.yaml']) {
      const first = await cli(['inject', '-f', path(name)]);
      expect(first.code).toBe(0);
      const second = await cli(['inject', '-f', '-'], first.stdout);
      expect(second.code).toBe(0);
      expect(second.stdout).toBe(first.stdout);
      // Warnings (annotations on the wrong level) are still given: they are about the input, which still has them.
      expect(second.stderr).toBe(first.stderr.replaceAll(path(name), '<stdin>'));
    }
  });

  test('a List is written back whole, its items patched', async () => {
    const run = await cli(['inject', '-f', path('list.yaml')]);
    const [list] = readAll(run.stdout) as { kind: string; items: { metadata: { annotations?: Record<string, string> } }[] }[];
    expect(list!.kind).toBe('List');
    expect(list!.items).toHaveLength(3);
    expect(list!.items[0]!.metadata.annotations?.['gitsync.dev/status']).toBeDefined();
    expect(readAll(run.stdout)).toEqual(expectedOutputs('list.yaml'));
  });

  test('standard input by default, sniffed; JSON in, YAML out', async () => {
    const run = await cli(['inject'], JSON.stringify(samplePod()));
    expect(run.code).toBe(0);
    const [pod] = readAll(run.stdout) as { spec: { containers: { name: string }[] } }[];
    expect(pod!.spec.containers.map((c) => c.name)).toEqual(['web', 'git-sync']);
  });

  test('a directory is read recursively, sorted by path, skipping hidden files', async () => {
    const dir = join(tmp, 'tree');
    cpSync(path('workloads'), join(dir, 'b-workloads'), { recursive: true });
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, '.git', 'config.yaml'), 'kind: Secret\n');
    writeFileSync(join(dir, '.hidden.yaml'), 'kind: Secret\n');
    writeFileSync(join(dir, 'a-config.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'first' } }));
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    const run = await cli(['inject', '-f', dir]);
    expect(run.code).toBe(0);
    const kinds = (readAll(run.stdout) as { kind: string }[]).map((o) => o.kind);
    expect(kinds).toEqual(['ConfigMap', 'CronJob', 'DaemonSet', 'Deployment', 'Job', 'Pod', 'ReplicaSet', 'ReplicationController', 'StatefulSet']);
  });

  test('files and standard input together, in the order given', async () => {
    const run = await cli(['inject', '-f', path('workloads/pod.yaml'), '-f', '-', path('workloads/job.yaml')], 'kind: Service\nmetadata: {name: s}\n');
    expect((readAll(run.stdout) as { kind: string }[]).map((o) => o.kind)).toEqual(['Pod', 'Service', 'Job']);
  });

  test('--namespace places objects without one', async () => {
    const pod = JSON.stringify(samplePod());
    const excluded = await cli(['inject', '--namespace', 'kube-system', '-o', 'patch'], pod);
    expect(JSON.parse(excluded.stdout)).toEqual([]);
    const placed = await cli(['check', '--namespace', 'team-a'], pod);
    expect(placed.stdout).toMatch(/^<stdin>:1 \(document 1\) Pod team-a\/web-\*: injected/);
  });

  test('--policy is the policy in force', async () => {
    const policy = join(tmp, 'policy.yaml');
    writeFileSync(policy, 'image: registry.example.com/mirror/git-sync:v4.7.1\n');
    const run = await cli(['inject', '--policy', policy, '-f', path('workloads/pod.yaml')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('image: registry.example.com/mirror/git-sync:v4.7.1\n');
  });

  test('an AdmissionReview is answered with the webhook\'s response', async () => {
    const review = reviewOf(samplePod(), { uid: 'cli-1' });
    const run = await cli(['inject', '-o', 'json'], JSON.stringify(review));
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(admit(review, deps).review);
  });
});

describe('inject: JSON and patches', () => {
  test('-o json: one object as itself, several as a List', async () => {
    const one = await cli(['inject', '-o', 'json', '-f', path('workloads/pod.yaml')]);
    expect(JSON.parse(one.stdout)).toEqual(expectedOutputs('workloads/pod.yaml')[0]);
    const many = await cli(['inject', '-o', 'json', '-f', path('mixed.yaml')]);
    expect(JSON.parse(many.stdout)).toEqual({ apiVersion: 'v1', kind: 'List', items: expectedOutputs('mixed.yaml') });
  });

  test('-o patch: each patch applies to its own document', async () => {
    const run = await cli(['inject', '-o', 'patch', '-f', path('workloads')]);
    expect(run.code).toBe(0);
    const entries = JSON.parse(run.stdout) as { source: string; document: number; kind: string; patch: never[] }[];
    expect(entries.map((e) => e.kind)).toEqual(['CronJob', 'DaemonSet', 'Deployment', 'Job', 'Pod', 'ReplicaSet', 'ReplicationController', 'StatefulSet']);
    for (const entry of entries) {
      const [document] = readAll(readFileSync(entry.source, 'utf8'));
      expect(applyPatchToCopy(document, entry.patch)).toEqual(expectedOutputs(`workloads/${entry.source.split('/').at(-1)}`)[0]);
    }
  });

  test.skipIf(!kubectlAvailable())('-o patch: kubectl patch --local applies every workload patch to its document', async () => {
    const run = await cli(['inject', '-o', 'patch', '-f', path('workloads'), '-f', path('mixed.yaml'), '-f', path('list.yaml')]);
    const entries = JSON.parse(run.stdout) as { source: string; document: number; item?: number; patch: never[] }[];
    expect(entries.length).toBe(10);
    for (const entry of entries) {
      const document = readAll(readFileSync(entry.source, 'utf8'))[entry.document - 1] as { items?: unknown[] };
      const target = entry.item === undefined ? document : document.items![entry.item];
      expect(kubectlPatch(target, entry.patch)).toEqual(applyPatchToCopy(target, entry.patch));
    }
  });
});

describe('exit statuses', () => {
  test('0 when all is well, even with objects left alone', async () => {
    expect((await cli(['inject', '-f', path('mixed.yaml')])).code).toBe(0);
  });

  test('1 when an object would be denied: written unchanged, stderr names file, document and object', async () => {
    const run = await cli(['inject', '-f', path('mixed.yaml'), '-f', path('denied.yaml')]);
    expect(run.code).toBe(1);
    expect(readAll(run.stdout).at(-1)).toEqual(readAll(fixture('denied.yaml'))[0]);
    expect(run.stderr).toBe(
      `${path('denied.yaml')}:1 (document 1) Deployment airflow/airflow-triggerer would be denied, 2 errors:\n` +
        '  gitsync.dev/period: "5x" is not a duration; use a Go duration such as 30s, 5m or 1h30m [DURATION_INVALID]\n' +
        '  gitsync.dev/mode: "always" is not allowed; use one of auto, sidecar, native, init-only [VALUE_NOT_ALLOWED]\n',
    );
  });

  test('1 for a denied AdmissionReview too', async () => {
    expect((await cli(['inject'], JSON.stringify(reviewOf(badPod())))).code).toBe(1);
  });

  test('2 for YAML that cannot be parsed, with file:line:column, and nothing on stdout', async () => {
    const run = await cli(['inject', '-f', path('workloads/pod.yaml'), '-f', path('broken.yaml')]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^${path('broken.yaml').replaceAll('.', '\\.')}:7:1: invalid YAML: .+\\n$`));
  });

  test('2 for broken JSON on stdin, with line and column', async () => {
    const run = await cli(['check'], '{\n  "kind": "Pod",\n  "metadata": {]\n}');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^<stdin>:3:16: invalid JSON: /);
  });

  test.each([
    [['inject', '-f', '/nonexistent/deploy.yaml'], /^cannot read \/nonexistent\/deploy\.yaml: no such file or directory\n$/],
    [['inject', '-f', '-', '-f', '-'], /^standard input \(-\) is given more than once\n$/],
    [['inject', '--policy', fileURLToPath(new URL('../fixtures/policies/invalid.yaml', import.meta.url))], /^invalid policy in .*invalid\.yaml \(\d+ problems\):\n.*invalid\.yaml:2:18: /],
    [['inject', '-o', 'xml'], /--output: "xml" is not an output format; use yaml, json, patch/],
    [['check', '-o', 'yaml'], /--output: "yaml" is not an output format; use text, json/],
    [['inject', '--namespace', 'Team_A'], /--namespace: "Team_A" is not a namespace name/],
    [['inject', '--frobnicate'], /^gitsync-injector inject: unknown option --frobnicate\nRun 'gitsync-injector inject --help' for its options\.\n$/],
  ])('2 for %j', async (args, message) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
  });

  test('2 for a directory without manifests', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    const run = await cli(['check', '-f', empty]);
    expect(run).toMatchObject({ code: 2, stderr: `${empty}: the directory has no *.yaml, *.yml or *.json files\n` });
  });
});

describe('check', () => {
  test('one line per object, in input order, that says what happens and why', async () => {
    const run = await cli(['check', '-f', path('mixed.yaml')]);
    expect(run.code).toBe(0);
    const file = path('mixed.yaml');
    expect(run.stdout.split('\n')).toEqual([
      `${file}:3 (document 1) ConfigMap airflow/airflow-config: ignored: ConfigMap has no pod template; passed through untouched`,
      `${file}:13 (document 2) Deployment airflow/airflow-scheduler: injected, mode sidecar: init container git-sync-init, sidecar git-sync; repo https://github.com/acme/airflow-dags.git, ref main; scheduler reads /opt/airflow/dags/repo`,
      `${file}:33 (document 3) Deployment airflow/airflow-webserver: not injected (not-opted-in): the pod has neither the repo annotation nor inject: "true"`,
      `${file}:49 (document 4) Service airflow/airflow-webserver: ignored: Service has no pod template; passed through untouched`,
      `${file}:59 (document 5) Job airflow/airflow-migrate: not injected (opted-out): the pod says inject: "false"`,
      '',
    ]);
  });

  test('annotations on the wrong level: the line says where they belong', async () => {
    const run = await cli(['check', '-f', path('wrong-level.yaml')]);
    const [deployment, cronjob] = run.stdout.split('\n');
    expect(deployment).toContain(
      "Deployment web/docs: not injected (not-opted-in): the pod has neither the repo annotation nor inject: \"true\"; warning: metadata.annotations: gitsync.dev/repo, gitsync.dev/mount-path are on the Deployment's own metadata, which the injector never sees; they belong in spec.template.metadata.annotations, the pod template",
    );
    expect(cronjob).toContain('it belongs in spec.jobTemplate.spec.template.metadata.annotations, the pod template');
  });

  test('exit 1 with the errors on the line of a denied object', async () => {
    const run = await cli(['check', '-f', path('denied.yaml')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Deployment airflow/airflow-triggerer: denied, 2 errors: gitsync.dev/period: "5x" is not a duration');
  });

  test('-o json for machines: every object with its outcome, without the manifests', async () => {
    const run = await cli(['check', '-o', 'json', '-f', path('list.yaml'), '-f', path('denied.yaml')]);
    expect(run.code).toBe(1);
    const body = JSON.parse(run.stdout) as { summary: Record<string, number>; objects: Record<string, unknown>[] };
    expect(body.summary).toMatchObject({ objects: 4, injected: 1, skipped: 1, ignored: 1, denied: 1 });
    expect(body.objects.map((o) => [o.source, o.item, o.kind, o.outcome])).toEqual([
      [path('list.yaml'), 0, 'Pod', 'injected'],
      [path('list.yaml'), 1, 'ConfigMap', 'ignored'],
      [path('list.yaml'), 2, 'Deployment', 'skipped'],
      [path('denied.yaml'), undefined, 'Deployment', 'denied'],
    ]);
    expect(body.objects[0]).toMatchObject({ injection: { mode: 'sidecar', repo: 'https://github.com/acme/notebooks.git', path: '/home/jovyan/work/repo' } });
    for (const o of body.objects) expect(Object.keys(o)).not.toContain('object');
  });
});

describe.skipIf(!kubectlAvailable())('GitOps: a kustomize build piped through inject', () => {
  test('kubectl kustomize overlays/prod | gitsync-injector inject -f -', async () => {
    const rendered = execFileSync('kubectl', ['kustomize', path('kustomize/overlays/prod')], { encoding: 'utf8', timeout: 30_000 });
    const run = await cli(['inject', '-f', '-'], rendered);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const [service, deployment] = readAll(run.stdout) as { kind: string; metadata: { namespace: string }; spec: { template: { metadata: { annotations: Record<string, string> } } } }[];
    expect(service!.kind).toBe('Service');
    expect(deployment!.metadata.namespace).toBe('airflow');
    const status = JSON.parse(deployment!.spec.template.metadata.annotations['gitsync.dev/status']!) as { ref: string; path: string };
    expect(status).toMatchObject({ ref: 'release-2025.01', path: '/opt/airflow/dags/repo/dags' });
    // The untouched Service is exactly what kustomize printed.
    expect(run.stdout.startsWith(rendered.slice(0, rendered.indexOf('---')))).toBe(true);
  });
});
