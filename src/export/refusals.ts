/**
 * Why a policy cannot be exported: it turns on something CEL cannot do
 * exactly. Each refusal has a stable code, names the policy field, says why
 * and what to do instead; the export writes no objects then (a partial
 * export would behave differently from the webhook without a word).
 */
import { ANNOTATION_KEYS, type AnnotationKey, type EngineContext } from '../engine/index.ts';
import { ANNOTATION_EXPORT } from './features.ts';

export const EXPORT_REFUSAL_CODES = {
  EXPORT_DIALECT_UNSUPPORTED: 'the policy tells git-sync v3 its settings (`dialect: v3`); the export writes v4 only',
  EXPORT_NATIVE_SIDECARS_UNKNOWN: '`nativeSidecars: auto` with native allowed needs to know whether the cluster runs native sidecars, which the webhook reads from the nodes',
  EXPORT_WEBHOOK_ONLY_DEFAULT: 'a policy default or preset sets an annotation the export does not serve',
  EXPORT_VALUE_OUTSIDE_ENVELOPE: 'a policy default or preset value is outside the values the export serves exactly',
} as const;

export type ExportRefusalCode = keyof typeof EXPORT_REFUSAL_CODES;

export interface ExportRefusal {
  code: ExportRefusalCode;
  field: string;
  message: string;
}

export const formatRefusal = (r: ExportRefusal): string => `${r.field}: ${r.message} [${r.code}]`;

const ALTERNATIVE = 'run the webhook for this policy (docs/webhook-free.md)';

/** Every reason the policy cannot be exported; empty when it can. */
export function exportRefusals(ctx: EngineContext): ExportRefusal[] {
  const { policy } = ctx;
  const out: ExportRefusal[] = [];
  if (policy.dialect.name !== 'v4') {
    out.push({ code: 'EXPORT_DIALECT_UNSUPPORTED', field: 'dialect', message: `"${policy.dialect.name}" cannot be exported: the export covers git-sync v4; use dialect v4, or ${ALTERNATIVE}` });
  }
  if (policy.nativeSidecars === 'auto' && policy.allowedModes.includes('native') && ctx.cluster.nativeSidecars === undefined) {
    out.push({
      code: 'EXPORT_NATIVE_SIDECARS_UNKNOWN',
      field: 'nativeSidecars',
      message:
        '"auto" asks the cluster\'s nodes whether they run native sidecars, which an admission policy cannot; pass --native-sidecars supported or unsupported (or --kubeconfig/--context to read it from the nodes), set nativeSidecars to enabled or disabled, or ' +
        ALTERNATIVE,
    });
  }
  const layers: [string, ReadonlyMap<AnnotationKey, { raw: string; source: string }>][] = [
    ['defaults', new Map([...policy.defaults].filter(([, s]) => s.source === 'policy'))],
    ...[...policy.presets].map(([name, layer]) => [`presets.${name}`, layer] as [string, ReadonlyMap<AnnotationKey, { raw: string; source: string }>]),
  ];
  for (const [where, layer] of layers) {
    for (const [key, setting] of layer) {
      const row = ANNOTATION_EXPORT[key];
      if (row.decision === 'webhook-only') {
        out.push({ code: 'EXPORT_WEBHOOK_ONLY_DEFAULT', field: `${where}.${key}`, message: `${key} is served only by the webhook (${row.note}); remove it, or ${ALTERNATIVE}` });
      } else if (row.envelope && !row.envelope.test(setting.raw)) {
        out.push({ code: 'EXPORT_VALUE_OUTSIDE_ENVELOPE', field: `${where}.${key}`, message: `"${setting.raw}" is outside what the export serves (${row.allowed}); write it so, or ${ALTERNATIVE}` });
      }
    }
  }
  // The annotation table's own defaults are baked in too; they are inside the envelope (a test keeps them so).
  for (const key of ANNOTATION_KEYS) {
    const s = policy.defaults.get(key);
    const row = ANNOTATION_EXPORT[key];
    if (s && s.source === 'default' && row.envelope && !row.envelope.test(s.raw)) {
      out.push({ code: 'EXPORT_VALUE_OUTSIDE_ENVELOPE', field: `annotation table default ${key}`, message: `"${s.raw}" is outside what the export serves` });
    }
  }
  return out;
}
