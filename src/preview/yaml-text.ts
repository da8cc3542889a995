/** Writing data as YAML for Kubernetes and for people. */
import { stringify } from 'yaml';
import type { YamlStyle } from './yaml-patch.ts';

/**
 * YAML 1.1 (what Kubernetes reads), with its full schema so that every string
 * any YAML 1.1 reader could take for something else (`"on"`, `"2024-01-01"`)
 * is quoted; no line folding: a folded annotation value would still be
 * correct, but unreadable; no anchors, even for repeated values.
 */
export const yamlText = (value: unknown, style: Partial<YamlStyle> = {}): string =>
  stringify(value, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false, indentSeq: false, ...style });
