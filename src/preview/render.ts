/**
 * What `inject` writes. YAML output copies every document it did not change
 * byte for byte, and writes a changed document as its own text with the
 * injected parts spliced in (yaml-splice.ts), so every line of the input
 * stays as it was. Each rewritten document is read back and compared with
 * the patched object; should the two ever differ, or the splice be
 * impossible (a change under an alias), the document is written from its
 * syntax tree (comments kept, lines re-spaced), else from the object
 * (comments lost), each with a note for the caller, rather than written wrong.
 */
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments, parseDocument } from 'yaml';
import { documentPatch, type EvaluatedDocument, type PreviewObject } from './evaluate.ts';
import { KUBERNETES_YAML, type ParsedSource } from './parse.ts';
import { detectStyle, patchYamlDocument, YamlPatchError } from './yaml-patch.ts';
import { spliceYamlDocument, writtenAsJson } from './yaml-splice.ts';
import { yamlText } from './yaml-text.ts';

export interface EvaluatedSource {
  source: ParsedSource;
  documents: EvaluatedDocument[];
}

export interface RenderedYaml {
  text: string;
  /** Documents that could not be spliced, with how they were written instead and why. */
  notes: string[];
}

function readBack(text: string): unknown {
  const docs = parseAllDocuments(text, KUBERNETES_YAML);
  if (!Array.isArray(docs) || docs.length !== 1 || docs[0]!.errors.length > 0) throw new YamlPatchError('the rewritten document does not read back as one document');
  return docs[0]!.toJS();
}

/** Throws unless `text` reads back as `output`, and a document written as JSON is still JSON that reads back as it. */
export function checkRewritten(text: string, output: unknown, json: boolean): void {
  if (!isDeepStrictEqual(readBack(text), output)) throw new YamlPatchError('the rewritten document does not read back as the patched object');
  if (!json) return;
  const range = parseDocument(text, KUBERNETES_YAML).contents?.range;
  let value: unknown;
  try {
    value = range ? JSON.parse(text.slice(range[0], range[1])) : undefined;
  } catch (error) {
    throw new YamlPatchError(`the rewritten document is no longer JSON: ${(error as Error).message}`);
  }
  if (!isDeepStrictEqual(value, output)) throw new YamlPatchError('the rewritten JSON does not read back as the patched object');
}

/** The changed document's new text: spliced, else from its syntax tree, else from its data. */
function rewrite(source: ParsedSource, evaluated: EvaluatedDocument, notes: string[]): string {
  const { doc, output } = evaluated;
  const yaml = doc.yaml!;
  const style = detectStyle(source.text.slice(doc.span[0], doc.span[1]));
  const where = `${source.name}: document ${doc.index}`;
  if (evaluated.objects[0]?.review === undefined) {
    const patch = documentPatch(evaluated);
    let why: string;
    try {
      const text = spliceYamlDocument(source.text, doc.span, yaml, patch, style);
      checkRewritten(text, output, writtenAsJson(yaml));
      return text;
    } catch (error) {
      if (!(error instanceof YamlPatchError)) throw error;
      why = error.message;
    }
    try {
      const copy = yaml.clone();
      patchYamlDocument(copy, patch);
      const text = copy.toString({ ...style, lineWidth: 0 });
      checkRewritten(text, output, false);
      notes.push(`${where} was written from its syntax tree: comments and key order are kept, but untouched lines may be re-spaced (${why})`);
      // The syntax tree re-creates the document from its first token on; blank lines before that are kept as they were.
      const lead = doc.index > 1 ? source.text.slice(doc.span[0], yaml.range[0]) : '';
      return (/^\s*$/.test(lead) ? lead : '') + text;
    } catch (error) {
      if (!(error instanceof YamlPatchError)) throw error;
      notes.push(`${where} was written from its data, without its comments (${why}; from its syntax tree: ${error.message})`);
    }
  }
  // A review is answered by the webhook's response, which has nothing of the input's text to keep.
  const marker = doc.index > 1 || yaml.directives.docStart ? '---\n' : '';
  return marker + yamlText(output, style);
}

/** A changed JSON source: its own text with the injected parts spliced in as JSON, else YAML from its data. */
function rewriteJson(source: ParsedSource, evaluated: EvaluatedDocument, notes: string[]): string {
  const { output } = evaluated;
  if (evaluated.objects[0]?.review === undefined) {
    try {
      const yaml = parseDocument(source.text, { ...KUBERNETES_YAML, uniqueKeys: false });
      if (yaml.errors.length > 0 || !writtenAsJson(yaml)) throw new YamlPatchError('the JSON does not read as a YAML flow mapping');
      const text = spliceYamlDocument(source.text, [0, source.text.length], yaml, documentPatch(evaluated), detectStyle(source.text));
      checkRewritten(text, output, true);
      return text;
    } catch (error) {
      if (!(error instanceof YamlPatchError)) throw error;
      notes.push(`${source.name}: written as YAML from its data (${error.message})`);
    }
  }
  return yamlText(output);
}

function renderSource(evaluated: EvaluatedSource, notes: string[]): string {
  const { source, documents } = evaluated;
  if (source.format === 'json') {
    return documents.map((d) => (d.output === null || d.output === undefined ? '' : d.changed ? rewriteJson(source, d, notes) : source.text)).join('');
  }
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

/**
 * One YAML stream of every source in order; sources are joined with a
 * document marker where they lack one. kubectl reads a stream whose first
 * character is `{` or `[` as JSON, which a following `---` breaks, so a
 * stream of several sources that starts with JSON starts with a marker.
 */
export function renderYaml(sources: readonly EvaluatedSource[]): RenderedYaml {
  const notes: string[] = [];
  return { text: withBom(sources, joinYamlSources(sources.map((source) => renderSource(source, notes)))), notes };
}

/** A lone source that began with a byte-order mark is written with it, so that what is unchanged stays byte for byte; several are joined without. */
export const withBom = (sources: readonly { source: ParsedSource }[], text: string): string =>
  sources.length === 1 && sources[0]!.source.bom ? `\uFEFF${text}` : text;

/** The texts of several sources as one YAML stream (see renderYaml). */
export function joinYamlSources(texts: readonly string[]): string {
  const pieces = texts.filter((piece) => piece.trim() !== '');
  let text = '';
  for (const piece of pieces) {
    if (text !== '') {
      if (!text.endsWith('\n')) text += '\n';
      if (!startsWithMarker(piece)) text += '---\n';
    }
    text += piece;
  }
  if (pieces.length > 1 && /^\s*[{[]/.test(text)) text = `---\n${text}`;
  return text;
}

/** The outputs as JSON: one object as itself, several as a v1 List (which kubectl apply reads like a stream). */
export function renderJson(sources: readonly EvaluatedSource[]): string {
  return outputsJson(sources.flatMap((s) => s.documents.map((d) => d.output)));
}

/** Documents as JSON: one object as itself, several as a v1 List; empty documents are left out. */
export function outputsJson(outputs: readonly unknown[]): string {
  const values = outputs.filter((v) => v !== null && v !== undefined);
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
