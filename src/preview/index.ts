/** The dry-run preview: reading manifests, what the webhook would do to each object, and writing the result. */
export {
  PREVIEW_OUTCOMES,
  REFUSED,
  documentPatch,
  evaluateDocument,
  evaluateSource,
  previewObject,
  previewObjects,
  summarise,
  type EvaluatedDocument,
  type Location,
  type PlainDocument,
  type PreviewMode,
  type PreviewObject,
  type PreviewOptions,
  type PreviewOutcome,
  type PreviewSummary,
} from './evaluate.ts';
export { InputError, isList, KUBERNETES_YAML, MAX_DEPTH, objectCount, parseSource, sniffFormat, type InputErrorReason, type InputFormat, type ParsedSource, type SourceDocument } from './parse.ts';
export { previewDocuments, previewResponse, previewText, TooManyObjectsError, type PreviewLimits, type PreviewResponse } from './preview.ts';
export { DEFAULT_WORKER_OPTIONS, PreviewWorker, WorkerAbortedError, WorkerBusyError, WorkerLimitError, type PreviewWorkerOptions } from './offload.ts';
export { outputsJson, renderJson, renderPatches, renderYaml, type EvaluatedSource, type PatchEntry, type RenderedYaml } from './render.ts';
export { renderEdited, type DocumentEdits, type EditedDocument, type EditedSource } from './render-edits.ts';
export { editYamlDocument, type TextEdits, type TextPath } from './yaml-edit.ts';
export { checkLine, label, location, refusal, warningLines } from './report.ts';
export { isUrl, MAX_URL_BYTES, readInputs, SourceError, STDIN_NAME, type InputText } from './sources.ts';
export { detectStyle, patchYamlDocument, YamlPatchError, type YamlStyle } from './yaml-patch.ts';
export { spliceYamlDocument, writtenAsJson } from './yaml-splice.ts';
export { flowText, plainIsSafe, yamlText } from './yaml-text.ts';
