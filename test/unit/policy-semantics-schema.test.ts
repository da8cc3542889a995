/**
 * The policy fields that steer injection (allowedRepos, enforced, limits,
 * dialect, securityContext) as documents: what validates, and every class of
 * error with its path, as `policy --policy FILE` and a reload would report it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PolicyProblem as Problem } from '../../src/policy/index.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { compilePolicy } from '../../src/policy/compile.ts';
import { formatPolicyProblem, loadPolicyFile, loadPolicyText, validatePolicyDocument } from '../../src/policy/index.ts';
import type { Policy } from '../../src/policy/types.ts';

const problemsOf = (doc: unknown): Problem[] => validatePolicyDocument(doc).problems;
const lines = (doc: unknown): string[] => problemsOf(doc).map((p) => `${p.field}: ${p.message} [${p.code}]`);

describe('valid documents', () => {
  it('takes every new field, normalising repository patterns', () => {
    const { policy, compiled, problems } = validatePolicyDocument({
      dialect: 'v3',
      defaults: { ref: 'main', depth: '5', mode: 'init-only' },
      allowedRepos: ['GitHub.com/acme/*', 'gitlab.example.com/data/dags.git'],
      enforced: { period: 'warn', 'known-hosts': 'strict', preset: 'strict' },
      limits: { maxDepth: 10, allowedModes: ['init-only', 'sidecar'] },
      securityContext: { readOnlyRootFilesystem: false, seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/git-sync.json' } },
    });
    expect(problems).toEqual([]);
    expect(policy?.allowedRepos).toEqual(['github.com/acme/*', 'gitlab.example.com/data/dags']);
    expect(policy?.limits).toEqual({ minPeriod: '10s', maxDepth: 10, allowedModes: ['init-only', 'sidecar'], maxResources: { cpu: '1', memory: '2Gi' } });
    expect(policy?.securityContext).toEqual({
      ...BUILTIN_POLICY.securityContext,
      readOnlyRootFilesystem: false,
      seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/git-sync.json' },
    });
    expect(compiled?.engine.dialect.name).toBe('v3');
    expect(compiled?.engine.maxDepth).toBe(10);
    expect(compiled?.engine.allowedModes).toEqual(['init-only', 'sidecar']);
    expect(compiled?.engine.allowedRepos.map((p) => p.text)).toEqual(['github.com/acme/*', 'gitlab.example.com/data/dags']);
    expect([...compiled!.engine.enforced]).toEqual([
      ['period', 'warn'],
      ['known-hosts', 'strict'],
      ['preset', 'strict'],
    ]);
  });

  it('leaves the built-in values: any repository, nothing enforced, no maximum depth, every mode', () => {
    const { compiled } = validatePolicyDocument({});
    expect(compiled?.engine.allowedRepos).toEqual([]);
    expect(compiled?.engine.enforced.size).toBe(0);
    expect(compiled?.engine.maxDepth).toBeUndefined();
    expect(compiled?.engine.allowedModes).toEqual(['sidecar', 'native', 'init-only']);
    expect(compiled?.engine.dialect.name).toBe('v4');
  });

  it('accepts a restricted-profile security context written out in full', () => {
    const restricted = { runAsNonRoot: true, privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, seccompProfile: { type: 'RuntimeDefault' } };
    expect(problemsOf({ securityContext: restricted })).toEqual([]);
  });

  it('loads the example policy from docs/policy.md (test/fixtures/policies/platform-example.yaml)', async () => {
    const compiled = await loadPolicyFile(join(import.meta.dirname, '..', 'fixtures', 'policies', 'platform-example.yaml'));
    expect(compiled.engine.allowedRepos.map((p) => p.text)).toEqual(['github.com/acme/*', 'gitlab.example.com/data/**', 'gitlab.example.com/platform/site-config']);
    expect([...compiled.engine.enforced.keys()]).toEqual(['submodules', 'known-hosts']);
    expect([...compiled.engine.presets.keys()].sort()).toEqual(['airflow', 'dbt', 'docs']);
    expect([...compiled.engine.excludedNamespaces].sort()).toEqual(['cert-manager', 'kube-system', 'monitoring']);
    expect(compiled.engine.knownHostsData.split('\n').filter(Boolean)).toHaveLength(2);
  });
});

describe('allowedRepos', () => {
  it('reports a bad pattern at its index, and keeps checking the others', () => {
    expect(lines({ allowedRepos: ['github.com/acme/*', 'https://github.com/other/*', 'gitlab.example.com'] })).toEqual([
      'allowedRepos[1]: "https://github.com/other/*" is a URL; write the pattern without scheme and user, as "github.com/other/*" [POLICY_VALUE_INVALID]',
      'allowedRepos[2]: "gitlab.example.com" names no path; write "gitlab.example.com/**" to allow every repository on the host [POLICY_VALUE_INVALID]',
    ]);
  });

  it('reports a list that is not one', () => {
    expect(lines({ allowedRepos: 'github.com/acme/*' })).toEqual([
      'allowedRepos: "github.com/acme/*" is not a list; use a list of repository patterns such as github.com/acme/*, gitlab.example.com/data/** or github.com/acme/dags [POLICY_TYPE_INVALID]',
    ]);
  });
});

describe('enforced', () => {
  it.each([
    [{ repo: 'strict' }, 'enforced.repo: "repo" cannot be enforced; the policy limits repositories with allowedRepos [VALUE_NOT_ALLOWED]'],
    [{ inject: 'warn' }, 'enforced.inject: "inject" cannot be enforced; opting in and out is the pod\'s and the namespace\'s choice [VALUE_NOT_ALLOWED]'],
    [{ perod: 'warn' }, 'enforced.perod: "perod" is not an annotation the injector knows; did you mean period? [UNKNOWN_ANNOTATION]'],
    [{ 'gitsync.dev/period': 'warn' }, 'enforced.gitsync.dev/period: "gitsync.dev/period" is not an annotation the injector knows; write it without the prefix: period [UNKNOWN_ANNOTATION]'],
    [{ period: 'deny' }, 'enforced.period: "deny" is not allowed; use one of warn, strict [VALUE_NOT_ALLOWED]'],
    [{ period: true }, 'enforced.period: true is not a string; use a map of annotation names to warn or strict, such as period: strict [POLICY_TYPE_INVALID]'],
  ])('refuses %o', (enforced, line) => {
    expect(lines({ enforced })).toEqual([line]);
  });

  it('refuses a list', () => {
    expect(lines({ enforced: ['period'] })).toEqual(['enforced: a list is not a map; use a map of annotation names to warn or strict, such as period: strict [POLICY_TYPE_INVALID]']);
  });
});

describe('limits', () => {
  it.each([
    [{ maxDepth: 0 }, 'limits.maxDepth: 0 is not a whole number from 1 to 1000000 [INTEGER_INVALID]'],
    [{ maxDepth: '10' }, 'limits.maxDepth: "10" is a string; write the number without quotes [POLICY_TYPE_INVALID]'],
    [{ allowedModes: ['sidecar', 'auto'] }, 'limits.allowedModes[1]: "auto" is not allowed; use one of sidecar, native, init-only [VALUE_NOT_ALLOWED]'],
    [{ allowedModes: [] }, 'limits.allowedModes: lists no mode; list at least one of sidecar, native, init-only [VALUE_NOT_ALLOWED]'],
  ])('refuses %o', (limits, line) => {
    expect(lines({ limits })).toEqual([line]);
  });

  it('refuses allowing only native where native sidecars are disabled', () => {
    expect(lines({ nativeSidecars: 'disabled', limits: { allowedModes: ['native'] } })).toEqual([
      'limits.allowedModes: allows only native, which nativeSidecars: disabled rules out, so no pod could be injected; allow sidecar or init-only too, or enable native sidecars [VALUE_NOT_ALLOWED]',
    ]);
  });

  it('refuses defaults and presets outside the limits, which would refuse every pod that uses them', () => {
    expect(
      lines({
        limits: { maxDepth: 10, allowedModes: ['sidecar', 'init-only'] },
        defaults: { depth: '0', mode: 'native' },
        presets: { deep: { depth: '11' }, native: { mode: 'native' }, fine: { depth: '10', mode: 'auto' } },
      }),
    ).toEqual([
      'defaults.depth: "0" (the full history) is above the policy\'s maximum depth 10; use a depth from 1 to 10 [DEPTH_ABOVE_MAXIMUM]',
      'defaults.mode: "native" is not allowed by the policy; use one of auto, sidecar, init-only [MODE_NOT_ALLOWED]',
      'presets.deep.depth: "11" is above the policy\'s maximum depth 10; use a depth from 1 to 10 [DEPTH_ABOVE_MAXIMUM]',
      'presets.native.mode: "native" is not allowed by the policy; use one of auto, sidecar, init-only [MODE_NOT_ALLOWED]',
    ]);
  });
});

describe('dialect v3', () => {
  it('needs defaults.ref, since it cannot follow the default branch of pods that set no ref', () => {
    expect(lines({ dialect: 'v3' })).toEqual([
      'dialect: "v3" needs defaults.ref: git-sync v3 cannot follow the remote\'s default branch (HEAD), the ref of every pod that sets none; set defaults.ref to a branch such as main [DIALECT_UNSUPPORTED]',
    ]);
  });

  it('refuses default and preset refs it cannot express', () => {
    expect(lines({ dialect: 'v3', defaults: { ref: 'HEAD' }, presets: { pinned: { ref: '0123456789abcdef0123456789abcdef01234567' }, tagged: { ref: 'refs/tags/v1' } } })).toEqual([
      'defaults.ref: "HEAD" (the remote\'s default branch) cannot be followed by git-sync v3, the policy\'s dialect, which needs the branch by name; use a branch name (main), or a tag written as refs/tags/<tag> [DIALECT_UNSUPPORTED]',
      'presets.pinned.ref: "0123456789abcdef0123456789abcdef01234567" is a commit, which git-sync v3, the policy\'s dialect, cannot fetch without its branch; use a branch name (main), or a tag written as refs/tags/<tag> [DIALECT_UNSUPPORTED]',
    ]);
  });

  it('reports an unknown dialect once', () => {
    expect(lines({ dialect: 'v2' })).toEqual(['dialect: "v2" is not allowed; use one of v4, v3 [VALUE_NOT_ALLOWED]']);
  });
});

describe('securityContext', () => {
  it.each([
    [{ runAsNonRoot: false }, 'securityContext.runAsNonRoot: false would let the git-sync containers run as root; they always run as a non-root user (gitSync.user sets which); remove it or write true [POLICY_VALUE_INVALID]'],
    [{ privileged: true }, 'securityContext.privileged: true would give the git-sync containers full access to the node; git-sync needs no privilege; remove it or write false [POLICY_VALUE_INVALID]'],
    [{ allowPrivilegeEscalation: true }, 'securityContext.allowPrivilegeEscalation: true would let processes in the git-sync containers gain privileges; git-sync needs none; remove it or write false [POLICY_VALUE_INVALID]'],
    [{ privileged: 'false' }, 'securityContext.privileged: "false" is a string; write false without quotes [POLICY_TYPE_INVALID]'],
    [{ seccompProfile: { type: 'Unconfined' } }, 'securityContext.seccompProfile.type: "Unconfined" turns seccomp off, which the baseline Pod Security Standard forbids; use RuntimeDefault or Localhost [POLICY_VALUE_INVALID]'],
    [{ seccompProfile: { type: 'Localhost' } }, "securityContext.seccompProfile.localhostProfile: is missing; type Localhost needs the profile file, relative to the kubelet's seccomp directory, such as profiles/git-sync.json [POLICY_VALUE_INVALID]"],
    [{ seccompProfile: { type: 'RuntimeDefault', localhostProfile: 'x.json' } }, 'securityContext.seccompProfile.localhostProfile: is only used with type Localhost; remove it or set type: Localhost [POLICY_VALUE_INVALID]'],
    [{ seccompProfile: { localhostProfile: 'x.json' } }, 'securityContext.seccompProfile.type: is missing; use RuntimeDefault or Localhost [VALUE_NOT_ALLOWED]'],
    [{ seccompProfile: { type: 'Localhost', localhostProfile: '/etc/x.json' } }, "securityContext.seccompProfile.localhostProfile: \"/etc/x.json\" is not a path relative to the kubelet's seccomp directory; use one such as profiles/git-sync.json, without '..' [PATH_INVALID]"],
    [{ seccompProfile: { kind: 'RuntimeDefault' } }, 'securityContext.seccompProfile.kind: "kind" is not allowed; use one of type, localhostProfile [VALUE_NOT_ALLOWED]'],
    [{ capabilities: { add: ['NET_ADMIN'] } }, 'securityContext.capabilities: is not a policy field; use one of runAsNonRoot, privileged, allowPrivilegeEscalation, readOnlyRootFilesystem, seccompProfile [POLICY_FIELD_UNKNOWN]'],
  ])('refuses %o', (securityContext, line) => {
    expect(lines({ securityContext })).toEqual([line]);
  });

  it('is checked when a policy is compiled from code, too', () => {
    const policy: Policy = { ...BUILTIN_POLICY, securityContext: { ...BUILTIN_POLICY.securityContext, seccompProfile: { type: 'Unconfined' } } };
    const result = compilePolicy(policy);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems.map((p) => p.field)).toEqual(['securityContext.seccompProfile.type']);
  });
});

describe('problems in a policy file point at their line', () => {
  it('names the file, line, column and path of each', async () => {
    const text = await readFile(join(import.meta.dirname, '..', 'fixtures', 'policies', 'platform-example.yaml'), 'utf8');
    const broken = text
      .replace('  - github.com/acme/*  ', '  - https://github.com/acme/*')
      .replace('  submodules: strict', '  submodules: always')
      .replace('  maxDepth: 50', '  maxDepth: -1')
      .replace('  privileged: false', '  privileged: true');
    const loaded = loadPolicyText(broken, 'platform.yaml');
    expect(loaded.compiled).toBeUndefined();
    const at = (needle: string): number => broken.split('\n').findIndex((l) => l.includes(needle)) + 1;
    expect(loaded.problems.map((p) => formatPolicyProblem(p, 'platform.yaml'))).toEqual([
      `platform.yaml:${at('https://github.com/acme/*')}:5: allowedRepos[0]: "https://github.com/acme/*" is a URL; write the pattern without scheme and user, as "github.com/acme/*" [POLICY_VALUE_INVALID]`,
      `platform.yaml:${at('submodules: always')}:15: enforced.submodules: "always" is not allowed; use one of warn, strict [VALUE_NOT_ALLOWED]`,
      `platform.yaml:${at('maxDepth: -1')}:13: limits.maxDepth: -1 is not a whole number from 1 to 1000000 [INTEGER_INVALID]`,
      `platform.yaml:${at('privileged: true')}:15: securityContext.privileged: true would give the git-sync containers full access to the node; git-sync needs no privilege; remove it or write false [POLICY_VALUE_INVALID]`,
    ]);
  });
});
