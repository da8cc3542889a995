/**
 * Reading manifests: JSON and YAML streams, where each document is, and
 * errors that point at the line and column the parser stopped at.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { InputError, MAX_DEPTH, parseSource, sniffFormat } from '../../src/preview/index.ts';
import { repeatedJsonKey } from '../../src/preview/parse.ts';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/manifests/${name}`, import.meta.url)), 'utf8');

function inputError(run: () => unknown): InputError {
  try {
    run();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('YAML streams', () => {
  test('every document, with its number and the line its content starts on', () => {
    const parsed = parseSource('mixed.yaml', fixture('mixed.yaml'), 'yaml');
    expect(parsed.format).toBe('yaml');
    expect(parsed.documents.map((d) => [d.index, d.line, (d.value as { kind: string }).kind])).toEqual([
      [1, 3, 'ConfigMap'],
      [2, 13, 'Deployment'],
      [3, 33, 'Deployment'],
      [4, 49, 'Service'],
      [5, 59, 'Job'],
    ]);
  });

  test('the document spans tile the text, so untouched documents can be copied byte for byte', () => {
    for (const text of [fixture('mixed.yaml'), '---\n---\na: 1\n', 'a: 1\n# trailing\n---\nb: 2', '%YAML 1.1\n---\na: 1\n...\n---\nb: 2\n\n\n']) {
      const { documents } = parseSource('x.yaml', text, 'yaml');
      expect(documents.map((d) => text.slice(d.span[0], d.span[1])).join('')).toBe(text);
      expect(documents[0]!.span[0]).toBe(0);
      expect(documents.at(-1)!.span[1]).toBe(text.length);
    }
  });

  test('empty documents are kept, as null', () => {
    expect(parseSource('x', '---\n---\nkind: Pod\n---\n', 'yaml').documents.map((d) => d.value)).toEqual([null, { kind: 'Pod' }, null]);
    expect(parseSource('x', '# only a comment\n', 'yaml').documents).toEqual([]);
    expect(parseSource('x', '', 'yaml').documents).toEqual([]);
  });

  test('List items know their lines', () => {
    const [doc] = parseSource('list.yaml', fixture('list.yaml'), 'yaml').documents;
    expect(doc!.itemLines).toEqual([5, 17, 24]);
  });

  test('values are read as YAML 1.1, as Kubernetes reads them', () => {
    const [doc] = parseSource('x', 'a: on\nb: "on"\nc: yes\nd: 0755\ne: off\n', 'yaml').documents;
    expect(doc!.value).toEqual({ a: true, b: 'on', c: true, d: 493, e: false });
  });

  test('timestamps and base-60 numbers stay strings, as in Kubernetes (go-yaml v2)', () => {
    const [doc] = parseSource('x', 'date: 2024-01-01\nwhen: 2001-12-14t21:59:43.10-05:00\ntime: 12:30\nport: 8080\n', 'yaml').documents;
    expect(doc!.value).toEqual({ date: '2024-01-01', when: '2001-12-14t21:59:43.10-05:00', time: '12:30', port: 8080 });
  });

  test('a duplicate key among many is found, at its line', () => {
    const text = `kind: ConfigMap\ndata:\n${Array.from({ length: 5000 }, (_, i) => `  k${i}: v`).join('\n')}\n  k42: again\n`;
    expect(inputError(() => parseSource('cm.yaml', text, 'yaml'))).toMatchObject({ reason: 'INVALID_YAML', line: 5003, column: 3, detail: 'invalid YAML: Map keys must be unique' });
  });

  test('a syntax error gives the parser\'s line and column', () => {
    const error = inputError(() => parseSource('broken.yaml', fixture('broken.yaml'), 'yaml'));
    expect(error).toMatchObject({ source: 'broken.yaml', reason: 'INVALID_YAML', line: 7, column: 1 });
    expect(error.message).toMatch(/^broken\.yaml:7:1: invalid YAML: /);
  });

  test('an error in a later document points into that document', () => {
    const error = inputError(() => parseSource('s.yaml', 'kind: A\n---\nkind: B\nmetadata: {}\nkind: C\n', 'yaml'));
    expect(error).toMatchObject({ line: 5, column: 1, detail: 'invalid YAML: Map keys must be unique' });
  });

  test.each([
    ['duplicate keys', 'kind: Pod\nkind: Service\n', 2, 1],
    ['tabs as indentation', 'metadata:\n\tname: x\n', 2, 1],
    ['an unclosed flow mapping', 'metadata: {name: x\nspec: 1\n', 2, 1],
  ])('%s', (_name, text, line, column) => {
    expect(inputError(() => parseSource('x.yaml', text, 'yaml'))).toMatchObject({ reason: 'INVALID_YAML', line, column });
  });

  test('aliases that would expand beyond reason are refused', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const error = inputError(() => parseSource('bomb.yaml', lines.join('\n'), 'yaml'));
    expect(error).toMatchObject({ reason: 'INVALID_YAML', line: 1 });
    expect(error.detail).toMatch(/^the input has aliases that expand to more than 10000 nodes/);
  });

  test(`documents nested deeper than ${MAX_DEPTH} levels are refused`, () => {
    const deep = `kind: Pod\nspec: ${'['.repeat(MAX_DEPTH + 1)}${']'.repeat(MAX_DEPTH + 1)}\n`;
    // Refused from the text, before parsing: the position is the bracket one level too deep.
    expect(inputError(() => parseSource('deep.yaml', deep, 'yaml'))).toMatchObject({ reason: 'TOO_DEEP', line: 2, column: 'spec: '.length + MAX_DEPTH + 1 });
    const fine = `kind: Pod\nspec: ${'['.repeat(MAX_DEPTH - 2)}${']'.repeat(MAX_DEPTH - 2)}\n`;
    expect(parseSource('ok.yaml', fine, 'yaml').documents).toHaveLength(1);
  });

  test('nesting by indentation too deep for the reader to follow is TOO_DEEP, where it gives up, not a syntax error', () => {
    // 3000 levels of block mappings: the YAML reader recurses per level and runs out of stack (it reports, not throws).
    const deep = `kind: ConfigMap\ndata:\n${Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i + 1)}k:\n`).join('')}`;
    const error = inputError(() => parseSource('deep.yaml', deep, 'yaml'));
    expect(error).toMatchObject({ reason: 'TOO_DEEP' });
    expect(error.line).toBeGreaterThan(2);
  });
});

describe('JSON', () => {
  test('one document spanning the whole text', () => {
    const text = '\n\n  {"kind": "Pod"}\n';
    expect(parseSource('p.json', text, 'json').documents).toEqual([{ index: 1, line: 3, span: [0, text.length], value: { kind: 'Pod' } }]);
  });

  test.each([
    ['{\n  "kind": "Pod",\n}', 3, 1, "Expected double-quoted property name"],
    ['{"kind": "Pod"', 1, 15, "Expected ',' or '}' after property value"],
    ['', 1, 1, 'Unexpected end'],
  ])('%j: error at %i:%i', (text, line, column, words) => {
    const error = inputError(() => parseSource('p.json', text, 'json'));
    expect(error).toMatchObject({ reason: 'INVALID_JSON', line, column });
    expect(error.detail).toBe(`invalid JSON: ${error.detail.slice('invalid JSON: '.length)}`);
    expect(error.detail).toContain(words);
    expect(error.detail).not.toContain('position');
  });

  test('a byte-order mark is not content', () => {
    expect(parseSource('p.json', '\uFEFF{"kind":"Pod"}', 'json').documents[0]!.value).toEqual({ kind: 'Pod' });
  });
});

describe('sniffing', () => {
  test('text that starts like JSON is JSON, anything else YAML', () => {
    expect(sniffFormat('  \n{"a": 1}')).toBe('json');
    expect(sniffFormat('[1]')).toBe('json');
    expect(sniffFormat('# comment\n{"a": 1}')).toBe('yaml');
    expect(sniffFormat('kind: Pod')).toBe('yaml');
  });

  test('YAML flow style is read as YAML when it is not JSON', () => {
    const parsed = parseSource('-', '{kind: Pod, metadata: {name: p}}', 'auto');
    expect(parsed.format).toBe('yaml');
    expect(parsed.documents[0]!.value).toEqual({ kind: 'Pod', metadata: { name: 'p' } });
  });

  test('broken JSON that is no YAML either gets the JSON error, since JSON was meant', () => {
    expect(inputError(() => parseSource('-', '{"kind": "Pod",, }', 'auto'))).toMatchObject({ reason: 'INVALID_JSON', line: 1, column: 16 });
  });

  test('JSON is read as JSON (no YAML 1.1 surprises in strings)', () => {
    const parsed = parseSource('-', '{"a": "on", "b": 1e3}', 'auto');
    expect(parsed.format).toBe('json');
    expect(parsed.documents[0]!.value).toEqual({ a: 'on', b: 1000 });
  });
});

describe('JSON with a repeated key', () => {
  const refusal = (text: string): string => {
    try {
      parseSource('pod.json', text, 'auto');
    } catch (error) {
      if (error instanceof InputError) return `${error.reason} ${error.line}:${error.column} ${error.message}`;
      throw error;
    }
    return 'accepted';
  };

  test('is refused where the repeat is, as Kubernetes refuses it (JSON.parse would keep the last)', () => {
    const text = '{\n  "kind": "Pod",\n  "metadata": {\n    "name": "p",\n    "name": "q"\n  }\n}\n';
    expect(refusal(text)).toMatch(/^INVALID_JSON 5:5 .*invalid JSON: the key "name" is repeated in its object$/);
  });

  test('keys are compared as JSON reads them: an escaped spelling is the same key', () => {
    expect(refusal('{"a": 1, "\\u0061": 2}')).toMatch(/^INVALID_JSON 1:10 /);
    expect(refusal('{"a\\"b": 1, "a\\"b": 2}')).toMatch(/^INVALID_JSON 1:/);
  });

  test('the same key in different objects, nested or side by side in a list, and inside string values, is fine', () => {
    expect(refusal('{"name": "p", "spec": {"name": "x", "items": [{"name": "a"}, {"name": "b"}]}, "note": "\\"name\\": 1, \\"name\\": 2"}')).toBe('accepted');
  });

  test('any JSON value as JSON.stringify writes it has none, and one repeat anywhere in it is found', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        expect(repeatedJsonKey(text)).toBeUndefined();
        // Repeat the first key of the first non-empty object, right after it.
        const first = /\{("(?:[^"\\]|\\.)*"):/.exec(text);
        if (!first) return;
        const repeated = `${text.slice(0, first.index + 1)}${first[1]}:0,${text.slice(first.index + 1)}`;
        expect(repeatedJsonKey(repeated)?.key).toBe(JSON.parse(first[1]!));
      }),
    );
  });
});
