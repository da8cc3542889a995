/**
 * The git-sync dialects: how v4 and v3 spell the same settings, and, over
 * generated pods, that a v3 policy emits only v3 names with every v3 default
 * set explicitly, and a v4 policy no v3 name that could override a v4 one.
 * The golden pods 50-* show whole v3 pods.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { V1EnvVar } from '@kubernetes/client-node';
import { DIALECTS, type HttpsAuth } from '../../src/engine/dialect.ts';
import { injectPod, type InjectResult } from '../../src/engine/index.ts';
import { mustCompile, type CompiledPolicy } from '../../src/policy/compile.ts';
import { NETWORKS, POLICIES, engineCaseArb, runs, type EngineCase, type PolicyName } from '../support/arbitraries.ts';

const { v3, v4 } = DIALECTS;
const wired = (d: typeof v4, auth: HttpsAuth) => {
  const r = d.httpsAuth('s', auth);
  if (!r.ok) throw new Error(r.message);
  return r.value;
};
const shape = (env: V1EnvVar[]) => env.map((e) => [e.name, e.value ?? e.valueFrom?.secretKeyRef?.key, e.valueFrom?.secretKeyRef?.optional]);


describe('the v4 dialect', () => {
  it('passes the ref and period as git-sync v4 takes them', () => {
    expect(v4.ref('HEAD')).toEqual({ ok: true, value: [['GITSYNC_REF', 'HEAD']] });
    expect(v4.period(90_000)).toBe('1m30s');
  });

  it('wires each credentials layout; the Secret is mounted for files and optional keys', () => {
    expect(wired(v4, { layout: 'basic-auth' })).toEqual({
      env: [
        { name: 'GITSYNC_USERNAME', valueFrom: { secretKeyRef: { name: 's', key: 'username' } } },
        { name: 'GITSYNC_PASSWORD_FILE', value: '/etc/git-secret/password' },
      ],
      mountSecret: true,
    });
    const auto = wired(v4, { layout: 'auto' });
    expect(auto.mountSecret).toBe(true);
    expect(shape(auto.env)).toEqual([
      ['GITSYNC_USERNAME', 'no-user-in-secret-s', undefined],
      ['GITSYNC_USERNAME', 'username', true],
      ['GITSYNC_USERNAME', 'GITSYNC_USERNAME', true],
      ['GIT_SYNC_USERNAME', 'GIT_SYNC_USERNAME', true],
      ['GITSYNC_PASSWORD', 'password', true],
      ['GITSYNC_PASSWORD', 'GITSYNC_PASSWORD', true],
      ['GIT_SYNC_PASSWORD', 'GIT_SYNC_PASSWORD', true],
    ]);
    expect(shape(wired(v4, { layout: 'token', username: 'oauth2' }).env)).toEqual([
      ['GITSYNC_USERNAME', 'oauth2', undefined],
      ['GITSYNC_PASSWORD_FILE', '/etc/git-secret/token', undefined],
    ]);
    expect(shape(wired(v4, { layout: 'github-app', clientId: 'Iv1.abc', installationId: 7, key: 'k', baseUrl: 'https://ghe.example/api/v3/' }).env)).toEqual([
      ['GITSYNC_GITHUB_APP_PRIVATE_KEY_FILE', '/etc/git-secret/k', undefined],
      ['GITSYNC_GITHUB_APP_CLIENT_ID', 'Iv1.abc', undefined],
      ['GITSYNC_GITHUB_APP_INSTALLATION_ID', '7', undefined],
      ['GITSYNC_GITHUB_BASE_URL', 'https://ghe.example/api/v3/', undefined],
    ]);
    const airflow = wired(v4, { layout: 'airflow' });
    expect(airflow.mountSecret).toBe(true);
    expect(airflow.env.map((e) => [e.name, e.valueFrom?.secretKeyRef?.key, e.valueFrom?.secretKeyRef?.optional])).toEqual([
      ['GITSYNC_USERNAME', 'GITSYNC_USERNAME', true],
      ['GITSYNC_PASSWORD', 'GITSYNC_PASSWORD', true],
      ['GIT_SYNC_USERNAME', 'GIT_SYNC_USERNAME', true],
      ['GIT_SYNC_PASSWORD', 'GIT_SYNC_PASSWORD', true],
    ]);
  });

  it('gives ssh every candidate key file and the known_hosts file, or turns checking off', () => {
    expect(v4.ssh(['/k/a', '/k/b'], '/kh')).toEqual([
      { name: 'GITSYNC_SSH_KEY_FILE', value: '/k/a:/k/b' },
      { name: 'GITSYNC_SSH_KNOWN_HOSTS_FILE', value: '/kh' },
    ]);
    expect(v4.ssh(['/k/a'], undefined)).toEqual([
      { name: 'GITSYNC_SSH_KEY_FILE', value: '/k/a' },
      { name: 'GITSYNC_SSH_KNOWN_HOSTS', value: 'false' },
    ]);
  });
});

describe('the v3 dialect', () => {
  it.each([
    ['main', [['GIT_SYNC_BRANCH', 'main'], ['GIT_SYNC_REV', 'HEAD']]],
    ['release/2024.10', [['GIT_SYNC_BRANCH', 'release/2024.10'], ['GIT_SYNC_REV', 'HEAD']]],
    ['refs/heads/main', [['GIT_SYNC_BRANCH', 'main'], ['GIT_SYNC_REV', 'HEAD']]],
    ['refs/tags/v1.2.3', [['GIT_SYNC_BRANCH', 'v1.2.3'], ['GIT_SYNC_REV', 'v1.2.3']]],
  ])('%s becomes %j', (ref, env) => {
    expect(v3.ref(ref)).toEqual({ ok: true, value: env });
  });

  it.each([
    ['HEAD', 'the remote\'s default branch'],
    ['0123456789abcdef0123456789abcdef01234567', 'is a commit'],
    ['refs/pull/1/head', 'is neither a branch nor a tag'],
  ])('cannot express %s', (ref, why) => {
    const r = v3.ref(ref);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.code).toBe('DIALECT_UNSUPPORTED');
    expect(!r.ok && r.message).toContain(why);
    expect(!r.ok && r.message).toContain('use a branch name (main), or a tag written as refs/tags/<tag>');
  });

  it('writes the period in seconds, fractions included', () => {
    expect(v3.period(60_000)).toBe('60');
    expect(v3.period(1_500)).toBe('1.5');
    expect(v3.period(86_400_000)).toBe('86400');
  });

  it('reads credentials through GIT_SYNC_USERNAME/PASSWORD only, both required, so the Secret need not be mounted', () => {
    for (const [layout, keys] of [['basic-auth', ['username', 'password']], ['airflow', ['GIT_SYNC_USERNAME', 'GIT_SYNC_PASSWORD']]] as const) {
      const auth = wired(v3, { layout });
      expect(auth.mountSecret).toBe(false);
      expect(auth.env).toEqual([
        { name: 'GIT_SYNC_USERNAME', valueFrom: { secretKeyRef: { name: 's', key: keys[0] } } },
        { name: 'GIT_SYNC_PASSWORD', valueFrom: { secretKeyRef: { name: 's', key: keys[1] } } },
      ]);
    }
  });

  it('auto reads every layout into the two v3 names; token is the user name and the token key; github-app is refused', () => {
    expect(shape(wired(v3, { layout: 'auto' }).env).map(([n]) => n)).toEqual([...Array(4).fill('GIT_SYNC_USERNAME'), ...Array(3).fill('GIT_SYNC_PASSWORD')]);
    expect(shape(wired(v3, { layout: 'token', username: 'x-access-token' }).env)).toEqual([
      ['GIT_SYNC_USERNAME', 'x-access-token', undefined],
      ['GIT_SYNC_PASSWORD', 'token', undefined],
    ]);
    const app = v3.httpsAuth('s', { layout: 'github-app', appId: 1, installationId: 2, key: 'k' });
    expect(!app.ok && app.code).toBe('DIALECT_UNSUPPORTED');
  });

  it('turns SSH on with one key file, the first candidate, and says whether host keys are checked', () => {
    expect(v3.ssh(['/k/gitSshKey', '/k/ssh'], '/kh')).toEqual([
      { name: 'GIT_SYNC_SSH', value: 'true' },
      { name: 'GIT_SSH_KEY_FILE', value: '/k/gitSshKey' },
      { name: 'GIT_KNOWN_HOSTS', value: 'true' },
      { name: 'GIT_SSH_KNOWN_HOSTS_FILE', value: '/kh' },
    ]);
    expect(v3.ssh(['/k/id'], undefined)).toEqual([
      { name: 'GIT_SYNC_SSH', value: 'true' },
      { name: 'GIT_SSH_KEY_FILE', value: '/k/id' },
      { name: 'GIT_KNOWN_HOSTS', value: 'false' },
    ]);
  });
});

// --- Over generated pods ---------------------------------------------------------------

const V3_NAMES = new Set([
  'GIT_SYNC_REPO',
  'GIT_SYNC_BRANCH',
  'GIT_SYNC_REV',
  'GIT_SYNC_ROOT',
  'GIT_SYNC_DEST',
  'GIT_SYNC_DEPTH',
  'GIT_SYNC_SUBMODULES',
  'GIT_SYNC_MAX_SYNC_FAILURES',
  'GIT_SYNC_ONE_TIME',
  'GIT_SYNC_WAIT',
  'GIT_SYNC_HTTP_BIND',
  'GIT_SYNC_USERNAME',
  'GIT_SYNC_PASSWORD',
  'GIT_SYNC_SSH',
  'GIT_SSH_KEY_FILE',
  'GIT_KNOWN_HOSTS',
  'GIT_SSH_KNOWN_HOSTS_FILE',
  'GIT_SYNC_TIMEOUT',
  'GIT_SYNC_TOUCH_FILE',
  'GIT_SYNC_WEBHOOK_URL',
  'GIT_SYNC_GIT_CONFIG',
]);
/** The auto layout reads several keys into the same two names, in order (dialect.ts autoLayout): the one repetition allowed. */
const REPEATABLE = new Set(['GIT_SYNC_USERNAME', 'GIT_SYNC_PASSWORD', 'GITSYNC_USERNAME', 'GITSYNC_PASSWORD']);
/** Settings whose v3 default differs from what the injector means, so they must always be written. */
const V3_ALWAYS = ['GIT_SYNC_REPO', 'GIT_SYNC_BRANCH', 'GIT_SYNC_REV', 'GIT_SYNC_ROOT', 'GIT_SYNC_DEST', 'GIT_SYNC_DEPTH', 'GIT_SYNC_SUBMODULES'];

/** Without a profile's GITSYNC_* env, which git-sync v3 would ignore (a v3 policy is refused with them). */
const v3Networks = (networks: CompiledPolicy['document']['networks']): CompiledPolicy['document']['networks'] =>
  Object.fromEntries(
    Object.entries(networks).map(([name, profile]) => [
      name,
      { ...profile, ...(profile.env && { env: Object.fromEntries(Object.entries(profile.env).filter(([k]) => !k.startsWith('GITSYNC_'))) }) },
    ]),
  );

/** Each property policy, with the v3 dialect (and the default branch v3 needs). */
const V3_POLICIES = Object.fromEntries(
  Object.entries(POLICIES).map(([name, compiled]) => [
    name,
    mustCompile({ ...compiled.document, dialect: 'v3', defaults: { ...compiled.document.defaults, ref: 'main' }, networks: v3Networks(compiled.document.networks) }),
  ]),
) as Record<PolicyName, CompiledPolicy>;

function run(c: EngineCase, policies: Record<PolicyName, CompiledPolicy>): InjectResult {
  return injectPod({ pod: c.pod, namespace: c.namespace, namespaceAnnotations: c.namespaceAnnotations }, { policy: policies[c.policy].engine, cluster: c.cluster, version: '0.0.0-test' });
}

type Env = { name: string; value?: string }[];
function gitSyncEnvs(r: InjectResult): Env[] {
  const names = new Set([...r.injection!.initContainers, ...r.injection!.containers]);
  const spec = (r.pod as { spec: { containers: { name: string; env?: Env }[]; initContainers?: { name: string; env?: Env }[] } }).spec;
  return [...spec.containers, ...(spec.initContainers ?? [])].filter((c) => names.has(c.name)).map((c) => c.env ?? []);
}

describe('over generated pods', () => {
  const cases = engineCaseArb({ hostileWeight: 1 });

  it('a v3 policy injects a good share of them (the properties below are not vacuous)', () => {
    const results = fc.sample(cases, { numRuns: 300, seed: 7 }).map((c) => run(c, V3_POLICIES));
    if (process.env.DEBUG_V3) console.log(results.filter((r) => r.outcome !== 'injected').flatMap((r) => r.errors.map((e) => e.code)));
    expect(results.filter((r) => r.outcome === 'injected').length).toBeGreaterThan(50);
  });

  it('v3: only v3 names, each container says root, link, depth, branch and rev, and nothing is said twice', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const r = run(c, V3_POLICIES);
        if (r.outcome !== 'injected') return;
        for (const env of gitSyncEnvs(r)) {
          const names = env.map((e) => e.name);
          // The network profile's variables are the policy's own (proxies, and env checked when it was loaded),
          // and its CA bundle also reaches git-sync's own HTTPS calls as SSL_CERT_FILE (Go reads it in v3 and v4 alike).
          const profile = new Set([...(NETWORKS.corp!.env ? Object.keys(NETWORKS.corp!.env) : []), 'SSL_CERT_FILE']);
          for (const name of names) if (!/^(https?|no)_proxy$/i.test(name) && !profile.has(name)) expect(V3_NAMES, name).toContain(name);
          for (const name of V3_ALWAYS) expect(names).toContain(name);
          const once = names.filter((n) => !REPEATABLE.has(n));
          expect(new Set(once).size).toBe(once.length);
        }
      }),
      { numRuns: runs(400) },
    );
  });

  it('v4: no v3 name that would override a v4 setting', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const r = run(c, POLICIES);
        if (r.outcome !== 'injected') return;
        for (const env of gitSyncEnvs(r)) {
          // GIT_TRACE in the platform policy's network profile is git's own variable, from the policy.
          const profile = Object.keys(NETWORKS.corp!.env ?? {});
          const v3Names = env.map((e) => e.name).filter((n) => n.startsWith('GIT_') && !profile.includes(n));
          // The Airflow layout's credential aliases are the only ones; they set the same two values.
          expect(v3Names.every((n) => n === 'GIT_SYNC_USERNAME' || n === 'GIT_SYNC_PASSWORD'), v3Names.join()).toBe(true);
        }
      }),
      { numRuns: runs(400) },
    );
  });
});
