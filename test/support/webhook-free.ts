/**
 * What "the export agrees with the webhook" means, for the golden and the
 * property tests alike: the webhook-free outcome is the webhook's (an
 * injected pod field for field, but for the status annotation's one named
 * difference; a denial with the same codes), or a refusal that names what
 * only the webhook serves (WEBHOOK_ONLY).
 */
import { expect } from 'vitest';
import { formatProblem, type InjectResult } from '../../src/engine/index.ts';
import type { WebhookFreeResult } from '../../src/export/index.ts';

/** The status as the export writes it: `config` (a hash CEL cannot compute) replaced by the engine's name. */
export function exportedStatus(text: string): string {
  const status = JSON.parse(text) as Record<string, unknown>;
  delete status.config;
  status.engine = 'admission-policy';
  return JSON.stringify(status);
}

const codeOf = (line: string): string => /\[([A-Z_]+)\]$/.exec(line)?.[1] ?? '?';

export function expectAgreement(engine: InjectResult, free: WebhookFreeResult, prefix: string): void {
  const webhookOnly = free.denials.some((d) => codeOf(d) === 'WEBHOOK_ONLY');
  const said = `export: ${free.outcome}\n${[...free.denials, ...free.warnings].join('\n')}\nengine: ${engine.outcome} ${engine.skip?.reason ?? ''}\n${engine.errors.map(formatProblem).join('\n')}`;
  switch (engine.outcome) {
    case 'injected': {
      if (free.outcome === 'denied') {
        expect(webhookOnly, said).toBe(true);
        return;
      }
      expect(free.outcome, said).toBe('injected');
      const expected = structuredClone(engine.pod) as { metadata: { annotations: Record<string, string> } };
      const key = `${prefix}status`;
      expected.metadata.annotations[key] = exportedStatus(expected.metadata.annotations[key]!);
      expect(free.pod).toEqual(expected);
      return;
    }
    case 'skipped':
      if (engine.skip?.reason === 'invalid-annotations') {
        if (free.outcome === 'denied') expect(webhookOnly, said).toBe(true);
        else {
          expect(free.outcome, said).toBe('admitted');
          const codes = new Set(free.warnings.map(codeOf));
          for (const code of codes) expect([...engine.errors.map((e) => e.code), 'WEBHOOK_ONLY'], said).toContain(code);
        }
        return;
      }
      expect(free.outcome, said).toBe('skipped');
      return;
    case 'denied': {
      expect(free.outcome, said).toBe('denied');
      const engineCodes = new Set<string>(engine.errors.map((e) => e.code));
      const exportCodes = new Set(free.denials.map(codeOf));
      for (const code of exportCodes) if (code !== 'WEBHOOK_ONLY') expect(engineCodes, said).toContain(code);
      if (!webhookOnly) for (const code of engineCodes) expect(exportCodes, said).toContain(code);
    }
  }
}
