/**
 * What `inject` writes. YAML output copies every document it did not change
 * byte for byte, and writes a changed document from its syntax tree with the
 * patch applied, so comments, key order and quoting survive everywhere but
 * in the added parts. Each rewritten document is read back and compared with
 * the patched object; should the two ever differ, the document is written
 * from the object instead (losing its comments, which the caller reports)
 * rather than written wrong.
 */
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { documentPatch, type EvaluatedDocument, type PreviewObject } from './evaluate.ts';
import { KUBERNETES_YAML, type ParsedSource } from './parse.ts';
import { detectStyle, patchYamlDocument, YamlPatchError } from './yaml-patch.ts';
import { yamlText } from './yaml-text.ts';

export interface EvaluatedSource {
  source: ParsedSource;
  documents: EvaluatedDocument[];
}

export interface RenderedYaml {
  text: string;
  /** Documents that had to be written from their data, with why: their comments are lost. */
  notes: string[];
}

function readBack(text: string): unknown {
  const docs = parseAllDocuments(text, KUBERNETES_YAML);
  if (!Array.isArray(docs) || docs.length !== 1 || docs[0]!.errors.length > 0) throw new YamlPatchError('the rewritten document does not read back as one document');
  return docs[0]!.toJS();
}

/** The changed document's new text, keeping what the syntax tree can keep. */
function rewrite(source: ParsedSource, evaluated: EvaluatedDocument, notes: string[]): string {
  const { doc, output } = evaluated;
  const yaml = doc.yaml!;
  const style = detectStyle(source.text.slice(doc.span[0], doc.span[1]));
  const review = evaluated.objects[0]?.review !== undefined;
  let body: string | undefined;
  if (!review) {
    try {
      const copy = yaml.clone();
      patchYamlDocument(copy, documentPatch(evaluated));
      const text = copy.toString({ ...style, lineWidth: 0 });
      if (!isDeepStrictEqual(readBack(text), output)) throw new YamlPatchError('the rewritten document does not read back as the patched object');
      body = text;
    } catch (error) {
      notes.push(`${source.name}: document ${doc.index} was written from its data, without its comments (${(error as Error).message})`);
    }
  }
  if (body === undefined) {
    // A review is answered by the webhook's response, which has nothing of the input's text to keep.
    const marker = doc.index > 1 || yaml.directives.docStart ? '---\n' : '';
    body = marker + yamlText(output, style);
  }
  // The syntax tree re-creates the document from its first token on; blank lines before that are kept as they were.
  const lead = doc.index > 1 ? source.text.slice(doc.span[0], yaml.range[0]) : '';
  return (/^\s*$/.test(lead) ? lead : '') + body;
}

function renderSource(evaluated: EvaluatedSource, notes: string[]): string {
  const { source, documents } = evaluated;
  if (source.format === 'json') return documents.map((d) => (d.output === null || d.output === undefined ? '' : yamlText(d.output))).join('');
  if (documents.length === 0) return source.text;
  return documents.map((d) => (d.changed ? rewrite(source, d, notes) : source.text.slice(d.doc.span[0], d.doc.span[1]))).join('');
}

/** Whether a YAML text starts with a document marker, looking past blank and comment lines. */
function startsWithMarker(text: string): boolean {
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    return trimmed === '---' || trimmed.startsWith('--- ');
  }
  return false;
}

/** One YAML stream of every source in order; sources are joined with a document marker where they lack one. */
export function renderYaml(sources: readonly EvaluatedSource[]): RenderedYaml {
  const notes: string[] = [];
  let text = '';
  for (const source of sources) {
    const piece = renderSource(source, notes);
    if (piece.trim() === '') continue;
    if (text !== '') {
      if (!text.endsWith('\n')) text += '\n';
      if (!startsWithMarker(piece)) text += '---\n';
    }
    text += piece;
  }
  return { text, notes };
}

/** The outputs as JSON: one object as itself, several as a v1 List (which kubectl apply reads like a stream). */
export function renderJson(sources: readonly EvaluatedSource[]): string {
  const values = sources.flatMap((s) => s.documents.map((d) => d.output)).filter((v) => v !== null && v !== undefined);
  const value = values.length === 1 ? values[0] : { apiVersion: 'v1', kind: 'List', items: values };
  return `${JSON.stringify(value, null, 2)}\n`;
}

export interface PatchEntry {
  source: string;
  document: number;
  item?: number;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** JSON Patch against the object itself (for a List item: against the item). */
  patch: PreviewObject['patch'];
}

/** Only the patches: one entry per object that gets one, for `kubectl patch --type=json` or a review. */
export function renderPatches(sources: readonly EvaluatedSource[]): string {
  const entries: PatchEntry[] = [];
  for (const { source, documents } of sources) {
    for (const o of documents.flatMap((d) => d.objects)) {
      if (o.patch.length === 0) continue;
      entries.push({
        source: source.name,
        document: o.document,
        ...(o.item !== undefined && { item: o.item }),
        apiVersion: o.apiVersion,
        kind: o.kind,
        namespace: o.namespace,
        name: o.name,
        patch: o.patch,
      });
    }
  }
  return `${JSON.stringify(entries, null, 2)}\n`;
}
