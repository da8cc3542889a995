/** The webhook adapter's public surface: the HTTP server and the preview endpoint import from here. */
export { ADMISSION_OUTCOMES, admit, answerJson, PASS_REASONS, type Admission, type AdmissionDeps, type AdmissionOutcome, type AdmissionSummary, type PassReason } from './admit.ts';
export { ADMISSION_API_VERSION, ADMISSION_KIND, MAX_COLLECTIONS, MAX_NESTING, closingQuote, nestingBeyond, shapeBeyond, type AdmissionResponse, type AdmissionReviewResponse, type AdmissionStatus } from './review.ts';
export { MAX_WARNINGS_TOTAL, MAX_WARNING_LENGTH, capWarnings } from './warnings.ts';
