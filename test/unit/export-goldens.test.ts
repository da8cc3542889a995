/**
 * The webhook-free export against the engine, on every golden pod: compiled
 * from the case's policy and cluster facts, its TypeScript side (the same
 * expressions the export writes as CEL) must give the webhook's outcome, or
 * a refusal that names what only the webhook serves (WEBHOOK_ONLY). An
 * injected pod must be the engine's, field for field, but for the status
 * annotation's one named difference. The proof helper's e2e test shows the
 * API server reads the CEL the same way.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseDocument } from 'yaml';
import { formatProblem, injectPod, type EngineContext } from '../../src/engine/index.ts';
import { compileExport, evaluateWebhookFree } from '../../src/export/index.ts';
import type { Policy } from '../../src/policy/types.ts';
import { goldenPolicy } from '../support/golden-policy.ts';
import { expectAgreement } from '../support/webhook-free.ts';

const DIR = join(import.meta.dirname, '..', 'golden', 'pods');

interface Case {
  namespace?: string;
  namespaceAnnotations?: Record<string, string>;
  policy?: Partial<Policy>;
  cluster?: { nativeSidecars?: boolean };
  input: Record<string, unknown>;
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

describe.each(files)('%s', (file) => {
  const c = parseDocument(readFileSync(join(DIR, file), 'utf8'), { version: '1.1' }).toJS() as Case;
  // Native sidecar support is a fact the export is given; where the case leaves it unknown, both run with "supported".
  const ctx: EngineContext = { policy: goldenPolicy(c.policy), cluster: { nativeSidecars: c.cluster?.nativeSidecars ?? true }, version: '0.0.0-test' };
  const namespace = c.namespace ?? (c.input.metadata as { namespace?: string } | undefined)?.namespace ?? 'default';
  const engine = injectPod({ pod: c.input, namespace, ...(c.namespaceAnnotations && { namespaceAnnotations: c.namespaceAnnotations }) }, ctx);
  const compiled = compileExport(ctx);

  test('the export gives the webhook’s outcome, or names what only the webhook serves', () => {
    if (!compiled.ok) {
      // A policy the export refuses: every refusal has a code and names the field.
      expect(compiled.refusals.length).toBeGreaterThan(0);
      for (const r of compiled.refusals) expect(r.code).toMatch(/^EXPORT_/);
      return;
    }
    // The namespace is labelled for injection, so that the webhook is called for every pod, as the golden cases assume.
    const request = { pod: c.input, namespace, namespaceLabels: { 'gitsync.dev/injection': 'enabled' }, ...(c.namespaceAnnotations && { namespaceAnnotations: c.namespaceAnnotations }) };
    const free = evaluateWebhookFree(compiled.compiled, request);
    expectAgreement(engine, free, ctx.policy.prefix);
    // Where both refuse with the same code, the words are the webhook's.
    if (engine.outcome === 'denied' && !free.denials.some((d) => d.endsWith('[WEBHOOK_ONLY]'))) {
      const lines = new Set(free.denials);
      expect(engine.errors.map(formatProblem).some((l) => lines.has(l))).toBe(true);
    }
  });
});
