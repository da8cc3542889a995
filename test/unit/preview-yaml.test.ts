/**
 * Writing YAML back: patches applied to the syntax tree keep comments, key
 * order and quoting; untouched documents are copied byte for byte; what is
 * written reads back (as YAML 1.1, like Kubernetes) as the patched objects.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments, parseDocument } from 'yaml';
import type { AdmissionDeps } from '../../src/admission/index.ts';
import {
  detectStyle,
  evaluateSource,
  flowText,
  parseSource,
  patchYamlDocument,
  renderJson,
  renderPatches,
  renderYaml,
  YamlPatchError,
  yamlText,
  KUBERNETES_YAML,
  type EvaluatedSource,
  type InputFormat,
} from '../../src/preview/index.ts';
import { applyPatchToCopy } from '../support/apply.ts';
import { kubectlAvailable, kubectlRead } from '../support/kubectl.ts';
import { engineContext } from '../support/server.ts';

const deps: AdmissionDeps = { ctx: engineContext(), namespaceAnnotations: () => undefined };
const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/manifests/${name}`, import.meta.url)), 'utf8');

function evaluate(text: string, name = 'x.yaml', format: InputFormat = 'yaml'): EvaluatedSource {
  const source = parseSource(name, text, format);
  return { source, documents: evaluateSource(source, deps, {}) };
}

/** Every document of a YAML stream as plain data, read as Kubernetes reads it. */
const readAll = (text: string): unknown[] => (parseAllDocuments(text, { version: '1.1' }) as ReturnType<typeof parseDocument>[]).map((d) => d.toJS());

describe('patchYamlDocument', () => {
  const doc = (text: string) => parseDocument(text, KUBERNETES_YAML);

  test('adds members at the end of mappings and items at the end of lists, creating nothing else', () => {
    const d = doc('# head\nmetadata:\n  name: p # the name\nspec:\n  containers:\n  - name: c\n');
    patchYamlDocument(d, [
      { op: 'add', path: '/metadata/annotations', value: { 'gitsync.dev/status': '{}' } },
      { op: 'add', path: '/spec/containers/-', value: { name: 'git-sync' } },
      { op: 'add', path: '/spec/containers/0/env', value: [{ name: 'A', value: 'on' }] },
    ]);
    expect(d.toString({ indentSeq: false })).toBe(
      '# head\nmetadata:\n  name: p # the name\n  annotations:\n    gitsync.dev/status: "{}"\nspec:\n  containers:\n  - name: c\n    env:\n    - name: A\n      value: "on"\n  - name: git-sync\n',
    );
  });

  test('an existing null member is replaced, as JSON Patch add does', () => {
    const d = doc('metadata:\n  annotations:\n');
    patchYamlDocument(d, [{ op: 'add', path: '/metadata/annotations', value: { a: 'b' } }]);
    expect(d.toJS()).toEqual({ metadata: { annotations: { a: 'b' } } });
  });

  test('keys are unescaped from JSON Pointer', () => {
    const d = doc('a: {}\n');
    patchYamlDocument(d, [{ op: 'add', path: '/a/gitsync.dev~1status', value: 'x' }, { op: 'add', path: '/a/til~0de', value: 'y' }]);
    expect(d.toJS()).toEqual({ a: { 'gitsync.dev/status': 'x', 'til~de': 'y' } });
  });

  test('a change under an alias changes a copy, never the anchored original', () => {
    const d = doc('base: &c\n  name: c\nspec:\n  containers:\n  - *c\n');
    patchYamlDocument(d, [{ op: 'add', path: '/spec/containers/0/env', value: [] }]);
    expect(d.toJS()).toEqual({ base: { name: 'c' }, spec: { containers: [{ name: 'c', env: [] }] } });
  });

  test('what the tree cannot take is refused, not guessed', () => {
    expect(() => patchYamlDocument(doc('a: 1\n'), [{ op: 'remove', path: '/a' }])).toThrow(YamlPatchError);
    expect(() => patchYamlDocument(doc('a: 1\n'), [{ op: 'add', path: '/b/c', value: 1 }])).toThrow(YamlPatchError);
    expect(() => patchYamlDocument(doc('a: [1]\n'), [{ op: 'add', path: '/a/5', value: 1 }])).toThrow(YamlPatchError);
  });

  test('strings YAML 1.1 would read as something else are quoted', () => {
    const words = ['on', 'off', 'yes', 'no', 'y', 'n', 'true', 'True', '1', '0755', '1e3', '~', 'null', '', '12:30'];
    const d = doc('env: []\n');
    patchYamlDocument(d, words.map((w) => ({ op: 'add', path: '/env/-', value: { name: 'X', value: w } })));
    const text = d.toString();
    // Read back by Kubernetes' rules and by plain YAML 1.1 (timestamps and all): the same strings either way.
    for (const options of [KUBERNETES_YAML, { version: '1.1' as const }]) {
      expect((parseDocument(text, options).toJS() as { env: { value: string }[] }).env.map((e) => e.value)).toEqual(words);
    }
  });
});

describe('quoting for every reader', () => {
  // Strings that some reader takes for something else, or that break a plain scalar in block or flow context.
  const WORDS = [
    ':1234', 'on', 'off', 'yes', 'No', 'y', 'n', 'true', 'null', '~', '', '12:30', '1:20:30', '2024-01-01', '2024-01-01T10:00:00Z',
    '0o17', '0x1F', '0755', '0b101', '.inf', '-.Inf', '.nan', '1e3', '1_000', '+1', '-1.5', '-', '- x', '? x', ': x', 'a, b', 'a: b',
    'a:', 'x #y', '#x', '@x', '`x', '*x', '&x', '!x', '%x', '|', '>', '"q"', "'q'", '[x]', '{x}', 'a]', 'a}', 'a,b', 'tab\there',
    'line\nbreak', ' lead', 'trail ', '=', '<<', 'x\u2028y', 'x\u0085y', 'https://github.com/acme/site.git', 'registry.k8s.io/git-sync:v4@sha256:ab',
  ];
  const data = Object.fromEntries(WORDS.map((w, i) => [`k${i}`, w]));
  const annotations = Object.fromEntries(WORDS.filter((w) => w !== '').map((w) => [w, w]));
  const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'words', annotations }, data };
  const texts = {
    block: yamlText(object),
    // Not at the top: kubectl reads a stream that starts with `{` as JSON.
    flow: `apiVersion: v1\nkind: ConfigMap\nmetadata: ${flowText(object.metadata, 'flow', 0, 2)}\ndata: ${flowText(data, 'flow', 0, 2)}\n`,
    json: `${flowText(object, 'json', 0, 2)}\n`,
  };
  const readers = { 'Kubernetes (YAML 1.1 without timestamps)': KUBERNETES_YAML, 'YAML 1.1': { version: '1.1' as const }, 'YAML 1.2': { version: '1.2' as const } };

  test.each(Object.keys(texts))('%s: every YAML reader reads every string as itself', (layout) => {
    const text = texts[layout as keyof typeof texts];
    for (const options of Object.values(readers)) {
      const doc = parseDocument(text, options);
      expect(doc.errors).toEqual([]);
      expect(doc.toJS()).toEqual(object);
    }
    if (layout === 'json') expect(JSON.parse(text)).toEqual(object);
  });

  test.skipIf(!kubectlAvailable()).each(Object.keys(texts))('%s: kubectl reads every string as itself', (layout) => {
    expect(kubectlRead(texts[layout as keyof typeof texts])).toEqual([object]);
  });

  test('long flow collections are laid out one member per line, short ones stay on one', () => {
    expect(flowText({ name: 'a', value: ':1234' }, 'flow', 0, 2)).toBe('{name: a, value: ":1234"}');
    const text = flowText({ env: Array.from({ length: 4 }, (_, i) => ({ name: `GITSYNC_VARIABLE_${i}`, value: 'https://github.com/acme/site.git' })) }, 'flow', 2, 2);
    expect(text.split('\n').every((line) => line.length <= 100)).toBe(true);
    expect(text).toBe(
      [
        '{',
        '    env: [',
        '      {name: GITSYNC_VARIABLE_0, value: "https://github.com/acme/site.git"},',
        '      {name: GITSYNC_VARIABLE_1, value: "https://github.com/acme/site.git"},',
        '      {name: GITSYNC_VARIABLE_2, value: "https://github.com/acme/site.git"},',
        '      {name: GITSYNC_VARIABLE_3, value: "https://github.com/acme/site.git"}',
        '    ]',
        '  }',
      ].join('\n'),
    );
  });
});

describe('detectStyle', () => {
  test.each([
    ['kubectl style', 'spec:\n  containers:\n  - name: c\n', { indent: 2, indentSeq: false }],
    ['indented lists', 'spec:\n  containers:\n    - name: c\n', { indent: 2, indentSeq: true }],
    ['four spaces', 'spec:\n    containers:\n    -   name: c\n', { indent: 4, indentSeq: false }],
    ['lists under list items', 'items:\n- env:\n    - name: A\n', { indentSeq: true }],
    ['nothing to go by', 'a: 1\n', { indent: 2, indentSeq: false }],
  ])('%s', (_name, text, expected) => {
    expect(detectStyle(text)).toMatchObject(expected);
  });

  test('flow collection padding follows the author', () => {
    expect(detectStyle('a: {b: 1}\nc: [d]\n').flowCollectionPadding).toBe(false);
    expect(detectStyle('a: { b: 1 }\n').flowCollectionPadding).toBe(true);
  });
});

describe('renderYaml', () => {
  test('untouched documents come out byte for byte, the injected one keeps its comments and key order', () => {
    const text = fixture('mixed.yaml');
    const evaluated = evaluate(text, 'mixed.yaml');
    const { text: out, notes } = renderYaml([evaluated]);
    expect(notes).toEqual([]);
    const inSpans = evaluated.documents.map((d) => text.slice(d.doc.span[0], d.doc.span[1]));
    const outDocs = out.split(/^(?=---$)/m);
    const inDocs = text.split(/^(?=---$)/m);
    expect(outDocs).toHaveLength(inDocs.length);
    // The header comment, the ConfigMap, the webserver, the Service and the Job are untouched.
    for (const i of [0, 1, 3, 4, 5]) expect(outDocs[i]).toBe(inDocs[i]);
    const scheduler = outDocs[2]!;
    expect(scheduler).toContain('  name: airflow-scheduler   # injected below\n');
    expect(scheduler).toContain('  selector: {matchLabels: {component: scheduler}}\n');
    expect(scheduler).toContain('        gitsync.dev/repo: "https://github.com/acme/airflow-dags.git"\n');
    expect(scheduler).toContain('          args: [scheduler]\n');
    // Lists stay indented as the author indents them.
    expect(scheduler).toContain('      containers:\n        - name: scheduler\n');
    expect(scheduler).toContain('      initContainers:\n        - name: git-sync-init\n');
    const keys = (s: string) => [...s.matchAll(/^(\s*)([\w.-]+):/gm)].filter((m) => m[1]!.length <= 2).map((m) => m[2]);
    expect(keys(scheduler)).toEqual(keys(inSpans[1]!));
    expect(readAll(out).filter((v) => v !== null)).toEqual(evaluated.documents.map((d) => d.output));
  });

  test('the output read back equals the patched objects, and rendering it again changes nothing', () => {
    for (const name of ['mixed.yaml', 'list.yaml', 'workloads/deployment.yaml', 'workloads/cronjob.yaml', 'wrong-level.yaml', 'denied.yaml']) {
      const first = evaluate(fixture(name), name);
      const out = renderYaml([first]).text;
      expect(readAll(out).filter((v) => v !== null)).toEqual(first.documents.map((d) => d.output).filter((v) => v !== null));
      const second = evaluate(out, name);
      expect(second.documents.every((d) => !d.changed)).toBe(true);
      expect(renderYaml([second]).text).toBe(out);
    }
  });

  test('a List is written back with its items patched in place', () => {
    const evaluated = evaluate(fixture('list.yaml'), 'list.yaml');
    const [doc] = evaluated.documents;
    expect(doc!.changed).toBe(true);
    const out = renderYaml([evaluated]).text;
    expect(out.startsWith("# What `kubectl get -o yaml` prints for several objects.\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n")).toBe(true);
    const [list] = readAll(out) as { items: unknown[] }[];
    expect(list!.items[1]).toEqual((doc!.doc.value as { items: unknown[] }).items[1]);
    expect(list!.items[2]).toEqual((doc!.doc.value as { items: unknown[] }).items[2]);
  });

  test('a document the tree cannot take is written from its data, with a note, and still right', () => {
    // The containers come in through a merge key, so there is no `containers` node to append to.
    const text = [
      '# merged',
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: p',
      '  annotations: {gitsync.dev/repo: "https://github.com/acme/site.git"}',
      'spec:',
      '  <<: {containers: [{name: web, image: nginx}]}',
      '',
    ].join('\n');
    const evaluated = evaluate(text, 'merged.yaml');
    const { text: out, notes } = renderYaml([evaluated]);
    expect(notes).toEqual([expect.stringMatching(/^merged\.yaml: document 1 was written from its data, without its comments \(/)]);
    expect(readAll(out)).toEqual([evaluated.documents[0]!.output]);
  });

  test('a change to an anchored node that an alias copies is not spliced, and written right, with a note', () => {
    const text = [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '- apiVersion: v1',
      '  kind: Pod',
      '  metadata: {name: a, annotations: {gitsync.dev/repo: "https://github.com/acme/site.git"}}',
      '  spec:',
      '    containers: &containers',
      '    - name: web',
      '      image: nginx',
      '- apiVersion: v1',
      '  kind: Pod',
      '  metadata: {name: b}',
      '  spec:',
      '    containers: *containers',
      '',
    ].join('\n');
    const evaluated = evaluate(text, 'anchored.yaml');
    const { text: out, notes } = renderYaml([evaluated]);
    // The tree would change the anchored original, and so the alias's copy: the data is written instead.
    expect(notes).toEqual([expect.stringMatching(/^anchored\.yaml: document 1 was written from its data, without its comments \(.*&containers is copied by an alias/)]);
    expect(readAll(out)).toEqual([evaluated.documents[0]!.output]);
  });

  test('sources are joined into one stream; a JSON source stays JSON, with the injected parts in JSON', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/site.git' } }, spec: { containers: [{ name: 'c', image: 'x' }] } };
    const podJson = JSON.stringify(pod, null, 2);
    const json = evaluate(podJson, 'pod.json', 'json');
    const plain = evaluate('kind: ConfigMap\nmetadata: {name: c}\ndata: {a: "on"}', 'cm.yaml');
    const marked = evaluate('---\nkind: Service\nmetadata: {name: s}\n', 'svc.yaml');
    const { text, notes } = renderYaml([plain, json, marked]);
    expect(notes).toEqual([]);
    expect(text.startsWith('kind: ConfigMap\nmetadata: {name: c}\ndata: {a: "on"}\n---\n{\n  "apiVersion": "v1",\n')).toBe(true);
    expect(text.endsWith('\n---\nkind: Service\nmetadata: {name: s}\n')).toBe(true);
    const injected = applyPatchToCopy(pod, json.documents[0]!.objects[0]!.patch);
    expect(readAll(text)).toEqual([{ kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'on' } }, injected, { kind: 'Service', metadata: { name: 's' } }]);
    const alone = renderYaml([json]).text;
    expect(JSON.parse(alone)).toEqual(injected);
    // kubectl reads a stream that starts with `{` as JSON, so a stream of several sources that starts with JSON starts with a marker.
    expect(renderYaml([json, plain]).text.startsWith('---\n{\n')).toBe(true);
  });
});

describe('renderJson and renderPatches', () => {
  test('one object is written as itself, several as a List', () => {
    const one = evaluate(fixture('workloads/pod.yaml'));
    expect(JSON.parse(renderJson([one]))).toEqual(one.documents[0]!.output);
    const many = evaluate(fixture('mixed.yaml'));
    expect(JSON.parse(renderJson([many]))).toEqual({ apiVersion: 'v1', kind: 'List', items: many.documents.map((d) => d.output) });
  });

  test('patches are listed for the objects that get one, against each object', () => {
    const list = evaluate(fixture('list.yaml'), 'list.yaml');
    const entries = JSON.parse(renderPatches([list])) as { source: string; document: number; item: number; kind: string; name: string; patch: never[] }[];
    expect(entries.map((e) => [e.source, e.document, e.item, e.kind, e.name])).toEqual([['list.yaml', 1, 0, 'Pod', 'notebook']]);
    const item = (list.documents[0]!.doc.value as { items: unknown[] }).items[0];
    expect(applyPatchToCopy(item, entries[0]!.patch)).toEqual(list.documents[0]!.objects[0]!.object);
  });
});
