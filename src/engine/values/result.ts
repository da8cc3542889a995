import type { ProblemCode } from '../problems.ts';

/** A note a parser attaches to a value it accepts (becomes a warning). */
export interface ParseNote {
  code: ProblemCode;
  message: string;
}

/**
 * What every value parser returns. `message` completes the sentence
 * "<field>: …", so it says what is wrong with the value and what is allowed.
 */
export type Parsed<T> =
  | { ok: true; value: T; note?: ParseNote }
  | { ok: false; code: ProblemCode; message: string };

export const ok = <T>(value: T, note?: ParseNote): Parsed<T> => (note ? { ok: true, value, note } : { ok: true, value });
export const fail = (code: ProblemCode, message: string): Parsed<never> => ({ ok: false, code, message });

/**
 * Characters no annotation value may contain anywhere: C0 controls (newline,
 * tab, NUL…), DEL and the C1 range. Rejecting them up front means no value can
 * break a line in a file, an env var or a log, whatever a later parser allows.
 */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
