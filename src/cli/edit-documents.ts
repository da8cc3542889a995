/**
 * What `annotate` and `uninject` share: going over every object of every
 * document (a List's items one by one), letting the command change each
 * pod or workload, and writing the result as YAML that keeps the input's
 * text, as JSON, or as the JSON Patch of each changed object.
 */
import type { Operation } from 'fast-json-patch';
import { isObject, podDisplayName } from '../engine/index.ts';
import { isList, label, location, outputsJson, renderEdited, type DocumentEdits, type EditedSource, type ParsedSource, type PreviewObject, type SourceDocument } from '../preview/index.ts';
import type { Path } from '../workloads/index.ts';

/** What a command did to one object. */
export interface ObjectChange {
  /** The object as it is to be written. */
  object: unknown;
  /** Members and items removed, in removal order; values replaced; operations added. Empty when unchanged. */
  remove: Path[];
  replace: { path: Path; value: string }[];
  add: Operation[];
  /** Lines for standard error (warnings, refusals), without the object's location. */
  messages: string[];
  /** Whether the object makes the command fail (exit 1). */
  failed?: boolean;
}

/** An object of the input, with where it is, for messages. */
export interface Located {
  object: unknown;
  /** Where the object is, for messages: FILE:LINE (document N) KIND NAMESPACE/NAME. */
  where: string;
}

export interface EditResult {
  sources: EditedSource[];
  messages: string[];
  failed: boolean;
  /** One entry per changed object, for -o patch. */
  patches: { source: string; document: number; item?: number; kind: string; namespace: string; name: string; patch: Operation[] }[];
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function describe(source: ParsedSource, doc: SourceDocument, object: unknown, item?: number): { where: string; kind: string; namespace: string; name: string } {
  const meta = isObject(object) && isObject(object.metadata) ? object.metadata : {};
  const kind = isObject(object) ? str(object.kind) : '';
  const namespace = str(meta.namespace);
  const name = podDisplayName(object);
  const o = { source: source.name, document: doc.index, line: item === undefined ? doc.line : (doc.itemLines?.[item] ?? doc.line), kind, namespace, name } as PreviewObject;
  if (item !== undefined) o.item = item;
  return { where: `${location(o)} ${label(o)}`, kind, namespace, name };
}

const escape = (s: string | number): string => String(s).replaceAll('~', '~0').replaceAll('/', '~1');
const pointer = (path: Path): string => path.map((s) => `/${escape(s)}`).join('');

/** The JSON Patch of a change: removals, then replacements, then additions. */
function patchOf(change: ObjectChange): Operation[] {
  return [
    ...change.remove.map((p): Operation => ({ op: 'remove', path: pointer(p) })),
    ...change.replace.map((r): Operation => ({ op: 'replace', path: pointer(r.path), value: r.value })),
    ...change.add,
  ];
}

/**
 * Applies `change` to every object of every document. AdmissionReviews
 * are written as they are: they are requests, not manifests.
 */
export function editSources(sources: readonly ParsedSource[], change: (object: unknown, item: Located) => ObjectChange | undefined): EditResult {
  const result: EditResult = { sources: [], messages: [], failed: false, patches: [] };
  for (const source of sources) {
    const documents = source.documents.map((doc) => {
      const value = doc.value;
      if (value === null || value === undefined || (isObject(value) && value.kind === 'AdmissionReview')) return { doc, output: value };
      const edits: DocumentEdits = { remove: [], replace: [], add: [] };
      /** The object (or List, whose items are visited in turn, nested ones too) at `at` of the document, as it is to be written. */
      const visit = (object: unknown, at: Path, item: number | undefined): unknown => {
        if (isList(object)) {
          const items = object.items.map((o, i) => visit(o, [...at, 'items', i], at.length === 0 ? i : item));
          return items.some((o, i) => o !== object.items[i]) ? { ...object, items } : object;
        }
        const d = describe(source, doc, object, item);
        const c = change(object, { object, where: d.where });
        if (!c) return object;
        // Indented lines continue the line before them (the errors under a denial).
        result.messages.push(...c.messages.map((m) => (m.startsWith('  ') ? m : `${d.where}: ${m}`)));
        result.failed ||= c.failed === true;
        const under = (p: Path): Path => [...at, ...p];
        (edits.remove as Path[]).push(...c.remove.map(under));
        (edits.replace as { path: Path; value: string }[]).push(...c.replace.map((r) => ({ path: under(r.path), value: r.value })));
        (edits.add as Operation[]).push(...c.add.map((op) => ({ ...op, path: pointer(at) + op.path })));
        const patch = patchOf(c);
        if (patch.length > 0) result.patches.push({ source: source.name, document: doc.index, ...(item !== undefined && { item }), kind: d.kind, namespace: d.namespace, name: d.name, patch });
        return patch.length > 0 ? c.object : object;
      };
      const output = visit(value, [], undefined);
      const changed = edits.remove.length + edits.replace.length + edits.add.length > 0;
      return changed ? { doc, output, edits } : { doc, output: value };
    });
    result.sources.push({ source, documents });
  }
  return result;
}

/** The output in the chosen format: yaml (the input's text, edited), json, or patch. */
export function renderEdits(result: EditResult, output: string): { text: string; notes: string[] } {
  if (output === 'json') return { text: outputsJson(result.sources.flatMap((s) => s.documents.map((d) => d.output))), notes: [] };
  if (output === 'patch') return { text: `${JSON.stringify(result.patches, null, 2)}\n`, notes: [] };
  return renderEdited(result.sources);
}
