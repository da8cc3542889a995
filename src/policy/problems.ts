/**
 * What the policy has to say to the platform team: problems in a policy
 * text or source, with stable codes, as the engine's catalogue has for pods.
 * A policy also holds annotation values (defaults, presets), and a bad one is
 * reported with the same code a pod would get (a default period of "soon" is
 * DURATION_INVALID wherever it is written), so a policy problem carries
 * either catalogue's code.
 */
import type { Parsed, Problem, ProblemCode } from '../engine/index.ts';

/** Codes only a policy can earn: the policy is refused and the last good one stays in force. */
export const POLICY_PROBLEM_CODES = {
  POLICY_YAML_INVALID: 'the policy is not valid YAML',
  POLICY_TYPE_INVALID: 'a policy field has the wrong type, such as a number where a string is expected',
  POLICY_FIELD_UNKNOWN: 'the policy has a field the injector does not know',
  POLICY_VALUE_INVALID: 'a policy value has the wrong form: annotation prefix, image, known_hosts line, repository pattern or resource quantity',
  POLICY_SOURCE_UNAVAILABLE: 'the policy file or ConfigMap cannot be read; the last good policy stays in force',
  POLICY_EMPTY: 'the policy text is empty, whitespace or comments only (as a file caught halfway through a write is); write {} for the built-in policy',
  POLICY_TOO_LARGE: 'the policy text is larger than 1 MiB, a list or presets has more entries than the policy reference allows, or reading it took too long or too much memory',
} as const;

export type PolicyProblemCode = ProblemCode | keyof typeof POLICY_PROBLEM_CODES;

/** A problem in a policy, with the 1-based line and column of its field in the text when known. */
export interface PolicyProblem extends Omit<Problem, 'code'> {
  code: PolicyProblemCode;
  line?: number;
  column?: number;
}

/** What the policy's own value checks return: the engine's parser result, with the policy's codes allowed. */
export type PolicyParsed<T> = Parsed<T, PolicyProblemCode>;

/** One line per problem: `policy.yaml:4:14: limits.minPeriod: … [CODE]`. */
export function formatPolicyProblem(p: PolicyProblem, source: string): string {
  const where = p.line !== undefined ? `${source}:${p.line}:${p.column ?? 1}` : source;
  return `${where}: ${p.field ? `${p.field}: ` : ''}${p.message} [${p.code}]`;
}
