/**
 * The resources of one pod's git-sync containers: the policy's requests and
 * limits, with the CPU and memory requests and limits the pod (or its
 * namespace or preset) sets, and the root volume's sizeLimit. A big
 * repository needs more memory than a small one, and a team can raise its
 * own within the platform's maximum; a value above the maximum is refused
 * with the maximum in the message. Requests above limits are refused here
 * too, where the message can say which annotation to change, rather than by
 * the API server for the whole pod.
 */
import type { AnnotationKey } from './annotations.ts';
import type { EnginePolicy, PodResource, Resources } from './context.ts';
import { cloneJson } from './json.ts';
import { quote, type Problem } from './problems.ts';
import type { Settings } from './settings.ts';
import { quantityValue } from './values/quantity.ts';

const POD_RESOURCES: readonly { resource: PodResource; request: AnnotationKey; limit: AnnotationKey }[] = [
  { resource: 'cpu', request: 'cpu-request', limit: 'cpu-limit' },
  { resource: 'memory', request: 'memory-request', limit: 'memory-limit' },
];

export interface ResourcePlan {
  resources: Resources;
  /** sizeLimit of the root emptyDir; undefined: none. */
  rootSizeLimit: string | undefined;
  errors: Problem[];
}

export function planResources(settings: Settings, policy: EnginePolicy): ResourcePlan {
  const errors: Problem[] = [];
  const base = policy.gitSync.resources;
  const resources: Resources = cloneJson(base);
  const above = (key: AnnotationKey, what: string, max: { text: string; value: number } | undefined): string | undefined => {
    const s = settings[key] as { value: string; raw: string; field: string } | undefined;
    if (!s) return undefined;
    if (max && quantityValue(s.value) > max.value) {
      errors.push({
        code: 'RESOURCE_ABOVE_MAXIMUM',
        field: s.field,
        value: s.raw,
        message: `${quote(s.raw)} is above the policy's maximum ${what}, ${max.text}; use at most ${max.text}`,
      });
    }
    return s.value;
  };

  for (const { resource, request, limit } of POD_RESOURCES) {
    const max = policy.maxResources[resource];
    const req = above(request, `${resource} for git-sync`, max);
    const lim = above(limit, `${resource} for git-sync`, max);
    if (req !== undefined) (resources.requests ??= {})[resource] = req;
    if (lim !== undefined) (resources.limits ??= {})[resource] = lim;
    if (req === undefined && lim === undefined) continue;
    // Kubernetes refuses a request above its limit; say which annotation to add.
    const finalReq = resources.requests?.[resource];
    const finalLim = resources.limits?.[resource];
    if (finalReq === undefined || finalLim === undefined || quantityValue(finalReq) <= quantityValue(finalLim)) continue;
    const p = policy.prefix;
    const reqSetting = settings[request]!;
    const limSetting = settings[limit]!;
    if (lim === undefined) {
      errors.push({
        code: 'RESOURCE_REQUEST_ABOVE_LIMIT',
        field: reqSetting.field,
        value: reqSetting.raw,
        message: `${quote(reqSetting.raw)} is more than the ${resource} limit ${finalLim} the policy gives git-sync, and Kubernetes refuses a request above its limit; set ${p}${limit} as well`,
      });
    } else if (req === undefined) {
      errors.push({
        code: 'RESOURCE_REQUEST_ABOVE_LIMIT',
        field: limSetting.field,
        value: limSetting.raw,
        message: `${quote(limSetting.raw)} is less than the ${resource} request ${finalReq} the policy gives git-sync, and Kubernetes refuses a request above its limit; set ${p}${request} as well`,
      });
    } else {
      errors.push({
        code: 'RESOURCE_REQUEST_ABOVE_LIMIT',
        field: reqSetting.field,
        value: reqSetting.raw,
        message: `${quote(reqSetting.raw)} is more than ${limSetting.field}, ${quote(limSetting.raw)}, and Kubernetes refuses a request above its limit; raise the limit or lower the request`,
      });
    }
  }
  const rootSizeLimit = above('root-size-limit', 'root size limit', policy.maxRootSizeLimit) ?? policy.gitSync.rootSizeLimit;
  return { resources, rootSizeLimit, errors };
}
