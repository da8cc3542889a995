/** Pods and workloads with a pod template: finding the template, injecting it, undoing an injection, spotting misplaced annotations. */
export { WORKLOAD_KINDS, apiGroup, classify, dotted, pointer, type Classification, type WorkloadKind } from './kinds.ts';
export { injectWorkload, type NotAWorkload, type WorkloadRequest, type WorkloadResult } from './inject.ts';
export { misplacedAnnotations } from './misplaced.ts';
export { nodeAt, readStatus, removePaths, uninjectWorkload, type InjectionStatus, type Path, type UninjectRequest, type UninjectResult } from './uninject.ts';
export { annotateWorkload, type AnnotateResult } from './annotate.ts';
export { auditPod, auditWorkload, FINDINGS, type AuditContext, type Finding, type FindingKind } from './audit.ts';
