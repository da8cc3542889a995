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
import type { EnginePolicy, ParsedLayer, Setting } from './context.ts';
import { isRepositoryKey, nameSuffix, qualifier, REPOSITORY_KEYS, repositoryNameProblem, splitQualified, tooMany } from './repositories.ts';

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
const REPOSITORY_SUGGESTIBLE = [...REPOSITORY_KEYS, ...Object.keys(SYNONYMS).filter((k) => isRepositoryKey(SYNONYMS[k]!))];
const DEFAULTED_KEYS = ANNOTATION_KEYS.filter((k): k is DefaultedKey => 'default' in ANNOTATIONS[k]);

const WRITTEN_KEYS = new Set<string>(Object.values(WRITTEN_ANNOTATIONS));
/**
 * Unknown annotations named one by one, per object; the rest are counted in
 * one more warning. A typo is among the first few, and a pod with thousands
 * of them must not cost a suggestion each (nor thousands of warnings).
 */
export const MAX_UNKNOWN_REPORTED = 10;

function unknownAnnotation(prefix: string, key: string, field: string): Problem {
  const qualified = splitQualified(key);
  let hint: string;
  if (qualified && isAnnotationKey(qualified.key) && !isRepositoryKey(qualified.key)) {
    hint = `${qualified.key} is one setting for the whole pod, not per repository; use ${prefix}${qualified.key}`;
  } else {
    const word = (qualified?.key ?? key).toLowerCase();
    const near = closest(word, qualified ? REPOSITORY_SUGGESTIBLE : SUGGESTIBLE);
    hint = near === undefined ? 'see the annotation table in the README' : `did you mean ${prefix}${qualifier(qualified?.name)}${SYNONYMS[near] ?? near}?`;
  }
  return { code: 'UNKNOWN_ANNOTATION', field, value: key, message: `is not an annotation the injector knows and is ignored; ${hint}` };
}

/**
 * One annotation as written. `shown` (the value as problems show it:
 * shownValue, never a credential) is worked out only when a problem needs it:
 * for a repository it parses the URL again. A class, so that the getter is
 * one function on the prototype rather than a closure per annotation.
 */
class RawEntry {
  readonly key: AnnotationKey;
  readonly raw: string;
  readonly field: string;
  readonly source: 'namespace' | 'pod';

  constructor(key: AnnotationKey, raw: string, field: string, source: 'namespace' | 'pod') {
    this.key = key;
    this.raw = raw;
    this.field = field;
    this.source = source;
  }

  get shown(): string {
    return shownValue(this.key, this.raw);
  }
}

type Entries = Map<AnnotationKey, RawEntry>;

/** One object's annotations: the main repository's (and the pod-wide ones), and each named repository's. */
interface ReadAnnotations {
  main: Entries;
  named: Map<string, Entries>;
}

/** Reads the prefixed annotations of one object; unknown keys become warnings, bad repository names errors. */
function readAnnotations(
  annotations: Record<string, string> | undefined,
  prefix: string,
  source: RawEntry['source'],
  label: string,
  problems: { errors: Problem[]; warnings: Problem[] },
): ReadAnnotations {
  const read: ReadAnnotations = { main: new Map(), named: new Map() };
  if (!annotations) return read;
  let unknown = 0;
  for (const fullKey in annotations) {
    if (!Object.hasOwn(annotations, fullKey) || !fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    const field = label === '' ? fullKey : `${fullKey}${label}`;
    if (isAnnotationKey(key)) {
      read.main.set(key, new RawEntry(key, String(annotations[fullKey]).trim(), field, source));
      continue;
    }
    const qualified = splitQualified(key);
    if (qualified && isRepositoryKey(qualified.key)) {
      const bad = repositoryNameProblem(qualified.name);
      if (bad) problems.errors.push({ code: 'REPOSITORY_NAME_INVALID', field, value: qualified.name, message: bad });
      else {
        let entries = read.named.get(qualified.name);
        if (!entries) read.named.set(qualified.name, (entries = new Map()));
        entries.set(qualified.key, new RawEntry(qualified.key, String(annotations[fullKey]).trim(), field, source));
      }
      continue;
    }
    // The injector's own annotations, for the pod and per repository: plan.ts refuses them on pods.
    if (WRITTEN_KEYS.has(qualified?.key ?? key)) continue;
    if (++unknown <= MAX_UNKNOWN_REPORTED) problems.warnings.push(unknownAnnotation(prefix, key, field));
  }
  if (unknown > MAX_UNKNOWN_REPORTED) {
    const more = unknown - MAX_UNKNOWN_REPORTED;
    problems.warnings.push({
      code: 'UNKNOWN_ANNOTATION',
      field: `${prefix}*${label}`,
      value: String(more),
      message: `${more} more annotation${more === 1 ? '' : 's'} with this prefix ${more === 1 ? 'is' : 'are'} not known to the injector and ignored (${unknown} in all; the first ${MAX_UNKNOWN_REPORTED} are named above)`,
    });
  }
  return read;
}

/** The settings of one named repository. */
export interface NamedSettings {
  name: string;
  settings: Settings;
}

export interface Resolution {
  /** The main repository's settings, and the pod-wide ones. */
  settings: Settings;
  /** Named repositories, by name; at most the policy's cap less the main one. */
  repositories: NamedSettings[];
  errors: Problem[];
  warnings: Problem[];
}

export interface ResolveInput {
  podAnnotations: Record<string, string> | undefined;
  namespace: string;
  namespaceAnnotations: Record<string, string> | undefined;
}

/** One repository's layers, highest last: what the namespace, the preset and the pod wrote for it. */
interface Layers {
  /** '' for the main repository, `plugins.` for a named one. */
  qualifier: string;
  pod: Entries;
  ns: Entries;
  preset: ParsedLayer | undefined;
  presetName: string | undefined;
}

export function resolveSettings(input: ResolveInput, policy: EnginePolicy): Resolution {
  const errors: Problem[] = [];
  const warnings: Problem[] = [];
  const prefix = policy.prefix;
  const pod = readAnnotations(input.podAnnotations, prefix, 'pod', '', { errors, warnings });
  const ns = readAnnotations(input.namespaceAnnotations, prefix, 'namespace', ` (namespace ${input.namespace})`, { errors, warnings });

  /** Parses an entry into `target`; false (with the error recorded) when the value is bad. */
  const parse = <K extends AnnotationKey>(target: PartialSettings, key: K, entry: RawEntry): boolean => {
    const parsed = parseValue(key, entry.raw);
    if (!parsed.ok) {
      errors.push({ code: parsed.code, field: entry.field, value: entry.shown, message: parsed.message });
      return false;
    }
    if (parsed.note) warnings.push({ ...parsed.note, field: entry.field, value: entry.shown });
    (target as Record<K, Setting<AnnotationValues[K]>>)[key] = { value: parsed.value, raw: entry.raw, field: entry.field, source: entry.source };
    return true;
  };

  /** For an enforced annotation: the policy's value, and a problem for each layer that tries another. */
  const enforce = (target: PartialSettings, key: AnnotationKey, layers: Pick<Layers, 'pod' | 'ns'>): void => {
    const level = policy.enforced.get(key)!;
    const value = policy.defaults.get(key);
    if (value) (target as Record<string, unknown>)[key] = value;
    for (const entry of [layers.pod.get(key), layers.ns.get(key)]) {
      if (!entry) continue;
      const parsed = parseValue(key, entry.raw);
      if (parsed.ok && value && JSON.stringify(parsed.value) === JSON.stringify(value.value)) continue;
      const policyText = value ? `the policy enforces ${key} ${quote(value.raw)}` : `the policy keeps ${key} unset`;
      if (level === 'strict') {
        errors.push({ code: 'SETTING_ENFORCED', field: entry.field, value: entry.shown, message: `${quote(entry.shown)} is not allowed: ${policyText}; remove this annotation` });
      } else {
        warnings.push({ code: 'ENFORCED_VALUE_USED', field: entry.field, value: entry.shown, message: `${quote(entry.shown)} is ignored: ${policyText}` });
      }
    }
  };

  /**
   * Each annotation from the highest layer that has a usable value. A bad
   * value is reported and the next layer's value used, so that one mistake
   * does not hide the others: every problem is reported at once. A named
   * repository's `distinct` keys come only from its own annotations: the
   * policy's value is the main repository's, and two repositories cannot
   * share a mount path or an env variable.
   */
  const resolveKey = (target: PartialSettings, key: AnnotationKey, layers: Layers): void => {
    const distinct = layers.qualifier !== '' && ANNOTATIONS[key].scope === 'distinct';
    if (policy.enforced.has(key) && !distinct) {
      enforce(target, key, layers);
      return;
    }
    const podEntry = layers.pod.get(key);
    const nsEntry = layers.ns.get(key);
    const fromPreset = layers.preset?.get(key);
    if (podEntry && parse(target, key, podEntry)) return;
    if (fromPreset) {
      (target as Record<string, unknown>)[key] = fromPreset;
      if (nsEntry && nsEntry.raw !== fromPreset.raw && !podEntry) {
        warnings.push({
          code: 'PRESET_OVERRIDE',
          field: nsEntry.field,
          value: nsEntry.shown,
          message: `${quote(nsEntry.shown)} is replaced by preset ${layers.presetName}'s ${quote(fromPreset.raw)}; set ${prefix}${layers.qualifier}${key} on the pod to choose`,
        });
      }
      return;
    }
    if (nsEntry && parse(target, key, nsEntry)) return;
    const fallback = distinct ? undefined : policy.defaults.get(key);
    if (fallback) (target as Record<string, unknown>)[key] = fallback;
  };

  // The preset first: it decides a layer. Chosen by the pod, else the namespace, else the policy.
  const mainLayers = { pod: pod.main, ns: ns.main };
  const chosen: PartialSettings = {};
  const presetEntry = pod.main.get('preset') ?? ns.main.get('preset');
  if (policy.enforced.has('preset')) enforce(chosen, 'preset', mainLayers);
  else if (presetEntry) parse(chosen, 'preset', presetEntry);
  else if (policy.defaults.has('preset')) chosen.preset = policy.defaults.get('preset') as PartialSettings['preset'];
  const presetName = chosen.preset?.value;
  const preset = presetName === undefined ? undefined : policy.presets.get(presetName);
  if (presetName !== undefined && !preset) {
    const known = [...policy.presets.keys()];
    errors.push({
      code: 'PRESET_UNKNOWN',
      field: chosen.preset!.field,
      value: presetName,
      message: `${quote(presetName)} is not a preset of the policy; use one of ${known.length ? known.join(', ') : '(none defined)'}`,
    });
  }

  // What no annotation changes comes from the base; only the keys the pod or namespace write are resolved here.
  const settings: PartialSettings = { ...baseSettings(policy, preset, false) };
  if (chosen.preset) settings.preset = chosen.preset;
  const mainRepository: Layers = { qualifier: '', ...mainLayers, preset, presetName };
  for (const key of written(pod.main, ns.main)) if (key !== 'preset') resolveKey(settings, key, mainRepository);

  // Named repositories: those the pod or its namespace gives a repo, and those the pod writes anything for (REPO_REQUIRED then).
  const names = [...new Set([...pod.named.keys(), ...[...ns.named].filter(([, e]) => e.has('repo')).map(([n]) => n)])].sort();
  const room = Math.max(0, policy.maxRepositories - 1);
  if (names.length > room) {
    const first = names[room]!;
    const entry = pod.named.get(first)?.get('repo') ?? ns.named.get(first)?.get('repo') ?? [...pod.named.get(first)!.values()][0]!;
    errors.push(tooMany(entry.field, names.length + 1, policy.maxRepositories));
  }
  const repositories = names.slice(0, room).map((name): NamedSettings => {
    const layers: Layers = {
      qualifier: qualifier(name),
      pod: pod.named.get(name) ?? new Map(),
      ns: ns.named.get(name) ?? new Map(),
      preset: presetName === undefined ? undefined : policy.presetRepositories.get(presetName)?.get(name),
      presetName,
    };
    const target: PartialSettings = { ...baseSettings(policy, layers.preset, true) };
    for (const key of written(layers.pod, layers.ns)) if (isRepositoryKey(key)) resolveKey(target, key, layers);
    // Next to the main repository's mount, unless the repository (or its preset) names its own.
    if (!target['mount-path']) {
      const raw = `${(settings as Settings)['mount-path'].value}${nameSuffix(name)}`;
      const field = `${prefix}${layers.qualifier}mount-path (default)`;
      const parsed = parseValue('mount-path', raw);
      if (parsed.ok) target['mount-path'] = { value: parsed.value, raw, field, source: 'default' };
      else {
        errors.push({ code: parsed.code, field, value: raw, message: `${parsed.message}; set ${prefix}${layers.qualifier}mount-path` });
        target['mount-path'] = (settings as Settings)['mount-path'];
      }
    }
    // Pod-wide settings are the pod's: the same objects for every repository.
    for (const key of POD_KEYS) (target as Record<string, unknown>)[key] = settings[key];
    return { name, settings: target as Settings };
  });
  return { settings: settings as Settings, repositories, errors, warnings };
}

/** Each key's place in the annotation table: problems are reported in table order, whatever order the annotations were written in. */
const TABLE_ORDER = new Map(ANNOTATION_KEYS.map((k, i) => [k, i]));
const POD_KEYS = ANNOTATION_KEYS.filter((k) => ANNOTATIONS[k].scope === 'pod');

/** The keys a repository's pod or namespace layer writes, in table order. */
function written(pod: Entries, ns: Entries): AnnotationKey[] {
  const keys = [...pod.keys()];
  for (const key of ns.keys()) if (!pod.has(key)) keys.push(key);
  return keys.sort((a, b) => TABLE_ORDER.get(a)! - TABLE_ORDER.get(b)!);
}

/**
 * A repository's settings before its pod and namespace say anything: for
 * each key, the policy's value if it enforces one, else the preset's, else
 * the policy default (a named repository's `distinct` keys have none). This
 * depends only on the policy and the preset, so it is worked out once per
 * compiled policy (a new policy is a new object, hence a new entry) and
 * frozen; each pod starts from a copy and resolves only the keys it writes,
 * so resolution costs what the pod writes, not the size of the table.
 */
const bases = new WeakMap<EnginePolicy, Map<ParsedLayer | undefined, PartialSettings>[]>();
function baseSettings(policy: EnginePolicy, preset: ParsedLayer | undefined, named: boolean): Readonly<PartialSettings> {
  let perPolicy = bases.get(policy);
  if (!perPolicy) bases.set(policy, (perPolicy = [new Map(), new Map()]));
  const cache = perPolicy[named ? 1 : 0]!;
  let base = cache.get(preset);
  if (!base) {
    base = {};
    for (const key of named ? REPOSITORY_KEYS : ANNOTATION_KEYS) {
      if (key === 'preset') continue;
      const distinct = named && ANNOTATIONS[key].scope === 'distinct';
      const value = policy.enforced.has(key) && !distinct ? policy.defaults.get(key) : (preset?.get(key) ?? (distinct ? undefined : policy.defaults.get(key)));
      if (value) (base as Record<string, unknown>)[key] = value;
    }
    if (!named) checkComplete(base);
    cache.set(preset, Object.freeze(base));
  }
  return base;
}

function checkComplete(settings: PartialSettings): void {
  for (const key of DEFAULTED_KEYS) {
    // The defaults layer has every defaulted key (policy/compile.ts parses the whole table), so this never fires.
    if (settings[key] === undefined) throw new Error(`no value for ${key}: the policy's defaults layer is incomplete`);
  }
}
