/**
 * Checks that need more than one field of the policy: the defaults and
 * presets against the limits and the dialect, the enforced settings, and the
 * security context. Each one catches, when the policy is loaded, a
 * contradiction that would otherwise refuse every pod it touches (or quietly
 * weaken the injected containers). Messages complete "<field>: …".
 */
import {
  depthAbove,
  depthMessage,
  isAnnotationKey,
  maxFailuresAboveMaximum,
  modeNotAllowedMessage,
  quote,
  syncTimeoutAboveMaximum,
  type AnnotationKey,
  type Dialect,
  type Enforcement,
  type Mode,
  type NetworkProfile,
  type ParsedLayer,
} from '../engine/index.ts';
import type { PolicyProblem, PolicyProblemCode } from './problems.ts';
import type { Policy, SecurityContextPolicy } from './types.ts';

export const CONCRETE_MODES = ['sidecar', 'native', 'init-only'] as const satisfies readonly Mode[];
const ENFORCEMENTS = ['warn', 'strict'] as const satisfies readonly Enforcement[];

/** Annotations that no policy can enforce, and why; messages complete "enforced.<key>: …". */
const NOT_ENFORCEABLE: Partial<Record<AnnotationKey, string>> = {
  repo: 'cannot be enforced; the policy limits repositories with allowedRepos',
  inject: "cannot be enforced; opting in and out is the pod's and the namespace's choice",
};

/** Why an annotation key cannot be enforced, or undefined when it can. */
export function enforceableProblem(key: string): string | undefined {
  if (!isAnnotationKey(key)) return 'is not an annotation the injector knows';
  return NOT_ENFORCEABLE[key];
}

/** The enforced settings by annotation; problems for keys and levels that are not allowed. */
export function compileEnforced(enforced: Policy['enforced'], problems: PolicyProblem[]): Map<AnnotationKey, Enforcement> {
  const out = new Map<AnnotationKey, Enforcement>();
  for (const [key, level] of Object.entries(enforced)) {
    const field = `enforced.${key}`;
    const why = enforceableProblem(key);
    if (why !== undefined) {
      problems.push({ code: isAnnotationKey(key) ? 'VALUE_NOT_ALLOWED' : 'UNKNOWN_ANNOTATION', field, value: key, message: why });
    } else if (!(ENFORCEMENTS as readonly unknown[]).includes(level)) {
      problems.push({ code: 'VALUE_NOT_ALLOWED', field, value: String(level), message: `${quote(String(level))} is not allowed; use one of ${ENFORCEMENTS.join(', ')}` });
    } else {
      out.set(key as AnnotationKey, level as Enforcement);
    }
  }
  return out;
}

/** Every layer the policy writes itself, with the path its values are written at. */
function policyLayers(defaults: ParsedLayer, presets: ReadonlyMap<string, ParsedLayer>): { path: string; layer: ParsedLayer }[] {
  const own: ParsedLayer = new Map([...defaults].filter(([, s]) => s.source === 'policy'));
  return [{ path: 'defaults', layer: own }, ...[...presets].map(([name, layer]) => ({ path: `presets.${name}`, layer }))];
}

/**
 * The limits, and the policy's own defaults and presets within them: a
 * default depth above the maximum, or a preset's mode that is not allowed,
 * would refuse every pod that uses it.
 */
export function checkLimits(policy: Policy, defaults: ParsedLayer, presets: ReadonlyMap<string, ParsedLayer>, problems: PolicyProblem[]): void {
  const { maxDepth, allowedModes } = policy.limits;
  if (maxDepth !== undefined && !(Number.isInteger(maxDepth) && maxDepth >= 1)) {
    const message = `${maxDepth} is not a whole number of at least 1`;
    problems.push({ code: 'INTEGER_INVALID', field: 'limits.maxDepth', value: String(maxDepth), message });
  }
  const modes = CONCRETE_MODES.join(', ');
  for (const m of allowedModes.filter((m) => !(CONCRETE_MODES as readonly string[]).includes(m))) {
    problems.push({ code: 'VALUE_NOT_ALLOWED', field: 'limits.allowedModes', value: String(m), message: `${quote(String(m))} is not allowed; use one of ${modes}` });
  }
  if (allowedModes.length === 0) {
    problems.push({ code: 'VALUE_NOT_ALLOWED', field: 'limits.allowedModes', message: `lists no mode; list at least one of ${modes}` });
  } else if (allowedModes.every((m) => m === 'native') && policy.nativeSidecars === 'disabled') {
    problems.push({
      code: 'VALUE_NOT_ALLOWED',
      field: 'limits.allowedModes',
      message: 'allows only native, which nativeSidecars: disabled rules out, so no pod could be injected; allow sidecar or init-only too, or enable native sidecars',
    });
  }
  for (const { path, layer } of policyLayers(defaults, presets)) {
    const depth = layer.get('depth');
    if (depth && maxDepth !== undefined && depthAbove(depth.value as number, maxDepth)) {
      problems.push({ code: 'DEPTH_ABOVE_MAXIMUM', field: `${path}.depth`, value: depth.raw, message: depthMessage(depth.raw, depth.value as number, maxDepth) });
    }
    const mode = layer.get('mode');
    if (mode && mode.value !== 'auto' && !allowedModes.includes(mode.value as Mode)) {
      problems.push({ code: 'MODE_NOT_ALLOWED', field: `${path}.mode`, value: mode.raw, message: modeNotAllowedMessage(mode.raw, allowedModes) });
    }
  }
}

/**
 * The operations knobs the policy gives pods itself (its defaults, presets,
 * and so what it enforces) against its own maxima: a default sync-timeout
 * above limits.maxSyncTimeout, or max-failures above limits.maxFailures,
 * would refuse every pod that takes it. The annotation table's built-in
 * sync-timeout (120s) is checked too, so a policy that lowers the maximum
 * below it must set defaults.sync-timeout.
 */
export function checkKnobDefaults(
  limits: { maxSyncTimeout: { ms: number; text: string }; maxFailures: number },
  defaults: ParsedLayer,
  presets: ReadonlyMap<string, ParsedLayer>,
  problems: PolicyProblem[],
): void {
  const layers = [{ path: 'defaults', layer: defaults }, ...[...presets].map(([name, layer]) => ({ path: `presets.${name}`, layer }))];
  for (const { path, layer } of layers) {
    const timeout = layer.get('sync-timeout');
    const timeoutAbove = timeout && syncTimeoutAboveMaximum(timeout.raw, timeout.value as number, limits.maxSyncTimeout);
    if (timeout && timeoutAbove) {
      const builtIn = timeout.source === 'default';
      problems.push({
        code: 'SYNC_TIMEOUT_ABOVE_MAXIMUM',
        field: builtIn ? 'limits.maxSyncTimeout' : `${path}.sync-timeout`,
        value: builtIn ? limits.maxSyncTimeout.text : timeout.raw,
        message: builtIn
          ? `${quote(limits.maxSyncTimeout.text)} is below ${quote(timeout.raw)}, the built-in default of sync-timeout, so every pod that sets none would be refused; set defaults.sync-timeout to at most ${quote(limits.maxSyncTimeout.text)}, or raise the maximum`
          : `${timeoutAbove}, so every pod that takes it would be refused (limits.maxSyncTimeout)`,
      });
    }
    const failures = layer.get('max-failures');
    const failuresAbove = failures && maxFailuresAboveMaximum(failures.raw, failures.value as number, limits.maxFailures);
    if (failures && failuresAbove) {
      problems.push({ code: 'MAX_FAILURES_ABOVE_MAXIMUM', field: `${path}.max-failures`, value: failures.raw, message: `${failuresAbove}, so every pod that takes it would be refused (limits.maxFailures)` });
    }
  }
}

/**
 * A network profile's extra env under dialect v3: its GITSYNC_* names are
 * git-sync v4's, which git-sync v3 ignores without a word, so the setting the
 * platform team meant would silently not happen.
 */
export function checkNetworkDialect(dialect: Dialect, networks: ReadonlyMap<string, NetworkProfile>, problems: PolicyProblem[]): void {
  if (dialect.name !== 'v3') return;
  for (const [name, profile] of networks) {
    for (const [variable] of profile.env) {
      if (!variable.startsWith('GITSYNC_')) continue;
      problems.push({
        code: 'DIALECT_UNSUPPORTED',
        field: `networks.${name}.env.${variable}`,
        value: variable,
        message: `${quote(variable)} is a git-sync v4 name, which git-sync v3 (the policy's dialect: v3) ignores without a word; remove it, or use dialect v4 with a git-sync v4 image`,
      });
    }
  }
}

/**
 * Annotations whose values name something the policy defines (a network
 * profile, a token user): a default or preset naming one that does not exist
 * would refuse every pod that uses it. The built-in `token-user` default
 * (github) is checked too, so a policy that replaces tokenUsers without it
 * must set defaults.token-user.
 */
export function checkNamedChoices(
  defaults: ParsedLayer,
  presets: ReadonlyMap<string, ParsedLayer>,
  choices: Partial<Record<AnnotationKey, ReadonlyMap<string, unknown>>>,
  problems: PolicyProblem[],
): void {
  const layers = [{ path: 'defaults', layer: defaults }, ...[...presets].map(([name, layer]) => ({ path: `presets.${name}`, layer }))];
  for (const [key, known] of Object.entries(choices) as [AnnotationKey, ReadonlyMap<string, unknown>][]) {
    const source = key === 'network' ? 'networks' : 'tokenUsers';
    for (const { path, layer } of layers) {
      const s = layer.get(key);
      if (!s || known.has(s.value as string)) continue;
      const names = [...known.keys()];
      const where = s.source === 'default' ? `tokenUsers has no ${quote(s.raw)}, the built-in default of ${key}` : `${quote(s.raw)} is not in ${source}`;
      const field = s.source === 'default' ? source : `${path}.${key}`;
      problems.push({ code: 'VALUE_NOT_ALLOWED', field, value: s.raw, message: `${where}; use one of ${names.length ? names.join(', ') : `(none: define ${source})`}${s.source === 'default' ? `, or set defaults.${key}` : ''}` });
    }
  }
}

/**
 * The dialect against the refs the policy supplies: under v3, the ref of a
 * pod that sets none must be a branch or tag, or every such pod is refused.
 */
export function checkDialect(dialect: Dialect, defaults: ParsedLayer, presets: ReadonlyMap<string, ParsedLayer>, problems: PolicyProblem[]): void {
  const ref = defaults.get('ref');
  if (ref) {
    const expressed = dialect.ref(ref.value as string);
    if (!expressed.ok && ref.source === 'policy') {
      problems.push({ code: expressed.code, field: 'defaults.ref', value: ref.raw, message: expressed.message });
    } else if (!expressed.ok) {
      const why = "git-sync v3 cannot follow the remote's default branch (HEAD), the ref of every pod that sets none";
      const message = `${quote(dialect.name)} needs defaults.ref: ${why}; set defaults.ref to a branch such as main`;
      problems.push({ code: 'DIALECT_UNSUPPORTED', field: 'dialect', value: dialect.name, message });
    }
  }
  for (const [name, layer] of presets) {
    const presetRef = layer.get('ref');
    const expressed = presetRef && dialect.ref(presetRef.value as string);
    if (presetRef && expressed && !expressed.ok) {
      problems.push({ code: expressed.code, field: `presets.${name}.ref`, value: presetRef.raw, message: expressed.message });
    }
  }
}

/**
 * The seccomp profile's fields together: Localhost needs a profile file,
 * RuntimeDefault takes none, and Unconfined (seccomp off) is refused. The
 * safe-only fields (runAsNonRoot, privileged, allowPrivilegeEscalation) are
 * checked by their schema rows, and the containers never take them from the
 * policy anyway.
 */
export function checkSecurityContext(sc: SecurityContextPolicy, problems: PolicyProblem[]): void {
  const field = 'securityContext.seccompProfile';
  const { type, localhostProfile } = sc.seccompProfile;
  const problem = (at: string, code: PolicyProblemCode, message: string, value?: string): void => {
    problems.push({ code, field: `${field}.${at}`, ...(value !== undefined && { value }), message });
  };
  const useInstead = 'use RuntimeDefault or Localhost';
  if (type === undefined) {
    problem('type', 'VALUE_NOT_ALLOWED', `is missing; ${useInstead}`);
  } else if (type === 'Unconfined') {
    problem('type', 'POLICY_VALUE_INVALID', `"Unconfined" turns seccomp off, which the baseline Pod Security Standard forbids; ${useInstead}`, type);
  } else if (type !== 'RuntimeDefault' && type !== 'Localhost') {
    problem('type', 'VALUE_NOT_ALLOWED', `${quote(type)} is not allowed; ${useInstead}`, type);
  } else if (type === 'Localhost' && localhostProfile === undefined) {
    problem(
      'localhostProfile',
      'POLICY_VALUE_INVALID',
      "is missing; type Localhost needs the profile file, relative to the kubelet's seccomp directory, such as profiles/git-sync.json",
    );
  } else if (type === 'RuntimeDefault' && localhostProfile !== undefined) {
    problem('localhostProfile', 'POLICY_VALUE_INVALID', 'is only used with type Localhost; remove it or set type: Localhost', localhostProfile);
  }
  const escapes = localhostProfile === '' || localhostProfile?.startsWith('/') || localhostProfile?.split('/').includes('..');
  if (localhostProfile !== undefined && escapes) {
    const message = `${quote(localhostProfile)} is not a path relative to the kubelet's seccomp directory; use one such as profiles/git-sync.json, without '..'`;
    problem('localhostProfile', 'PATH_INVALID', message, localhostProfile);
  }
}
