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
 *
 * An annotation the policy enforces has no layers: its value is the policy
 * default's (or the table's), whatever the namespace, the preset or the pod
 * say. A namespace or pod that sets another value gets a warning, or an
 * error when the policy enforces it strictly.
 */
import { ANNOTATIONS, ANNOTATION_KEYS, WRITTEN_ANNOTATIONS, isAnnotationKey, shownValue, type AnnotationKey, type AnnotationValues, type DefaultedKey } from './annotations.ts';
import { quote, type Problem } from './problems.ts';
import { CONTROL_CHARS, type Parsed } from './values/result.ts';
import { closest } from './suggest.ts';
import type { EnginePolicy, Setting } from './context.ts';

/** Settings while they are being resolved: any may still be missing. */
type PartialSettings = { [K in AnnotationKey]?: Setting<AnnotationValues[K]> };

/**
 * The settings of one pod. An annotation with a built-in default always has
 * a value: the policy's defaults layer holds every such annotation (compiled
 * from the annotation table), and a bad value falls back to the next layer.
 */
export type Settings = PartialSettings & { [K in DefaultedKey]: Setting<AnnotationValues[K]> };

/** Parses one raw value with its annotation's parser; control characters are refused for all. */
export function parseValue<K extends AnnotationKey>(key: K, raw: string): Parsed<AnnotationValues[K]> {
  if (CONTROL_CHARS.test(raw)) {
    return { ok: false, code: 'VALUE_NOT_ALLOWED', message: `${quote(shownValue(key, raw))} contains a control character (newline, tab…); remove it` };
  }
  return (ANNOTATIONS[key].parse as (raw: string) => Parsed<AnnotationValues[K]>)(raw);
}

/**
 * Names people reach for out of habit (git-sync's own flags, the Airflow
 * chart's values), mapped to the annotation that does the job.
 */
const SYNONYMS: Record<string, AnnotationKey> = {
  branch: 'ref',
  rev: 'ref',
  revision: 'ref',
  tag: 'ref',
  commit: 'ref',
  wait: 'period',
  interval: 'period',
  subpath: 'sub-path',
  path: 'sub-path',
  dest: 'mount-path',
  mountpath: 'mount-path',
  'ssh-key-file': 'ssh-key',
  'credentials-secret': 'secret',
  'ssh-known-hosts': 'known-hosts',
  container: 'containers',
  enabled: 'inject',
  sparse: 'sparse-paths',
  'sparse-checkout': 'sparse-paths',
  'sparse-checkout-file': 'sparse-paths',
  'partial-clone': 'filter',
  'size-limit': 'root-size-limit',
  cpu: 'cpu-request',
  memory: 'memory-limit',
};
const SUGGESTIBLE = [...ANNOTATION_KEYS, ...Object.keys(SYNONYMS)];
const DEFAULTED_KEYS = ANNOTATION_KEYS.filter((k): k is DefaultedKey => 'default' in ANNOTATIONS[k]);

const WRITTEN_KEYS = new Set<string>(Object.values(WRITTEN_ANNOTATIONS));
/**
 * Unknown annotations named one by one, per object; the rest are counted in
 * one more warning. A typo is among the first few, and a pod with thousands
 * of them must not cost a suggestion each (nor thousands of warnings).
 */
export const MAX_UNKNOWN_REPORTED = 10;

function unknownAnnotation(prefix: string, key: string, field: string): Problem {
  const near = closest(key.toLowerCase(), SUGGESTIBLE);
  const hint = near === undefined ? 'see the annotation table in the README' : `did you mean ${prefix}${SYNONYMS[near] ?? near}?`;
  return { code: 'UNKNOWN_ANNOTATION', field, value: key, message: `is not an annotation the injector knows and is ignored; ${hint}` };
}

interface RawEntry {
  raw: string;
  field: string;
  source: 'namespace' | 'pod';
}

/** Reads the prefixed annotations of one object; unknown keys become warnings. */
function readAnnotations(
  annotations: Record<string, string> | undefined,
  prefix: string,
  source: RawEntry['source'],
  label: string,
  warnings: Problem[],
): Map<AnnotationKey, RawEntry> {
  const entries = new Map<AnnotationKey, RawEntry>();
  if (!annotations) return entries;
  let unknown = 0;
  for (const [fullKey, value] of Object.entries(annotations)) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    const field = `${fullKey}${label}`;
    if (isAnnotationKey(key)) {
      const raw = String(value).trim();
      entries.set(key, { raw, field, source });
    }
    else if (!WRITTEN_KEYS.has(key) && ++unknown <= MAX_UNKNOWN_REPORTED) warnings.push(unknownAnnotation(prefix, key, field));
  }
  if (unknown > MAX_UNKNOWN_REPORTED) {
    const more = unknown - MAX_UNKNOWN_REPORTED;
    warnings.push({
      code: 'UNKNOWN_ANNOTATION',
      field: `${prefix}*${label}`,
      value: String(more),
      message: `${more} more annotation${more === 1 ? '' : 's'} with this prefix ${more === 1 ? 'is' : 'are'} not known to the injector and ignored (${unknown} in all; the first ${MAX_UNKNOWN_REPORTED} are named above)`,
    });
  }
  return entries;
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

export function resolveSettings(input: ResolveInput, policy: EnginePolicy): Resolution {
  const errors: Problem[] = [];
  const warnings: Problem[] = [];
  const prefix = policy.prefix;
  const pod = readAnnotations(input.podAnnotations, prefix, 'pod', '', warnings);
  const ns = readAnnotations(input.namespaceAnnotations, prefix, 'namespace', ` (namespace ${input.namespace})`, warnings);
  const settings: PartialSettings = {};

  /** Parses an entry into `settings`; false (with the error recorded) when the value is bad. */
  const parse = <K extends AnnotationKey>(key: K, entry: RawEntry): boolean => {
    const parsed = parseValue(key, entry.raw);
    if (!parsed.ok) {
      errors.push({ code: parsed.code, field: entry.field, value: shownValue(key, entry.raw), message: parsed.message });
      return false;
    }
    if (parsed.note) warnings.push({ ...parsed.note, field: entry.field, value: shownValue(key, entry.raw) });
    (settings as Record<K, Setting<AnnotationValues[K]>>)[key] = { value: parsed.value, raw: entry.raw, field: entry.field, source: entry.source };
    return true;
  };

  /** For an enforced annotation: the policy's value, and a problem for each layer that tries another. */
  const enforce = (key: AnnotationKey): void => {
    const level = policy.enforced.get(key)!;
    const value = policy.defaults.get(key);
    if (value) (settings as Record<string, unknown>)[key] = value;
    for (const entry of [pod.get(key), ns.get(key)]) {
      if (!entry) continue;
      const parsed = parseValue(key, entry.raw);
      if (parsed.ok && value && JSON.stringify(parsed.value) === JSON.stringify(value.value)) continue;
      // As problems show it (shownValue): never a credential. Worked out only for a problem (for a repository it parses the URL again).
      const shown = shownValue(key, entry.raw);
      const policyText = value ? `the policy enforces ${key} ${quote(value.raw)}` : `the policy keeps ${key} unset`;
      if (level === 'strict') {
        errors.push({ code: 'SETTING_ENFORCED', field: entry.field, value: shown, message: `${quote(shown)} is not allowed: ${policyText}; remove this annotation` });
      } else {
        warnings.push({ code: 'ENFORCED_VALUE_USED', field: entry.field, value: shown, message: `${quote(shown)} is ignored: ${policyText}` });
      }
    }
  };

  // The preset first: it decides a layer. Chosen by the pod, else the namespace, else the policy.
  const presetEntry = pod.get('preset') ?? ns.get('preset');
  if (policy.enforced.has('preset')) enforce('preset');
  else if (presetEntry) parse('preset', presetEntry);
  else if (policy.defaults.has('preset')) settings.preset = policy.defaults.get('preset') as PartialSettings['preset'];
  const presetName = settings.preset?.value;
  const preset = presetName === undefined ? undefined : policy.presets.get(presetName);
  if (presetName !== undefined && !preset) {
    const known = [...policy.presets.keys()];
    errors.push({
      code: 'PRESET_UNKNOWN',
      field: settings.preset!.field,
      value: presetName,
      message: `${quote(presetName)} is not a preset of the policy; use one of ${known.length ? known.join(', ') : '(none defined)'}`,
    });
  }

  // Each annotation from the highest layer that has a usable value. A bad value
  // is reported and the next layer's value used, so that one mistake does not
  // hide the others: every problem is reported at once.
  for (const key of ANNOTATION_KEYS) {
    if (key === 'preset') continue;
    if (policy.enforced.has(key)) {
      enforce(key);
      continue;
    }
    const podEntry = pod.get(key);
    const nsEntry = ns.get(key);
    const fromPreset = preset?.get(key);
    if (podEntry && parse(key, podEntry)) continue;
    if (fromPreset) {
      (settings as Record<string, unknown>)[key] = fromPreset;
      if (nsEntry && nsEntry.raw !== fromPreset.raw && !podEntry) {
        warnings.push({
          code: 'PRESET_OVERRIDE',
          field: nsEntry.field,
          value: shownValue(key, nsEntry.raw),
          message: `${quote(shownValue(key, nsEntry.raw))} is replaced by preset ${presetName}'s ${quote(fromPreset.raw)}; set ${prefix}${key} on the pod to choose`,
        });
      }
      continue;
    }
    if (nsEntry && parse(key, nsEntry)) continue;
    const fallback = policy.defaults.get(key);
    if (fallback) (settings as Record<string, unknown>)[key] = fallback;
  }
  for (const key of DEFAULTED_KEYS) {
    // The defaults layer has every defaulted key (policy/compile.ts parses the whole table), so this never fires.
    if (settings[key] === undefined) throw new Error(`no value for ${key}: the policy's defaults layer is incomplete`);
  }
  return { settings: settings as Settings, errors, warnings };
}
