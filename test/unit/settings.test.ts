import { describe, expect, test } from 'vitest';
import { resolveSettings } from '../../src/engine/settings.ts';
import { mustCompile } from '../../src/policy/compile.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';

const policy = mustCompile({
  ...BUILTIN_POLICY,
  defaults: { period: '2m', 'mount-path': '/policy' },
  presets: { ...BUILTIN_POLICY.presets, web: { 'mount-path': '/preset', period: '5m' } },
}).engine;

const resolve = (pod: Record<string, string>, ns: Record<string, string> = {}) =>
  resolveSettings({ podAnnotations: pod, namespace: 'team', namespaceAnnotations: ns }, policy);

describe('layers: table default < policy defaults < namespace < preset < pod', () => {
  test('table defaults apply when nothing else is set', () => {
    const { settings } = resolve({});
    expect(settings.ref).toMatchObject({ value: 'HEAD', source: 'default', field: 'gitsync.dev/ref (default)' });
  });

  test('policy defaults beat table defaults', () => {
    expect(resolve({}).settings.period).toMatchObject({ value: 120_000, source: 'policy' });
  });

  test('namespace annotations beat policy defaults', () => {
    const { settings } = resolve({}, { 'gitsync.dev/period': '3m' });
    expect(settings.period).toMatchObject({ value: 180_000, source: 'namespace', field: 'gitsync.dev/period (namespace team)' });
  });

  test('a preset beats the namespace, with a warning when it replaces a namespace value', () => {
    const { settings, warnings } = resolve({ 'gitsync.dev/preset': 'web' }, { 'gitsync.dev/mount-path': '/ns' });
    expect(settings['mount-path']).toMatchObject({ value: '/preset', source: 'preset' });
    expect(warnings.map((w) => w.code)).toEqual(['PRESET_OVERRIDE']);
  });

  test('the namespace can choose the preset for its pods', () => {
    expect(resolve({}, { 'gitsync.dev/preset': 'web' }).settings.period?.value).toBe(300_000);
  });

  test('pod annotations beat everything, and no override warning is given for them', () => {
    const { settings, warnings } = resolve({ 'gitsync.dev/preset': 'web', 'gitsync.dev/mount-path': '/pod' }, { 'gitsync.dev/mount-path': '/ns' });
    expect(settings['mount-path']).toMatchObject({ value: '/pod', source: 'pod', field: 'gitsync.dev/mount-path' });
    expect(warnings).toEqual([]);
  });

  test('a bad pod value is reported and the next layer is used, so other checks still run', () => {
    const { settings, errors } = resolve({ 'gitsync.dev/period': 'soon' }, { 'gitsync.dev/period': '4m' });
    expect(errors.map((e) => [e.code, e.field])).toEqual([['DURATION_INVALID', 'gitsync.dev/period']]);
    expect(settings.period?.value).toBe(240_000);
  });

  test('values are trimmed; control characters are refused', () => {
    expect(resolve({ 'gitsync.dev/ref': '  main\n' }).settings.ref?.value).toBe('main');
    const { errors } = resolve({ 'gitsync.dev/ref': 'ma\nin' });
    expect(errors[0]).toMatchObject({ code: 'VALUE_NOT_ALLOWED', field: 'gitsync.dev/ref' });
  });

  test('unknown annotations are warnings with a suggestion, including habits from git-sync and the Airflow chart', () => {
    const { warnings } = resolve({ 'gitsync.dev/perod': '30s', 'gitsync.dev/branch': 'main', 'gitsync.dev/zzzzzz': 'x', 'other.io/x': 'y' });
    expect(warnings.map((w) => w.message)).toEqual([
      'is not an annotation the injector knows and is ignored; did you mean gitsync.dev/period?',
      'is not an annotation the injector knows and is ignored; did you mean gitsync.dev/ref?',
      'is not an annotation the injector knows and is ignored; see the annotation table in the README',
    ]);
  });

  test('the annotations the injector writes are not unknown', () => {
    expect(resolve({ 'gitsync.dev/status': '{}', 'gitsync.dev/known-hosts-data': 'x' }).warnings).toEqual([]);
  });
});
