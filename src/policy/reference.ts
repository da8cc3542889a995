/**
 * The policy reference in the docs, generated from the schema so that it
 * cannot drift from what the loader accepts: one row per field, with its
 * kind of value, its built-in default and its help text.
 */
import { isObject } from '../engine/index.ts';
import { typeText } from './field-types.ts';
import { POLICY_FIELDS, fieldDefault, type PolicyField } from './schema.ts';

const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (s: string): string => `\`${s}\``;

function defaultText(value: unknown): string {
  if (value === undefined) return 'none';
  if (Array.isArray(value)) return value.length ? value.map((v) => code(String(v))).join(', ') : 'none';
  if (isObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return 'none';
    // A map of maps (presets) is shown by its names; a map of values in full.
    return entries.map(([k, v]) => code(isObject(v) ? k : `${k}: ${String(v)}`)).join(', ');
  }
  return code(String(value));
}

/** The policy reference as a Markdown table: field, type, default, meaning. */
export function policyReferenceTable(fields: readonly PolicyField[] = POLICY_FIELDS): string {
  const rows = fields.map((f) => `| ${code(f.path)} | ${cell(typeText(f.type))} | ${cell(defaultText(fieldDefault(f)))} | ${cell(f.help)} |`);
  return ['| field | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
