/**
 * Golden pods: every YAML file in ./pods is one case — an input pod (with its
 * namespace, namespace annotations, policy overrides and cluster facts) and
 * the exact expected result. New files are picked up automatically.
 *
 * Each case checks that:
 * - the outcome, skip reason, warnings and errors are exactly as written;
 * - the emitted patch, applied to the input, gives exactly the expected pod
 *   (and so does kubectl's own JSON Patch code, where kubectl is installed);
 * - the engine run again on its own output changes nothing.
 *
 * After a deliberate change, `UPDATE_GOLDEN=1 npx vitest run test/golden`
 * rewrites the `expect` sections; review the diff like any other code.
 * Fixtures are read as YAML 1.1, as kubectl reads manifests (so `off` is a
 * boolean and strings like it are written quoted).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseDocument } from 'yaml';
import { formatProblem, injectPod, type EngineContext, type InjectResult } from '../../src/engine/index.ts';
import { uninjectWorkload } from '../../src/workloads/index.ts';
import { goldenPolicy } from '../support/golden-policy.ts';
import type { Policy } from '../../src/policy/types.ts';
import { applyPatchToCopy } from '../support/apply.ts';
import { kubectlAvailable, kubectlPatch } from '../support/kubectl.ts';

const DIR = join(import.meta.dirname, 'pods');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
/** A fixed version, so that releasing does not change every golden pod. */
const VERSION = '0.0.0-test';

interface Case {
  description: string;
  namespace?: string;
  namespaceAnnotations?: Record<string, string>;
  policy?: Partial<Policy>;
  cluster?: { nativeSidecars?: boolean };
  input: unknown;
  expect: {
    outcome: InjectResult['outcome'];
    skip?: string;
    warnings?: string[];
    errors?: string[];
    pod?: unknown;
  };
}

const context = (c: Case): EngineContext => ({
  policy: goldenPolicy(c.policy),
  cluster: c.cluster ?? {},
  version: VERSION,
});

function run(c: Case, pod: unknown = c.input): InjectResult {
  const req = { pod, ...(c.namespace !== undefined && { namespace: c.namespace }), ...(c.namespaceAnnotations && { namespaceAnnotations: c.namespaceAnnotations }) };
  return injectPod(req, context(c));
}

function actualExpect(result: InjectResult): Case['expect'] {
  const e: Case['expect'] = { outcome: result.outcome };
  if (result.skip) e.skip = result.skip.reason;
  if (result.warnings.length) e.warnings = result.warnings.map(formatProblem);
  if (result.errors.length) e.errors = result.errors.map(formatProblem);
  if (result.outcome === 'injected') e.pod = result.pod;
  return e;
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

describe.each(files)('%s', (file) => {
  const path = join(DIR, file);
  const doc = parseDocument(readFileSync(path, 'utf8'), { version: '1.1' });
  const c = doc.toJS() as Case;
  const result = run(c);

  if (UPDATE) {
    doc.set('expect', doc.createNode(actualExpect(result), { aliasDuplicateObjects: false }));
    writeFileSync(path, doc.toString({ lineWidth: 0 }));
  }

  test(c.description ?? file, () => {
    expect(actualExpect(result)).toEqual(c.expect);
  });

  test('the patch applied to the input gives the expected pod', () => {
    const expected = c.expect.pod ?? c.input;
    expect(applyPatchToCopy(c.input, result.patch)).toEqual(expected);
    if (result.outcome !== 'injected') expect(result.patch).toEqual([]);
  });

  test.skipIf(!kubectlAvailable() || result.patch.length === 0)('kubectl patch --local agrees', () => {
    expect(kubectlPatch(c.input, result.patch)).toEqual(c.expect.pod);
  });

  test.runIf(result.outcome === 'injected')('running again on the output changes nothing', () => {
    const again = run(c, result.pod);
    expect(again.outcome).toBe('skipped');
    expect(again.skip?.reason).toBe('already-injected');
    expect(again.patch).toEqual([]);
  });

  test.runIf(result.outcome === 'injected')('uninject gives back the input, value for value', () => {
    const ctx = context(c);
    const back = uninjectWorkload({ object: result.pod, namespace: c.namespace ?? 'default', namespaceAnnotations: c.namespaceAnnotations }, ctx.policy.prefix, ctx);
    expect(back.workload && back.injected).toBe(true);
    expect(back.workload && back.object).toEqual(c.input);
    expect(back.workload && back.warnings).toEqual([]);
  });
});

test('golden cases exist', () => {
  expect(files.length).toBeGreaterThanOrEqual(20);
});
