/** Pods and workloads with a pod template: finding the template, injecting it, spotting misplaced annotations. */
export { WORKLOAD_KINDS, apiGroup, classify, dotted, pointer, type Classification, type WorkloadKind } from './kinds.ts';
export { injectWorkload, type NotAWorkload, type WorkloadRequest, type WorkloadResult } from './inject.ts';
export { misplacedAnnotations } from './misplaced.ts';
