/**
 * A small expression language with two faces: every expression is CEL text
 * for the API server and a TypeScript function over the same input. The
 * export writes the CEL; the webhook-free preview and the tests run the
 * TypeScript. Both come from one construction, so a check's CEL and its
 * predicate cannot be written twice and drift apart; what is left to prove
 * is that the API server reads the CEL as this file means it, which the
 * proof helper's e2e test does on a real kube-apiserver.
 *
 * Only what the export needs is here, in the forms the API server's CEL
 * library (Kubernetes v1.32) has: string functions from the strings
 * extension (`split`, `join`), `matches` with RE2-compatible anchored
 * regexes that JavaScript reads the same way, `duration()`, and the `has()`
 * / `in` forms. No `variables` (v1.32 refuses them in mutations, and
 * objects.ts says why the validations have none either), so every
 * expression is written out where it is used, except a bound value's
 * matches, which are made once (Scope.inlineOnce).
 */

import { isObject, valueAt } from '../engine/index.ts';

/** What an expression is evaluated against: the pod and its namespace, as the API server passes them (`object`, `namespaceObject`). */
export interface Input {
  pod: Record<string, unknown>;
  /** The namespace's name (\`namespaceObject.metadata.name\`). */
  namespace: string;
  namespaceAnnotations: Readonly<Record<string, string>>;
  /** The namespace's labels (matchConditions read the injection label, like the webhook's namespaceSelector). */
  namespaceLabels: Readonly<Record<string, string>>;
}

export interface X<T> {
  readonly cel: string;
  ev(input: Input): T;
}

export type S = X<string>;
export type B = X<boolean>;
export type N = X<number>;

const make = <T>(cel: string, ev: (i: Input) => T): X<T> => ({ cel, ev });

/** A CEL string literal: single quotes, with backslash, quote and control characters escaped. */
export function celString(s: string): string {
  return `'${s.replace(/[\\'\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\\') return '\\\\';
    if (c === "'") return "\\'";
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  })}'`;
}

export const str = (s: string): S => make(celString(s), () => s);
export const bool = (b: boolean): B => make(String(b), () => b);
export const int = (n: number): N => make(String(n), () => n);

const annotationsOf = (i: Input): Record<string, string> => {
  const m = (i.pod.metadata ?? {}) as Record<string, unknown>;
  return (m.annotations ?? {}) as Record<string, string>;
};
const POD_ANN = 'object.metadata.annotations';
const NS_ANN = 'namespaceObject.metadata.annotations';

/** Optional chaining: an absent annotations map and an absent key are both "none", without a has() guard per access. */
const podOpt = (key: string): string => `object.metadata.?annotations[?${celString(key)}]`;
const nsOpt = (key: string): string => `namespaceObject.metadata.?annotations[?${celString(key)}]`;

/** Whether the pod has the annotation. */
export const podHas = (key: string): B => make(`${podOpt(key)}.hasValue()`, (i) => Object.hasOwn(annotationsOf(i), key));
/** The pod's annotation, '' when absent. */
export const podVal = (key: string): S => make(`${podOpt(key)}.orValue('')`, (i) => annotationsOf(i)[key] ?? '');
export const nsHas = (key: string): B => make(`${nsOpt(key)}.hasValue()`, (i) => Object.hasOwn(i.namespaceAnnotations, key));
export const nsVal = (key: string): S => make(`${nsOpt(key)}.orValue('')`, (i) => i.namespaceAnnotations[key] ?? '');
export const nsLabel = (key: string): S =>
  make(`namespaceObject.metadata.?labels[?${celString(key)}].orValue('')`, (i) => i.namespaceLabels[key] ?? '');

/**
 * What CEL's `trim()` removes (Go's unicode.IsSpace), so that the TypeScript
 * side trims as the API server does. The engine trims with JavaScript's
 * trim(), which differs only in U+0085 (Go's, not JavaScript's) and U+FEFF
 * (JavaScript's, not Go's): a value with either at an edge is outside every
 * envelope (checks.ts refuses U+0085; a U+FEFF left over fails the envelope).
 */
const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const GO_TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, 'g');
export const goTrim = (s: string): string => s.replace(GO_TRIM, '');
/** `s.trim()`: the engine reads every annotation value trimmed. */
export const trim = (s: S): S => make(`${s.cel}.trim()`, (i) => goTrim(s.ev(i)));
/** `s.contains(t)`. */
export const contains = (s: S, t: string): B => make(`${s.cel}.contains(${celString(t)})`, (i) => s.ev(i).includes(t));

/**
 * The first layer that has the annotation: the pod's, then each of `middle`
 * (a value chosen by a key expression from a table, such as the preset's),
 * then the namespace's, else `fallback`. One optional chain, so the value is
 * written once however many layers it has.
 */
export function layered(key: string, middle: readonly { key: S; table: Readonly<Record<string, string>> }[], fallback: string, namespace = true): S {
  const tables = middle.filter((m) => Object.keys(m.table).length > 0);
  const cel = [
    podOpt(key),
    ...tables.map((m) => `.or({${Object.entries(m.table).map(([k, v]) => `${celString(k)}: ${celString(v)}`).join(', ')}}[?${m.key.cel}])`),
    ...(namespace ? [`.or(${nsOpt(key)})`] : []),
    `.orValue(${celString(fallback)})`,
  ].join('');
  // Trimmed, as the engine reads every value.
  return trim(make(cel, (i) => {
    const pod = annotationsOf(i)[key];
    if (pod !== undefined) return pod;
    for (const m of tables) {
      const k = m.key.ev(i);
      if (Object.hasOwn(m.table, k)) return m.table[k]!;
    }
    if (namespace && Object.hasOwn(i.namespaceAnnotations, key)) return i.namespaceAnnotations[key]!;
    return fallback;
  }));
}

/** A lookup in a table written as a CEL map literal: the entry for `key`, else `fallback`. */
export function lookup<T>(key: S, table: readonly (readonly [string, X<T>])[], fallback?: X<T>): X<T> {
  const map = `{${table.map(([k, v]) => `${celString(k)}: ${v.cel}`).join(', ')}}`;
  const cel = fallback === undefined ? `${map}[${key.cel}]` : `${map}[?${key.cel}].orValue(${fallback.cel})`;
  return make(cel, (i) => {
    const k = key.ev(i);
    const hit = table.find(([name]) => name === k);
    if (hit) return hit[1].ev(i);
    if (fallback === undefined) throw new Error(`no entry ${k} in a CEL table`);
    return fallback.ev(i);
  });
}

/**
 * Named values. The export has no `variables` (v1.32 refuses them in a
 * MutatingAdmissionPolicy, and objects.ts says why the
 * ValidatingAdmissionPolicy has none either), so an expression that uses a
 * bound value carries a token for it, which `inline` writes out wherever it
 * is used and `inlineOnce` reads once at the top of the expression where it
 * may.
 */
/** A bound value's token. */
const TOKEN = /\u0001([A-Za-z0-9]+)\u0001/g;
/**
 * A match of a bound value against a constant pattern: `\u0002NAME\u0003'PATTERN'\u0002`. v1.32
 * compiles a `matches()` pattern at every call (0.2 ms for the repository's), and the checks
 * match the same value against the same pattern several times: each such pair is evaluated
 * once, at the top of the expression (`Scope.inlineOnce`).
 */
const MATCH = /\u0002([A-Za-z0-9]+)\u0003('(?:[^'\\]|\\.)*')\u0002/g;
const ANY_TOKEN = new RegExp(`${MATCH.source}|${TOKEN.source}`, 'g');
/** An expression that is only a bound value. */
const WHOLE_TOKEN = new RegExp(`^${TOKEN.source}$`);
/** The comprehension variables hoisted values are read from (`gsValues0`, `gsValues1`, …, `gsMatched`); no expression of the export uses them otherwise. */
const HOISTED = /\bgs(?:Values[0-9]+|Matched)\b/;

interface Bound {
  cel: string;
  /** Evaluating it cannot fail, so it may be read before the guards that would have skipped it. */
  total: boolean;
}

export class Scope {
  private readonly defs = new Map<string, Bound>();

  /** A named value, written out where it is used: its evaluation may fail where the expression's guards would not let it run. */
  bind<T>(name: string, x: X<T>): X<T> {
    return this.add(name, x, false);
  }
  /**
   * A named string whose evaluation cannot fail (annotation reads, lookups with a fallback, string
   * operations): `inlineOnce` reads it once, at the top, in an expression that uses it more than once.
   * Strings only, so the values hoisted together form a list of one type.
   */
  bindTotal(name: string, x: S): S {
    for (const m of x.cel.matchAll(ANY_TOKEN)) {
      const used = m[1] ?? m[3]!;
      if (!this.defs.get(used)?.total) throw new Error(`total value ${name} uses ${used}, which is not total`);
    }
    return this.add(name, x, true);
  }
  private add<T>(name: string, x: X<T>, total: boolean): X<T> {
    if (!/^[a-z][A-Za-z0-9]*$/.test(name)) throw new Error(`bad variable name ${name}`);
    if (this.defs.has(name)) throw new Error(`variable ${name} bound twice`);
    this.defs.set(name, { cel: x.cel, total });
    let cached: { input: Input; value: T } | undefined;
    return make(`\u0001${name}\u0001`, (i) => {
      if (cached?.input !== i) cached = { input: i, value: x.ev(i) };
      return cached.value;
    });
  }

  /** The text with every token replaced by the expression it stands for (parenthesised). */
  inline(text: string): string {
    return this.render(text, new Map());
  }

  /**
   * As `inline`, but what the text reads more than once is read once, at the top: the total
   * values it uses more than once (each layer a one-element list of the values that need only
   * the layers above, mapped over: `[[v0, v1, …]].map(gsValues0, …)[0]`, CEL's way to bind
   * values without variables), then the distinct matches of total values it makes more than
   * once (`gsMatched`). Those are all evaluated, where the text would have skipped some; none
   * can fail, so only the time differs.
   */
  inlineOnce(text: string): string {
    if (HOISTED.test(text)) throw new Error(`an expression uses ${HOISTED.source} itself`);
    // How often each value and match is read, in the text written out in full.
    const reads = new Map<string, number>();
    const visit = (t: string): void => {
      for (const m of t.matchAll(ANY_TOKEN)) {
        const name = m[1] ?? m[3]!;
        const count = (key: string): void => void reads.set(key, (reads.get(key) ?? 0) + 1);
        // Values by name; a match by its token, and it reads its value too (hoisted, each distinct match reads it once).
        if (m[1] !== undefined) count(m[0]);
        count(name);
        visit(this.defs.get(name)!.cel);
      }
    };
    visit(text);
    const once = (key: string, name: string): boolean => (reads.get(key) ?? 0) > 1 && this.defs.get(name)!.total;
    // Values in layers: each after the values its definition reads (definitions only read values bound before them).
    const layerOf = new Map<string, number>();
    const layerAfter = (cel: string): number =>
      Math.max(0, ...[...cel.matchAll(ANY_TOKEN)].map((m) => m[1] ?? m[3]!).map((n) => (layerOf.has(n) ? layerOf.get(n)! + 1 : layerAfter(this.defs.get(n)!.cel))));
    for (const [name, { cel }] of this.defs) if (once(name, name)) layerOf.set(name, layerAfter(cel));
    const layers: string[][] = [];
    for (const [name, layer] of layerOf) (layers[layer] ??= []).push(name);
    const env = new Map<string, string>();
    const bindings: { variable: string; values: string[] }[] = [];
    layers.forEach((names, k) => {
      const variable = `gsValues${k}`;
      bindings.push({ variable, values: names.map((n) => this.render(this.defs.get(n)!.cel, env)) });
      names.forEach((n, i) => env.set(n, `${variable}[${i}]`));
    });
    const matched = [...reads.keys()].filter((key) => key.startsWith('\u0002') && once(key, /^\u0002([A-Za-z0-9]+)/.exec(key)![1]!));
    if (matched.length > 0) bindings.push({ variable: 'gsMatched', values: matched.map((key) => this.render(key, env)) });
    matched.forEach((key, i) => env.set(key, `gsMatched[${i}]`));
    return bindings.reduceRight((body, b) => `[[${b.values.join(', ')}]].map(${b.variable}, ${body})[0]`, this.render(text, env));
  }

  /** The text written out, reading from `env` what is hoisted (values by name, matches by their token). */
  private render(text: string, env: ReadonlyMap<string, string>): string {
    return text.replace(ANY_TOKEN, (whole, matchName: string | undefined, pattern: string | undefined, name: string | undefined) => {
      const hoisted = env.get(whole) ?? (name !== undefined ? env.get(name) : undefined);
      if (hoisted !== undefined) return hoisted;
      if (matchName !== undefined) return `${env.get(matchName) ?? `(${this.render(this.defs.get(matchName)!.cel, env)})`}.matches(${pattern!})`;
      return `(${this.render(this.defs.get(name!)!.cel, env)})`;
    });
  }
}

export const eq = (a: S, b: S): B => make(`(${a.cel} == ${b.cel})`, (i) => a.ev(i) === b.ev(i));
export const ne = (a: S, b: S): B => make(`(${a.cel} != ${b.cel})`, (i) => a.ev(i) !== b.ev(i));
export const not = (a: B): B => make(`!${a.cel}`, (i) => !a.ev(i));
export function and(...xs: B[]): B {
  if (xs.length === 0) return bool(true);
  if (xs.length === 1) return xs[0]!;
  return make(`(${xs.map((x) => x.cel).join(' && ')})`, (i) => xs.every((x) => x.ev(i)));
}
export function or(...xs: B[]): B {
  if (xs.length === 0) return bool(false);
  if (xs.length === 1) return xs[0]!;
  return make(`(${xs.map((x) => x.cel).join(' || ')})`, (i) => xs.some((x) => x.ev(i)));
}
export const cond = <T>(c: B, a: X<T>, b: X<T>): X<T> => make(`(${c.cel} ? ${a.cel} : ${b.cel})`, (i) => (c.ev(i) ? a.ev(i) : b.ev(i)));

/** A conditional chain: the first case whose condition holds, else the fallback. */
export const choose = <T>(cases: readonly (readonly [B, X<T>])[], fallback: X<T>): X<T> => cases.reduceRight<X<T>>((rest, [c, v]) => cond(c, v, rest), fallback);

export function concat(...xs: S[]): S {
  const parts = xs.filter((x) => x.cel !== "''");
  if (parts.length === 0) return str('');
  if (parts.length === 1) return parts[0]!;
  return make(`(${parts.map((x) => x.cel).join(' + ')})`, (i) => parts.map((x) => x.ev(i)).join(''));
}

/**
 * `s.matches(re)`. The regex must mean the same in RE2 and JavaScript: the
 * export's regexes are anchored and use only classes, groups, alternation
 * and bounded repetition, which both read alike.
 */
export const matches = (s: S, re: RegExp): B => {
  if (re.flags !== '') throw new Error(`regex ${re} has flags; CEL has none`);
  // A bound value's match is a token (Scope): made once per admission however often the checks ask.
  const bound = WHOLE_TOKEN.exec(s.cel);
  const cel = bound ? `\u0002${bound[1]}\u0003${celString(re.source)}\u0002` : `${s.cel}.matches(${celString(re.source)})`;
  return make(cel, (i) => re.test(s.ev(i)));
};

export const oneOf = (s: S, values: readonly string[]): B =>
  values.length === 0 ? bool(false) : make(`(${s.cel} in [${values.map(celString).join(', ')}])`, (i) => values.includes(s.ev(i)));

export const size = (s: S): N => make(`size(${s.cel})`, (i) => [...s.ev(i)].length);
export const le = (a: N, b: N): B => make(`(${a.cel} <= ${b.cel})`, (i) => a.ev(i) <= b.ev(i));
export const lt = (a: N, b: N): B => make(`(${a.cel} < ${b.cel})`, (i) => a.ev(i) < b.ev(i));
export const gt = (a: N, b: N): B => make(`(${a.cel} > ${b.cel})`, (i) => a.ev(i) > b.ev(i));

/** `int(s)` of a string the caller has checked is a plain decimal. */
export const toInt = (s: S): N => make(`int(${s.cel})`, (i) => Number.parseInt(s.ev(i), 10));
export const intString = (n: N): S => make(`string(${n.cel})`, (i) => String(n.ev(i)));
export const div = (a: N, b: number): N => make(`(${a.cel} / ${b})`, (i) => Math.trunc(a.ev(i) / b));
export const mod = (a: N, b: number): N => make(`(${a.cel} % ${b})`, (i) => a.ev(i) % b);

/** Whole seconds of a Go duration the caller has checked is of the form `[Nh][Nm][Ns]` (CEL's `duration()` reads Go's syntax). */
export const durationSeconds = (s: S): N =>
  make(`duration(${s.cel}).getSeconds()`, (i) => {
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s.ev(i));
    if (!m) throw new Error(`not a whole-second duration: ${s.ev(i)}`);
    return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  });

/** A CEL list over the pod's containers (`spec.containers`, or `spec.initContainers`, …): the raw JSON in TypeScript. */
export type ListPath = 'containers' | 'initContainers' | 'ephemeralContainers' | 'volumes';
const listOf = (i: Input, path: ListPath): Record<string, unknown>[] => {
  const spec = (i.pod.spec ?? {}) as Record<string, unknown>;
  const v = spec[path];
  return Array.isArray(v) ? (v as Record<string, unknown>[]) : [];
};
const specList = (path: ListPath): string => (path === 'containers' ? 'object.spec.containers' : `(has(object.spec.${path}) ? object.spec.${path} : [])`);

/** An element predicate, written once with its CEL (over the loop variable) and its TypeScript. */
export interface ElementTest {
  cel: (v: string) => string;
  ev: (e: Record<string, unknown>, i: Input) => boolean;
}

export const exists = (path: ListPath, t: ElementTest): B =>
  make(`${specList(path)}.exists(e, ${t.cel('e')})`, (i) => listOf(i, path).some((e) => t.ev(e, i)));
export const all = (path: ListPath, t: ElementTest): B => make(`${specList(path)}.all(e, ${t.cel('e')})`, (i) => listOf(i, path).every((e) => t.ev(e, i)));

/** Element test: the element's string field is one of `values`. */
export const fieldIn = (field: string, values: readonly string[]): ElementTest => ({
  cel: (v) => `(has(${v}.${field}) && ${v}.${field} in [${values.map(celString).join(', ')}])`,
  ev: (e) => typeof e[field] === 'string' && values.includes(e[field] as string),
});
/** Element test: the element's string field matches `re`. */
export const fieldMatches = (field: string, re: RegExp): ElementTest => ({
  cel: (v) => `(has(${v}.${field}) && ${v}.${field}.matches(${celString(re.source)}))`,
  ev: (e) => typeof e[field] === 'string' && re.test(e[field] as string),
});
/** Element test: some entry of the element's list field passes `t`. */
export const anyOf = (field: string, t: ElementTest): ElementTest => ({
  cel: (v) => `(has(${v}.${field}) && ${v}.${field}.exists(${v}x, ${t.cel(`${v}x`)}))`,
  ev: (e, i) => Array.isArray(e[field]) && (e[field] as Record<string, unknown>[]).some((x) => t.ev(x, i)),
});
/** Element test: the string at `path` below the element (members that may be absent) is one of `values`. */
export const pathIn = (path: readonly string[], values: readonly string[]): ElementTest => ({
  cel: (v) => `(${v}${path.map((f) => `.?${f}`).join('')}.orValue('') in [${values.map(celString).join(', ')}])`,
  ev: (e) => {
    const found = valueAt(e, path);
    return typeof found === 'string' && values.includes(found);
  },
});
/** Element test: some entry of the list at `path` below the element (members that may be absent) passes `t`. */
export const anyAt = (path: readonly string[], t: ElementTest): ElementTest => ({
  cel: (v) => `${v}${path.map((f) => `.?${f}`).join('')}.orValue([]).exists(${v}x, ${t.cel(`${v}x`)})`,
  ev: (e, i) => {
    const list = valueAt(e, path);
    return Array.isArray(list) && list.some((x) => isObject(x) && t.ev(x, i));
  },
});
export const both = (a: ElementTest, b: ElementTest): ElementTest => ({ cel: (v) => `(${a.cel(v)} && ${b.cel(v)})`, ev: (e, i) => a.ev(e, i) && b.ev(e, i) });
export const negate = (a: ElementTest): ElementTest => ({ cel: (v) => `!${a.cel(v)}`, ev: (e, i) => !a.ev(e, i) });
/** Element test: the element's field equals the string expression `s` (evaluated outside the loop). */
export const fieldEq = (field: string, s: S): ElementTest => ({
  cel: (v) => `(has(${v}.${field}) && ${v}.${field} == ${s.cel})`,
  ev: (e, i) => e[field] === s.ev(i),
});
/** Element test: the element's `name` is among the comma-separated names in `list`. */
export const nameListed = (list: S): ElementTest => ({
  cel: (v) => `${v}.name in ${list.cel}.split(',')`,
  ev: (e, i) => list.ev(i).split(',').includes(e.name as string),
});
/** Every comma-separated name of `list` passes: is the name of one of the pod's containers. */
export const everyListedIsContainer = (list: S): B =>
  make(`${list.cel}.split(',').all(n, object.spec.containers.exists(c, c.name == n))`, (i) =>
    list
      .ev(i)
      .split(',')
      .every((n) => listOf(i, 'containers').some((c) => c.name === n)),
  );
/** The comma-separated names of `list` that are not containers of the pod, joined with ', ' and each quoted. */
export const missingContainers = (list: S): S =>
  make(`${list.cel}.split(',').filter(n, !object.spec.containers.exists(c, c.name == n)).map(n, '"' + n + '"').join(', ')`, (i) =>
    list
      .ev(i)
      .split(',')
      .filter((n) => !listOf(i, 'containers').some((c) => c.name === n))
      .map((n) => `"${n}"`)
      .join(', '),
  );
/** The names of the pod's containers, joined with ', '. */
export const containerNamesText: S = make(`object.spec.containers.map(c, c.name).join(', ')`, (i) =>
  listOf(i, 'containers')
    .map((c) => c.name)
    .join(', '),
);

/** Any expression written by hand with both faces, for the few forms above do not cover. */
export const raw = <T>(cel: string, ev: (i: Input) => T): X<T> => make(cel, ev);

/** The keys of the pod's annotations that match `re`, joined with ', ' (for messages). */
export const podAnnotationKeysMatching = (re: RegExp): S =>
  make(`(has(${POD_ANN}) ? ${POD_ANN}.filter(k, k.matches(${celString(re.source)})).join(', ') : '')`, (i) =>
    Object.keys(annotationsOf(i))
      .filter((k) => re.test(k))
      .join(', '),
  );
export const podAnnotationKeyMatches = (re: RegExp): B =>
  make(`(has(${POD_ANN}) && ${POD_ANN}.exists(k, k.matches(${celString(re.source)})))`, (i) => Object.keys(annotationsOf(i)).some((k) => re.test(k)));
export const nsAnnotationKeyMatches = (re: RegExp): B =>
  make(`(has(${NS_ANN}) && ${NS_ANN}.exists(k, k.matches(${celString(re.source)})))`, (i) => Object.keys(i.namespaceAnnotations).some((k) => re.test(k)));

/** Regex text for a literal string. */
export const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
