/**
 * The policy's depth limit, shared by the engine (a pod's depth) and the
 * policy compiler (the policy's own defaults and presets), so that both say
 * the same thing in the same words.
 */
import { quote } from './problems.ts';

/** Whether a clone depth exceeds a maximum; 0 is the full history, deeper than any maximum. */
export const depthAbove = (depth: number, max: number): boolean => depth === 0 || depth > max;

/** Completes "<depth field>: …" for a depth above the maximum. */
export function depthMessage(raw: string, depth: number, max: number): string {
  const what = depth === 0 ? `${quote(raw)} (the full history)` : quote(raw);
  return `${what} is above the policy's maximum depth ${max}; use a depth from 1 to ${max}`;
}
