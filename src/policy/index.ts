/**
 * The policy's public surface: the document, how it is validated, compiled
 * for the engine, loaded and kept in force, and the sources that watch a
 * file or a ConfigMap (sources/index.ts, which loads the ConfigMap watcher
 * only on demand, so that commands that never watch a cluster do not load
 * the Kubernetes client).
 */
export type { Policy, SecurityContextPolicy } from './types.ts';
export { BUILTIN_POLICY } from './builtin.ts';
export { compilePolicy, mustCompile, type CompiledPolicy, type CompileResult } from './compile.ts';
export { POLICY_PROBLEM_CODES, formatPolicyProblem, type PolicyProblem, type PolicyProblemCode } from './problems.ts';
export { POLICY_FIELDS, fieldDefault, type PolicyField } from './schema.ts';
export { validatePolicyDocument, type PolicyValidation } from './validate.ts';
export { policyReferenceTable } from './reference.ts';
export {
  BUILTIN_SOURCE,
  PolicyError,
  loadBuiltinPolicy,
  loadPolicy,
  loadPolicyFile,
  loadPolicyText,
  parsePolicyYaml,
  POLICY_SETTLE_MS,
  readPolicyFile,
  readSettled,
  type LoadedPolicy,
  type ParsedPolicyYaml,
} from './load.ts';
export {
  PolicyStore,
  policyViewYaml,
  type PolicyCounts,
  type PolicyEvent,
  type PolicyInForce,
  type PolicyListener,
  type PolicyRejection,
  type PolicyView,
} from './store.ts';
export {
  PolicyFileWatcher,
  loadConfigMapWatcher,
  type ConfigMapRef,
  type ConfigMapState,
  type PolicyConfigMapStatus,
  type PolicyConfigMapWatcher,
  type PolicyConfigMapWatcherOptions,
  type PolicyFileWatcherOptions,
} from './sources/index.ts';
