/**
 * The policy a golden case runs under: the built-in policy with the case's
 * top-level fields over it, and `limits` merged field by field, so that a
 * case need only name the limit it is about. The golden test and the e2e
 * harness both read the cases; they must agree on this.
 */
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { mustCompile } from '../../src/policy/compile.ts';
import type { EnginePolicy } from '../../src/engine/index.ts';
import type { Policy } from '../../src/policy/types.ts';

export function goldenPolicy(overrides: Partial<Policy> | undefined): EnginePolicy {
  return mustCompile({ ...BUILTIN_POLICY, ...overrides, limits: { ...BUILTIN_POLICY.limits, ...overrides?.limits } }).engine;
}
