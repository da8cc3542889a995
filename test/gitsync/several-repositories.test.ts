/**
 * Several repositories in one pod, with the real git-sync: an Airflow
 * scheduler with `preset: airflow`, its DAGs from one repository (HTTPS, the
 * chart's Secret with its four keys) and its plugins from a repository named
 * `plugins` (SSH, its own deploy key and known_hosts in its own Secret), as in
 * docs/several-repositories.md. The pod is exactly what the engine produces;
 * every git-sync container of it runs as the kubelet model starts it. Both
 * folders appear where AIRFLOW__CORE__DAGS_FOLDER and
 * AIRFLOW__CORE__PLUGINS_FOLDER point, and each git-sync sees only its own
 * volumes: its own root, its own Secret, nothing of the other repository.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { InjectResult } from '../../src/engine/index.ts';
import { BUILTIN_POLICY } from '../../src/policy/index.ts';
import { gitSyncImage, runToExit, startGitSync, waitUntil } from './support/gitsync.ts';
import { Harness } from './support/harness.ts';
import type { PodSandbox } from './support/kubelet.ts';
import { appFolder, injectedPod } from './support/pods.ts';
import { createBareRepo, DAG_FILE, dagSource, type BareRepo } from './support/repos.ts';
import { sshKeyPair, startHttpsGitServer, startSshGitServer, type HttpsGitServer, type SshGitServer, type SshKeyPair } from './support/servers.ts';
import { missing } from './support/tools.ts';

const skip = missing({ ssh: true });
if (skip) console.log(skip);

const USER = 'airflow';
const PASSWORD = 'chart-Pa55';
const PLUGIN_FILE = 'my_plugin.py';
const pluginSource = (version: number): string => `from airflow.plugins_manager import AirflowPlugin\n\n# version ${version}\nclass MyPlugin(AirflowPlugin):\n    name = "my_plugin_v${version}"\n`;

const readOrNull = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/** The volumes a container mounts, by name. */
const mounted = (pod: V1Pod, container: string): string[] =>
  [...(pod.spec!.initContainers ?? []), ...pod.spec!.containers].find((c) => c.name === container)!.volumeMounts!.map((m) => m.name).sort();

describe.skipIf(skip)('two repositories in one Airflow pod: DAGs over HTTPS, plugins over SSH', () => {
  const h = skip ? undefined! : new Harness('several');
  let https: HttpsGitServer;
  let ssh: SshGitServer;
  let dags: BareRepo;
  let plugins: BareRepo;
  let deployKey: SshKeyPair;
  let secrets: Record<string, Record<string, string>>;

  beforeAll(async () => {
    const srv = join(h.dir, 'srv');
    mkdirSync(join(srv, 'private'), { recursive: true });
    dags = await createBareRepo(join(srv, 'private'), 'dags');
    plugins = await createBareRepo(h.dir, 'plugins', { [PLUGIN_FILE]: pluginSource(1), 'README.md': '# Plugins\n' });
    deployKey = await sshKeyPair(h.dir, 'plugins-deploy');
    https = await startHttpsGitServer(h.dir, srv, { username: USER, password: PASSWORD });
    ssh = await startSshGitServer(h.dir, [deployKey.publicKey]);
    secrets = {
      // The Airflow chart's Secret: four keys, two name families.
      'airflow-git': { GIT_SYNC_USERNAME: USER, GIT_SYNC_PASSWORD: PASSWORD, GITSYNC_USERNAME: USER, GITSYNC_PASSWORD: PASSWORD },
      'airflow-plugins-deploy-key': { gitSshKey: deployKey.privateKey, known_hosts: `${ssh.knownHostsLine}\n` },
    };
  });

  afterAll(async () => {
    await https?.close();
    await ssh?.close();
    await h.close();
  });

  /** The docs' scheduler: preset airflow, DAGs from the main repository's dags/ folder, a repository named plugins. */
  const annotations = (extra: Record<string, string> = {}): Record<string, string> => ({
    'gitsync.dev/preset': 'airflow',
    'gitsync.dev/repo': `${https.origin}/private/dags.git`,
    'gitsync.dev/ref': 'main',
    'gitsync.dev/secret': 'airflow-git',
    'gitsync.dev/sub-path': 'dags',
    'gitsync.dev/plugins.repo': ssh.url(plugins.path),
    'gitsync.dev/plugins.ref': 'main',
    'gitsync.dev/plugins.secret': 'airflow-plugins-deploy-key',
    'gitsync.dev/plugins.known-hosts': 'secret',
    ...extra,
  });
  const image = (): ReturnType<typeof gitSyncImage> => gitSyncImage({ trustedCA: https.caFile });
  const dagsFolder = (sandbox: PodSandbox, result: InjectResult): string => appFolder(sandbox, result, 'scheduler', 'AIRFLOW__CORE__DAGS_FOLDER');
  const pluginsFolder = (sandbox: PodSandbox, result: InjectResult): string => appFolder(sandbox, result, 'scheduler', 'AIRFLOW__CORE__PLUGINS_FOLDER');

  test('sidecar mode: both init containers sync, each into the folder its env variable names, each with only its own volumes', async () => {
    const { pod, result } = injectedPod(annotations(), { appName: 'scheduler' });
    const injection = result.injection!;
    expect(injection.mode).toBe('sidecar');
    const named = injection.repositories!;
    expect(named.map((r) => r.name)).toEqual(['plugins']);
    expect(injection.initContainers).toEqual(['git-sync-init']);
    expect(named[0]!.initContainers).toEqual(['git-sync-init-plugins']);

    // Each git-sync mounts its own root, tmp and Secret, and none of the other repository's.
    const dagsVolumes = ['git-sync-root', 'git-sync-secret', 'git-sync-tmp'];
    const pluginVolumes = ['git-sync-root-plugins', 'git-sync-secret-plugins', 'git-sync-tmp-plugins'];
    for (const c of ['git-sync-init', 'git-sync']) expect(mounted(pod, c)).toEqual(dagsVolumes);
    for (const c of ['git-sync-init-plugins', 'git-sync-plugins']) expect(mounted(pod, c)).toEqual(pluginVolumes);
    expect(mounted(pod, 'scheduler')).toEqual(['git-sync-root', 'git-sync-root-plugins']);

    const sandbox = await h.sandbox(pod, { secrets });
    for (const init of ['git-sync-init', 'git-sync-init-plugins']) {
      const exit = await runToExit(sandbox.process(init, image()));
      expect(exit.code, `${init}:\n${exit.output}\n${ssh.output()}`).toBe(0);
    }

    // What the scheduler reads, through its own env and mounts.
    expect(sandbox.resolveEnv('scheduler').get('AIRFLOW__CORE__DAGS_FOLDER')).toBe('/opt/airflow/dags/repo/dags');
    expect(sandbox.resolveEnv('scheduler').get('AIRFLOW__CORE__PLUGINS_FOLDER')).toBe('/opt/airflow/plugins/repo');
    expect(readFileSync(join(dagsFolder(sandbox, result), 'example_dag.py'), 'utf8')).toBe(dagSource(1));
    expect(readFileSync(join(pluginsFolder(sandbox, result), PLUGIN_FILE), 'utf8')).toBe(pluginSource(1));

    // Each root holds its own repository only; each git-sync's /etc/git-secret is its own Secret.
    expect(existsSync(join(sandbox.volumeDir('git-sync-root'), 'repo', PLUGIN_FILE))).toBe(false);
    expect(existsSync(join(sandbox.volumeDir('git-sync-root-plugins'), 'repo', DAG_FILE))).toBe(false);
    expect(readdirSync(sandbox.hostPath('git-sync-init', '/etc/git-secret')!).filter((f) => !f.startsWith('..')).sort()).toEqual(Object.keys(secrets['airflow-git']!).sort());
    expect(readFileSync(sandbox.hostPath('git-sync-init-plugins', '/etc/git-secret/gitSshKey')!, 'utf8')).toBe(deployKey.privateKey);
    expect(sandbox.hostPath('git-sync-init-plugins', '/etc/git-secret/GIT_SYNC_PASSWORD')).toBe(join(sandbox.volumeDir('git-sync-secret-plugins'), 'GIT_SYNC_PASSWORD'));
    expect(existsSync(sandbox.hostPath('git-sync-init-plugins', '/etc/git-secret/GIT_SYNC_PASSWORD')!)).toBe(false);
    // The DAGs git-sync went over HTTPS with the chart's credentials; the plugins one never asked the HTTPS server.
    expect(https.requests.some((r) => r.path.startsWith('/private/dags.git') && r.user === USER && r.status === 200)).toBe(true);
    expect(https.requests.some((r) => r.path.includes('plugins'))).toBe(false);
  });

  test('native mode: two native sidecars, each on its own port, each following its own repository', async () => {
    // The policy's minimum period is lowered so that a second sync comes soon; everything else is built in.
    const policy = { limits: { ...BUILTIN_POLICY.limits, minPeriod: '1s' } };
    const { pod, result } = injectedPod(annotations({ 'gitsync.dev/mode': 'native', 'gitsync.dev/period': '1s', 'gitsync.dev/plugins.period': '1s' }), { appName: 'scheduler', policy });
    expect(result.injection!.mode).toBe('native');
    expect(result.injection!.initContainers).toEqual(['git-sync']);
    expect(result.injection!.repositories![0]!.initContainers).toEqual(['git-sync-plugins']);
    const sandbox = await h.sandbox(pod, { secrets });
    const ports = ['git-sync', 'git-sync-plugins'].map((c) => sandbox.container(c).livenessProbe!.httpGet!.port as number);
    expect(new Set(ports).size).toBe(2);

    const procs = ['git-sync', 'git-sync-plugins'].map((c) => startGitSync(sandbox.process(c, image())));
    const dag = join(dagsFolder(sandbox, result), 'example_dag.py');
    const plugin = join(pluginsFolder(sandbox, result), PLUGIN_FILE);
    await waitUntil(() => readOrNull(dag) === dagSource(1), 'first sync of the DAGs', procs[0]);
    await waitUntil(() => readOrNull(plugin) === pluginSource(1), 'first sync of the plugins', procs[1]);
    for (const [i, port] of ports.entries()) {
      await waitUntil(async () => (await fetch(`http://127.0.0.1:${sandbox.hostPort(port)}/`).catch(() => undefined))?.status === 200, `HTTP 200 on pod port ${port}`, procs[i]);
    }

    // A commit to the plugins repository reaches the plugins folder; the DAGs folder keeps its commit, and the reverse.
    await plugins.commit({ [PLUGIN_FILE]: pluginSource(2) }, 'plugin v2');
    await waitUntil(() => readOrNull(plugin) === pluginSource(2), 'the pushed plugin under AIRFLOW__CORE__PLUGINS_FOLDER', procs[1]);
    expect(readOrNull(dag)).toBe(dagSource(1));
    await dags.commit({ [DAG_FILE]: dagSource(2) }, 'dag v2');
    await waitUntil(() => readOrNull(dag) === dagSource(2), 'the pushed DAG under AIRFLOW__CORE__DAGS_FOLDER', procs[0]);
    expect(readOrNull(plugin)).toBe(pluginSource(2));
    for (const p of procs) expect(p.running(), p.output()).toBe(true);
    for (const p of procs) await p.stop();
  });
});
