/**
 * Admission warnings travel back to kubectl as HTTP Warning headers. The API
 * server may cut a warning longer than 256 characters and drops them past
 * 4096 in total, so the webhook cuts them itself: each one readable, and a
 * closing note that says how many did not fit instead of a silent loss.
 */

export const MAX_WARNING_LENGTH = 256;
export const MAX_WARNINGS_TOTAL = 4096;

/** Header values cannot carry control characters; a newline in a warning would split it. */
const CONTROL = /[\u0000-\u001f\u007f]+/g;

function clip(text: string): string {
  const clean = text.replace(CONTROL, ' ');
  if (clean.length <= MAX_WARNING_LENGTH) return clean;
  // Cut between code points so a surrogate pair is never split in half.
  let cut = '';
  for (const ch of clean) {
    if (cut.length + ch.length > MAX_WARNING_LENGTH - 1) break;
    cut += ch;
  }
  return `${cut}…`;
}

const moreNote = (n: number): string => `… ${n} more warning${n === 1 ? '' : 's'} not shown`;

export function capWarnings(warnings: readonly string[]): string[] {
  const clipped = warnings.map(clip);
  const kept: string[] = [];
  let total = 0;
  for (const w of clipped) {
    if (total + w.length > MAX_WARNINGS_TOTAL) break;
    kept.push(w);
    total += w.length;
  }
  if (kept.length === clipped.length) return kept;
  // Make room for the note itself, which counts against the total too.
  while (kept.length > 0 && total + moreNote(clipped.length - kept.length).length > MAX_WARNINGS_TOTAL) {
    total -= kept.pop()!.length;
  }
  return [...kept, moreNote(clipped.length - kept.length)];
}
