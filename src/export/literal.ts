/**
 * JSON the engine produced, written as a CEL `ApplyConfiguration` literal
 * (`Object.spec.initContainers{name: …, env: [Object.spec.initContainers.env{…}]}`),
 * with each sentinel string replaced by the expression that computes the
 * value it stands for. The same walk evaluates it in TypeScript, so the
 * preview shows what the API server would write.
 */
import { celString, concat, str, type Input, type S, type X } from './cel.ts';

/** A sentinel and what replaces it: inside strings (`within`), or only a whole string. */
export interface Substitution {
  needle: string;
  expr: S;
  within: boolean;
}

/** Fields whose objects are maps (string keys), not typed structs. */
export const MAP_FIELDS = new Set(['limits', 'requests', 'annotations', 'labels']);

/** A string with every sentinel in it replaced. */
export function substituted(s: string, subs: readonly Substitution[]): S {
  for (const sub of subs) {
    if (!sub.within ? s === sub.needle : s.includes(sub.needle)) {
      const pieces = s.split(sub.needle);
      const parts: S[] = [];
      pieces.forEach((piece, i) => {
        if (i > 0) parts.push(sub.expr);
        if (piece) parts.push(substituted(piece, subs));
      });
      return concat(...parts);
    }
  }
  return str(s);
}

/** A JSON value as a typed CEL literal under `type` (`Object.spec.initContainers`), and its TypeScript evaluation. */
export function literal(value: unknown, type: string, subs: readonly Substitution[]): X<unknown> {
  if (typeof value === 'string') return substituted(value, subs);
  if (typeof value === 'number' || typeof value === 'boolean') return { cel: String(value), ev: () => value };
  if (Array.isArray(value)) return list(value.map((v) => literal(v, type, subs)));
  if (value !== null && typeof value === 'object') {
    const name = type.slice(type.lastIndexOf('.') + 1);
    const entries = Object.entries(value as Record<string, unknown>);
    if (MAP_FIELDS.has(name)) {
      const vals = entries.map(([k, v]) => [k, literal(v, `${type}.${k}`, subs)] as const);
      return {
        cel: `{${vals.map(([k, v]) => `${celString(k)}: ${v.cel}`).join(', ')}}`,
        ev: (i) => Object.fromEntries(vals.map(([k, v]) => [k, v.ev(i)])),
      };
    }
    const fields = entries.map(([k, v]) => [k, literal(v, `${type}.${k}`, subs)] as const);
    return struct(type, fields);
  }
  throw new Error(`cannot write ${String(value)} as CEL`);
}

/** A typed object literal from fields already built. */
export function struct(type: string, fields: readonly (readonly [string, X<unknown>])[]): X<Record<string, unknown>> {
  return {
    cel: `${type}{${fields.map(([k, v]) => `${k}: ${v.cel}`).join(', ')}}`,
    ev: (i: Input) => Object.fromEntries(fields.map(([k, v]) => [k, v.ev(i)])),
  };
}

/** A CEL list literal of items. */
export function list(items: readonly X<unknown>[]): X<unknown[]> {
  return { cel: `[${items.map((x) => x.cel).join(', ')}]`, ev: (i) => items.map((x) => x.ev(i)) };
}

/** `a + b` of two lists. */
export function append(a: X<unknown[]>, b: X<unknown[]>): X<unknown[]> {
  if (a.cel === '[]') return b;
  if (b.cel === '[]') return a;
  return { cel: `(${a.cel} + ${b.cel})`, ev: (i) => [...a.ev(i), ...b.ev(i)] };
}
