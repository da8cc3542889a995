/**
 * Settings resolution: which value of each annotation applies to a pod, and
 * where it came from. Layers, lowest first:
 *
 *   annotation table default < policy defaults < namespace annotations
 *     < preset < pod annotations
 *
 * The preset sits above the namespace because the pod (or namespace) chose it
 * explicitly; when it replaces a value the namespace set, that is a warning.
 * Only the winning value of each annotation is parsed: a bad namespace default
 * that a pod overrides does not concern that pod.
 */
import { ANNOTATIONS, ANNOTATION_KEYS, WRITTEN_ANNOTATIONS, isAnnotationKey, type AnnotationKey, type AnnotationValues } from './annotations.ts';
import { quote, type Problem } from './problems.ts';
import { CONTROL_CHARS, type Parsed } from './values/result.ts';
import { closest } from './suggest.ts';
import type { CompiledPolicy, ParsedLayer, Setting } from '../policy/compile.ts';

export type Settings = { [K in AnnotationKey]?: Setting<AnnotationValues[K]> };

/** Parses one raw value with its annotation's parser; control characters are refused for all. */
export function parseValue<K extends AnnotationKey>(key: K, raw: string): Parsed<AnnotationValues[K]> {
  if (CONTROL_CHARS.test(raw)) {
    return { ok: false, code: 'VALUE_NOT_ALLOWED', message: `${quote(raw)} contains a control character (newline, tab…); remove it` };
  }
  return (ANNOTATIONS[key].parse as (raw: string) => Parsed<AnnotationValues[K]>)(raw);
}

interface RawEntry {
  raw: string;
  field: string;
}

/** Reads the prefixed annotations of one object; unknown keys become warnings. */
function readLayer(
  annotations: Record<string, string> | undefined,
  prefix: string,
  describe: (key: string) => string,
  warnings: Problem[],
): Map<AnnotationKey, RawEntry> {
  const layer = new Map<AnnotationKey, RawEntry>();
  if (!annotations) return layer;
  for (const [fullKey, value] of Object.entries(annotations)) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    const field = describe(fullKey);
    if (isAnnotationKey(key)) {
      layer.set(key, { raw: typeof value === 'string' ? value.trim() : String(value), field });
    } else if (!(Object.values(WRITTEN_ANNOTATIONS) as string[]).includes(key)) {
      const hint = closest(key, ANNOTATION_KEYS);
      warnings.push({
        code: 'UNKNOWN_ANNOTATION',
        field,
        value: key,
        message: `is not an annotation the injector knows${hint ? `; did you mean ${prefix}${hint}?` : ''} It is ignored.`,
      });
    }
  }
  return layer;
}

export interface Resolution {
  settings: Settings;
  errors: Problem[];
  warnings: Problem[];
}

export interface ResolveInput {
  podAnnotations: Record<string, string> | undefined;
  namespace: string;
  namespaceAnnotations: Record<string, string> | undefined;
}

export function resolveSettings(input: ResolveInput, policy: CompiledPolicy): Resolution {
  const errors: Problem[] = [];
  const warnings: Problem[] = [];
  const prefix = policy.prefix;
  const pod = readLayer(input.podAnnotations, prefix, (k) => k, warnings);
  const ns = readLayer(input.namespaceAnnotations, prefix, (k) => `namespace ${input.namespace} annotation ${k}`, warnings);
  const settings: Settings = {};
  const put = <K extends AnnotationKey>(key: K, s: Setting<AnnotationValues[K]>) => {
    (settings as Record<K, Setting<AnnotationValues[K]>>)[key] = s;
  };
  const parseInto = (key: AnnotationKey, entry: RawEntry, source: Setting<unknown>['source']) => {
    const parsed = parseValue(key, entry.raw);
    if (!parsed.ok) {
      errors.push({ code: parsed.code, field: entry.field, value: entry.raw, message: parsed.message });
      return;
    }
    if (parsed.note) warnings.push({ ...parsed.note, field: entry.field, value: entry.raw });
    put(key, { value: parsed.value, raw: entry.raw, field: entry.field, source });
  };

  // 1. The policy's defaults (already parsed, and already including the table's).
  for (const [key, s] of policy.defaults) put(key, s as never);

  // 2. Namespace annotations.
  for (const [key, entry] of ns) parseInto(key, entry, 'namespace');

  // 3. The preset, chosen by the pod, else the namespace, else the policy.
  const presetEntry = pod.get('preset') ?? ns.get('preset');
  if (presetEntry) parseInto('preset', presetEntry, pod.has('preset') ? 'pod' : 'namespace');
  const presetName = settings.preset?.value;
  if (presetName !== undefined) {
    const preset: ParsedLayer | undefined = policy.presets.get(presetName);
    if (!preset) {
      const known = [...policy.presets.keys()];
      errors.push({
        code: 'PRESET_UNKNOWN',
        field: settings.preset!.field,
        value: presetName,
        message: `${quote(presetName)} is not a preset of the policy; use one of ${known.length ? known.join(', ') : '(none defined)'}`,
      });
    } else {
      for (const [key, s] of preset) {
        const before = settings[key];
        if (before?.source === 'namespace' && before.raw !== s.raw && !pod.has(key)) {
          warnings.push({
            code: 'PRESET_OVERRIDE',
            field: before.field,
            value: before.raw,
            message: `is replaced by preset ${presetName}'s ${key}=${quote(s.raw)}; set ${prefix}${key} on the pod to choose`,
          });
        }
        put(key, s as never);
      }
    }
  }

  // 4. The pod's own annotations win.
  for (const [key, entry] of pod) if (key !== 'preset') parseInto(key, entry, 'pod');

  return { settings, errors, warnings };
}
