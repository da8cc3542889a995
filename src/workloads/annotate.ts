/**
 * Writing opt-in annotations where the injector reads them: the pod
 * template's metadata (for a CronJob, its job template's pod template), never
 * the workload's own, which no pod ever sees. The change is an edit of the
 * manifest: values to add (as JSON Patch `add`, creating the annotations
 * mapping or the metadata when absent) and values to replace.
 */
import type { Operation } from 'fast-json-patch';
import { cloneJson, isObject, valueAt, WRITTEN_ANNOTATIONS } from '../engine/index.ts';
import { classify, pointer, type WorkloadKind } from './kinds.ts';
import type { Path } from './uninject.ts';

export interface AnnotateResult {
  workload: WorkloadKind;
  /** The object with the annotations on its pod template. */
  object: unknown;
  add: Operation[];
  replace: { path: Path; value: string }[];
  /** Keys already set to another value, when overwriting is not allowed: nothing is changed then. */
  conflicts: { key: string; current: string; wanted: string }[];
  /** Whether the template carries the status annotation: the new values apply once it is injected again. */
  injected: boolean;
}

const escape = (s: string): string => s.replaceAll('~', '~0').replaceAll('/', '~1');

/** Sets `annotations` (full keys) on the object's pod template; undefined (with why) for an object without one. */
export function annotateWorkload(object: unknown, annotations: Readonly<Record<string, string>>, options: { overwrite: boolean; prefix: string }): AnnotateResult | { workload: undefined; note: string } {
  const classified = classify(object);
  if ('note' in classified) return { workload: undefined, note: classified.note };
  const { workload } = classified;
  const base = workload.template;
  const template = valueAt(object, base);
  if (!isObject(template)) return { workload: undefined, note: `${base.join('.')} is not an object, so there is no pod template to annotate` };
  const metadata = template.metadata;
  const existing = isObject(metadata) && isObject(metadata.annotations) ? metadata.annotations : undefined;
  const add: Operation[] = [];
  const replace: { path: Path; value: string }[] = [];
  const conflicts: AnnotateResult['conflicts'] = [];
  const missing: Record<string, string> = {};
  for (const [key, value] of Object.entries(annotations)) {
    const current = existing?.[key];
    if (current === value) continue;
    if (typeof current === 'string') {
      if (options.overwrite) replace.push({ path: [...base, 'metadata', 'annotations', key], value });
      else conflicts.push({ key, current, wanted: value });
    } else if (current !== undefined && current !== null) {
      conflicts.push({ key, current: JSON.stringify(current), wanted: value });
    } else {
      missing[key] = value;
    }
  }
  const at = pointer(base);
  if (Object.keys(missing).length > 0) {
    if (existing) for (const [key, value] of Object.entries(missing)) add.push({ op: 'add', path: `${at}/metadata/annotations/${escape(key)}`, value });
    else if (isObject(metadata)) add.push({ op: 'add', path: `${at}/metadata/annotations`, value: missing });
    else add.push({ op: 'add', path: `${at}/metadata`, value: { annotations: missing } });
  }
  const unchanged = conflicts.length > 0 || (add.length === 0 && replace.length === 0);
  let result = object;
  if (!unchanged) {
    const copy = cloneJson(object) as Record<string, unknown>;
    const t = valueAt(copy, base) as Record<string, unknown>;
    const meta = (isObject(t.metadata) ? t.metadata : (t.metadata = {})) as Record<string, unknown>;
    meta.annotations = { ...(isObject(meta.annotations) ? meta.annotations : {}), ...annotations };
    result = copy;
  }
  const injected = existing !== undefined && `${options.prefix}${WRITTEN_ANNOTATIONS.status}` in existing;
  return { workload, object: result, add: unchanged ? [] : add, replace: unchanged ? [] : replace, conflicts, injected };
}
