/**
 * Writing manifests that `annotate` and `uninject` changed, with the same
 * promise `inject` makes: documents they did not change are copied byte for
 * byte, a changed document is its own text with only the changed parts
 * edited (yaml-edit.ts for removals and replaced values, then yaml-splice.ts
 * for additions), read back and compared with the intended object; should
 * that ever fail, the document is written from its data, with a note.
 */
import type { Operation } from 'fast-json-patch';
import { parseAllDocuments, parseDocument } from 'yaml';
import { KUBERNETES_YAML, type ParsedSource, type SourceDocument } from './parse.ts';
import { checkRewritten, joinYamlSources, withBom, type RenderedYaml } from './render.ts';
import { editYamlDocument, type TextEdits } from './yaml-edit.ts';
import { detectStyle, YamlPatchError } from './yaml-patch.ts';
import { spliceYamlDocument, writtenAsJson } from './yaml-splice.ts';
import { yamlText } from './yaml-text.ts';

export interface DocumentEdits extends TextEdits {
  /** Add operations, spliced after the removals and replacements. */
  add: readonly Operation[];
}

export interface EditedDocument {
  doc: SourceDocument;
  /** The document as it is to be written. */
  output: unknown;
  /** How to get there from the text; undefined when the document is unchanged. */
  edits?: DocumentEdits;
}

export interface EditedSource {
  source: ParsedSource;
  documents: EditedDocument[];
}

/** `text` edited, then spliced: both on the text alone, re-read between the two. */
function editText(text: string, edits: DocumentEdits, json: boolean): string {
  let out = text;
  if (edits.remove.length > 0 || edits.replace.length > 0) {
    const doc = parseDocument(out, { ...KUBERNETES_YAML, uniqueKeys: !json });
    if (doc.errors.length > 0) throw new YamlPatchError('the document does not read as YAML');
    out = editYamlDocument(out, [0, out.length], doc, edits);
  }
  if (edits.add.length > 0) {
    const docs = parseAllDocuments(out, { ...KUBERNETES_YAML, uniqueKeys: !json });
    if (!Array.isArray(docs) || docs.length !== 1 || docs[0]!.errors.length > 0) throw new YamlPatchError('the edited document does not read back as one document');
    out = spliceYamlDocument(out, [0, out.length], docs[0]!, edits.add, detectStyle(out));
  }
  return out;
}

function renderDocument(source: ParsedSource, d: EditedDocument, notes: string[]): string {
  const json = source.format === 'json';
  const original = json ? source.text : source.text.slice(d.doc.span[0], d.doc.span[1]);
  if (!d.edits) return original;
  const asJson = json || (d.doc.yaml !== undefined && writtenAsJson(d.doc.yaml));
  try {
    const text = editText(original, d.edits, json);
    checkRewritten(text, d.output, asJson);
    return text;
  } catch (error) {
    if (!(error instanceof YamlPatchError)) throw error;
    const where = json ? source.name : `${source.name}: document ${d.doc.index}`;
    notes.push(`${where} was written from its data, without its comments (${error.message})`);
  }
  if (json) return `${JSON.stringify(d.output, null, 2)}\n`;
  const marker = d.doc.index > 1 || d.doc.yaml?.directives.docStart ? '---\n' : '';
  return marker + yamlText(d.output, detectStyle(original));
}

/** Every source in order, as one YAML stream (a JSON source stays JSON). */
export function renderEdited(sources: readonly EditedSource[]): RenderedYaml {
  const notes: string[] = [];
  const texts = sources.map(({ source, documents }) => {
    if (source.format === 'json') return documents.map((d) => (d.output === null || d.output === undefined ? '' : renderDocument(source, d, notes))).join('');
    if (documents.length === 0) return source.text;
    return documents.map((d) => renderDocument(source, d, notes)).join('');
  });
  return { text: withBom(sources, joinYamlSources(texts)), notes };
}
