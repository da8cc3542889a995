/**
 * A policy's size is bounded (issue 15, item 9): a policy of 20,000 presets
 * once held admissions up for 6.7 s while it loaded. The text, each list and
 * `presets` have limits that the schema table documents; a policy over one
 * is refused with the field and the limit named. Reading the YAML is
 * linear (the duplicate-key check keeps a set), it happens in a worker
 * thread for the sources, and what that worker answers is what the loader
 * on the main thread answers.
 */
import { describe, expect, it } from 'vitest';
import { formatPolicyProblem, loadPolicyText, POLICY_FIELDS, type PolicyProblem } from '../../src/policy/index.ts';
import { MAX_POLICY_PROBLEMS } from '../../src/policy/load.ts';
import { loadPolicyTextInWorker } from '../../src/policy/offload.ts';
import { MAX_POLICY_BYTES, MAX_POLICY_ENTRIES } from '../../src/policy/schema.ts';
import { largePolicy } from '../support/large-policy.ts';

const lines = (problems: PolicyProblem[]): string[] => problems.map((p) => formatPolicyProblem(p, 'p.yaml'));
const list = (field: string, count: number, item: (i: number) => string): string => `${field}:\n${Array.from({ length: count }, (_, i) => `  - ${item(i)}`).join('\n')}\n`;

describe('limits', () => {
  it('a policy at every limit loads', () => {
    const text = largePolicy();
    expect(Buffer.byteLength(text)).toBe(MAX_POLICY_BYTES);
    const loaded = loadPolicyText(text, 'p.yaml');
    expect(loaded.problems).toEqual([]);
    const { document } = loaded.compiled!;
    expect([document.allowedRepos.length, document.knownHosts.length, Object.keys(document.presets).length]).toEqual([MAX_POLICY_ENTRIES, MAX_POLICY_ENTRIES, MAX_POLICY_ENTRIES + 1]);
  });

  it('a text over the byte limit is refused before it is read', () => {
    const text = `${largePolicy()}# one more line\n`;
    expect(lines(loadPolicyText(text, 'p.yaml').problems)).toEqual([
      `p.yaml: the policy is ${MAX_POLICY_BYTES + 16} bytes; a policy may have at most ${MAX_POLICY_BYTES} (1 MiB, what a ConfigMap holds) [POLICY_TOO_LARGE]`,
    ]);
  });

  it.each([
    ['allowedRepos', (i: number) => `github.com/org-${i}/*`],
    ['knownHosts', (i: number) => `# host ${i}`],
    ['excludedNamespaces', (i: number) => `ns-${i}`],
  ])('%s with one entry too many is refused, naming the field and the limit', (field, item) => {
    expect(lines(loadPolicyText(list(field, MAX_POLICY_ENTRIES + 1, item), 'p.yaml').problems)).toEqual([
      `p.yaml:2:3: ${field}: has ${MAX_POLICY_ENTRIES + 1} items; a policy may have at most ${MAX_POLICY_ENTRIES} [POLICY_TOO_LARGE]`,
    ]);
  });

  it('20,000 presets are refused, naming the field and the limit', () => {
    const presets = Array.from({ length: 20_000 }, (_, i) => `  p${i}:\n    period: 30s\n    ref: main\n`).join('');
    expect(lines(loadPolicyText(`image: registry.example.com/git-sync:v4.7.1\npresets:\n${presets}`, 'p.yaml').problems)).toEqual([
      `p.yaml:3:3: presets: has 20000 presets; a policy may have at most ${MAX_POLICY_ENTRIES} [POLICY_TOO_LARGE]`,
    ]);
  });

  it('allowedModes holds each mode at most once', () => {
    expect(lines(loadPolicyText('limits:\n  allowedModes: [sidecar, native, init-only, sidecar]\n', 'p.yaml').problems)).toEqual([
      'p.yaml:2:17: limits.allowedModes: has 4 items; a policy may have at most 3 [POLICY_TOO_LARGE]',
    ]);
  });

  it('every list and presets has a limit, shown in the policy reference', () => {
    for (const field of POLICY_FIELDS.filter((f) => f.type.kind === 'list' || f.type.kind === 'presets')) {
      expect('max' in field.type && field.type.max, field.path).toBeGreaterThan(0);
    }
  });
});

describe('reading is linear in the text', () => {
  it('a duplicate key among 20,000 keys of one map is found, at its line', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `  k${i}: v`);
    keys.push('  k17: again');
    const { problems } = loadPolicyText(`defaults:\n${keys.join('\n')}\n`, 'p.yaml');
    expect(lines(problems)).toEqual(['p.yaml:20002:3: invalid YAML: Map keys must be unique [POLICY_YAML_INVALID]']);
  });

  it(`shows the first ${MAX_POLICY_PROBLEMS} problems and counts the rest`, () => {
    const keys = Array.from({ length: 5_000 }, (_, i) => `  unknown-${i}: v`).join('\n');
    const { problems } = loadPolicyText(`defaults:\n${keys}\n`, 'p.yaml');
    expect(problems).toHaveLength(MAX_POLICY_PROBLEMS + 1);
    expect(lines(problems).at(0)).toMatch(/^p\.yaml:2:3: defaults\.unknown-0: is not an annotation the injector knows.* \[UNKNOWN_ANNOTATION\]$/);
    expect(lines(problems).at(-1)).toBe('p.yaml: 4900 more problems, not shown; fix these and check the policy again [UNKNOWN_ANNOTATION]');
  });
});

describe('loadPolicyTextInWorker', () => {
  it.each([
    ['a valid policy', 'defaults:\n  period: 2m\nallowedRepos: [github.com/acme/*]\n'],
    ['a policy with problems', 'limits:\n  minPeriod: 5\ndefaults:\n  period: 5x\n'],
    ['a policy over a limit', list('excludedNamespaces', MAX_POLICY_ENTRIES + 1, (i) => `ns-${i}`)],
    ['an empty policy', '# nothing\n'],
  ])('answers what loadPolicyText answers: %s', async (_name, text) => {
    const inWorker = await loadPolicyTextInWorker(text, 'p.yaml');
    const here = loadPolicyText(text, 'p.yaml');
    expect(inWorker.problems).toEqual(here.problems);
    expect(inWorker.compiled?.engine.hash).toBe(here.compiled?.engine.hash);
    expect(inWorker.compiled?.document).toEqual(here.compiled?.document);
  });

  it('a policy whose reading takes too long is refused as too large', async () => {
    const loaded = await loadPolicyTextInWorker(largePolicy(), 'p.yaml', { timeoutMs: 1, memoryMb: 64 });
    expect(lines(loaded.problems)).toEqual(['p.yaml: reading the policy took longer than 0.001 s; make it smaller [POLICY_TOO_LARGE]']);
  });

  it('a policy whose reading needs too much memory is refused as too large', async () => {
    const loaded = await loadPolicyTextInWorker(largePolicy(), 'p.yaml', { timeoutMs: 30_000, memoryMb: 4 });
    expect(lines(loaded.problems)).toEqual(['p.yaml: reading the policy needed more than 4 MiB; make it smaller [POLICY_TOO_LARGE]']);
  });
});
