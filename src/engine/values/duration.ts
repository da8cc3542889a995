import { fail, ok, type Parsed } from './result.ts';
import { quote } from '../problems.ts';

/** Milliseconds per Go duration unit. */
const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const GO_DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const MAX_MS = 24 * 3_600_000;

/** A positive Go-style duration (`30s`, `5m`, `1h30m`, `500ms`) of at most 24h, in milliseconds. */
export function parseDuration(raw: string): Parsed<number> {
  if (!GO_DURATION.test(raw)) {
    return fail('DURATION_INVALID', `${quote(raw)} is not a duration; use a Go duration such as 30s, 5m or 1h30m`);
  }
  let ms = 0;
  for (const [, amount, unit] of raw.matchAll(TERM)) ms += Number(amount) * (UNITS[unit!] ?? 0);
  if (!(ms >= 1)) return fail('DURATION_INVALID', `${quote(raw)} is too short; use at least 1ms, such as 30s`);
  if (ms > MAX_MS) return fail('DURATION_INVALID', `${quote(raw)} is too long; use at most 24h`);
  return ok(Math.round(ms));
}

/** Formats milliseconds the way Go prints durations (`1m30s`, `500ms`), which git-sync parses back. */
export function formatDuration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  let seconds = ms / 1000;
  const h = Math.floor(seconds / 3600);
  seconds -= h * 3600;
  const m = Math.floor(seconds / 60);
  seconds -= m * 60;
  let out = '';
  if (h) out += `${h}h`;
  if (m) out += `${m}m`;
  if (seconds || !out) out += `${seconds}s`;
  return out;
}
