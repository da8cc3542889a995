/** The engine's public surface: the adapters (webhook, preview, CLI) import from here only. */
export { injectPod, type EngineContext, type InjectRequest, type InjectResult, type Injection } from './inject.ts';
export { ANNOTATIONS, ANNOTATION_KEYS, WRITTEN_ANNOTATIONS, type AnnotationKey } from './annotations.ts';
export { PROBLEM_CODES, POLICY_REFUSALS, formatProblem, type Problem, type ProblemCode } from './problems.ts';
export { SKIP_REASONS, type SkipReason } from './skips.ts';
export { podDisplayName } from './pod.ts';
export type { ClusterFacts, Mode } from './mode.ts';
export { cloneJson, isObject } from './json.ts';
export { isDnsLabel, isDnsSubdomain, parseObjectName, parseSecretKey } from './values/names.ts';
export { formatDuration, parseDuration } from './values/duration.ts';
