/**
 * Compiling a policy: everything the engine would otherwise recompute on each
 * admission (parsed defaults and presets, the minimum period, the excluded
 * namespaces, the known_hosts file) is worked out once, when a policy is
 * loaded. A policy that does not compile is reported with every problem and
 * never reaches the engine.
 */
import { createHash } from 'node:crypto';
import { ANNOTATIONS, ANNOTATION_KEYS, isAnnotationKey, type AnnotationKey } from '../engine/annotations.ts';
import type { Problem } from '../engine/problems.ts';
import { parseValue } from '../engine/settings.ts';
import { parseDuration } from '../engine/values/duration.ts';
import type { Policy } from './types.ts';

export interface Setting<T> {
  value: T;
  /** The value as written. */
  raw: string;
  /** Where it was written, for messages: an annotation key or a policy path. */
  field: string;
  source: 'default' | 'policy' | 'namespace' | 'preset' | 'pod';
}

export type ParsedLayer = Map<AnnotationKey, Setting<unknown>>;

export interface CompiledPolicy {
  policy: Policy;
  prefix: string;
  /** Table defaults overlaid with the policy's defaults, parsed. */
  defaults: ParsedLayer;
  presets: Map<string, ParsedLayer>;
  minPeriodMs: number;
  excludedNamespaces: ReadonlySet<string>;
  /** The known_hosts file content for `known-hosts: policy`, or '' if the policy lists none. */
  knownHostsData: string;
  /** Short hash of the policy, recorded in each injected pod's status. */
  hash: string;
}

/**
 * Parses annotation values written in the policy. Problems name the policy path
 * (`defaults.period`); the settings name the annotation and where its value
 * came from (`gitsync.dev/period (preset airflow)`), which is what pod authors
 * read in messages.
 */
function parseLayer(
  values: Record<string, string | undefined>,
  path: string,
  label: (key: string) => string,
  source: Setting<unknown>['source'],
  problems: Problem[],
): ParsedLayer {
  const layer: ParsedLayer = new Map();
  for (const [key, raw] of Object.entries(values)) {
    if (raw === undefined) continue;
    const field = `${path}.${key}`;
    if (!isAnnotationKey(key)) {
      problems.push({ code: 'UNKNOWN_ANNOTATION', field, value: key, message: 'is not an annotation the injector knows' });
      continue;
    }
    const parsed = parseValue(key, String(raw));
    if (!parsed.ok) problems.push({ code: parsed.code, field, value: String(raw), message: parsed.message });
    else layer.set(key, { value: parsed.value, raw: String(raw), field: label(key), source });
  }
  return layer;
}

export type CompileResult = { ok: true; compiled: CompiledPolicy } | { ok: false; problems: Problem[] };

export function compilePolicy(policy: Policy): CompileResult {
  const problems: Problem[] = [];
  const tableDefaults: Record<string, string | undefined> = {};
  for (const key of ANNOTATION_KEYS) tableDefaults[key] = ANNOTATIONS[key].default;
  const prefix = policy.annotationPrefix;
  const defaults = parseLayer(tableDefaults, 'annotation table', (k) => `${prefix}${k} (default)`, 'default', problems);
  for (const [key, s] of parseLayer(policy.defaults, 'defaults', (k) => `${prefix}${k} (policy default)`, 'policy', problems)) {
    defaults.set(key, s);
  }
  for (const key of ['repo', 'inject'] as const) {
    if (defaults.has(key)) {
      problems.push({ code: 'VALUE_NOT_ALLOWED', field: `defaults.${key}`, message: `cannot be a cluster-wide default; set it on pods or namespaces` });
    }
  }
  const presets = new Map<string, ParsedLayer>();
  for (const [name, values] of Object.entries(policy.presets)) {
    const layer = parseLayer(values, `presets.${name}`, (k) => `${prefix}${k} (preset ${name})`, 'preset', problems);
    if (layer.has('preset')) {
      problems.push({ code: 'VALUE_NOT_ALLOWED', field: `presets.${name}.preset`, message: 'a preset cannot select another preset' });
    }
    presets.set(name, layer);
  }
  const minPeriod = parseDuration(policy.limits.minPeriod);
  if (!minPeriod.ok) problems.push({ code: minPeriod.code, field: 'limits.minPeriod', value: policy.limits.minPeriod, message: minPeriod.message });
  if (problems.length > 0) return { ok: false, problems };

  const knownHosts = policy.knownHosts.map((l) => l.trim()).filter((l) => l !== '');
  return {
    ok: true,
    compiled: {
      policy,
      prefix,
      defaults,
      presets,
      minPeriodMs: minPeriod.ok ? minPeriod.value : 0,
      excludedNamespaces: new Set(['kube-system', ...policy.excludedNamespaces]),
      knownHostsData: knownHosts.length ? `${knownHosts.join('\n')}\n` : '',
      hash: createHash('sha256').update(JSON.stringify(policy)).digest('hex').slice(0, 12),
    },
  };
}

/** Compiles a policy that is known to be valid (the built-in one, test fixtures); throws otherwise. */
export function mustCompile(policy: Policy): CompiledPolicy {
  const result = compilePolicy(policy);
  if (!result.ok) throw new Error(`invalid policy:\n${result.problems.map((p) => `${p.field}: ${p.message}`).join('\n')}`);
  return result.compiled;
}
