/**
 * A policy is checked against itself when it loads: the sync-timeout and
 * max-failures it gives pods (defaults, presets, what it enforces) within its
 * own limits, and a network profile's env within its dialect. Each
 * contradiction would otherwise refuse every pod it touches, or silently do
 * nothing; each is one problem naming the field, the value and what to do.
 */
import { describe, expect, it } from 'vitest';
import { formatPolicyProblem, loadPolicyText } from '../../src/policy/index.ts';
import { GIT_SYNC_ENV } from '../support/invariants.ts';

const load = (text: string) => loadPolicyText(text, 'policy.yaml');
const lines = (text: string): string[] => {
  const loaded = load(text);
  return 'problems' in loaded ? loaded.problems.map((p) => formatPolicyProblem(p, 'policy.yaml')) : [];
};

describe("the policy's own sync-timeout and max-failures against its limits", () => {
  it('a default, a preset and an enforced value above the maxima: every one is named, with the maximum', () => {
    expect(
      lines(`limits:
  maxSyncTimeout: 5m
  maxFailures: 10
defaults:
  sync-timeout: 10m
  max-failures: "20"
presets:
  slow:
    sync-timeout: 1h
  forever:
    max-failures: "-1"
enforced:
  sync-timeout: strict
`),
    ).toEqual([
      'policy.yaml:5:17: defaults.sync-timeout: "10m" is above the policy maximum 5m; use at most 5m, so every pod that takes it would be refused (limits.maxSyncTimeout) [SYNC_TIMEOUT_ABOVE_MAXIMUM]',
      'policy.yaml:6:17: defaults.max-failures: "20" is above the policy maximum; use a whole number from 0 to 10, so every pod that takes it would be refused (limits.maxFailures) [MAX_FAILURES_ABOVE_MAXIMUM]',
      'policy.yaml:9:19: presets.slow.sync-timeout: "1h" is above the policy maximum 5m; use at most 5m, so every pod that takes it would be refused (limits.maxSyncTimeout) [SYNC_TIMEOUT_ABOVE_MAXIMUM]',
      'policy.yaml:11:19: presets.forever.max-failures: "-1" is above the policy maximum; use a whole number from 0 to 10 (the policy does not allow retrying forever), so every pod that takes it would be refused (limits.maxFailures) [MAX_FAILURES_ABOVE_MAXIMUM]',
    ]);
  });

  it('a maximum below the built-in default sync-timeout (120s) with no default of its own: refused, saying to set defaults.sync-timeout', () => {
    expect(lines('limits:\n  maxSyncTimeout: 1m\n')).toEqual([
      'policy.yaml:2:19: limits.maxSyncTimeout: "1m" is below "120s", the built-in default of sync-timeout, so every pod that sets none would be refused; set defaults.sync-timeout to at most "1m", or raise the maximum [SYNC_TIMEOUT_ABOVE_MAXIMUM]',
    ]);
    expect(load('limits:\n  maxSyncTimeout: 1m\ndefaults:\n  sync-timeout: 45s\n')).toMatchObject({ compiled: expect.anything() });
  });

  it('values at the maxima, and -1 when the maximum is -1 (retry forever allowed): loads', () => {
    expect(lines('limits:\n  maxSyncTimeout: 5m\n  maxFailures: 10\ndefaults:\n  sync-timeout: 5m\n  max-failures: "10"\n')).toEqual([]);
    expect(lines('limits:\n  maxFailures: -1\npresets:\n  patient:\n    max-failures: "-1"\n')).toEqual([]);
  });
});

describe("a network profile's env under dialect v3", () => {
  it('GITSYNC_* names (git-sync v4 names, which v3 ignores) are refused, each named; other variables load', () => {
    const text = `dialect: v3
defaults:
  ref: main
networks:
  corp:
    httpsProxy: http://proxy.corp.example:3128
    env:
      GITSYNC_VERBOSE: "2"
      GITSYNC_GIT_GC: auto
      GIT_TRACE: "1"
`;
    expect(lines(text)).toEqual([
      `policy.yaml:8:7: networks.corp.env.GITSYNC_VERBOSE: "GITSYNC_VERBOSE" is a git-sync v4 name, which git-sync v3 (the policy's dialect: v3) ignores without a word; remove it, or use dialect v4 with a git-sync v4 image [DIALECT_UNSUPPORTED]`,
      `policy.yaml:9:7: networks.corp.env.GITSYNC_GIT_GC: "GITSYNC_GIT_GC" is a git-sync v4 name, which git-sync v3 (the policy's dialect: v3) ignores without a word; remove it, or use dialect v4 with a git-sync v4 image [DIALECT_UNSUPPORTED]`,
    ]);
    expect(lines(text.replace('dialect: v3', 'dialect: v4'))).toEqual([]);
    expect(lines(text.replace(/ {6}GITSYNC_.*\n/g, ''))).toEqual([]);
  });
});

describe("a network profile's env under dialect v4", () => {
  it('every variable the injector itself gives git-sync is refused, each named with what sets it', () => {
    // GIT_SYNC_ENV is written out by hand (test/support/invariants.ts): a variable the engine starts emitting is added there on purpose, and must then be refused here too.
    const names = [...GIT_SYNC_ENV].filter((name) => name.startsWith('GITSYNC_'));
    const text = `networks:\n  corp:\n    env:\n${names.map((name) => `      ${name}: "x"\n`).join('')}`;
    const found = lines(text);
    expect(found).toHaveLength(names.length);
    names.forEach((name, i) => expect(found[i]).toMatch(new RegExp(`networks\\.corp\\.env\\.${name}: "${name}" is set by the injector from .+; set that instead \\[VALUE_NOT_ALLOWED\\]$`)));
  });

  it('the partial clone filter and the sparse-checkout file are among them: a profile cannot widen or redirect what a pod checks out', () => {
    expect(lines('networks:\n  corp:\n    env:\n      GITSYNC_FILTER: blob:none\n      GITSYNC_SPARSE_CHECKOUT_FILE: /tmp/sparse\n')).toEqual([
      `policy.yaml:4:7: networks.corp.env.GITSYNC_FILTER: "GITSYNC_FILTER" is set by the injector from the filter and sparse-paths annotations (within the policy's allowedFilters); set that instead [VALUE_NOT_ALLOWED]`,
      'policy.yaml:5:7: networks.corp.env.GITSYNC_SPARSE_CHECKOUT_FILE: "GITSYNC_SPARSE_CHECKOUT_FILE" is set by the injector from the sparse-paths annotation; set that instead [VALUE_NOT_ALLOWED]',
    ]);
  });
});
