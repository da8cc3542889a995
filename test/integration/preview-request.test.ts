/**
 * POST /preview with a PreviewRequest body over real HTTPS: manifests in a
 * string (problems in them have their line and column in that string), a
 * policy for this preview only (checked as serve checks one, every problem
 * with its line and column), and each object's input and output as YAML.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_POLICY_BYTES } from '../../src/server/preview-request.ts';
import { samplePod, send, startServers, type TestServers } from '../support/server.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

let servers: TestServers;
beforeAll(async () => {
  servers = await startServers();
});
afterAll(async () => {
  await servers.close();
});

const ask = (fields: Record<string, unknown>, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  send({
    port: servers.previewPort,
    ca: servers.ca,
    path: '/preview',
    method: 'POST',
    headers,
    body: JSON.stringify({ apiVersion: 'gitsync.dev/v1', kind: 'PreviewRequest', ...fields }),
  });

describe('a PreviewRequest', () => {
  test('without a policy: the policy in force answers, as for a bare body', async () => {
    const res = await ask({ manifests: JSON.stringify(samplePod()) });
    expect(res.status).toBe(200);
    const bare = await send({ port: servers.previewPort, ca: servers.ca, path: '/preview', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(samplePod()) });
    expect(res.json()).toEqual(bare.json());
    expect(res.json().objects[0].yaml).toBeUndefined();
  });

  test('with a policy: the pods are previewed under it, for this request only', async () => {
    const policy = await readFile(join(FIXTURES, 'policies', 'platform-example.yaml'), 'utf8');
    const pod = samplePod({ 'gitsync.dev/repo': 'git@github.com:acme/config.git', 'gitsync.dev/secret': 'deploy-key' });
    const res = await ask({ manifests: JSON.stringify(pod), policy });
    expect(res.status).toBe(200);
    const body = res.json();
    expect(body.policy).not.toBe(servers.deps.ctx.policy.hash);
    expect(body.objects[0]).toMatchObject({ outcome: 'injected', injection: { volumes: expect.arrayContaining(['git-sync-known-hosts']) } });
    // A repository the policy does not allow is denied under it, and injected under the built-in one.
    const other = samplePod({ 'gitsync.dev/repo': 'https://github.com/someone-else/x.git' });
    expect((await ask({ manifests: JSON.stringify(other), policy })).json().objects[0].outcome).toBe('denied');
    expect((await ask({ manifests: JSON.stringify(other) })).json().objects[0].outcome).toBe('injected');
  });

  test('a policy with problems: 400 INVALID_POLICY with every problem, its line and column', async () => {
    const res = await ask({ manifests: JSON.stringify(samplePod()), policy: 'limits:\n  minPeriod: soon\nallowedRepos: github.com/acme/*\nbogus: 1\n' });
    expect(res.status).toBe(400);
    const { error } = res.json();
    expect(error.reason).toBe('INVALID_POLICY');
    expect(error.problems.map((p: { field: string; line: number; column: number }) => [p.field, p.line, p.column])).toEqual([
      ['limits.minPeriod', 2, 14],
      ['allowedRepos', 3, 15],
      ['bogus', 4, 1],
    ]);
    expect(error.message).toContain('policy:2:14: limits.minPeriod');
  });

  test('a policy that is not YAML, or empty: its own problem with the position', async () => {
    const broken = (await ask({ manifests: 'kind: Pod', policy: 'defaults: [unclosed\n' })).json().error;
    expect(broken.reason).toBe('INVALID_POLICY');
    expect(broken.problems[0]).toMatchObject({ code: 'POLICY_YAML_INVALID', line: expect.any(Number) });
    expect((await ask({ manifests: 'kind: Pod', policy: '# nothing\n' })).json().error.problems[0].code).toBe('POLICY_EMPTY');
  });

  test('manifests that cannot be read: the line and column in the manifests text', async () => {
    const res = await ask({ manifests: 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n' });
    expect(res.status).toBe(400);
    expect(res.json().error).toMatchObject({ reason: 'INVALID_YAML', line: expect.any(Number), column: expect.any(Number) });
    expect(res.json().error.line).toBeGreaterThanOrEqual(3);
  });

  test('wrong fields: 400 INVALID_PREVIEW_REQUEST naming each one', async () => {
    const res = await ask({ manifests: 3, policy: ['x'], namespace: 'Not_A_Name', yaml: 'yes', extra: true });
    expect(res.status).toBe(400);
    const { error } = res.json();
    expect(error.reason).toBe('INVALID_PREVIEW_REQUEST');
    expect(error.problems.map((p: { field: string }) => p.field).sort()).toEqual(['extra', 'manifests', 'namespace', 'policy', 'yaml']);
    expect((await ask({ manifests: '  ' })).json().error.problems).toEqual([{ field: 'manifests', message: expect.stringContaining('is empty') }]);
  });

  test(`a policy above ${MAX_POLICY_BYTES / 1024} KiB is refused before it is parsed`, async () => {
    const res = await ask({ manifests: 'kind: Pod', policy: `# ${'x'.repeat(MAX_POLICY_BYTES)}\n{}` });
    expect(res.status).toBe(400);
    expect(res.json().error.problems[0]).toMatchObject({ field: 'policy', message: expect.stringContaining(`at most ${MAX_POLICY_BYTES} bytes`) });
  });

  test('yaml: each pod and workload with its input and output as YAML; the output is the patched object', async () => {
    const manifests = await readFile(join(FIXTURES, 'manifests', 'mixed.yaml'), 'utf8');
    const res = await ask({ manifests, yaml: true, namespace: 'team-a' });
    expect(res.status).toBe(200);
    const { objects } = res.json() as { objects: { outcome: string; object: unknown; patch: unknown[]; yaml?: { input: string; output: string } }[] };
    expect(objects.length).toBeGreaterThan(1);
    for (const o of objects) {
      if (o.outcome === 'ignored') {
        expect(o.yaml).toBeUndefined();
        continue;
      }
      expect(parse(o.yaml!.output, { version: '1.1' })).toEqual(o.object);
      if (o.patch.length === 0) expect(o.yaml!.output).toBe(o.yaml!.input);
      else expect(o.yaml!.output.length).toBeGreaterThan(o.yaml!.input.length);
    }
    expect(objects.some((o) => o.outcome === 'injected')).toBe(true);
  });

  test('written as YAML, it is a PreviewRequest too', async () => {
    const body = `apiVersion: gitsync.dev/v1\nkind: PreviewRequest\nmanifests: |\n${JSON.stringify(samplePod())}\n`.replace(/\n\{/, '\n  {');
    const res = await send({ port: servers.previewPort, ca: servers.ca, path: '/preview', method: 'POST', headers: { 'content-type': 'application/yaml' }, body });
    expect(res.status).toBe(200);
    expect(res.json().objects[0].outcome).toBe('injected');
  });
});

describe('the mode an answer stands for', () => {
  const pod = samplePod({ 'gitsync.dev/repo': 'https://github.com/acme/site.git' });
  const sparse = samplePod({ 'gitsync.dev/repo': 'https://github.com/acme/site.git', 'gitsync.dev/sparse-paths': 'www' });

  test('webhook by default, on the answer and on each object', async () => {
    const body = (await ask({ manifests: JSON.stringify(pod) })).json();
    expect(body.mode).toBe('webhook');
    expect(body.objects[0]).toMatchObject({ mode: 'webhook', outcome: 'injected' });
  });

  test('webhookFree: the pod the exported policies would store, or their refusal', async () => {
    const body = (await ask({ manifests: `${JSON.stringify(pod)}\n---\n${JSON.stringify(sparse)}`, webhookFree: true })).json();
    expect(body.mode).toBe('webhook-free');
    const [injected, refused] = body.objects;
    expect(injected).toMatchObject({ mode: 'webhook-free', outcome: 'injected' });
    expect(JSON.parse(injected.object.metadata.annotations['gitsync.dev/status'])).toMatchObject({ engine: 'admission-policy' });
    expect(refused).toMatchObject({ mode: 'webhook-free', outcome: 'denied', errors: [{ code: 'WEBHOOK_ONLY', field: 'gitsync.dev/sparse-paths' }] });
  });

  test('?mode=webhook-free on a bare body', async () => {
    const res = await send({ port: servers.previewPort, ca: servers.ca, path: '/preview?mode=webhook-free', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pod) });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ mode: 'webhook-free', objects: [{ mode: 'webhook-free', outcome: 'injected' }] });
  });
});
