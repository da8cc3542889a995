/**
 * The kinds of value a policy field can hold, and how each kind is checked
 * and described. The policy schema (schema.ts) is a table of fields, each
 * with one of these kinds; nothing here knows a field by name.
 */
import { ANNOTATION_KEYS, closest, isAnnotationKey, isObject, isRepositoryKey, parseChoice, parseObjectName, quote, splitQualified } from '../engine/index.ts';
import type { PolicyParsed, PolicyProblem } from './problems.ts';

/** Checks a string and returns the value to keep (possibly normalised). */
export type Check = (raw: string) => PolicyParsed<string>;

export type FieldType =
  /** `name` is how the docs and messages call the value ("duration"); `expect` completes "use …". */
  | { kind: 'string'; name: string; expect: string; check?: Check }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'boolean' }
  /** A boolean that can only be written with one value (a safe setting kept visible); `why` completes "<value> …" for the other. */
  | { kind: 'fixed'; value: boolean; why: string }
  | { kind: 'integer'; min: number; max: number }
  /** `max`: the most items read; a longer list is refused (POLICY_TOO_LARGE) before any item is checked. */
  | { kind: 'list'; name: string; expect: string; item: Check; max: number }
  /** `numbers`: YAML numbers are taken as their string form (Kubernetes accepts `cpu: 0.5`). */
  | { kind: 'map'; name: string; expect: string; key: Check; value: Check; numbers?: boolean }
  /** Annotation values by annotation key, as on pods but without the prefix. */
  | { kind: 'annotations' }
  /** Named sets of annotation values; merged by name with the base value. `max`: the most presets a policy may define. */
  | { kind: 'presets'; max: number }
  /** A structured value with its own check (network profiles); returns the value to keep or INVALID. */
  | { kind: 'custom'; name: string; expect: string; check: (value: unknown, field: string, problems: PolicyProblem[]) => unknown };

/** Returned by a check when the value is unusable and the base value must stay. */
export const INVALID: unique symbol = Symbol('invalid');

/** How a value the user wrote is named in a message: strings quoted, structures by their shape. */
export function shown(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (Array.isArray(v)) return 'a list';
  if (isObject(v)) return 'a map';
  return String(v);
}

const scalarText = (v: unknown): string | undefined =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

/** A problem about the shape of a value: a number where a string belongs, a list where a map does. */
export function typeProblem(field: string, value: unknown, what: string, expect: string): PolicyProblem {
  const message =
    value === null || value === undefined
      ? `is empty; use ${expect}, or remove the field to keep the built-in value`
      : `${shown(value)} is not ${what}; use ${expect}`;
  const text = scalarText(value);
  return { code: 'POLICY_TYPE_INVALID', field, ...(text !== undefined ? { value: text } : {}), message };
}

function checked(field: string, raw: string, check: Check, problems: PolicyProblem[]): string | typeof INVALID {
  const r = check(raw);
  if (r.ok) return r.value;
  problems.push({ code: r.code, field, value: raw, message: r.message });
  return INVALID;
}

/** What a valid value of a kind looks like, completing "use …". */
export function expectation(type: FieldType): string {
  switch (type.kind) {
    case 'string':
    case 'list':
    case 'map':
    case 'custom':
      return type.expect;
    case 'enum':
      return `one of ${type.values.join(', ')}`;
    case 'boolean':
      return 'true or false';
    case 'fixed':
      return String(type.value);
    case 'integer':
      return `a whole number from ${type.min} to ${type.max}`;
    case 'annotations':
      return 'a map of annotation values, such as period: 5m';
    case 'presets':
      return 'a map of preset names, each to a map of annotation values';
  }
}

/** The type column of the policy reference (docs/policy.md). */
export function typeText(type: FieldType): string {
  switch (type.kind) {
    case 'string':
    case 'custom':
      return type.name;
    case 'list':
      return `list of ${type.name}, at most ${type.max}`;
    case 'map':
      return `map of ${type.name}`;
    case 'enum':
      return type.values.map((v) => `\`${v}\``).join(', ');
    case 'boolean':
      return 'boolean';
    case 'fixed':
      return `\`${type.value}\` only`;
    case 'integer':
      return `integer, ${type.min} to ${type.max}`;
    case 'annotations':
      return 'annotation values';
    case 'presets':
      return `map of name → annotation values, at most ${type.max}`;
  }
}

/**
 * A list or map with more entries than the policy may hold. Refused before
 * any entry is read: each one costs time on every reload (and a repository
 * pattern on every admission), and no cluster needs thousands.
 */
export function tooMany(field: string, count: number, max: number, what: string): PolicyProblem {
  return {
    code: 'POLICY_TOO_LARGE',
    field,
    value: String(count),
    message: `has ${count} ${what}; a policy may have at most ${max}`,
  };
}

function checkString(type: Extract<FieldType, { kind: 'string' }>, value: unknown, field: string, problems: PolicyProblem[]): unknown {
  if (typeof value !== 'string') {
    problems.push(typeProblem(field, value, 'a string', type.expect));
    return INVALID;
  }
  return type.check ? checked(field, value, type.check, problems) : value;
}

function checkInteger(type: Extract<FieldType, { kind: 'integer' }>, value: unknown, field: string, problems: PolicyProblem[]): unknown {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= type.min && value <= type.max) return value;
    problems.push({ code: 'INTEGER_INVALID', field, value: String(value), message: `${value} is not a whole number from ${type.min} to ${type.max}` });
  } else if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) {
    problems.push({ code: 'POLICY_TYPE_INVALID', field, value, message: `${quote(value)} is a string; write the number without quotes` });
  } else {
    problems.push(typeProblem(field, value, 'a number', expectation(type)));
  }
  return INVALID;
}

function checkList(type: Extract<FieldType, { kind: 'list' }>, value: unknown, field: string, problems: PolicyProblem[]): unknown {
  if (!Array.isArray(value)) {
    problems.push(typeProblem(field, value, 'a list', type.expect));
    return INVALID;
  }
  if (value.length > type.max) {
    problems.push(tooMany(field, value.length, type.max, 'items'));
    return INVALID;
  }
  const items = value.map((item: unknown, i) => {
    const path = `${field}[${i}]`;
    if (typeof item === 'string') return checked(path, item, type.item, problems);
    problems.push(typeProblem(path, item, 'a string', type.expect));
    return INVALID;
  });
  return items.includes(INVALID) ? INVALID : items;
}

function checkMap(type: Extract<FieldType, { kind: 'map' }>, value: unknown, field: string, problems: PolicyProblem[]): unknown {
  if (!isObject(value)) {
    problems.push(typeProblem(field, value, 'a map', type.expect));
    return INVALID;
  }
  const entries = Object.entries(value).map(([key, v]): [string | typeof INVALID, string | typeof INVALID] => {
    const path = `${field}.${key}`;
    const name = checked(path, key, type.key, problems);
    if (typeof v === 'string' || (type.numbers && typeof v === 'number')) return [name, checked(path, String(v), type.value, problems)];
    problems.push(typeProblem(path, v, 'a string', type.expect));
    return [name, INVALID];
  });
  if (entries.some(([k, v]) => k === INVALID || v === INVALID)) return INVALID;
  return Object.fromEntries(entries);
}

/**
 * Annotation values: keys must be annotations (the prefix left off), values
 * strings as on any Kubernetes object. Bad entries are dropped so that the
 * rest still reach the annotation parsers and every problem shows at once.
 */
function checkAnnotations(value: unknown, field: string, problems: PolicyProblem[], expect: string, repositories = false): unknown {
  if (!isObject(value)) {
    problems.push(typeProblem(field, value, 'a map', expect));
    return INVALID;
  }
  const kept: [string, string][] = [];
  for (const [key, v] of Object.entries(value)) {
    const path = `${field}.${key}`;
    // A preset may give a named repository's values (`plugins.env`); compile.ts checks the name.
    const named = repositories && isRepositoryKey(splitQualified(key)?.key ?? '');
    if (!isAnnotationKey(key) && !named) {
      const bare = key.slice(key.lastIndexOf('/') + 1);
      const hint = key.includes('/') && isAnnotationKey(bare) ? `; write it without the prefix: ${bare}` : suggestion(closest(key, ANNOTATION_KEYS));
      problems.push({ code: 'UNKNOWN_ANNOTATION', field: path, value: key, message: `is not an annotation the injector knows${hint}` });
    } else if (typeof v !== 'string') {
      const text = scalarText(v);
      const message =
        v === null ? 'is empty; give a value in quotes, or remove the key' : `${shown(v)} is not a string; annotation values are strings, so put it in quotes`;
      problems.push({ code: 'POLICY_TYPE_INVALID', field: path, ...(text !== undefined ? { value: text } : {}), message });
    } else {
      kept.push([key, v]);
    }
  }
  return Object.fromEntries(kept);
}

const suggestion = (hint: string | undefined): string => (hint ? `; did you mean ${hint}?` : '');

function checkPresets(type: Extract<FieldType, { kind: 'presets' }>, value: unknown, field: string, base: unknown, problems: PolicyProblem[]): unknown {
  if (!isObject(value)) {
    problems.push(typeProblem(field, value, 'a map', expectation(type)));
    return INVALID;
  }
  const count = Object.keys(value).length;
  if (count > type.max) {
    problems.push(tooMany(field, count, type.max, 'presets'));
    return INVALID;
  }
  const merged: Record<string, unknown> = isObject(base) ? { ...base } : {};
  const given = Object.entries(value).flatMap(([name, values]) => {
    const path = `${field}.${name}`;
    const nameOk = checked(path, name, parseObjectName, problems) !== INVALID;
    const layer = checkAnnotations(values, path, problems, expectation({ kind: 'annotations' }), true);
    return nameOk && layer !== INVALID ? [[name, layer] as const] : [];
  });
  return Object.assign(merged, Object.fromEntries(given));
}

/**
 * Checks one field's value, pushing every problem found. Returns the value to
 * use, or INVALID when the base value must stay. `base` is the value the
 * field has without the document, for kinds that merge into it.
 */
export function checkField(type: FieldType, value: unknown, field: string, base: unknown, problems: PolicyProblem[]): unknown {
  switch (type.kind) {
    case 'string':
      return checkString(type, value, field, problems);
    case 'enum': {
      if (typeof value !== 'string') {
        problems.push(typeProblem(field, value, 'a string', expectation(type)));
        return INVALID;
      }
      return checked(field, value, (raw) => parseChoice(raw, type.values), problems);
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') {
        problems.push({ code: 'POLICY_TYPE_INVALID', field, value, message: `${quote(value)} is a string; write ${value} without quotes` });
      } else {
        problems.push(typeProblem(field, value, 'a boolean', 'true or false'));
      }
      return INVALID;
    case 'fixed': {
      const given = checkField({ kind: 'boolean' }, value, field, base, problems);
      if (given === INVALID || given === type.value) return given;
      problems.push({ code: 'POLICY_VALUE_INVALID', field, value: String(given), message: `${String(given)} ${type.why}; remove it or write ${type.value}` });
      return INVALID;
    }
    case 'integer':
      return checkInteger(type, value, field, problems);
    case 'list':
      return checkList(type, value, field, problems);
    case 'map':
      return checkMap(type, value, field, problems);
    case 'annotations':
      return checkAnnotations(value, field, problems, expectation(type));
    case 'presets':
      return checkPresets(type, value, field, base, problems);
    case 'custom':
      return type.check(value, field, problems);
  }
}
