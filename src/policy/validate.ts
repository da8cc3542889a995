/**
 * Validating a policy document against the schema (schema.ts) and merging it
 * over the built-in policy, then compiling it: the one path every policy
 * takes, whether it comes from a file, a ConfigMap or a test.
 */
import { closest, isObject, quote } from '../engine/index.ts';
import { BUILTIN_POLICY } from './builtin.ts';
import { compilePolicy, type CompiledPolicy } from './compile.ts';
import { INVALID, checkField, typeProblem } from './field-types.ts';
import { quantityValue } from './formats.ts';
import type { PolicyProblem } from './problems.ts';
import { POLICY_FIELDS, type PolicyField } from './schema.ts';
import type { Policy } from './types.ts';

/** Fields and groups of fields by name, one level of the document. */
type Level = Map<string, PolicyField | Level>;

function levels(fields: readonly PolicyField[]): Level {
  const top: Level = new Map();
  for (const field of fields) {
    const parts = field.path.split('.');
    let level = top;
    for (const part of parts.slice(0, -1)) {
      let next = level.get(part);
      if (!(next instanceof Map)) level.set(part, (next = new Map()));
      level = next;
    }
    level.set(parts.at(-1)!, field);
  }
  return top;
}

const TOP = levels(POLICY_FIELDS);
/** Every field and group path, for suggestions. */
const ALL_PATHS = [...new Set(POLICY_FIELDS.flatMap((f) => f.path.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'))))];
const lastPart = (path: string): string => path.slice(path.lastIndexOf('.') + 1);

function suggestField(key: string, prefix: string, level: Level): string | undefined {
  const sibling = closest(key, [...level.keys()]);
  if (sibling !== undefined) return `${prefix}${sibling}`;
  // A field written at the wrong level ("minPeriod" at the top) is found by its last part, in any case.
  const match = closest(key.toLowerCase(), ALL_PATHS.map((p) => lastPart(p).toLowerCase()));
  return ALL_PATHS.find((p) => lastPart(p).toLowerCase() === match);
}

function unknownField(key: string, prefix: string, level: Level): PolicyProblem {
  const hint = suggestField(key, prefix, level);
  const message = hint ? `is not a policy field; did you mean ${hint}?` : `is not a policy field; use one of ${[...level.keys()].join(', ')}`;
  return { code: 'POLICY_FIELD_UNKNOWN', field: `${prefix}${key}`, value: key, message };
}

/**
 * Checks one level of the document and writes the good values into `out`,
 * which starts as the built-in values of that level.
 */
function checkLevel(doc: Record<string, unknown>, level: Level, prefix: string, out: Record<string, unknown>, problems: PolicyProblem[]): void {
  for (const [key, value] of Object.entries(doc)) {
    // Parsed YAML never holds undefined; a document built in code that does means "not given" (limits.maxDepth).
    if (value === undefined) continue;
    const field = `${prefix}${key}`;
    const node = level.get(key);
    if (node === undefined) {
      problems.push(unknownField(key, prefix, level));
    } else if (node instanceof Map) {
      // A heading with everything under it commented out is an empty map in YAML terms: nothing given.
      if (value === null) continue;
      if (!isObject(value)) problems.push(typeProblem(field, value, 'a map', `a map with ${[...node.keys()].join(', ')}`));
      else checkLevel(value, node, `${field}.`, (out[key] ??= {}) as Record<string, unknown>, problems);
    } else {
      const checked = checkField(node.type, value, field, out[key], problems);
      if (checked !== INVALID) out[key] = checked;
    }
  }
}

/** A request above its limit makes the API server refuse every injected pod. */
function checkRequestsWithinLimits(policy: Policy, problems: PolicyProblem[]): void {
  const { requests = {}, limits = {} } = policy.resources;
  for (const [name, request] of Object.entries(requests)) {
    const limit = limits[name];
    if (limit !== undefined && quantityValue(request) > quantityValue(limit)) {
      problems.push({
        code: 'POLICY_VALUE_INVALID',
        field: `resources.requests.${name}`,
        value: request,
        message: `${quote(request)} is more than the limit ${quote(limit)} (resources.limits.${name}); Kubernetes refuses a request above its limit`,
      });
    }
  }
}

export interface PolicyValidation {
  /** The merged policy, when there is no problem. */
  policy?: Policy;
  /** The merged policy compiled, when there is no problem. */
  compiled?: CompiledPolicy;
  problems: PolicyProblem[];
}

/**
 * Validates a policy document (parsed YAML or JSON) and merges it over the
 * built-in policy: fields not given keep their built-in value, presets merge
 * by name. Every problem is reported at once: a bad field is replaced by its
 * built-in value so the rest of the document, down to the annotation values
 * in defaults and presets, is still checked. An empty document (null) is the
 * built-in policy.
 */
export function validatePolicyDocument(doc: unknown): PolicyValidation {
  const problems: PolicyProblem[] = [];
  const merged = structuredClone(BUILTIN_POLICY) as unknown as Record<string, unknown>;
  if (isObject(doc)) checkLevel(doc, TOP, '', merged, problems);
  else if (doc !== null && doc !== undefined) problems.push(typeProblem('', doc, 'a map of policy fields', `a map with ${[...TOP.keys()].join(', ')}`));
  // Every field went through its row, so the merged object has the shape of a Policy.
  const policy = merged as unknown as Policy;
  if (!problems.some((p) => p.field.startsWith('resources.'))) checkRequestsWithinLimits(policy, problems);
  const compiled = compilePolicy(policy);
  if (!compiled.ok) problems.push(...compiled.problems);
  return compiled.ok && problems.length === 0 ? { policy, compiled: compiled.compiled, problems } : { problems };
}

