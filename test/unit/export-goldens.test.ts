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

const DIR = join(import.meta.dirname, '..', 'golden', 'pods');

interface Case {
  namespace?: string;
  namespaceAnnotations?: Record<string, string>;
  policy?: Partial<Policy>;
  cluster?: { nativeSidecars?: boolean };
  input: Record<string, unknown>;
}

/** The status as the export writes it: `config` (a hash CEL cannot compute) replaced by the engine's name. */
export function exportedStatus(text: string): string {
  const status = JSON.parse(text) as Record<string, unknown>;
  delete status.config;
  status.engine = 'admission-policy';
  return JSON.stringify(status);
}

const codeOf = (line: string): string => /\[([A-Z_]+)\]$/.exec(line)?.[1] ?? '?';

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
    const webhookOnly = free.denials.some((d) => codeOf(d) === 'WEBHOOK_ONLY');
    switch (engine.outcome) {
      case 'injected': {
        if (free.outcome === 'denied') {
          expect(webhookOnly, free.denials.join('\n')).toBe(true);
          return;
        }
        expect(free.outcome, free.denials.join('\n')).toBe('injected');
        const expected = structuredClone(engine.pod) as { metadata: { annotations: Record<string, string> } };
        const key = `${ctx.policy.prefix}status`;
        expected.metadata.annotations[key] = exportedStatus(expected.metadata.annotations[key]!);
        expect(free.pod).toEqual(expected);
        return;
      }
      case 'skipped':
        if (engine.skip?.reason === 'invalid-annotations') {
          if (free.outcome === 'denied') expect(webhookOnly).toBe(true);
          else {
            expect(free.outcome).toBe('admitted');
            expect(new Set(free.warnings.map(codeOf))).toEqual(new Set(engine.errors.map((e) => e.code)));
          }
          return;
        }
        expect(free.outcome).toBe('skipped');
        return;
      case 'denied': {
        expect(free.outcome).toBe('denied');
        const engineCodes = new Set(engine.errors.map((e) => e.code));
        const exportCodes = new Set(free.denials.map(codeOf));
        for (const code of exportCodes) if (code !== 'WEBHOOK_ONLY') expect(engineCodes, `export says ${code}:\n${free.denials.join('\n')}\nengine:\n${engine.errors.map(formatProblem).join('\n')}`).toContain(code);
        if (!webhookOnly) {
          for (const code of engineCodes) expect(exportCodes, `engine says ${code}:\n${engine.errors.map(formatProblem).join('\n')}\nexport:\n${free.denials.join('\n')}`).toContain(code);
          // Where both give the same code, the message is the webhook's.
          const lines = new Set(free.denials);
          const same = engine.errors.map(formatProblem).filter((l) => lines.has(l));
          expect(same.length).toBeGreaterThan(0);
        }
      }
    }
  });
});
