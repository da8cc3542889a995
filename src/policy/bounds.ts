/**
 * The bounds a policy sets on what pods ask for, and the policy's own
 * annotation values within them.
 *
 * A maximum is never below what the policy gives every pod anyway
 * (resources.requests/limits, gitSync.rootSizeLimit): a pod that asks for the
 * same is not asking for more, and a policy written before the maxima existed,
 * with a CPU limit above the built-in maximum, keeps loading and means what it
 * meant. The filters and resources its defaults and presets write must be
 * within its bounds: a policy that broke them would refuse every pod that
 * takes those values. Messages complete "<field>: …".
 */
import { filterAllowed, quantityValue, quote, type AnnotationKey, type Maximum, type ParsedLayer, type PodResource } from '../engine/index.ts';
import type { PolicyProblem } from './problems.ts';
import type { Policy } from './types.ts';

const RESOURCE_KEYS: readonly { key: AnnotationKey; resource: 'cpu' | 'memory' }[] = [
  { key: 'cpu-request', resource: 'cpu' },
  { key: 'cpu-limit', resource: 'cpu' },
  { key: 'memory-request', resource: 'memory' },
  { key: 'memory-limit', resource: 'memory' },
];

function aboveMaximum(field: string, raw: string, what: string, max: Maximum | undefined, problems: PolicyProblem[]): void {
  if (max === undefined || !(quantityValue(raw) > max.value)) return;
  problems.push({ code: 'RESOURCE_ABOVE_MAXIMUM', field, value: raw, message: `${quote(raw)} is above the policy's own maximum ${what}, ${max.text}; lower it or raise the maximum` });
}

/** The larger of a stated maximum and the policy's own values; undefined when no maximum is stated. */
function effectiveMaximum(stated: string | undefined, own: (string | undefined)[]): Maximum | undefined {
  if (stated === undefined) return undefined;
  let max: Maximum = { text: stated, value: quantityValue(stated) };
  for (const q of own) if (q !== undefined && quantityValue(q) > max.value) max = { text: q, value: quantityValue(q) };
  return max;
}

/** The maxima the engine compares pods' values with (EnginePolicy.maxResources, maxRootSizeLimit). */
export function podMaxima(policy: Policy): { maxResources: Partial<Record<PodResource, Maximum>>; maxRootSizeLimit: Maximum | undefined } {
  const { maxResources = {}, maxRootSizeLimit } = policy.limits;
  const { requests = {}, limits = {} } = policy.resources;
  const out: Partial<Record<PodResource, Maximum>> = {};
  for (const r of ['cpu', 'memory'] as const) {
    const max = effectiveMaximum(maxResources[r], [requests[r], limits[r]]);
    if (max) out[r] = max;
  }
  return { maxResources: out, maxRootSizeLimit: effectiveMaximum(maxRootSizeLimit, [policy.gitSync.rootSizeLimit]) };
}

export function checkPodBounds(policy: Policy, defaults: ParsedLayer, presets: ReadonlyMap<string, ParsedLayer>, problems: PolicyProblem[]): void {
  const { maxResources, maxRootSizeLimit } = podMaxima(policy);
  const own: ParsedLayer = new Map([...defaults].filter(([, s]) => s.source === 'policy'));
  for (const [path, layer] of [['defaults', own] as const, ...[...presets].map(([name, l]) => [`presets.${name}`, l] as const)]) {
    for (const { key, resource } of RESOURCE_KEYS) {
      const s = layer.get(key);
      if (s) aboveMaximum(`${path}.${key}`, s.raw, `${resource} (limits.maxResources.${resource})`, maxResources[resource], problems);
    }
    const size = layer.get('root-size-limit');
    if (size) aboveMaximum(`${path}.root-size-limit`, size.raw, 'root size limit (limits.maxRootSizeLimit)', maxRootSizeLimit, problems);
    const filter = layer.get('filter');
    if (filter && !filterAllowed(policy.allowedFilters, filter.value as string)) {
      problems.push({
        code: 'FILTER_NOT_ALLOWED',
        field: `${path}.filter`,
        value: filter.raw,
        message: `${quote(filter.raw)} is not in the policy's allowedFilters (${policy.allowedFilters.join(', ') || 'none'}); add it there or use another filter`,
      });
    }
  }
}
