/**
 * The playground's files and the route that serves them: the bundled
 * examples are the test fixtures (so the page shows what the tests check),
 * only the files of the page are served, each with its type and the
 * security headers, and a problem's field is found in the editor's text.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { lineOfField } from '../../src/playground/find.js';
import { PLAYGROUND_CSP, PLAYGROUND_DIR, readAssets } from '../../src/server/playground.ts';
import { send, startServers } from '../support/server.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

describe('the bundled examples', () => {
  test('every example names files that exist, and those taken from the fixtures are the fixtures, byte for byte', async () => {
    const examples = JSON.parse(await readFile(join(PLAYGROUND_DIR, 'examples', 'examples.json'), 'utf8')) as { id: string; manifests: string; policy?: string }[];
    expect(examples.map((e) => e.id)).toEqual(['airflow-scheduler', 'airflow-dags-plugins', 'kubernetes-executor-task', 'cronjob', 'ssh', 'denied', 'wrong-level']);
    const assets = readAssets(PLAYGROUND_DIR);
    for (const e of examples) for (const file of [e.manifests, e.policy].filter(Boolean)) expect(assets.has(`examples/${file}`), file).toBe(true);
    const copies: Record<string, string> = {
      'airflow-scheduler.yaml': 'manifests/workloads/deployment.yaml',
      'airflow-dags-plugins.yaml': 'manifests/several-repositories/airflow-dags-plugins.yaml',
      'cronjob.yaml': 'manifests/workloads/cronjob.yaml',
      'denied.yaml': 'manifests/denied.yaml',
      'wrong-level.yaml': 'manifests/wrong-level.yaml',
      'platform-policy.yaml': 'policies/platform-example.yaml',
    };
    for (const [example, fixture] of Object.entries(copies)) {
      expect(await readFile(join(PLAYGROUND_DIR, 'examples', example), 'utf8'), example).toBe(await readFile(join(FIXTURES, fixture), 'utf8'));
    }
  });
});

describe('the route', () => {
  test('serves the page at / and its files under /playground/, with the CSP; nothing else', async () => {
    const servers = await startServers();
    try {
      const get = (path: string) => send({ port: servers.previewPort, ca: servers.ca, path });
      const page = await get('/');
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['content-security-policy']).toBe(PLAYGROUND_CSP);
      const script = await get('/playground/main.js');
      expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(script.headers['x-content-type-options']).toBe('nosniff');
      for (const path of ['/playground/../package.json', '/playground/%2e%2e/package.json', '/playground/', '/playground/nope.js', '/index.html']) {
        expect((await get(path)).status, path).toBe(404);
      }
      // The webhook's port has no page: the playground lives where /preview does.
      expect((await send({ port: servers.port, ca: servers.ca, path: '/' })).status).toBe(404);
    } finally {
      await servers.close();
    }
  });
});

describe('lineOfField: where a problem is in the manifest', () => {
  const text = ['apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  annotations:', '    gitsync.dev/repo: x', 'spec:', '  template:', '    metadata:', '      annotations:', '        "gitsync.dev/period": 5x', '---', 'kind: Pod', 'metadata:', '  annotations:', '    gitsync.dev/period: 1m'].join('\n');

  test('an annotation: its key, quoted or not, from the object on, within its document', () => {
    expect(lineOfField(text, 'gitsync.dev/period', 1)).toBe(10);
    expect(lineOfField(text, 'gitsync.dev/period', 12)).toBe(15);
    expect(lineOfField(text, 'gitsync.dev/mode', 1)).toBeUndefined();
  });

  test('a field path: one key after the other', () => {
    expect(lineOfField(text, 'metadata.annotations', 1)).toBe(4);
    expect(lineOfField(text, 'spec.template.metadata.annotations', 1)).toBe(9);
    expect(lineOfField(text, 'spec.nothing', 1)).toBeUndefined();
  });
});
