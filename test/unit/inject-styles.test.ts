/**
 * `inject` over manifests written in every style met in the wild
 * (test/fixtures/manifests/styles/: flow collections, comments after values,
 * odd indentation, block scalars, anchors, CRLF line ends, document markers,
 * JSON): the output is the input with lines added, kubectl reads it, it is
 * the engine's patch applied to the input, and JSON stays JSON.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments, type Document } from 'yaml';
import type { AdmissionDeps } from '../../src/admission/index.ts';
import { documentPatch, evaluateSource, parseSource, renderYaml, KUBERNETES_YAML } from '../../src/preview/index.ts';
import { applyPatchToCopy } from '../support/apply.ts';
import { kubectlAvailable, kubectlRead } from '../support/kubectl.ts';
import { engineContext } from '../support/server.ts';

const DIR = fileURLToPath(new URL('../fixtures/manifests/styles/', import.meta.url));
const FIXTURES = readdirSync(DIR).filter((name) => /\.(ya?ml|json)$/.test(name)).sort();
const deps: AdmissionDeps = { ctx: engineContext(), namespaceAnnotations: () => undefined };

/**
 * Input lines that the output may not keep whole: a flow collection that
 * closes on the line where something is added to it has to be split there
 * (`{a: 1` + new lines + `}`); no layout can add to it without changing that line.
 */
const SPLIT_LINES: Record<string, number> = { 'flow-compact.yaml': 2, 'pod.json': 1 };

/** The input lines missing from the output when the output is read as the input with lines inserted. */
function linesNotKept(input: string, output: string): string[] {
  const out = output.split('\n');
  const missing: string[] = [];
  let at = 0;
  for (const line of input.split('\n')) {
    const found = out.indexOf(line, at);
    if (found === -1) missing.push(line);
    else at = found + 1;
  }
  return missing;
}

/** Every document of a YAML stream as data, read as Kubernetes reads it; empty documents dropped. */
function readAll(text: string): unknown[] {
  const docs = parseAllDocuments(text, KUBERNETES_YAML) as Document[];
  for (const d of docs) expect(d.errors).toEqual([]);
  return docs.map((d) => d.toJS()).filter((v) => v !== null && v !== undefined);
}

function inject(name: string): { input: string; output: string; notes: string[]; expected: unknown[] } {
  const input = readFileSync(`${DIR}${name}`, 'utf8');
  const source = parseSource(name, input, name.endsWith('.json') ? 'json' : 'yaml');
  const documents = evaluateSource(source, deps, {});
  expect(documents.some((d) => d.changed)).toBe(true);
  const { text, notes } = renderYaml([{ source, documents }]);
  // What the output must read as: the engine's patch applied to each document of the input, independently of the writer.
  const expected = documents.map((d) => applyPatchToCopy(d.doc.value, documentPatch(d))).filter((v) => v !== null && v !== undefined);
  return { input, output: text, notes, expected };
}

describe.each(FIXTURES)('%s', (name) => {
  test('the output is the input with lines added, and reads as the input with the engine’s patch applied', () => {
    const { input, output, notes, expected } = inject(name);
    expect(notes).toEqual([]);
    expect(linesNotKept(input, output)).toHaveLength(SPLIT_LINES[name] ?? 0);
    expect(readAll(output)).toEqual(expected);
    if (input.includes('\r\n')) expect(output.replaceAll('\r\n', '')).not.toContain('\n');
  });

  test.runIf(/^\s*\{/.test(readFileSync(`${DIR}${name}`, 'utf8')))('JSON in, valid JSON out', () => {
    const { output, expected } = inject(name);
    expect([JSON.parse(output)]).toEqual(expected);
  });

  test.skipIf(!kubectlAvailable())('kubectl reads the output as the same objects', () => {
    const { output, expected } = inject(name);
    expect(kubectlRead(output)).toEqual(expected);
  });
});

if (!kubectlAvailable()) test.skip('kubectl reads every output: skipped, no kubectl client on PATH', () => {});
