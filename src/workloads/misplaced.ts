/**
 * The most common mistake with workloads: the annotations are written on the
 * Deployment's own metadata (where `kubectl annotate deployment` puts them)
 * instead of its pod template's. The controller does not copy them to the
 * pods, so the webhook never sees them and the pods quietly get nothing.
 */
import { isObject, valueAt, type Problem } from '../engine/index.ts';
import { dotted, type WorkloadKind } from './kinds.ts';


function prefixedKeys(metadata: unknown, prefix: string): string[] {
  const annotations = isObject(metadata) ? metadata.annotations : undefined;
  return isObject(annotations) ? Object.keys(annotations).filter((k) => k.startsWith(prefix)) : [];
}

/**
 * One warning per metadata level that carries prefixed annotations the pod
 * template lacks, naming the keys and the exact place they belong. Keys the
 * template also sets are not reported: the template's value is the one used.
 */
export function misplacedAnnotations(object: unknown, workload: WorkloadKind, prefix: string): Problem[] {
  const template = dotted([...workload.template, 'metadata', 'annotations']);
  const onTemplate = new Set(prefixedKeys(valueAt(object, [...workload.template, 'metadata']), prefix));
  const problems: Problem[] = [];
  for (const level of workload.outerMetadata) {
    const keys = prefixedKeys(valueAt(object, [...level, 'metadata']), prefix).filter((k) => !onTemplate.has(k));
    if (keys.length === 0) continue;
    const whose = level.length === 0 ? `the ${workload.kind}'s own metadata` : `${dotted([...level, 'metadata'])} (the Job's metadata)`;
    const [subject, verb, pronoun] = keys.length === 1 ? [keys[0]!, 'is', 'it belongs'] : [keys.join(', '), 'are', 'they belong'];
    const consequence = onTemplate.size === 0 ? `; the pod template has no ${prefix}* annotations, so its pods get nothing` : '';
    problems.push({
      code: 'ANNOTATIONS_ON_WORKLOAD',
      field: dotted([...level, 'metadata', 'annotations']),
      value: keys.join(', '),
      message: `${subject} ${verb} on ${whose}, which the injector never sees; ${pronoun} in ${template}, the pod template${consequence}`,
    });
  }
  return problems;
}
