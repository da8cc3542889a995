/**
 * The README's two-minute tour, sent as the README sends it: the pod's
 * metadata the README shows is the one in
 * test/fixtures/reviews/scheduler-create.json, and that review gets exactly
 * the patch the README shows, path by path.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import { applyPatchToCopy } from '../support/apply.ts';
import { decodePatch, postReview, startServers, type TestServers } from '../support/server.ts';

const root = join(import.meta.dirname, '..', '..');
const review = JSON.parse(readFileSync(join(root, 'test/fixtures/reviews/scheduler-create.json'), 'utf8')) as { request: { uid: string; namespace: string; object: { metadata: unknown } } };
const readme = readFileSync(join(root, 'README.md'), 'utf8');

let servers: TestServers;
beforeAll(async () => {
  servers = await startServers();
});
afterAll(async () => {
  await servers.close();
});

test('the pod the README annotates is the one in the review it sends', () => {
  const shown = /### 1\. Annotate a pod[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(shown).toBeDefined();
  expect(parse(shown!)).toEqual({ metadata: review.request.object.metadata });
  expect(readme).toContain(`in the namespace \`${review.request.namespace}\``);
});

test('the README example review is answered with the patch the README shows', async () => {
  const res = await postReview(servers, review);
  const body = res.json<{ response: { uid: string; allowed: boolean; patchType: string; patch: string } }>();
  expect(body.response).toMatchObject({ uid: review.request.uid, allowed: true, patchType: 'JSONPatch' });
  const ops = decodePatch(body.response);
  const shown = /The answer is an AdmissionReview[\s\S]*?```json\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const shownPaths = [...shown.matchAll(/"path": "([^"]+)"/g)].map((m) => m[1]);
  expect(ops.map((op) => op.path)).toEqual(shownPaths);
  const pod = applyPatchToCopy<{ spec: { containers: { name: string; env?: { name: string; value: string }[] }[] } }>(review.request.object, ops);
  expect(pod.spec.containers[0]!.env).toEqual([{ name: 'AIRFLOW__CORE__DAGS_FOLDER', value: '/opt/airflow/dags/repo/dags' }]);
});
