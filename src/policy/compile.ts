/**
 * Compiling a policy: everything the engine would otherwise recompute on each
 * admission (parsed defaults and presets, the minimum period, the excluded
 * namespaces, the known_hosts file, the repository patterns, the enforced
 * settings, the dialect) is worked out once, when a policy is loaded. A
 * policy that does not compile is reported with every problem and never
 * reaches the engine.
 */
import { createHash } from 'node:crypto';
import { ANNOTATIONS, ANNOTATION_KEYS, isAnnotationKey, type AnnotationKey } from '../engine/annotations.ts';
import { DIALECTS, type Dialect } from '../engine/dialect.ts';
import type { Mode } from '../engine/mode.ts';
import type { Problem } from '../engine/problems.ts';
import { parseValue } from '../engine/settings.ts';
import { parseDuration } from '../engine/values/duration.ts';
import { parseRepoPattern, type RepoPattern } from './repo-patterns.ts';
import { checkDialect, checkLimits, checkSecurityContext, compileEnforced } from './semantics.ts';
import type { Enforcement, Policy } from './types.ts';

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
  /** Clone depths above this (and 0) are refused; undefined: no maximum. */
  maxDepth: number | undefined;
  /** The modes pods may use; `auto` picks among them. */
  allowedModes: readonly Mode[];
  /** Repository patterns; empty allows every repository. */
  allowedRepos: readonly RepoPattern[];
  /** Annotations pods and namespaces may not override, and what happens when they try. */
  enforced: ReadonlyMap<AnnotationKey, Enforcement>;
  /** How the git-sync containers are configured. */
  dialect: Dialect;
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
  const allowedRepos = policy.allowedRepos.flatMap((raw, i) => {
    const pattern = parseRepoPattern(raw);
    if (!pattern.ok) problems.push({ code: pattern.code, field: `allowedRepos[${i}]`, value: raw, message: pattern.message });
    return pattern.ok ? [pattern.value] : [];
  });
  const enforced = compileEnforced(policy.enforced, problems);
  checkLimits(policy, defaults, presets, problems);
  checkSecurityContext(policy.securityContext, problems);
  const dialect = DIALECTS[policy.dialect];
  if (dialect) checkDialect(dialect, defaults, presets, problems);
  else {
    const message = `${JSON.stringify(policy.dialect)} is not allowed; use one of ${Object.keys(DIALECTS).join(', ')}`;
    problems.push({ code: 'VALUE_NOT_ALLOWED', field: 'dialect', value: String(policy.dialect), message });
  }
  if (problems.length > 0 || !dialect) return { ok: false, problems };

  const knownHosts = policy.knownHosts.map((l) => l.trim()).filter((l) => l !== '');
  return {
    ok: true,
    compiled: {
      policy,
      prefix,
      defaults,
      presets,
      minPeriodMs: minPeriod.ok ? minPeriod.value : 0,
      maxDepth: policy.limits.maxDepth,
      allowedModes: [...policy.limits.allowedModes],
      allowedRepos,
      enforced,
      dialect,
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
