import type { ProblemCode } from '../problems.ts';

/** A note a parser attaches to a value it accepts (becomes a warning). */
export interface ParseNote {
  code: ProblemCode;
  message: string;
}

/**
 * What every value parser returns. `message` completes the sentence
 * "<field>: …", so it says what is wrong with the value and what is allowed.
 * The codes are the engine's; the policy's own parsers, which share this
 * shape, widen `C` to include the policy's codes (policy/problems.ts).
 */
export type Parsed<T, C extends string = ProblemCode> =
  | { ok: true; value: T; note?: ParseNote }
  | { ok: false; code: C; message: string };

export const ok = <T>(value: T, note?: ParseNote): Parsed<T, never> => (note ? { ok: true, value, note } : { ok: true, value });
export const fail = <C extends string>(code: C, message: string): Parsed<never, C> => ({ ok: false, code, message });

/**
 * Characters no annotation value may contain anywhere: C0 controls (newline,
 * tab, NUL…), DEL and the C1 range. Rejecting them up front means no value can
 * break a line in a file, an env var or a log, whatever a later parser allows.
 */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
