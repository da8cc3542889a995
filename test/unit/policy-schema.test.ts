import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PolicyProblem as Problem } from '../../src/policy/index.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { POLICY_FIELDS, fieldDefault, policyReferenceTable, validatePolicyDocument } from '../../src/policy/index.ts';
import { parseKnownHostsLine, parseQuantity, quantityValue } from '../../src/policy/formats.ts';

const ED25519 = 'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const ECDSA =
  'github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=';

const problemsOf = (doc: unknown): Problem[] => validatePolicyDocument(doc).problems;
const only = (doc: unknown): Problem => {
  const problems = problemsOf(doc);
  expect(problems).toHaveLength(1);
  return problems[0]!;
};

/** Paths of every value in an object, stopping at the fields the schema lists. */
function leafPaths(value: unknown, listed: ReadonlySet<string>, prefix = ''): string[] {
  return Object.entries(value as Record<string, unknown>).flatMap(([key, v]) => {
    const path = `${prefix}${key}`;
    if (listed.has(path)) return [path];
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? leafPaths(v, listed, `${path}.`) : [path];
  });
}

describe('the schema table', () => {
  it('lists every field of the built-in policy, and nothing else', () => {
    const listed = new Set(POLICY_FIELDS.map((f) => f.path));
    expect(leafPaths(BUILTIN_POLICY, listed).sort()).toEqual([...listed].sort());
  });

  it('takes defaults from the built-in policy', () => {
    const byPath = (path: string) => POLICY_FIELDS.find((f) => f.path === path)!;
    expect(fieldDefault(byPath('gitSync.httpPort'))).toBe(1234);
    expect(fieldDefault(byPath('limits.minPeriod'))).toBe('10s');
    expect(fieldDefault(byPath('resources.requests'))).toEqual({ cpu: '10m', memory: '64Mi' });
  });

  it('renders a Markdown row for every field, with its type and default', () => {
    const table = policyReferenceTable();
    const lines = table.split('\n');
    expect(lines.slice(0, 2)).toEqual(['| field | type | default | meaning |', '|---|---|---|---|']);
    expect(lines).toHaveLength(POLICY_FIELDS.length + 2);
    for (const field of POLICY_FIELDS) expect(table).toContain(`| \`${field.path}\` |`);
    expect(lines).toContain(
      "| `gitSync.httpPort` | integer, 1 to 65535 | `1234` | Port of git-sync's HTTP endpoint, which its probes use; moved if an app container uses it. |",
    );
    expect(table).toContain('| `imagePullPolicy` | `Always`, `IfNotPresent`, `Never` | `IfNotPresent` |');
    expect(table).toContain('| `presets` | map of name → annotation values, at most 1000 | `airflow` |');
    expect(table).toContain('| `resources.requests` | map of resource → quantity | `cpu: 10m`, `memory: 64Mi` |');
    expect(table).toContain('| `knownHosts` | list of known_hosts lines, at most 1000 | none |');
  });
});

describe('validatePolicyDocument: merging over the built-in policy', () => {
  it('round-trips the built-in policy', () => {
    const result = validatePolicyDocument(structuredClone(BUILTIN_POLICY));
    expect(result.problems).toEqual([]);
    expect(result.policy).toEqual(BUILTIN_POLICY);
    expect(result.compiled?.document).toEqual(BUILTIN_POLICY);
  });

  it.each([null, undefined, {}])('takes %s as the built-in policy', (doc) => {
    expect(validatePolicyDocument(doc).policy).toEqual(BUILTIN_POLICY);
  });

  it('keeps built-in values for fields not given, inside groups too', () => {
    const { policy, problems } = validatePolicyDocument({ gitSync: { httpPort: 8081 }, limits: null });
    expect(problems).toEqual([]);
    expect(policy?.gitSync).toEqual({ ...BUILTIN_POLICY.gitSync, httpPort: 8081 });
    expect(policy?.limits).toEqual(BUILTIN_POLICY.limits);
  });

  it('merges presets by name, so the built-in airflow preset stays unless redefined', () => {
    const added = validatePolicyDocument({ presets: { team: { period: '2m' } } }).policy!;
    expect(added.presets).toEqual({ airflow: BUILTIN_POLICY.presets.airflow, team: { period: '2m' } });
    const redefined = validatePolicyDocument({ presets: { airflow: { 'mount-path': '/dags' } } }).policy!;
    expect(redefined.presets).toEqual({ airflow: { 'mount-path': '/dags' } });
    expect(BUILTIN_POLICY.presets.airflow).toHaveProperty('env', 'AIRFLOW__CORE__DAGS_FOLDER');
  });

  it('replaces lists and maps given, and kube-system is excluded anyway', () => {
    const result = validatePolicyDocument({ excludedNamespaces: ['monitoring'], resources: { requests: { cpu: '20m' } } });
    expect(result.policy?.excludedNamespaces).toEqual(['monitoring']);
    expect(result.policy?.resources).toEqual({ requests: { cpu: '20m' }, limits: { memory: '256Mi' } });
    expect([...result.compiled!.engine.excludedNamespaces].sort()).toEqual(['kube-system', 'monitoring']);
  });

  it('normalises paths and takes YAML numbers as quantities', () => {
    const { policy } = validatePolicyDocument({ gitSync: { root: '/data//git/' }, resources: { limits: { cpu: 0.5, memory: '1Gi' } } });
    expect(policy?.gitSync.root).toBe('/data/git');
    expect(policy?.resources.limits).toEqual({ cpu: '0.5', memory: '1Gi' });
  });

  it('compiles the merged policy', () => {
    const { compiled } = validatePolicyDocument({ limits: { minPeriod: '30s' }, knownHosts: ['# github', ED25519] });
    expect(compiled?.engine.minPeriod.ms).toBe(30_000);
    expect(compiled?.engine.knownHostsData).toBe(`# github\n${ED25519}\n`);
  });
});

describe('validatePolicyDocument: problems', () => {
  it('reports wrong types with the path and what is allowed', () => {
    expect(only({ limits: { minPeriod: 5 } })).toEqual({
      code: 'POLICY_TYPE_INVALID',
      field: 'limits.minPeriod',
      value: '5',
      message: '5 is not a string; use a Go duration such as 10s',
    });
    expect(only({ gitSync: { httpPort: '8080' } })).toEqual({
      code: 'POLICY_TYPE_INVALID',
      field: 'gitSync.httpPort',
      value: '8080',
      message: '"8080" is a string; write the number without quotes',
    });
    expect(only({ allowInsecureHostKeys: 'yes' })).toEqual({
      code: 'POLICY_TYPE_INVALID',
      field: 'allowInsecureHostKeys',
      value: 'yes',
      message: '"yes" is not a boolean; use true or false',
    });
    expect(only({ knownHosts: ED25519 }).message).toBe(
      `${JSON.stringify(`${ED25519.slice(0, 80)}…`)} is not a list; use a list of known_hosts lines, one per item, as ssh-keyscan prints them`,
    );
    expect(only({ gitSync: ['root'] })).toEqual({
      code: 'POLICY_TYPE_INVALID',
      field: 'gitSync',
      message: 'a list is not a map; use a map with root, link, httpPort, maxFailures, user, group, rootSizeLimit',
    });
    expect(only({ defaults: { depth: 1 } })).toEqual({
      code: 'POLICY_TYPE_INVALID',
      field: 'defaults.depth',
      value: '1',
      message: '1 is not a string; annotation values are strings, so put it in quotes',
    });
    expect(only({ excludedNamespaces: ['ok', 7] })).toMatchObject({ field: 'excludedNamespaces[1]', message: '7 is not a string; use a list of namespace names' });
  });

  it('reports an empty value, which may be a commented-out list', () => {
    expect(only({ image: null })).toEqual({
      code: 'POLICY_TYPE_INVALID',
      field: 'image',
      message: 'is empty; use an image reference such as registry.k8s.io/git-sync/git-sync:v4.7.1, or remove the field to keep the built-in value',
    });
  });

  it('reports a document that is not a map', () => {
    expect(only(['image'])).toMatchObject({ code: 'POLICY_TYPE_INVALID', field: '', message: expect.stringMatching(/^a list is not a map of policy fields; use a map with annotationPrefix, image, /) });
  });

  it('reports enum values that are not allowed', () => {
    expect(only({ imagePullPolicy: 'Sometimes' })).toEqual({
      code: 'VALUE_NOT_ALLOWED',
      field: 'imagePullPolicy',
      value: 'Sometimes',
      message: '"Sometimes" is not allowed; use one of Always, IfNotPresent, Never',
    });
    expect(only({ dialect: 'v5' }).message).toBe('"v5" is not allowed; use one of v4, v3');
    expect(only({ onInvalidAnnotations: 3 })).toMatchObject({ code: 'POLICY_TYPE_INVALID', message: '3 is not a string; use one of deny, admit' });
  });

  it.each([
    ['gitSync.httpPort', { httpPort: 0 }, '0 is not a whole number from 1 to 65535'],
    ['gitSync.httpPort', { httpPort: 65536 }, '65536 is not a whole number from 1 to 65535'],
    ['gitSync.httpPort', { httpPort: 80.5 }, '80.5 is not a whole number from 1 to 65535'],
    ['gitSync.user', { user: 0 }, '0 is not a whole number from 1 to 2147483647'],
    ['gitSync.group', { group: 2147483648 }, '2147483648 is not a whole number from 0 to 2147483647'],
    ['gitSync.maxFailures', { maxFailures: -2 }, '-2 is not a whole number from -1 to 1000'],
    ['gitSync.maxFailures', { maxFailures: 1001 }, '1001 is not a whole number from -1 to 1000'],
  ])('reports %s out of range: %o', (field, gitSync, message) => {
    expect(only({ gitSync })).toMatchObject({ code: 'INTEGER_INVALID', field, message });
  });

  it('accepts the ends of integer ranges', () => {
    expect(problemsOf({ gitSync: { httpPort: 65535, user: 1, group: 2147483647, maxFailures: -1 } })).toEqual([]);
    expect(problemsOf({ gitSync: { httpPort: 1, maxFailures: 1000 } })).toEqual([]);
  });

  it('reports unknown fields with a suggestion', () => {
    expect(only({ gitSync: { httpPrt: 80 } })).toEqual({
      code: 'POLICY_FIELD_UNKNOWN',
      field: 'gitSync.httpPrt',
      value: 'httpPrt',
      message: 'is not a policy field; did you mean gitSync.httpPort?',
    });
    expect(only({ imagePullPolicies: 'Always' }).message).toBe('is not a policy field; did you mean imagePullPolicy?');
    // A field written at the wrong level is found where it belongs.
    expect(only({ minPeriod: '30s' }).message).toBe('is not a policy field; did you mean limits.minPeriod?');
    expect(only({ limits: { maxDeph: 3 } }).message).toBe('is not a policy field; did you mean limits.maxDepth?');
    expect(only({ limits: { retries: 3 } }).message).toBe('is not a policy field; use one of minPeriod, maxDepth, maxRepositories, allowedModes, maxSyncTimeout, maxFailures, webhookHosts, maxResources, maxRootSizeLimit');
  });

  it('reports unknown annotations in defaults and presets with a suggestion', () => {
    expect(only({ defaults: { 'mout-path': '/x' } })).toEqual({
      code: 'UNKNOWN_ANNOTATION',
      field: 'defaults.mout-path',
      value: 'mout-path',
      message: 'is not an annotation the injector knows; did you mean mount-path?',
    });
    expect(only({ presets: { team: { 'gitsync.dev/period': '2m' } } })).toEqual({
      code: 'UNKNOWN_ANNOTATION',
      field: 'presets.team.gitsync.dev/period',
      value: 'gitsync.dev/period',
      message: 'is not an annotation the injector knows; write it without the prefix: period',
    });
  });

  it('reports bad annotation values in defaults and presets, from the annotation parsers', () => {
    expect(only({ defaults: { period: '5x' } })).toEqual({
      code: 'DURATION_INVALID',
      field: 'defaults.period',
      value: '5x',
      message: '"5x" is not a duration; use a Go duration such as 30s, 5m or 1h30m',
    });
    expect(only({ presets: { team: { mode: 'fast' } } })).toMatchObject({ code: 'VALUE_NOT_ALLOWED', field: 'presets.team.mode' });
    expect(only({ defaults: { repo: 'https://github.com/acme/dags.git' } })).toMatchObject({ code: 'VALUE_NOT_ALLOWED', field: 'defaults.repo' });
  });

  it('reports preset names a pod could never select', () => {
    expect(only({ presets: { Team_A: {} } })).toMatchObject({ code: 'NAME_INVALID', field: 'presets.Team_A', value: 'Team_A' });
  });

  it.each([
    ['gitsync.dev', "\"gitsync.dev\" does not end with '/'; use a DNS subdomain followed by '/', such as gitsync.dev/"],
    ['GitSync.dev/', "\"GitSync.dev/\" is not an annotation prefix; use a DNS subdomain followed by '/', such as gitsync.dev/"],
    ['/', "\"/\" is not an annotation prefix; use a DNS subdomain followed by '/', such as gitsync.dev/"],
    ['a..b/', "\"a..b/\" is not an annotation prefix; use a DNS subdomain followed by '/', such as gitsync.dev/"],
  ])('reports the annotation prefix %j', (annotationPrefix, message) => {
    expect(only({ annotationPrefix })).toEqual({ code: 'POLICY_VALUE_INVALID', field: 'annotationPrefix', value: annotationPrefix, message });
  });

  it('accepts annotation prefixes that are DNS subdomains', () => {
    expect(problemsOf({ annotationPrefix: 'git.platform.example.com/' })).toEqual([]);
  });

  it('reports an empty image or one with whitespace', () => {
    expect(only({ image: '' }).message).toBe('is empty; use an image reference such as registry.k8s.io/git-sync/git-sync:v4.7.1');
    expect(only({ image: 'git-sync :v4' })).toMatchObject({
      code: 'POLICY_VALUE_INVALID',
      message: '"git-sync :v4" contains whitespace; use an image reference such as registry.k8s.io/git-sync/git-sync:v4.7.1',
    });
  });

  it('reports namespace names that could never match', () => {
    expect(only({ excludedNamespaces: ['monitoring', 'Kube_System'] })).toEqual({
      code: 'NAME_INVALID',
      field: 'excludedNamespaces[1]',
      value: 'Kube_System',
      message: "\"Kube_System\" is not a namespace name; use lower-case letters, digits and '-' (at most 63)",
    });
  });

  it('reports git-sync paths', () => {
    expect(only({ gitSync: { root: 'git' } })).toEqual({
      code: 'PATH_INVALID',
      field: 'gitSync.root',
      value: 'git',
      message: "\"git\" is not an absolute path; start it with '/'",
    });
    expect(only({ gitSync: { link: 'a/b' } }).message).toBe('"a/b" is a path; use a single folder name such as repo');
    expect(only({ gitSync: { link: '..' } }).message).toBe(
      "\"..\" is not a folder name; use letters, digits, '.', '_' and '-', not starting with '.', such as repo",
    );
    expect(only({ gitSync: { link: '.worktrees' } }).code).toBe('PATH_INVALID');
  });

  it('reports resource names and quantities', () => {
    expect(only({ resources: { requests: { memroy: '64Mi' } } })).toEqual({
      code: 'VALUE_NOT_ALLOWED',
      field: 'resources.requests.memroy',
      value: 'memroy',
      message: '"memroy" is not allowed; use one of cpu, memory, ephemeral-storage',
    });
    expect(only({ resources: { limits: { memory: '256MB' } } })).toEqual({
      code: 'POLICY_VALUE_INVALID',
      field: 'resources.limits.memory',
      value: '256MB',
      message: '"256MB" is not a Kubernetes quantity; use a number with an optional suffix, such as 100m, 64Mi or 1Gi',
    });
  });

  it('takes gitSync.rootSizeLimit as a quantity, not set by default', () => {
    expect(BUILTIN_POLICY.gitSync.rootSizeLimit).toBeUndefined();
    expect(validatePolicyDocument({ gitSync: { rootSizeLimit: '2Gi' } }).compiled?.engine.gitSync.rootSizeLimit).toBe('2Gi');
    expect(only({ gitSync: { rootSizeLimit: '2GB' } })).toEqual({
      code: 'POLICY_VALUE_INVALID',
      field: 'gitSync.rootSizeLimit',
      value: '2GB',
      message: '"2GB" is not a Kubernetes quantity; use a number with an optional suffix, such as 100m, 64Mi or 1Gi',
    });
  });

  it('reports a request above its limit, which the API server would refuse for every pod', () => {
    expect(only({ resources: { requests: { memory: '512Mi' } } })).toEqual({
      code: 'POLICY_VALUE_INVALID',
      field: 'resources.requests.memory',
      value: '512Mi',
      message: '"512Mi" is more than the limit "256Mi" (resources.limits.memory); Kubernetes refuses a request above its limit',
    });
    expect(problemsOf({ resources: { requests: { memory: '256Mi', cpu: '2' }, limits: { memory: '0.25Gi', cpu: '2000m' } } })).toEqual([]);
  });

  it('reports every problem at once, schema and annotation values together', () => {
    const problems = problemsOf({
      imagePullPolicy: 'Sometimes',
      limits: { minPeriod: 5 },
      gitSync: { httpPrt: 80, user: -1 },
      defaults: { period: '5x' },
      presets: { team: { 'mount-path': 'relative' } },
      knownHosts: ['github.com'],
    });
    expect(problems.map((p) => `${p.field}: ${p.message} [${p.code}]`)).toEqual([
      'imagePullPolicy: "Sometimes" is not allowed; use one of Always, IfNotPresent, Never [VALUE_NOT_ALLOWED]',
      'limits.minPeriod: 5 is not a string; use a Go duration such as 10s [POLICY_TYPE_INVALID]',
      'gitSync.httpPrt: is not a policy field; did you mean gitSync.httpPort? [POLICY_FIELD_UNKNOWN]',
      'gitSync.user: -1 is not a whole number from 1 to 2147483647 [INTEGER_INVALID]',
      'knownHosts[0]: "github.com" is not a known_hosts line; use "<host> <key type> <base64 key>" as ssh-keyscan prints it [POLICY_VALUE_INVALID]',
      'defaults.period: "5x" is not a duration; use a Go duration such as 30s, 5m or 1h30m [DURATION_INVALID]',
      "presets.team.mount-path: \"relative\" is not an absolute path; start it with '/' [PATH_INVALID]",
    ]);
    expect(validatePolicyDocument({ limits: { minPeriod: 5 } }).policy).toBeUndefined();
  });

  it('never throws, and returns a policy exactly when there is no problem', () => {
    const keys = fc.constantFrom(...POLICY_FIELDS.map((f) => f.path.split('.')[0]!), 'other');
    const doc = fc.oneof(fc.jsonValue(), fc.dictionary(keys, fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue()))));
    fc.assert(
      fc.property(doc, (d) => {
        const result = validatePolicyDocument(d);
        expect(result.policy === undefined).toBe(result.problems.length > 0);
        for (const p of result.problems) expect(p.message).not.toBe('');
      }),
    );
  });
});

describe('known_hosts lines', () => {
  it.each([
    ED25519,
    ECDSA,
    `github.com,140.82.121.4 ${ED25519.split(' ').slice(1).join(' ')} comment here`,
    `@cert-authority *.example.com ${ED25519.split(' ').slice(1).join(' ')}`,
    `[git.example.com]:2222 ${ED25519.split(' ').slice(1).join(' ')}`,
    `|1|JfKTdBh7rNbXkVAQCRp4OQoPfmI=|USECr3SWf1JUPsms5AqfD5QfxkM= ${ED25519.split(' ').slice(1).join(' ')}`,
    '# a comment',
    '',
  ])('accepts %j', (line) => {
    expect(parseKnownHostsLine(line)).toEqual({ ok: true, value: line });
  });

  it.each([
    ['github.com', '"github.com" is not a known_hosts line; use "<host> <key type> <base64 key>" as ssh-keyscan prints it'],
    [`${ED25519}\n${ECDSA}`, 'contains a line break; give each known_hosts line as its own list item'],
    [ED25519.slice(0, -4), 'the ssh-ed25519 key for "github.com" is cut short or not a ssh-ed25519 key; copy the whole line again from ssh-keyscan'],
    [ED25519.replace('ssh-ed25519', 'ssh-rsa'), 'the ssh-rsa key for "github.com" is cut short or not a ssh-rsa key; copy the whole line again from ssh-keyscan'],
    [`@trusted ${ED25519}`, 'starts with "@trusted"; the only markers are @cert-authority and @revoked'],
    [ED25519.replace('ssh-ed25519', 'SSH-ED25519'), 'has no SSH key type where "SSH-ED25519" is; use "<host> <key type> <base64 key>" as ssh-keyscan prints it'],
    [`git"hub.com ${ED25519.split(' ').slice(1).join(' ')}`, 'has invalid host names "git\\"hub.com"; use "<host> <key type> <base64 key>" as ssh-keyscan prints it'],
  ])('refuses %j', (line, message) => {
    const result = parseKnownHostsLine(line);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe('POLICY_VALUE_INVALID');
      expect(result.message.endsWith(message)).toBe(true);
    }
  });
});

describe('known_hosts key blobs', () => {
  /** An SSH wire-format blob: each part as a uint32 length and its bytes. */
  const blob = (...parts: string[]): string =>
    Buffer.concat(
      parts.flatMap((p) => {
        const length = Buffer.alloc(4);
        length.writeUInt32BE(p.length);
        return [length, Buffer.from(p, 'latin1')];
      }),
    ).toString('base64');

  it('checks the number of fields each key type has', () => {
    expect(parseKnownHostsLine(`host ssh-rsa ${blob('ssh-rsa', '\x01\x00\x01', 'modulus')}`).ok).toBe(true);
    expect(parseKnownHostsLine(`host ssh-rsa ${blob('ssh-rsa', '\x01\x00\x01')}`).ok).toBe(false);
    expect(parseKnownHostsLine(`host ssh-ed25519 ${blob('ssh-ed25519', 'k'.repeat(32), 'extra')}`).ok).toBe(false);
    // Types it has no count for only need a well-formed blob that names them.
    expect(parseKnownHostsLine(`host ssh-future ${blob('ssh-future', 'key')}`).ok).toBe(true);
    expect(parseKnownHostsLine(`host ssh-future ${blob('ssh-other', 'key')}`).ok).toBe(false);
  });
});

describe('quantities', () => {
  it.each(['1', '0.5', '.5', '100m', '64Mi', '1Gi', '2k', '1e3', '+1'])('accepts %j', (q) => {
    expect(parseQuantity(q).ok).toBe(true);
  });

  it.each(['', '-1', '64MB', '1K', 'Mi', '1.2.3', '10 Mi', 'one'])('refuses %j', (q) => {
    expect(parseQuantity(q).ok).toBe(false);
  });

  it('compares amounts across suffixes', () => {
    expect(quantityValue('0.25Gi')).toBe(quantityValue('256Mi'));
    expect(quantityValue('2000m')).toBe(quantityValue('2'));
    expect(quantityValue('1e3')).toBe(quantityValue('1k'));
    expect(quantityValue('65Mi')).toBeGreaterThan(quantityValue('64Mi'));
  });
});
