/**
 * The webhook-free export: one policy compiled into admission policies the
 * API server runs itself (MutatingAdmissionPolicy, ValidatingAdmissionPolicy),
 * derived from the engine, and the same compiled checks and mutation run in
 * TypeScript for the preview. Uses the engine and the policy's compiled
 * form; the engine never imports it.
 */
export { compileExport, INJECTION_LABEL, type CompiledExport, type CompileOutcome } from './compile.ts';
export { exportObjects, API_VERSIONS, EXPORT_NAME, type MapApiVersion } from './objects.ts';
export { evaluateWebhookFree, applyMutation, type WebhookFreeRequest, type WebhookFreeResult } from './evaluate.ts';
export { EXPORT_REFUSAL_CODES, formatRefusal, type ExportRefusal, type ExportRefusalCode } from './refusals.ts';
export { ANNOTATION_EXPORT, OTHER_FEATURES, type Decision } from './features.ts';
export { WEBHOOK_ONLY_HINT, type Check } from './checks.ts';
