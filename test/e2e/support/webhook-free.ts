/**
 * The webhook-free proof's tools (test/e2e/webhook-free.e2e.test.ts): the
 * golden cases as the API server gets them, grouped by the policy they run
 * under; the export made servable by a v1.32 API server and bound to the
 * namespaces of one group; and the comparison of two stored pods, field for
 * field, once what the API server sets on its own is taken out.
 */
import type { Policy } from '../../../src/policy/types.ts';
import { creatable, goldenFiles } from './shapes.ts';

type Json = Record<string, any>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One golden case, with what the proof needs of it. */
export interface GoldenCase {
  file: string;
  /** A short id for names: the file's number, e.g. "02", "117". */
  id: string;
  /** The namespace the case was written for (kube-system for the excluded-namespace case). */
  namespace?: string;
  namespaceAnnotations?: Record<string, string>;
  policy?: Partial<Policy>;
  cluster?: { nativeSidecars?: boolean };
  /** The input pod, made creatable (shapes.ts). */
  pod: Json;
}

export function goldenCases(): GoldenCase[] {
  return goldenFiles<Omit<GoldenCase, 'file' | 'id' | 'pod'> & { input: unknown }>().map(({ file, doc: c }) => {
    const id = /^(\d+)/.exec(file)?.[1] ?? file;
    return {
      file,
      id,
      ...(c.namespace !== undefined && { namespace: c.namespace }),
      ...(c.namespaceAnnotations && { namespaceAnnotations: c.namespaceAnnotations }),
      ...(c.policy && { policy: c.policy }),
      ...(c.cluster && { cluster: c.cluster }),
      pod: creatable(c.input, `golden-${id}`),
    };
  });
}

/**
 * The case's policy overrides for pods created in `namespaces` rather than
 * in the namespace it was written for: a case about an excluded namespace
 * (kube-system) has its namespaces excluded instead, which is the same case
 * and leaves kube-system alone.
 */
export function overridesFor(c: GoldenCase, namespaces: string[], builtinExcluded: readonly string[]): Partial<Policy> | undefined {
  const excluded = c.policy?.excludedNamespaces ?? builtinExcluded;
  if (c.namespace === undefined || !excluded.includes(c.namespace)) return c.policy;
  return { ...c.policy, excludedNamespaces: [...excluded, ...namespaces] };
}

/** Cases that run under the same policy and cluster facts share one webhook and one export. */
export interface Group<T> {
  key: string;
  /** g01, g02…: in names and labels. */
  name: string;
  members: T[];
}

export function groupBy<T>(items: readonly T[], key: (item: T) => string): Group<T>[] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return [...groups].map(([k, members], i) => ({ key: k, name: `g${String(i + 1).padStart(2, '0')}`, members }));
}

const MAP_KINDS = new Set(['MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding']);
const GROUP = 'admissionregistration.k8s.io';

/**
 * The export as a v1.32 API server serves it: MutatingAdmissionPolicy and its
 * binding are alpha there (admissionregistration.k8s.io/v1alpha1, behind a
 * feature gate), with the same fields the export writes for v1. The
 * ValidatingAdmissionPolicy kinds are v1 (GA since 1.30) and stay as written.
 */
export function servedByV132(objects: readonly Json[]): Json[] {
  return objects.map((o) => (MAP_KINDS.has(o.kind) && String(o.apiVersion).startsWith(`${GROUP}/`) ? { ...o, apiVersion: `${GROUP}/v1alpha1` } : o));
}

/**
 * The export's objects renamed for one group (`-SUFFIX` on every name and
 * policyName), with each binding's namespaceSelector also requiring
 * `labels`: the export's own selector terms are kept, so the group's pods
 * meet them too.
 */
export function boundTo(objects: readonly Json[], suffix: string, labels: Record<string, string>): Json[] {
  return objects.map((o) => {
    const copy = structuredClone(o);
    copy.metadata = { ...copy.metadata, name: `${copy.metadata.name}-${suffix}` };
    if (String(copy.kind).endsWith('Binding')) {
      copy.spec.policyName = `${copy.spec.policyName}-${suffix}`;
      const match = (copy.spec.matchResources ??= {});
      const selector = (match.namespaceSelector ??= {});
      selector.matchLabels = { ...selector.matchLabels, ...labels };
    }
    return copy;
  });
}

/** The random part of the service-account token volume's name, which differs from pod to pod. */
const TOKEN_VOLUME = /kube-api-access-[a-z0-9]{5}/g;

/**
 * A stored pod with what the API server sets on its own taken out: identity
 * and bookkeeping (uid, resourceVersion, timestamps, managedFields: the
 * managers differ by mode), the namespace, a generated name, the token
 * volume's random suffix, and the status. The status annotation is parsed,
 * so that its named difference can be looked at on its own.
 */
export function normalisedPod(stored: Json, statusKey: string): { pod: Json; status?: Json } {
  const pod = JSON.parse(JSON.stringify(stored).replace(TOKEN_VOLUME, 'kube-api-access-TOKEN')) as Json;
  const metadata = pod.metadata as Json;
  for (const key of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'namespace', 'generation']) delete metadata[key];
  if (metadata.generateName) delete metadata.name;
  delete pod.status;
  const raw = metadata.annotations?.[statusKey];
  if (raw === undefined) return { pod };
  delete metadata.annotations[statusKey];
  return { pod, status: JSON.parse(raw) as Json };
}

/** Every path where `a` and `b` differ, one line each (lists compared item by item, in order). */
export function differences(a: unknown, b: unknown, path = ''): string[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length) out.push(`${path}[${i}]: only in the second: ${JSON.stringify(b[i])}`);
      else if (i >= b.length) out.push(`${path}[${i}]: only in the first: ${JSON.stringify(a[i])}`);
      else out.push(...differences(a[i], b[i], `${path}[${i}]`));
    }
    return out;
  }
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => differences(a[k], b[k], path ? `${path}.${k}` : k));
  }
  return Object.is(a, b) || JSON.stringify(a) === JSON.stringify(b) ? [] : [`${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`];
}

/** The errors the webhook gave ("field: message [CODE]" lines), or undefined when it did not deny. */
export function deniedBy(result: { code: number | null; stderr: string }, header: string): { field: string; code: string }[] | undefined {
  if (result.code === 0 || !result.stderr.includes(header)) return undefined;
  // A field may say where its value came from ("gitsync.dev/known-hosts (default): ..."): the annotation is its first word.
  return [...result.stderr.matchAll(/^(\S+)[^\n]*?: .*\[([A-Z][A-Z0-9_]*)\]\s*$/gm)].map((m) => ({ field: m[1]!, code: m[2]! }));
}

/** A long message's start and end, which say what and why; the middle is quoted CEL. */
export const shortened = (text: string): string => (text.length <= 2400 ? text : `${text.slice(0, 400)} … ${text.slice(-2000)}`);

export const warningsOf = (result: { stderr: string }): string[] =>
  result.stderr
    .split('\n')
    .filter((l) => l.startsWith('Warning: '))
    .map((l) => l.slice('Warning: '.length));

/** Percentile of sorted-or-not samples (nearest rank). */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

/** Runs `work` over `items`, at most `limit` at a time; results in the items' order. */
export async function inBatches<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
