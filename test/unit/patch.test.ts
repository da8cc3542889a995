import { describe, expect, test } from 'vitest';
import { AddOnlyPatch, escapePointer } from '../../src/engine/patch.ts';
import { applyPatchToCopy } from '../support/apply.ts';

describe('AddOnlyPatch', () => {
  test('creates missing parents in the operation that needs them', () => {
    const original = { spec: {} };
    const p = new AddOnlyPatch(structuredClone(original));
    p.put(['metadata', 'annotations'], 'gitsync.dev/status', '{}');
    p.put(['metadata', 'annotations'], 'other', 'x');
    p.append(['spec', 'volumes'], { name: 'a' });
    p.append(['spec', 'volumes'], { name: 'b' });
    expect(p.ops).toEqual([
      { op: 'add', path: '/metadata', value: { annotations: { 'gitsync.dev/status': '{}' } } },
      { op: 'add', path: '/metadata/annotations/other', value: 'x' },
      { op: 'add', path: '/spec/volumes', value: [{ name: 'a' }] },
      { op: 'add', path: '/spec/volumes/-', value: { name: 'b' } },
    ]);
    expect(applyPatchToCopy(original, p.ops)).toEqual(p.draft);
  });

  test('appends to existing lists with /- and never replaces them', () => {
    const original = { spec: { containers: [{ name: 'app', env: [{ name: 'A', value: '1' }] }] } };
    const p = new AddOnlyPatch(structuredClone(original));
    p.append(['spec', 'containers', 0, 'env'], { name: 'B', value: '2' });
    expect(p.ops).toEqual([{ op: 'add', path: '/spec/containers/0/env/-', value: { name: 'B', value: '2' } }]);
  });

  test('a null parent counts as missing', () => {
    const original = { metadata: { annotations: null } };
    const p = new AddOnlyPatch(structuredClone(original) as Record<string, unknown>);
    p.put(['metadata', 'annotations'], 'k', 'v');
    expect(p.ops).toEqual([{ op: 'add', path: '/metadata/annotations', value: { k: 'v' } }]);
  });

  test('refuses to overwrite a member the pod author wrote', () => {
    const p = new AddOnlyPatch({ metadata: { annotations: { k: 'mine' } } });
    expect(() => p.put(['metadata', 'annotations'], 'k', 'ours')).toThrow(/refusing to overwrite/);
  });

  test('later changes through the recorder do not leak into earlier operations\' values', () => {
    const p = new AddOnlyPatch({});
    p.append(['list'], { name: 'a' });
    p.append(['list'], { name: 'b' });
    p.put(['list', 0], 'extra', 'x');
    p.append(['obj', 'inner'], 1);
    p.append(['obj', 'inner'], 2);
    p.put(['obj'], 'k', 'v');
    expect(p.ops).toEqual([
      { op: 'add', path: '/list', value: [{ name: 'a' }] },
      { op: 'add', path: '/list/-', value: { name: 'b' } },
      { op: 'add', path: '/list/0/extra', value: 'x' },
      { op: 'add', path: '/obj', value: { inner: [1] } },
      { op: 'add', path: '/obj/inner/-', value: 2 },
      { op: 'add', path: '/obj/k', value: 'v' },
    ]);
    expect(p.draft).toEqual({ list: [{ name: 'a', extra: 'x' }, { name: 'b' }], obj: { inner: [1, 2], k: 'v' } });
  });

  test('escapes ~ and / in keys', () => {
    expect(escapePointer('a/b~c')).toBe('a~1b~0c');
  });
});
