/**
 * POST /preview over real HTTPS: every input shape, format negotiation,
 * errors that say where the input is broken, and the promise the endpoint
 * exists for: its answer is the webhook's (and the `inject` command's).
 */
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli, type CliRun } from '../support/cli.ts';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { mustCompile } from '../../src/policy/compile.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { BODY_LIMIT } from '../../src/server/index.ts';
import { MAX_PREVIEW_OBJECTS } from '../../src/server/preview.ts';
import { applyPatchToCopy } from '../support/apply.ts';
import { badPod, engineContext, postReview, reviewOf, samplePod, send, startServers, type Response, type TestServers } from '../support/server.ts';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/manifests/${name}`, import.meta.url)), 'utf8');

let servers: TestServers;
beforeAll(async () => {
  servers = await startServers({
    namespaceAnnotations: (ns) => (ns === 'team-docs' ? { 'gitsync.dev/repo': 'https://github.com/acme/handbook.git', 'gitsync.dev/ref': 'main' } : undefined),
  });
});
afterAll(async () => {
  await servers.close();
});

function preview(body: string | Buffer, headers: Record<string, string> = {}, query = ''): Promise<Response> {
  return send({ port: servers.previewPort, ca: servers.ca, path: `/preview${query}`, method: 'POST', headers, body });
}

interface Entry {
  document: number;
  item?: number;
  line?: number;
  kind: string;
  name: string;
  namespace: string;
  outcome: string;
  injected: boolean;
  skip?: { reason: string; message: string };
  note?: string;
  podTemplate?: string;
  patch: { op: string; path: string; value?: unknown }[];
  object: unknown;
  warnings: { code: string; field: string; message: string }[];
  errors: { code: string; field: string; message: string }[];
  review?: { response: { uid: string; allowed: boolean; patch?: string } };
}
interface Body {
  version: string;
  policy: string;
  summary: Record<string, number>;
  objects: Entry[];
}

/** Nine levels of nine aliases each: 9^9 strings if expanded. */
function billionLaughs(): string {
  const lines = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < 9; i++) {
    const [previous, name] = [String.fromCharCode(96 + i), String.fromCharCode(97 + i)];
    lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
  }
  return lines.join('\n');
}

/** Runs the CLI with `input` on its standard input. */
const cli = (args: string[], input: string): Promise<CliRun> => runCli(args, { stdin: input });

describe('POST /preview answers per object, in input order', () => {
  test('a pod as JSON: the patch, the mutated pod and the summary', async () => {
    const pod = samplePod();
    const res = await preview(JSON.stringify(pod), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json<Body>();
    expect(body.version).toBe(engineContext().version);
    expect(body.policy).toBe(engineContext().policy.hash);
    expect(body.summary).toMatchObject({ objects: 1, injected: 1 });
    const [entry] = body.objects;
    expect(entry).toMatchObject({ document: 1, kind: 'Pod', name: 'web-*', namespace: 'default', outcome: 'injected', injected: true, podTemplate: '' });
    expect(entry!.object).toEqual(applyPatchToCopy(pod, entry!.patch as never));
  });

  test('several YAML documents mixing injected, skipped and other kinds', async () => {
    const res = await preview(fixture('mixed.yaml'), { 'content-type': 'application/yaml' });
    expect(res.status).toBe(200);
    const body = res.json<Body>();
    expect(body.objects.map((o) => [o.document, o.kind, o.name, o.outcome, o.skip?.reason])).toEqual([
      [1, 'ConfigMap', 'airflow-config', 'ignored', undefined],
      [2, 'Deployment', 'airflow-scheduler', 'injected', undefined],
      [3, 'Deployment', 'airflow-webserver', 'skipped', 'not-opted-in'],
      [4, 'Service', 'airflow-webserver', 'ignored', undefined],
      [5, 'Job', 'airflow-migrate', 'skipped', 'opted-out'],
    ]);
    expect(body.summary).toMatchObject({ objects: 5, injected: 1, skipped: 2, ignored: 2, denied: 0 });
    expect(body.objects[0]!.note).toBe('ConfigMap has no pod template; passed through untouched');
    const scheduler = body.objects[1]!;
    expect(scheduler.line).toBe(13);
    expect(scheduler.podTemplate).toBe('/spec/template');
    expect(scheduler.patch.every((op) => op.path.startsWith('/spec/template/'))).toBe(true);
  });

  test('a List is answered item by item', async () => {
    const res = await preview(fixture('list.yaml'), { 'content-type': 'application/yaml' });
    const body = res.json<Body>();
    expect(body.objects.map((o) => [o.item, o.kind, o.outcome])).toEqual([
      [0, 'Pod', 'injected'],
      [1, 'ConfigMap', 'ignored'],
      [2, 'Deployment', 'skipped'],
    ]);
    expect(body.objects.map((o) => o.line)).toEqual([5, 17, 24]);
  });

  test('annotations on the workload instead of its template are pointed out', async () => {
    const res = await preview(fixture('wrong-level.yaml'), { 'content-type': 'application/yaml' });
    const [deployment, cronjob] = res.json<Body>().objects;
    expect(deployment!.warnings).toEqual([
      expect.objectContaining({ code: 'ANNOTATIONS_ON_WORKLOAD', field: 'metadata.annotations', message: expect.stringContaining('spec.template.metadata.annotations') }),
    ]);
    expect(cronjob!.warnings[0]).toMatchObject({ code: 'ANNOTATIONS_ON_WORKLOAD', field: 'spec.jobTemplate.metadata.annotations' });
  });

  test('denied objects carry every error with its code', async () => {
    const res = await preview(fixture('denied.yaml'), { 'content-type': 'application/yaml' });
    const [entry] = res.json<Body>().objects;
    expect(entry!.outcome).toBe('denied');
    expect(entry!.errors.map((e) => e.code)).toEqual(['DURATION_INVALID', 'VALUE_NOT_ALLOWED']);
    expect(entry!.patch).toEqual([]);
  });
});

describe('content types', () => {
  test.each([
    ['text/plain', fixture('mixed.yaml')],
    ['application/octet-stream', JSON.stringify(samplePod())],
    ['application/x-www-form-urlencoded', fixture('list.yaml')],
    ['text/plain; charset=utf-8', JSON.stringify(samplePod())],
  ])('%s is sniffed', async (type, body) => {
    const res = await preview(body, { 'content-type': type });
    expect(res.status).toBe(200);
    expect(res.json<Body>().summary.injected).toBe(1);
  });

  test('YAML flow style that starts like JSON is still read', async () => {
    const res = await preview('{kind: Pod, metadata: {name: p, annotations: {gitsync.dev/repo: "https://github.com/acme/site.git"}}, spec: {containers: [{name: c, image: nginx}]}}', {
      'content-type': 'text/plain',
    });
    expect(res.status).toBe(200);
    expect(res.json<Body>().objects[0]!.outcome).toBe('injected');
  });

  test('Accept: application/yaml gets the same answer as YAML', async () => {
    const body = fixture('mixed.yaml');
    const asJsonRes = await preview(body, { 'content-type': 'application/yaml' });
    const asYamlRes = await preview(body, { 'content-type': 'application/yaml', accept: 'application/yaml' });
    expect(asYamlRes.status).toBe(200);
    expect(asYamlRes.headers['content-type']).toMatch(/^application\/yaml/);
    expect(parseYaml(asYamlRes.text, { version: '1.1' })).toEqual(asJsonRes.json());
  });

  test.each([
    ['application/json, application/yaml;q=0.5', false],
    ['application/yaml;q=0.5, application/json', false],
    ['text/yaml', true],
    ['*/*', false],
    ['application/json;q=0, application/yaml;q=0.1', true],
  ])('Accept %s → YAML %s', async (accept, yaml) => {
    const res = await preview(JSON.stringify(samplePod()), { 'content-type': 'application/json', accept });
    expect(res.headers['content-type']).toMatch(yaml ? /^application\/yaml/ : /^application\/json/);
  });

  test('another content type is refused with 415, naming what is accepted', async () => {
    const res = await preview('<pod/>', { 'content-type': 'application/xml' });
    expect(res.status).toBe(415);
    expect(res.json()).toEqual({ error: { code: 415, reason: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining('application/yaml') } });
  });

  test('/mutate stays JSON-only: the preview scope does not widen it', async () => {
    const res = await send({ port: servers.port, ca: servers.ca, path: '/mutate', method: 'POST', headers: { 'content-type': 'application/yaml' }, body: 'a: 1' });
    expect(res.status).toBe(415);
  });
});

describe('input that cannot be read gets a 4xx that says where, never a 500', () => {
  test('broken YAML: 400 with the parser\'s line and column', async () => {
    const res = await preview(fixture('broken.yaml'), { 'content-type': 'application/yaml' });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({
      error: { code: 400, reason: 'INVALID_YAML', message: expect.stringMatching(/^line 7, column 1: invalid YAML: /), line: 7, column: 1 },
    });
  });

  test('broken JSON: 400 with line and column', async () => {
    const res = await preview('{\n  "kind": "Pod",\n  "spec": {,}\n}', { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ error: { reason: 'INVALID_JSON', line: 3, column: 12 } });
  });

  test('an empty body', async () => {
    for (const body of ['', '  \n']) {
      const res = await preview(body, { 'content-type': 'application/yaml' });
      expect(res.status).toBe(400);
      expect(res.json()).toMatchObject({ error: { reason: 'EMPTY_BODY' } });
    }
  });

  test('a body over the webhook\'s limit gets 413', async () => {
    const res = await preview(Buffer.alloc(BODY_LIMIT + 1, 'a'), { 'content-type': 'application/yaml' });
    expect(res.status).toBe(413);
    expect(res.json()).toMatchObject({ error: { reason: 'BODY_TOO_LARGE' } });
  });

  test.each([
    ['a deeply nested JSON document', `${'['.repeat(5000)}${']'.repeat(5000)}`, 'TOO_DEEP'],
    ['a deeply nested YAML document', `a: ${'['.repeat(5000)}${']'.repeat(5000)}`, 'TOO_DEEP'],
    ['a billion laughs', billionLaughs(), 'INVALID_YAML'],
    ['a duplicate key', 'kind: Pod\nkind: Service\n', 'INVALID_YAML'],
    ['a tab-indented document', 'kind: Pod\nmetadata:\n\tname: x\n', 'INVALID_YAML'],
  ])('%s: 400 %s with a position', async (_name, body, reason) => {
    const res = await preview(body, { 'content-type': 'text/plain' });
    expect(res.status).toBe(400);
    expect(res.json().error).toMatchObject({ code: 400, reason, line: expect.any(Number), column: expect.any(Number) });
  });

  test.each([
    ['binary bytes', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x9b, 0x1b, 0x5b]), 'not a Kubernetes object but a string'],
    ['a file name sent instead of the file (curl -d pod.yaml)', 'pod.yaml', 'not a Kubernetes object but a string'],
    ['an array of numbers', '[1, 2, 3]', 'not a Kubernetes object but a list'],
  ])('%s: not an object, said so', async (_name, body, note) => {
    const res = await preview(body, { 'content-type': 'text/plain' });
    expect(res.status).toBe(200);
    expect(res.json<Body>().objects).toEqual([expect.objectContaining({ outcome: 'ignored', note: `${note}; passed through untouched` })]);
  });

  test('a document that is only null or comments has no objects', async () => {
    for (const body of ['null', '# nothing here\n---\n']) {
      const res = await preview(body, { 'content-type': 'text/plain' });
      expect(res.status).toBe(200);
      expect(res.json<Body>().summary.objects).toBe(0);
    }
  });

  test('a body without a content type is sniffed', async () => {
    const res = await preview(JSON.stringify(samplePod()));
    expect(res.status).toBe(200);
    expect(res.json<Body>().summary.injected).toBe(1);
  });

  test('more objects than one preview answers: 413, pointing to the offline commands', async () => {
    const body = Array.from({ length: MAX_PREVIEW_OBJECTS + 1 }, (_, i) => `kind: ConfigMap\nmetadata: {name: c${i}}\n`).join('---\n');
    const res = await preview(body, { 'content-type': 'application/yaml' });
    expect(res.status).toBe(413);
    expect(res.json()).toEqual({
      error: { code: 413, reason: 'TOO_MANY_OBJECTS', message: `the input has ${MAX_PREVIEW_OBJECTS + 1} objects; a preview answers at most ${MAX_PREVIEW_OBJECTS}; split the input, or run gitsync-injector check or inject offline, which have no limit` },
    });
  });

  test('many previews at once: each is answered, or turned away with 429 and Retry-After, never a 5xx', async () => {
    const responses = await Promise.all(Array.from({ length: 24 }, () => preview(fixture('mixed.yaml'), { 'content-type': 'application/yaml', accept: 'application/yaml' })));
    for (const res of responses) {
      expect([200, 429]).toContain(res.status);
      if (res.status === 429) expect(res.headers['retry-after']).toBe('1');
    }
    expect(responses.some((res) => res.status === 200)).toBe(true);
  });

  test('admissions are answered while a large body is being read', async () => {
    // 0.4 MB: a second or more of parsing, within the worker's memory.
    const big = `kind: ConfigMap\ndata:\n${Array.from({ length: 12_000 }, (_, i) => `  k${i}: "value number ${i}"`).join('\n')}\n`;
    let previewDone = false;
    const pending = preview(big, { 'content-type': 'application/yaml' }).then((res) => {
      previewDone = true;
      return res;
    });
    // Admissions sent one after another while the preview is under way: the webhook's event loop is free.
    let answeredMeanwhile = 0;
    for (let i = 0; i < 200 && !previewDone; i++) {
      const res = await postReview(servers, reviewOf(samplePod()));
      expect(res.status).toBe(200);
      if (!previewDone) answeredMeanwhile++;
    }
    expect((await pending).status).toBe(200);
    expect(answeredMeanwhile).toBeGreaterThanOrEqual(20);
  });

  test('a bad namespace parameter is named', async () => {
    const res = await preview(JSON.stringify(samplePod()), { 'content-type': 'application/json' }, '?namespace=Not_A_Namespace');
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ error: { reason: 'INVALID_NAMESPACE', message: expect.stringContaining('"Not_A_Namespace"') } });
  });
});

describe('the answer is the webhook\'s', () => {
  test('the same pod gives byte-identical patches through /mutate, /preview and inject', async () => {
    const pod = samplePod({ 'gitsync.dev/ref': 'v1.2.3', 'gitsync.dev/sub-path': 'site' });
    const mutate = await postReview(servers, reviewOf(pod));
    const fromMutate = Buffer.from(mutate.json().response.patch, 'base64').toString('utf8');

    const previewed = await preview(JSON.stringify(pod), { 'content-type': 'application/json' }, '?namespace=team-a');
    const fromPreview = JSON.stringify(previewed.json<Body>().objects[0]!.patch);

    const run = await cli(['inject', '-o', 'patch', '--namespace', 'team-a'], JSON.stringify(pod));
    expect(run.code).toBe(0);
    const fromInject = JSON.stringify((JSON.parse(run.stdout) as { patch: unknown }[])[0]!.patch);

    expect(fromMutate.length).toBeGreaterThan(100);
    expect(fromPreview).toBe(fromMutate);
    expect(fromInject).toBe(fromMutate);
  });

  test('an AdmissionReview is answered through the webhook adapter, with the webhook\'s response', async () => {
    const review = reviewOf(badPod(), { uid: 'preview-review-1' });
    const mutate = await postReview(servers, review);
    const res = await preview(JSON.stringify(review), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    const [entry] = res.json<Body>().objects;
    expect(entry!.review).toEqual(mutate.json());
    expect(entry).toMatchObject({ kind: 'Pod', namespace: 'team-a', outcome: 'denied', injected: false });
    expect(entry!.errors.map((e) => e.code)).toEqual(['DURATION_INVALID', 'VALUE_NOT_ALLOWED']);
  });

  test('an AdmissionReview in YAML, injected: the patch is the review\'s', async () => {
    const review = reviewOf(samplePod(), { uid: 'preview-review-2' });
    const res = await preview(stringifyYaml(review), { 'content-type': 'application/yaml' });
    const [entry] = res.json<Body>().objects;
    expect(entry!.outcome).toBe('injected');
    expect(Buffer.from(entry!.review!.response.patch!, 'base64').toString('utf8')).toBe(JSON.stringify(entry!.patch));
  });

  test('an update request is allowed untouched, as the webhook does', async () => {
    const res = await preview(JSON.stringify(reviewOf(samplePod(), { operation: 'UPDATE' })), { 'content-type': 'application/json' });
    const [entry] = res.json<Body>().objects;
    expect(entry).toMatchObject({ outcome: 'allowed', note: expect.stringContaining('only CREATE'), patch: [] });
  });

  test('namespace defaults come from the server\'s own provider', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'docs', annotations: { 'gitsync.dev/inject': 'true' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } };
    const inTeam = await preview(JSON.stringify(pod), { 'content-type': 'application/json' }, '?namespace=team-docs');
    expect(inTeam.json<Body>().objects[0]).toMatchObject({ namespace: 'team-docs', outcome: 'injected' });
    const elsewhere = await preview(JSON.stringify(pod), { 'content-type': 'application/json' });
    expect(elsewhere.json<Body>().objects[0]).toMatchObject({ namespace: 'default', outcome: 'denied', errors: [expect.objectContaining({ code: 'REPO_REQUIRED' })] });
  });

  test('a policy swapped into the shared deps applies to /mutate and /preview alike', async () => {
    const before = servers.deps.ctx;
    try {
      servers.deps.ctx = { ...before, policy: mustCompile({ ...BUILTIN_POLICY, onInvalidAnnotations: 'admit' }).engine };
      const mutate = await postReview(servers, reviewOf(badPod()));
      expect(mutate.json().response.allowed).toBe(true);
      const res = await preview(JSON.stringify(badPod()), { 'content-type': 'application/json' });
      expect(res.json<Body>().objects[0]).toMatchObject({ outcome: 'skipped', skip: { reason: 'invalid-annotations' } });
    } finally {
      servers.deps.ctx = before;
    }
  });

  test('each preview is logged once, with its summary and without the body', async () => {
    const before = servers.lines.length;
    await preview(fixture('mixed.yaml'), { 'content-type': 'application/yaml' });
    const lines = servers.lines.slice(before).filter((l) => l.msg === 'preview');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ objects: 5, injected: 1, skipped: 2, ignored: 2 });
    expect(JSON.stringify(lines[0])).not.toContain('acme');
  });
});
