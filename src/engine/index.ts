/**
 * The engine's public surface. Every other folder imports the engine from
 * here and nowhere else (test/unit/architecture.test.ts fails otherwise), so
 * what is listed here is the contract: the injection itself, the contract it
 * takes from a compiled policy, the annotation table, the problem and skip
 * catalogues, and the value parsers the policy and the edges reuse.
 */
export { injectPod, type InjectRequest, type InjectResult, type Injection, type RepositoryInjection } from './inject.ts';
export type {
  EngineContext,
  EnginePolicy,
  Enforcement,
  GitSyncContainerPolicy,
  KnobLimits,
  NetworkProfile,
  Maximum,
  OnInvalidAnnotations,
  PodResource,
  ParsedLayer,
  PullPolicy,
  Resources,
  Setting,
  SettingSource,
} from './context.ts';
export {
  ANNOTATIONS,
  ANNOTATION_KEYS,
  MODES,
  WRITTEN_ANNOTATIONS,
  isAnnotationKey,
  shownValue,
  type AnnotationKey,
  type RawAnnotations,
  type RawPresetAnnotations,
} from './annotations.ts';
export { MAX_REPOSITORY_NAME, isRepositoryKey, repositoryNameProblem, splitQualified } from './repositories.ts';
export { parseValue } from './settings.ts';
export { PROBLEM_CODES, POLICY_REFUSALS, formatProblem, quote, type Problem, type ProblemCode } from './problems.ts';
export { SHARED_PROCESS_FIELDS, sharedProcessNamespace } from './plan.ts';
export { SKIP_REASONS, type SkipReason } from './skips.ts';
export { APPARMOR_CONTAINER_ANNOTATION, podDisplayName } from './pod.ts';
export { modeNotAllowedMessage, type ClusterFacts, type Mode, type NativeSidecars } from './mode.ts';
export { DIALECTS, type Dialect, type DialectName, type EnvPair } from './dialect.ts';
export { encodeGitConfig } from './network.ts';
export { depthAbove, depthMessage } from './limits.ts';
export { maxFailuresAboveMaximum, syncTimeoutAboveMaximum } from './knobs.ts';
export { closest } from './suggest.ts';
export { cloneJson, isObject, valueAt } from './json.ts';
export { CONTROL_CHARS, fail, ok, type Parsed } from './values/result.ts';
export { parseChoice } from './values/choice.ts';
export { formatDuration, parseDuration } from './values/duration.ts';
export { isDnsLabel, isDnsSubdomain, parseObjectName, parseSecretKey } from './values/names.ts';
export { LIBRARY_DIR, SYSTEM_DIRS, parseAbsolutePath } from './values/path.ts';
export { RISKY_ENV_NAMES, RISKY_ENV_PREFIXES } from './values/risky-env.ts';
export { parseEnvName } from './values/names.ts';
export { LOCAL_HOSTS } from './values/webhook.ts';
export { parseQuantity, quantityValue } from './values/quantity.ts';
export { ANY_BLOB_LIMIT, NO_FILTER, filterAllowed, parseFilter } from './values/filter.ts';
export { describePatterns, readRepoPattern, repoAllowed, type PatternParse, type RepoPattern } from './values/repo-pattern.ts';
