/**
 * Issue 13's finding: a pod naming a Secret laid out like the Airflow chart's
 * (GIT_SYNC_USERNAME/GIT_SYNC_PASSWORD and GITSYNC_USERNAME/GITSYNC_PASSWORD)
 * without a preset or secret-layout is admitted and then cannot start:
 * CreateContainerConfigError `couldn't find key username`. The first test
 * reproduces it with the engine as it is.
 *
 * The rest is evidence for choosing a fix, gathered from the real git-sync
 * v4.7.1 at the harness level: the injected container's credential variables
 * are replaced by a candidate wiring, resolved by the kubelet model from each
 * Secret layout, and git-sync runs against the HTTPS server. None of it is
 * the engine's behaviour. The policy here has maxFailures 0 so that an
 * expected failure exits at the first attempt.
 */
import type { V1EnvFromSource, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BUILTIN_POLICY } from '../../src/policy/index.ts';
import { gitSyncImage } from './support/gitsync.ts';
import { Harness } from './support/harness.ts';
import { appFolder, firstGitSync, injectedPod } from './support/pods.ts';
import { createBareRepo, DAG_FILE, dagSource } from './support/repos.ts';
import { startHttpsGitServer, type HttpsGitServer } from './support/servers.ts';
import { missing } from './support/tools.ts';

const skip = missing();
if (skip) console.log(skip);

const USER = 'airflow';
const PASSWORD = 'chart-Pa55';
/** The Secret layouts users have. */
const LAYOUTS = {
  'basic-auth (username/password)': { username: USER, password: PASSWORD },
  'GIT_SYNC_USERNAME/GIT_SYNC_PASSWORD only': { GIT_SYNC_USERNAME: USER, GIT_SYNC_PASSWORD: PASSWORD },
  'GITSYNC_USERNAME/GITSYNC_PASSWORD only': { GITSYNC_USERNAME: USER, GITSYNC_PASSWORD: PASSWORD },
  "the Airflow chart's four keys": { GIT_SYNC_USERNAME: USER, GIT_SYNC_PASSWORD: PASSWORD, GITSYNC_USERNAME: USER, GITSYNC_PASSWORD: PASSWORD },
} as const;
type Layout = keyof typeof LAYOUTS;

const ref = (name: string, key: string): V1EnvVar => ({ name, valueFrom: { secretKeyRef: { name: 'git-creds', key, optional: true } } });

describe.skipIf(skip)('the Airflow-layout Secret without a preset or secret-layout', () => {
  const h = skip ? undefined! : new Harness('airflow-secret');
  let server: HttpsGitServer;
  let repo: string;

  beforeAll(async () => {
    const srv = join(h.dir, 'srv');
    mkdirSync(join(srv, 'private'), { recursive: true });
    await createBareRepo(join(srv, 'private'), 'dags');
    server = await startHttpsGitServer(h.dir, srv, { username: USER, password: PASSWORD });
    repo = `${server.origin}/private/dags.git`;
  });
  afterAll(async () => {
    await server?.close();
    await h.close();
  });

  // The finding was: admitted, then CreateContainerConfigError: couldn't find key username. Issue 10 chose
  // candidate C (the auto layout, now the default); test/gitsync/networks.test.ts runs it with every layout.
  test.each(Object.keys(LAYOUTS) as Layout[])('fixed: with no secret-layout, %s syncs', async (layout) => {
    const { pod, result } = injectedPod({ 'gitsync.dev/repo': repo, 'gitsync.dev/secret': 'git-creds' });
    expect(result.warnings).toEqual([]);
    const { sandbox, exit } = await h.run(pod, { secrets: { 'git-creds': LAYOUTS[layout] } }, gitSyncImage({ trustedCA: server.caFile }));
    expect(exit.code, exit.output).toBe(0);
    expect(readFileSync(join(appFolder(sandbox, result), DAG_FILE), 'utf8')).toBe(dagSource(1));
  });

  /** The injected pod (secret-layout airflow, so the Secret is mounted) with its credential variables replaced. */
  async function syncWith(env: V1EnvVar[], secret: Record<string, string>, envFrom?: V1EnvFromSource[]) {
    const policy = { gitSync: { ...BUILTIN_POLICY.gitSync, maxFailures: 0 } };
    const { pod, result } = injectedPod({ 'gitsync.dev/repo': repo, 'gitsync.dev/secret': 'git-creds', 'gitsync.dev/secret-layout': 'airflow' }, { policy });
    const copy = structuredClone(pod) as V1Pod;
    const c = copy.spec!.initContainers!.find((x) => x.name === firstGitSync(pod))!;
    c.env = [...c.env!.filter((e) => !/USERNAME|PASSWORD/.test(e.name)), ...env];
    if (envFrom) c.envFrom = envFrom;
    const { sandbox, exit } = await h.run(copy, { secrets: { 'git-creds': secret } }, gitSyncImage({ trustedCA: server.caFile }));
    const synced = (() => {
      try {
        return readFileSync(join(appFolder(sandbox, result), DAG_FILE), 'utf8') === dagSource(1);
      } catch {
        return false;
      }
    })();
    return { exit, synced, sandbox, container: c.name };
  }
  const lit = (name: string, value: string): V1EnvVar => ({ name, value });
  const file = (name: string, key: string): V1EnvVar => lit(name, `/etc/git-secret/${key}`);

  describe('what git-sync v4.7.1 reads', () => {
    test('both families of names: GIT_SYNC_USERNAME/GIT_SYNC_PASSWORD and GITSYNC_USERNAME/GITSYNC_PASSWORD', async () => {
      expect((await syncWith([lit('GIT_SYNC_USERNAME', USER), lit('GIT_SYNC_PASSWORD', PASSWORD)], {})).synced).toBe(true);
      expect((await syncWith([lit('GITSYNC_USERNAME', USER), lit('GITSYNC_PASSWORD', PASSWORD)], {})).synced).toBe(true);
    });

    test('password files: GITSYNC_PASSWORD_FILE and GIT_SYNC_PASSWORD_FILE (there is no username file)', async () => {
      const secret = { password: `${PASSWORD}\n` };
      expect((await syncWith([lit('GITSYNC_USERNAME', USER), file('GITSYNC_PASSWORD_FILE', 'password')], secret)).synced).toBe(true);
      expect((await syncWith([lit('GITSYNC_USERNAME', USER), file('GIT_SYNC_PASSWORD_FILE', 'password')], secret)).synced).toBe(true);
    });

    test('when both families are set the GIT_SYNC_ one wins, even when it is empty', async () => {
      const wrongOld = await syncWith([lit('GIT_SYNC_USERNAME', 'wrong'), lit('GITSYNC_USERNAME', USER), lit('GITSYNC_PASSWORD', PASSWORD)], {});
      expect(wrongOld.exit.output).toContain('Authentication failed');
      const rightOld = await syncWith([lit('GITSYNC_USERNAME', USER), lit('GIT_SYNC_PASSWORD', PASSWORD), lit('GITSYNC_PASSWORD', 'wrong')], {});
      expect(rightOld.synced).toBe(true);
      const emptyOld = await syncWith([lit('GIT_SYNC_USERNAME', ''), lit('GITSYNC_USERNAME', USER), lit('GITSYNC_PASSWORD', PASSWORD)], {});
      expect(emptyOld.exit.output).toContain('$GITSYNC_PASSWORD may only be specified when --username is specified');
    });

    test('configuration errors: a password both in env and in a file; a username without a password', async () => {
      const both = await syncWith([lit('GITSYNC_USERNAME', USER), lit('GITSYNC_PASSWORD', PASSWORD), file('GITSYNC_PASSWORD_FILE', 'password')], { password: PASSWORD });
      expect(both.exit.output).toContain('only one of $GITSYNC_PASSWORD and --password-file may be specified');
      const userOnly = await syncWith([lit('GITSYNC_USERNAME', USER)], {});
      expect(userOnly.exit.output).toContain('$GITSYNC_PASSWORD or --password-file must be specified when --username is specified');
    });
  });

  /**
   * Candidate A, no duplicate names: basic-auth keys through GITSYNC_*, the
   * chart's GIT_SYNC_* keys through their own names, all optional, Secret mounted.
   */
  const candidateA = [ref('GITSYNC_USERNAME', 'username'), ref('GITSYNC_PASSWORD', 'password'), ref('GIT_SYNC_USERNAME', 'GIT_SYNC_USERNAME'), ref('GIT_SYNC_PASSWORD', 'GIT_SYNC_PASSWORD')];
  const expectedA: Record<Layout, boolean> = {
    'basic-auth (username/password)': true,
    'GIT_SYNC_USERNAME/GIT_SYNC_PASSWORD only': true,
    'GITSYNC_USERNAME/GITSYNC_PASSWORD only': false,
    "the Airflow chart's four keys": true,
  };
  test.each(Object.keys(LAYOUTS) as Layout[])('candidate A (two name families, no duplicates) with %s', async (layout) => {
    const { synced, exit } = await syncWith(candidateA, LAYOUTS[layout]);
    expect(synced, exit.output).toBe(expectedA[layout]);
    if (!expectedA[layout]) expect(exit.output).toContain('Authentication failed');
  });

  /** Candidate B: envFrom the whole Secret (the chart's keys are git-sync's names), plus the basic-auth keys mapped. */
  const candidateB = { env: [ref('GITSYNC_USERNAME', 'username'), ref('GITSYNC_PASSWORD', 'password')], envFrom: [{ secretRef: { name: 'git-creds' } }] };
  test.each(Object.keys(LAYOUTS) as Layout[])('candidate B (envFrom the Secret) with %s', async (layout) => {
    const { synced, exit } = await syncWith(candidateB.env, LAYOUTS[layout], candidateB.envFrom);
    expect(synced, exit.output).toBe(true);
  });
  test('candidate B hands every key of the Secret to git-sync: a v3 key GIT_SYNC_DEST moves the files away from the app', async () => {
    const { synced, exit, sandbox, container } = await syncWith(candidateB.env, { ...LAYOUTS['basic-auth (username/password)'], GIT_SYNC_DEST: 'elsewhere' }, candidateB.envFrom);
    expect(exit.code, exit.output).toBe(0);
    expect(synced).toBe(false);
    expect(readFileSync(join(sandbox.hostPath(container, '/git')!, 'elsewhere', DAG_FILE), 'utf8')).toBe(dagSource(1));
  });

  /** Candidate C: one name read from each key in turn (a later present key wins), as verified on a real kubelet. */
  const candidateC = ['USERNAME', 'PASSWORD'].flatMap((what) => [`GIT_SYNC_${what}`, `GITSYNC_${what}`, what.toLowerCase()].map((key) => ref(`GITSYNC_${what}`, key)));
  test.each(Object.keys(LAYOUTS) as Layout[])('candidate C (repeated names) with %s', async (layout) => {
    const { synced, exit } = await syncWith(candidateC, LAYOUTS[layout]);
    expect(synced, exit.output).toBe(true);
  });
  test('candidate C costs an API server warning per repeated entry on every pod: 4 here', () => {
    const seen = new Set<string>();
    const repeats = candidateC.filter((e) => seen.has(e.name) || (seen.add(e.name), false));
    expect(repeats.length).toBe(4);
  });
});
