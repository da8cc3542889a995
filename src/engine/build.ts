/**
 * Building what a plan decided: the volumes, the git-sync containers, the
 * mounts and env of the app containers, and the status annotation, as an
 * add-only JSON Patch against the pod (and the pod it produces). Names that
 * the pod already uses are avoided, never replaced.
 */
import { hash } from 'node:crypto';
import type { V1Container, V1VolumeMount } from '@kubernetes/client-node';
import { WRITTEN_ANNOTATIONS } from './annotations.ts';
import type { EngineContext } from './context.ts';
import { SECRET_MOUNT } from './credentials.ts';
import { gitSyncContainers, literalEnvValue } from './gitsync.ts';
import { encodeGitConfig } from './network.ts';
import type { InjectResult, Injection, RepositoryInjection } from './outcome.ts';
import { AddOnlyPatch } from './patch.ts';
import type { Mode } from './mode.ts';
import type { Plan, RepositoryPlan } from './plan.ts';
import { containerNames, portsInUse, uniqueName, volumeNames, type Pod } from './pod.ts';
import { publishedPath, publishedVolume, type PublishedFile } from './published.ts';
import { quote, type Problem } from './problems.ts';
import { nameSuffix, qualifier } from './repositories.ts';

const json = (value: unknown): string => JSON.stringify(value);

/** One repository's containers and volumes as JSON text, serialised once: the config hash is taken over it, and the patch reuses it. */
interface PartsText {
  init: string[];
  app: string[];
  volumes: string[];
}
const textOf = (r: RepositoryParts): PartsText => ({ init: r.containers.init.map(json), app: r.containers.app.map(json), volumes: r.volumes.map(json) });

/** Pushes `JSON.stringify(containers) + ',' + JSON.stringify(volumes)` of one repository, from its parts' text, onto `out`: joined once with the rest. */
const configText = (t: PartsText, out: string[]): void => {
  out.push('{"init":[', t.init.join(','), '],"app":[', t.app.join(','), ']},[', t.volumes.join(','), ']');
};

/** Names and ports the pod or an earlier repository uses: shared by every repository, so that none clash. */
interface Taken {
  containers: Set<string>;
  volumes: Set<string>;
  ports: Set<number>;
}

/** One repository's part of the injection, before it is written into the patch. */
interface RepositoryParts {
  plan: RepositoryPlan;
  volumes: { name: string; [k: string]: unknown }[];
  containers: { init: V1Container[]; app: V1Container[] };
  /** Annotations (prefix included) that carry its published files, and their content. */
  published: [string, string][];
  /** The root volume the app containers mount. */
  root: string;
  injection: RepositoryInjection;
}

/**
 * One repository's volumes and git-sync containers. A named repository's
 * names end with `-<name>` (`git-sync-plugins`, `git-sync-init-plugins`,
 * `git-sync-root-plugins`), its published files travel in annotations of its
 * own (`<name>.sparse-checkout-data`), and its git-sync mounts only its own
 * volumes: one repository's credentials never reach another's git-sync.
 */
function assemble(pod: Pod, mode: Mode, r: RepositoryPlan, taken: Taken, ctx: EngineContext): RepositoryParts {
  const { policy } = ctx;
  const gs = policy.gitSync;
  const s = r.settings;
  const suffix = nameSuffix(r.name);
  let httpPort = gs.httpPort;
  while (taken.ports.has(httpPort)) httpPort++;
  taken.ports.add(httpPort);

  const root = uniqueName(`git-sync-root${suffix}`, taken.volumes);
  const tmp = uniqueName(`git-sync-tmp${suffix}`, taken.volumes);
  const volumes: RepositoryParts['volumes'] = [
    { name: root, emptyDir: r.resources.rootSizeLimit === undefined ? {} : { sizeLimit: r.resources.rootSizeLimit } },
    { name: tmp, emptyDir: {} },
  ];
  const mounts: V1VolumeMount[] = [
    { name: root, mountPath: gs.root },
    { name: tmp, mountPath: '/tmp' },
  ];
  const cred = r.credentials;
  if (cred.secretVolume) {
    const name = uniqueName(`git-sync-secret${suffix}`, taken.volumes);
    volumes.push({ name, ...cred.secretVolume });
    mounts.push({ name, mountPath: SECRET_MOUNT, readOnly: true });
  }
  const net = r.network;
  const files = [cred.knownHosts, net.caBundle, r.checkout.sparse].filter((f): f is PublishedFile => f !== undefined);
  const published: [string, string][] = [];
  for (const f of files) {
    const name = uniqueName(`${f.volume}${suffix}`, taken.volumes);
    const annotation = `${policy.prefix}${qualifier(r.name)}${f.annotation}`;
    volumes.push({ name, ...publishedVolume(f, annotation) });
    mounts.push({ name, mountPath: f.mountPath, readOnly: true });
    published.push([annotation, f.data]);
  }

  const names = {
    init: mode === 'native' ? '' : uniqueName(`git-sync-init${suffix}`, taken.containers),
    sidecar: mode === 'init-only' ? '' : uniqueName(`git-sync${suffix}`, taken.containers),
  };
  const repo = s.repo!.value;
  const containers = gitSyncContainers(
    mode,
    names,
    {
      repo: repo.url,
      refEnv: r.refEnv,
      depth: s.depth.value,
      submodules: s.submodules.value,
      periodMs: r.periodMs,
      httpPort,
      hostNetwork: pod.spec.hostNetwork === true,
      credentialEnv: cred.env,
      syncTimeoutMs: r.knobs.syncTimeoutMs,
      maxFailures: r.knobs.maxFailures,
      touchFile: r.knobs.touchFile,
      webhookUrl: r.knobs.webhookUrl,
      networkEnv: net.env,
      gitConfig: net.gitConfig.length ? encodeGitConfig(net.gitConfig) : undefined,
      ...(r.checkout.sparse && { sparseCheckoutFile: publishedPath(r.checkout.sparse) }),
      ...(r.checkout.filter !== undefined && { filter: r.checkout.filter }),
      resources: r.resources.resources,
      mounts,
    },
    gs,
    policy.dialect,
  );

  const subPath = s['sub-path']?.value;
  const injection: RepositoryInjection = {
    repo: repo.url,
    ref: s.ref.value,
    initContainers: containers.init.map((c) => c.name),
    containers: containers.app.map((c) => c.name),
    volumes: volumes.map((v) => v.name),
    appContainers: r.appContainers.map((i) => pod.spec.containers[i]!.name),
    path: `${s['mount-path'].value}/${gs.link}${subPath ? `/${subPath}` : ''}`,
    ...(s['sparse-paths'] && r.checkout.sparse && { sparsePaths: s['sparse-paths'].value }),
    ...(r.checkout.filter !== undefined && { filter: r.checkout.filter }),
  };
  return { plan: r, volumes, containers, published, root, injection };
}

/** The read-only mount of a repository in each of its app containers, and its env variable where the container has none of that name. */
function mountInApps(pod: Pod, parts: RepositoryParts, patch: AddOnlyPatch, warnings: Problem[]): void {
  const s = parts.plan.settings;
  const { path } = parts.injection;
  const envName = s.env?.value;
  for (const i of parts.plan.appContainers) {
    const c = pod.spec.containers[i]!;
    patch.append(['spec', 'containers', i, 'volumeMounts'], { name: parts.root, mountPath: s['mount-path'].value, readOnly: true });
    if (envName === undefined) continue;
    if ((c.env ?? []).some((e) => e.name === envName)) {
      warnings.push({
        code: 'ENV_ALREADY_SET',
        field: s.env!.field,
        value: envName,
        message: `${quote(envName)} is already set in container ${c.name} and was left as is; the files are at ${path}`,
      });
    } else {
      patch.append(['spec', 'containers', i, 'env'], { name: envName, value: literalEnvValue(path) });
      // envFrom's keys live in ConfigMaps and Secrets the injector never reads; an env entry wins over them.
      if (Array.isArray(c.envFrom) && c.envFrom.length > 0) {
        warnings.push({
          code: 'ENV_FROM_MAY_SET',
          field: s.env!.field,
          value: envName,
          message: `container ${c.name} has envFrom, whose keys the injector cannot see; if one of them is ${quote(envName)}, the injected value (${path}) replaces it`,
        });
      }
    }
  }
}

export function build(pod: Pod, p: Plan, ctx: EngineContext): InjectResult {
  const { policy } = ctx;
  const patch = new AddOnlyPatch(pod as unknown as Record<string, unknown>);
  const taken: Taken = { containers: containerNames(pod), volumes: volumeNames(pod), ports: portsInUse(pod) };
  const [main, ...named] = p.repositories.map((r) => assemble(pod, p.mode, r, taken, ctx));
  const all = [main!, ...named];

  // Today's fields are the main repository's, so that readers of one repository keep working; named ones follow.
  const injection: Injection = {
    mode: p.mode,
    ...main!.injection,
    ...(named.length > 0 && { repositories: named.map((n) => ({ name: n.plan.name!, ...n.injection })) }),
  };
  // The config hash is taken over JSON.stringify([mainContainers, mainVolumes, [containers, volumes] of each named one]):
  // for one repository what it has always been, so a pod's hash does not change with this version.
  const texts = all.map(textOf);
  const config = ['['];
  texts.forEach((t, k) => {
    if (k > 0) config.push(',[');
    configText(t, config);
    if (k > 0) config.push(']');
  });
  config.push(']');
  const configHash = hash('sha256', config.join('')).slice(0, 12);
  const status = { version: ctx.version, ...injection, policy: policy.hash, config: configHash };

  // Annotations first: the status records the injection; each published file's
  // content is what its downwardAPI volume projects into the file git-sync reads.
  patch.put(['metadata', 'annotations'], `${policy.prefix}${WRITTEN_ANNOTATIONS.status}`, JSON.stringify(status));
  for (const r of all) for (const [key, data] of r.published) patch.put(['metadata', 'annotations'], key, data);
  all.forEach((r, k) => r.volumes.forEach((v, i) => patch.append(['spec', 'volumes'], v, texts[k]!.volumes[i])));
  all.forEach((r, k) => r.containers.init.forEach((c, i) => patch.append(['spec', 'initContainers'], c, texts[k]!.init[i])));
  all.forEach((r, k) => r.containers.app.forEach((c, i) => patch.append(['spec', 'containers'], c, texts[k]!.app[i])));

  const warnings = [...p.warnings];
  for (const r of all) mountInApps(pod, r, patch, warnings);
  return { outcome: 'injected', patch: patch.ops, patchJson: patch.json(), pod: patch.draft, warnings, errors: [], injection };
}
