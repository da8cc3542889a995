import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { CORP_CA } from '../support/arbitraries.ts';
import {
  BUILTIN_SOURCE,
  PolicyError,
  formatPolicyProblem,
  loadPolicy,
  loadPolicyFile,
  loadPolicyText,
  parsePolicyYaml,
} from '../../src/policy/index.ts';
import { POLICY_FIELDS } from '../../src/policy/schema.ts';
import type { Policy } from '../../src/policy/types.ts';

const fixture = (name: string): string => join(import.meta.dirname, '..', 'fixtures', 'policies', name);

const valueAt = (root: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], root);

/** Loads a file that must be refused and returns its error. */
async function refused(path: string): Promise<PolicyError> {
  const error = await loadPolicyFile(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PolicyError);
  return error as PolicyError;
}

describe('loadPolicyFile', () => {
  it('loads a full policy, every field set', async () => {
    const compiled = await loadPolicyFile(fixture('full.yaml'));
    const expected: Policy = {
      annotationPrefix: 'git.example.com/',
      image: 'registry.example.com/mirror/git-sync:v4.7.1',
      imagePullPolicy: 'Always',
      dialect: 'v3',
      defaults: { period: '5m', depth: '20', 'known-hosts': 'secret', ref: 'main', 'token-user': 'gitlab' },
      presets: {
        airflow: { 'mount-path': '/opt/airflow/dags', env: 'AIRFLOW__CORE__DAGS_FOLDER', 'secret-layout': 'airflow', period: '2m' },
        'app-config': { 'mount-path': '/etc/app/config', 'sub-path': 'prod' },
      },
      allowedRepos: ['github.com/acme/*', 'gitlab.example.com/data/**'],
      allowedFilters: ['blob:none'],
      enforced: { period: 'warn', submodules: 'strict' },
      limits: { minPeriod: '30s', maxDepth: 50, maxRepositories: 3, allowedModes: ['sidecar', 'init-only'], maxSyncTimeout: '5m', maxFailures: 20, webhookHosts: ['reloader.tools.svc'], maxResources: { cpu: '2', memory: '1Gi' }, maxRootSizeLimit: '8Gi' },
      networks: {
        corp: {
          httpsProxy: 'http://proxy.corp.example:3128',
          noProxy: '.corp.example,10.0.0.0/8',
          caBundle: CORP_CA,
          gitConfig: { 'http.postBuffer': '524288000' },
        },
      },
      tokenUsers: { gitlab: 'oauth2', azure: 'azure-devops' },
      githubBaseUrl: 'https://github.example.com/api/v3/',
      knownHosts: [
        '# github.com, from https://api.github.com/meta',
        'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
        'github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=',
      ],
      allowInsecureHostKeys: true,
      excludedNamespaces: ['kube-system', 'monitoring'],
      onInvalidAnnotations: 'admit',
      nativeSidecars: 'disabled',
      gitSync: { root: '/data/git', link: 'current', httpPort: 8081, maxFailures: -1, user: 1000, group: 2000, rootSizeLimit: '4Gi' },
      resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
      securityContext: {
        runAsNonRoot: true,
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: false,
        seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/git-sync.json' },
      },
    };
    expect(compiled.document).toEqual(expected);
    expect(compiled.engine.prefix).toBe('git.example.com/');
    expect(compiled.engine.minPeriod.ms).toBe(30_000);
    expect(compiled.engine.presets.get('app-config')?.get('sub-path')?.value).toBe('prod');
    expect(compiled.engine.defaults.get('period')?.value).toBe(300_000);
  });

  it('the full fixture sets every field of the schema, to something other than the built-in value where there is a choice', async () => {
    const { document } = parsePolicyYaml(await readFile(fixture('full.yaml'), 'utf8'), 'full.yaml');
    for (const field of POLICY_FIELDS) {
      expect(valueAt(document, field.path), field.path).toBeDefined();
      // Fields that can only hold their safe value have no other value to set.
      if (field.type.kind === 'fixed') continue;
      expect(valueAt(document, field.path), field.path).not.toEqual(valueAt(BUILTIN_POLICY, field.path));
    }
  });

  it('loads a partial policy merged over the built-in one', async () => {
    const { document: policy, engine: { excludedNamespaces } } = await loadPolicyFile(fixture('partial.yaml'));
    expect(policy).toEqual({
      ...BUILTIN_POLICY,
      defaults: { period: '2m' },
      presets: { airflow: BUILTIN_POLICY.presets.airflow, 'team-data': { 'mount-path': '/srv/data', 'secret-layout': 'basic-auth' } },
      excludedNamespaces: ['monitoring'],
      gitSync: { ...BUILTIN_POLICY.gitSync, httpPort: 8081 },
      resources: { requests: { memory: '32Mi' }, limits: { memory: '256Mi' } },
    });
    expect([...excludedNamespaces].sort()).toEqual(['kube-system', 'monitoring']);
  });

  it('refuses a file with no field in it (comments only), which is what a file caught halfway through a write looks like', async () => {
    const path = fixture('empty.yaml');
    const error = await refused(path);
    expect(error.problems).toEqual([{ code: 'POLICY_EMPTY', field: '', message: expect.stringContaining('write {} to use the built-in policy') }]);
    expect(error.message).toBe(`invalid policy in ${path} (1 problem):\n${path}: ${error.problems[0]!.message} [POLICY_EMPTY]`);
  });

  it.each([
    ['nothing', ''],
    ['whitespace', '  \n\t\n'],
    ['comments', '# a policy\n# image: x\n'],
    ['a document marker alone', '---\n'],
    ['an explicit null', '~\n'],
  ])('refuses a text with %s as empty', (_what, text) => {
    expect(loadPolicyText(text, 'policy.yaml')).toEqual({ problems: [expect.objectContaining({ code: 'POLICY_EMPTY' })], source: 'policy.yaml' });
  });

  it('takes an explicit {} as the built-in policy, and any field set as the built-in values for the rest', () => {
    expect(loadPolicyText('{}\n', 'policy.yaml').compiled?.document).toEqual(BUILTIN_POLICY);
    expect(loadPolicyText('# the built-in policy\n{}\n', 'policy.yaml').compiled?.engine.hash).toBe(loadPolicyText('{}', 'x').compiled?.engine.hash);
    expect(loadPolicyText('defaults:\n  period: 2m\n', 'policy.yaml').compiled?.document).toEqual({ ...BUILTIN_POLICY, defaults: { period: '2m' } });
  });

  it('refuses a YAML syntax error with its line and column', async () => {
    const path = fixture('syntax-error.yaml');
    const error = await refused(path);
    expect(error.problems).toEqual([
      { code: 'POLICY_YAML_INVALID', field: '', message: 'invalid YAML: Nested mappings are not allowed in compact mappings', line: 3, column: 14 },
    ]);
    expect(error.message).toBe(
      `invalid policy in ${path} (1 problem):\n${path}:3:14: invalid YAML: Nested mappings are not allowed in compact mappings [POLICY_YAML_INVALID]`,
    );
  });

  it('refuses an invalid policy listing every problem, one per line, with the file name and position', async () => {
    const path = fixture('invalid.yaml');
    const error = await refused(path);
    expect(error.source).toBe(path);
    expect(error.message.split('\n')).toEqual([
      `invalid policy in ${path} (7 problems):`,
      `${path}:2:18: imagePullPolicy: "Sometimes" is not allowed; use one of Always, IfNotPresent, Never [VALUE_NOT_ALLOWED]`,
      `${path}:4:14: limits.minPeriod: 5 is not a string; use a Go duration such as 10s [POLICY_TYPE_INVALID]`,
      `${path}:6:3: gitSync.httpPrt: is not a policy field; did you mean gitSync.httpPort? [POLICY_FIELD_UNKNOWN]`,
      `${path}:7:9: gitSync.user: -1 is not a whole number from 1 to 2147483647 [INTEGER_INVALID]`,
      `${path}:9:11: defaults.period: "5x" is not a duration; use a Go duration such as 30s, 5m or 1h30m [DURATION_INVALID]`,
      `${path}:12:17: presets.team-a.mount-path: "relative/path" is not an absolute path; start it with '/' [PATH_INVALID]`,
      `${path}:14:5: knownHosts[0]: "github.com" is not a known_hosts line; use "<host> <key type> <base64 key>" as ssh-keyscan prints it [POLICY_VALUE_INVALID]`,
    ]);
    expect(error.problems.map((p) => p.code)).toEqual([
      'VALUE_NOT_ALLOWED',
      'POLICY_TYPE_INVALID',
      'POLICY_FIELD_UNKNOWN',
      'INTEGER_INVALID',
      'DURATION_INVALID',
      'PATH_INVALID',
      'POLICY_VALUE_INVALID',
    ]);
  });

  it('reports a file it cannot read as such, not as a policy problem', async () => {
    const path = fixture('missing.yaml');
    const error = await loadPolicyFile(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(PolicyError);
    expect((error as Error).message).toMatch(new RegExp(`^cannot read policy file ${path}: ENOENT`));
  });
});

describe('loadPolicy', () => {
  it('returns the source with the policy', async () => {
    const path = fixture('partial.yaml');
    const loaded = await loadPolicy(path);
    expect(loaded.source).toBe(path);
    expect(loaded.compiled.document.gitSync.httpPort).toBe(8081);
  });

  it('is the built-in policy without a path', async () => {
    const loaded = await loadPolicy();
    expect(loaded.source).toBe(BUILTIN_SOURCE);
    expect(loaded.source).toBe('built-in');
    expect(loaded.compiled.document).toEqual(BUILTIN_POLICY);
  });
});

describe('loadPolicyText', () => {
  it('loads the built-in policy written as YAML unchanged', () => {
    const loaded = loadPolicyText(stringify(BUILTIN_POLICY), 'builtin.yaml');
    expect(loaded.problems).toEqual([]);
    expect(loaded.source).toBe('builtin.yaml');
    expect(loaded.compiled?.document).toEqual(BUILTIN_POLICY);
  });

  it('returns problems with positions and no policy', () => {
    const loaded = loadPolicyText('gitSync:\n  httpPort: 70000\n', 'cm/policy');
    expect(loaded).toEqual({
      problems: [{ code: 'INTEGER_INVALID', field: 'gitSync.httpPort', value: '70000', message: '70000 is not a whole number from 1 to 65535', line: 2, column: 13 }],
      source: 'cm/policy',
    });
  });

  it('points unknown fields at the key and bad values at the value', () => {
    const { problems } = loadPolicyText('presets:\n  team:\n    mout-path: /x\n    period: 5x\n', 'p.yaml');
    expect(problems.map((p) => [p.field, p.line, p.column])).toEqual([
      ['presets.team.mout-path', 3, 5],
      ['presets.team.period', 4, 13],
    ]);
  });

  it('finds keys that contain dots, and list items', () => {
    const { problems } = loadPolicyText(
      'presets:\n  team.a:\n    period: 1x\n  team:\n    period: 2x\nexcludedNamespaces:\n  - ok\n  - Not_Ok\n',
      'p.yaml',
    );
    expect(problems.map((p) => [p.field, p.line, p.column])).toEqual([
      ['presets.team.a.period', 3, 13],
      ['presets.team.period', 5, 13],
      ['excludedNamespaces[1]', 8, 5],
    ]);
  });

  it('orders problems by position, schema and annotation values mixed', () => {
    const { problems } = loadPolicyText('defaults:\n  period: 5x\nimage: ""\n', 'p.yaml');
    expect(problems.map((p) => p.field)).toEqual(['defaults.period', 'image']);
  });

  it('reports a document that is not a map at its start', () => {
    const { problems } = loadPolicyText('# policy\n- image\n', 'p.yaml');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'POLICY_TYPE_INVALID', field: '', line: 2, column: 1 });
  });

  it('reports duplicate keys and several documents as YAML problems', () => {
    const { problems } = loadPolicyText('image: a\nimage: b\n---\nimage: c\n', 'p.yaml');
    expect(problems.map((p) => [p.code, p.message, p.line, p.column])).toEqual([
      ['POLICY_YAML_INVALID', 'invalid YAML: Map keys must be unique', 2, 1],
      // Not the reader's own words ("please use YAML.parseAllDocuments()"), which are for a programmer.
      ['POLICY_YAML_INVALID', 'invalid YAML: a second YAML document starts here (a line of ---), and a policy is one document; put every field in one', 3, 1],
    ]);
  });

  it('lets presets share values through YAML merge keys', () => {
    const text = 'presets:\n  base: &base\n    period: 2m\n    mount-path: /data\n  team:\n    <<: *base\n    period: 5m\n';
    const loaded = loadPolicyText(text, 'p.yaml');
    expect(loaded.problems).toEqual([]);
    expect(loaded.compiled?.document.presets.team).toEqual({ period: '5m', 'mount-path': '/data' });
  });

  it('refuses alias bombs instead of expanding them', () => {
    const lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
    for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const { problems, compiled } = loadPolicyText(lines.join('\n'), 'bomb.yaml');
    expect(compiled).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'POLICY_YAML_INVALID', field: '', message: expect.stringMatching(/^unusable YAML: /) });
  });
});

describe('parsePolicyYaml', () => {
  it('returns the document as plain data', () => {
    expect(parsePolicyYaml('gitSync:\n  httpPort: 80\n', 'p.yaml')).toMatchObject({ source: 'p.yaml', document: { gitSync: { httpPort: 80 } }, problems: [] });
    expect(parsePolicyYaml('', 'p.yaml').document).toBeNull();
  });
});

describe('formatPolicyProblem', () => {
  it('prefixes the source and position, and leaves out an empty field', () => {
    expect(formatPolicyProblem({ code: 'INTEGER_INVALID', field: 'gitSync.user', message: 'm', line: 3, column: 9 }, 'p.yaml')).toBe(
      'p.yaml:3:9: gitSync.user: m [INTEGER_INVALID]',
    );
    expect(formatPolicyProblem({ code: 'POLICY_TYPE_INVALID', field: '', message: 'a list is not a map' }, 'cm/policy')).toBe(
      'cm/policy: a list is not a map [POLICY_TYPE_INVALID]',
    );
  });
});
