/**
 * Compiling a policy: the document becomes the engine's `EnginePolicy`
 * (engine/context.ts). Everything the engine would otherwise recompute on
 * each admission (parsed defaults and presets, the minimum period, the
 * excluded namespaces, the known_hosts file, the repository patterns, the
 * enforced settings, the dialect) is worked out once, when a policy is
 * loaded. A policy that does not compile is reported with every problem and
 * never reaches the engine.
 */
import { createHash } from 'node:crypto';
import {
  ANNOTATIONS,
  ANNOTATION_KEYS,
  DIALECTS,
  isAnnotationKey,
  isRepositoryKey,
  parseDuration,
  repositoryNameProblem,
  splitQualified,
  parseValue,
  shownValue,
  type AnnotationKey,
  type EnginePolicy,
  type Setting,
} from '../engine/index.ts';
import type { PolicyProblem } from './problems.ts';
import { checkPodBounds, podMaxima } from './bounds.ts';
import { parseRepoPattern } from './formats.ts';
import { checkDialect, checkKnobDefaults, checkLimits, checkNamedChoices, checkNetworkDialect, checkSecurityContext, compileEnforced } from './semantics.ts';
import { checkNetworks } from './networks.ts';
import { INVALID } from './field-types.ts';
import type { Policy } from './types.ts';

/** A layer while it is being compiled; the engine gets it read-only. */
type ParsedLayer = Map<AnnotationKey, Setting<unknown>>;

/** A policy that validated and compiled: the document people read, and what the engine reads. */
export interface CompiledPolicy {
  /** The document with every default filled in: what GET /policy and the policy command show. */
  document: Policy;
  /** What the engine is given (EngineContext.policy), hash included. */
  engine: EnginePolicy;
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
  problems: PolicyProblem[],
  /** Where a preset's named repositories' values go (`plugins.env`); undefined: the layer cannot name repositories. */
  named?: Map<string, ParsedLayer>,
): ParsedLayer {
  const layer: ParsedLayer = new Map();
  for (const [key, raw] of Object.entries(values)) {
    if (raw === undefined) continue;
    const field = `${path}.${key}`;
    const qualified = splitQualified(key);
    if (qualified && isRepositoryKey(qualified.key)) {
      const bad = repositoryNameProblem(qualified.name);
      if (!named) problems.push({ code: 'VALUE_NOT_ALLOWED', field, value: key, message: 'names a repository, which only presets, namespaces and pods can do; remove it or move it into a preset' });
      else if (bad) problems.push({ code: 'VALUE_NOT_ALLOWED', field, value: qualified.name, message: bad });
      else {
        let repository = named.get(qualified.name);
        if (!repository) named.set(qualified.name, (repository = new Map()));
        const parsed = parseValue(qualified.key, String(raw));
        if (!parsed.ok) problems.push({ code: parsed.code, field, value: shownValue(qualified.key, String(raw)), message: parsed.message });
        else repository.set(qualified.key, { value: parsed.value, raw: String(raw), field: label(key), source });
      }
      continue;
    }
    if (!isAnnotationKey(key)) {
      problems.push({ code: 'UNKNOWN_ANNOTATION', field, value: key, message: 'is not an annotation the injector knows' });
      continue;
    }
    const parsed = parseValue(key, String(raw));
    if (!parsed.ok) problems.push({ code: parsed.code, field, value: shownValue(key, String(raw)), message: parsed.message });
    else layer.set(key, { value: parsed.value, raw: String(raw), field: label(key), source });
  }
  return layer;
}

export type CompileResult = { ok: true; compiled: CompiledPolicy } | { ok: false; problems: PolicyProblem[] };

export function compilePolicy(policy: Policy): CompileResult {
  const problems: PolicyProblem[] = [];
  const tableDefaults: Record<string, string | undefined> = {};
  for (const key of ANNOTATION_KEYS) {
    const row = ANNOTATIONS[key];
    tableDefaults[key] = 'default' in row ? row.default : undefined;
  }
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
  const presetRepositories = new Map<string, Map<string, ParsedLayer>>();
  for (const [name, values] of Object.entries(policy.presets)) {
    const named = new Map<string, ParsedLayer>();
    const layer = parseLayer(values, `presets.${name}`, (k) => `${prefix}${k} (preset ${name})`, 'preset', problems, named);
    if (layer.has('preset')) {
      problems.push({ code: 'VALUE_NOT_ALLOWED', field: `presets.${name}.preset`, message: 'a preset cannot select another preset' });
    }
    presets.set(name, layer);
    if (named.size > 0) presetRepositories.set(name, named);
  }
  // The checks of presets below see each named repository's values as a layer of its own, at presets.<preset>.<name>.
  const checked = new Map<string, ParsedLayer>(presets);
  for (const [name, named] of presetRepositories) for (const [repo, layer] of named) checked.set(`${name}.${repo}`, layer);
  const minPeriod = parseDuration(policy.limits.minPeriod);
  if (!minPeriod.ok) problems.push({ code: minPeriod.code, field: 'limits.minPeriod', value: policy.limits.minPeriod, message: minPeriod.message });
  const allowedRepos = policy.allowedRepos.flatMap((raw, i) => {
    const pattern = parseRepoPattern(raw);
    if (!pattern.ok) problems.push({ code: pattern.code, field: `allowedRepos[${i}]`, value: raw, message: pattern.message });
    return pattern.ok ? [pattern.value] : [];
  });
  const enforced = compileEnforced(policy.enforced, problems);
  const maxSyncTimeout = parseDuration(policy.limits.maxSyncTimeout);
  if (!maxSyncTimeout.ok) problems.push({ code: maxSyncTimeout.code, field: 'limits.maxSyncTimeout', value: policy.limits.maxSyncTimeout, message: maxSyncTimeout.message });
  const compiledNetworks = checkNetworks(policy.networks, 'networks', problems);
  const networks = compiledNetworks === INVALID ? new Map() : compiledNetworks;
  const tokenUsers = new Map(Object.entries(policy.tokenUsers));
  checkNamedChoices(defaults, checked, { network: networks, 'token-user': tokenUsers }, problems);
  checkLimits(policy, defaults, checked, problems);
  checkSecurityContext(policy.securityContext, problems);
  checkPodBounds(policy, defaults, checked, problems);
  if (maxSyncTimeout.ok) checkKnobDefaults({ maxSyncTimeout: { ms: maxSyncTimeout.value, text: policy.limits.maxSyncTimeout }, maxFailures: policy.limits.maxFailures }, defaults, checked, problems);
  const dialect = DIALECTS[policy.dialect];
  if (dialect) {
    checkDialect(dialect, defaults, checked, problems);
    checkNetworkDialect(dialect, networks, problems);
  } else {
    const message = `${JSON.stringify(policy.dialect)} is not allowed; use one of ${Object.keys(DIALECTS).join(', ')}`;
    problems.push({ code: 'VALUE_NOT_ALLOWED', field: 'dialect', value: String(policy.dialect), message });
  }
  if (problems.length > 0 || !dialect) return { ok: false, problems };

  const { maxResources, maxRootSizeLimit } = podMaxima(policy);
  const knownHosts = policy.knownHosts.map((l) => l.trim()).filter((l) => l !== '');
  const { gitSync, securityContext } = policy;
  const engine: EnginePolicy = {
    prefix,
    defaults,
    presets,
    presetRepositories,
    maxRepositories: policy.limits.maxRepositories,
    minPeriod: { ms: minPeriod.ok ? minPeriod.value : 0, text: policy.limits.minPeriod },
    maxDepth: policy.limits.maxDepth,
    allowedModes: [...policy.limits.allowedModes],
    allowedFilters: [...policy.allowedFilters],
    maxResources,
    maxRootSizeLimit,
    allowedRepos,
    enforced,
    dialect,
    excludedNamespaces: new Set(['kube-system', ...policy.excludedNamespaces]),
    knownHostsData: knownHosts.length ? `${knownHosts.join('\n')}\n` : '',
    allowInsecureHostKeys: policy.allowInsecureHostKeys,
    networks,
    tokenUsers,
    githubBaseUrl: policy.githubBaseUrl,
    knobs: {
      maxSyncTimeout: { ms: maxSyncTimeout.ok ? maxSyncTimeout.value : 0, text: policy.limits.maxSyncTimeout },
      maxFailures: policy.limits.maxFailures,
      webhookHosts: new Set(policy.limits.webhookHosts),
    },
    nativeSidecars: policy.nativeSidecars,
    onInvalidAnnotations: policy.onInvalidAnnotations,
    gitSync: {
      image: policy.image,
      imagePullPolicy: policy.imagePullPolicy,
      root: gitSync.root,
      link: gitSync.link,
      httpPort: gitSync.httpPort,
      maxFailures: gitSync.maxFailures,
      user: gitSync.user,
      group: gitSync.group,
      resources: policy.resources,
      rootSizeLimit: gitSync.rootSizeLimit,
      readOnlyRootFilesystem: securityContext.readOnlyRootFilesystem,
      seccompProfile: securityContext.seccompProfile,
    },
    hash: createHash('sha256').update(JSON.stringify(policy)).digest('hex').slice(0, 12),
  };
  return { ok: true, compiled: { document: policy, engine } };
}

/** Compiles a policy that is known to be valid (the built-in one, test fixtures); throws otherwise. */
export function mustCompile(policy: Policy): CompiledPolicy {
  const result = compilePolicy(policy);
  if (!result.ok) throw new Error(`invalid policy:\n${result.problems.map((p) => `${p.field}: ${p.message}`).join('\n')}`);
  return result.compiled;
}
