/**
 * Building what a plan decided: the volumes, the git-sync containers, the
 * mounts and env of the app containers, and the status annotation, as an
 * add-only JSON Patch against the pod (and the pod it produces). Names that
 * the pod already uses are avoided, never replaced.
 */
import { hash } from 'node:crypto';
import type { V1VolumeMount } from '@kubernetes/client-node';
import { WRITTEN_ANNOTATIONS } from './annotations.ts';
import type { EngineContext } from './context.ts';
import { SECRET_MOUNT } from './credentials.ts';
import { gitSyncContainers, literalEnvValue } from './gitsync.ts';
import { encodeGitConfig } from './network.ts';
import type { InjectResult, Injection } from './outcome.ts';
import { AddOnlyPatch } from './patch.ts';
import type { Plan } from './plan.ts';
import { containerNames, portsInUse, uniqueName, volumeNames, type Pod } from './pod.ts';
import { publishedPath, publishedVolume, type PublishedFile } from './published.ts';
import { quote } from './problems.ts';

const json = (value: unknown): string => JSON.stringify(value);

/**
 * The text the config hash is taken over: `JSON.stringify([containers, volumes])`
 * (what it has always been, so a pod's hash does not change with this
 * version), put together from each part's text.
 */
const configText = (t: { init: string[]; app: string[]; volumes: string[] }): string =>
  `[{"init":[${t.init.join(',')}],"app":[${t.app.join(',')}]},[${t.volumes.join(',')}]]`;

export function build(pod: Pod, p: Plan, ctx: EngineContext): InjectResult {
  const { policy } = ctx;
  const gs = policy.gitSync;
  const s = p.settings;
  const patch = new AddOnlyPatch(pod as unknown as Record<string, unknown>);
  const takenContainers = containerNames(pod);
  const takenVolumes = volumeNames(pod);
  const takenPorts = portsInUse(pod);
  let httpPort = gs.httpPort;
  while (takenPorts.has(httpPort)) httpPort++;

  const root = uniqueName('git-sync-root', takenVolumes);
  const tmp = uniqueName('git-sync-tmp', takenVolumes);
  const volumes: { name: string; [k: string]: unknown }[] = [
    { name: root, emptyDir: p.resources.rootSizeLimit === undefined ? {} : { sizeLimit: p.resources.rootSizeLimit } },
    { name: tmp, emptyDir: {} },
  ];
  const mounts: V1VolumeMount[] = [
    { name: root, mountPath: gs.root },
    { name: tmp, mountPath: '/tmp' },
  ];
  const cred = p.credentials;
  if (cred.secretVolume) {
    const name = uniqueName('git-sync-secret', takenVolumes);
    volumes.push({ name, ...cred.secretVolume });
    mounts.push({ name, mountPath: SECRET_MOUNT, readOnly: true });
  }
  const net = p.network;
  const published = [cred.knownHosts, net.caBundle, p.checkout.sparse].filter((f): f is PublishedFile => f !== undefined);
  for (const f of published) {
    const name = uniqueName(f.volume, takenVolumes);
    volumes.push({ name, ...publishedVolume(f, `${policy.prefix}${f.annotation}`) });
    mounts.push({ name, mountPath: f.mountPath, readOnly: true });
  }

  const names = {
    init: p.mode === 'native' ? '' : uniqueName('git-sync-init', takenContainers),
    sidecar: p.mode === 'init-only' ? '' : uniqueName('git-sync', takenContainers),
  };
  const repo = s.repo!.value;
  const containers = gitSyncContainers(
    p.mode,
    names,
    {
      repo: repo.url,
      refEnv: p.refEnv,
      depth: s.depth.value,
      submodules: s.submodules.value,
      periodMs: p.periodMs,
      httpPort,
      hostNetwork: pod.spec.hostNetwork === true,
      credentialEnv: cred.env,
      syncTimeoutMs: p.knobs.syncTimeoutMs,
      maxFailures: p.knobs.maxFailures,
      touchFile: p.knobs.touchFile,
      webhookUrl: p.knobs.webhookUrl,
      networkEnv: net.env,
      gitConfig: net.gitConfig.length ? encodeGitConfig(net.gitConfig) : undefined,
      ...(p.checkout.sparse && { sparseCheckoutFile: publishedPath(p.checkout.sparse) }),
      ...(p.checkout.filter !== undefined && { filter: p.checkout.filter }),
      resources: p.resources.resources,
      mounts,
    },
    gs,
    policy.dialect,
  );

  const subPath = s['sub-path']?.value;
  const mountPath = s['mount-path'].value;
  const path = `${mountPath}/${gs.link}${subPath ? `/${subPath}` : ''}`;
  const injection: Injection = {
    mode: p.mode,
    repo: repo.url,
    ref: s.ref.value,
    initContainers: containers.init.map((c) => c.name),
    containers: containers.app.map((c) => c.name),
    volumes: volumes.map((v) => v.name),
    appContainers: p.appContainers.map((i) => pod.spec.containers[i]!.name),
    path,
    ...(s['sparse-paths'] && p.checkout.sparse && { sparsePaths: s['sparse-paths'].value }),
    ...(p.checkout.filter !== undefined && { filter: p.checkout.filter }),
  };
  // Serialised once: the config hash is taken over this text, and the patch's JSON reuses it.
  const text = { init: containers.init.map(json), app: containers.app.map(json), volumes: volumes.map(json) };
  const configHash = hash('sha256', configText(text)).slice(0, 12);
  const status = { version: ctx.version, ...injection, policy: policy.hash, config: configHash };

  // Annotations first: the status records the injection; each published file's
  // content is what its downwardAPI volume projects into the file git-sync reads.
  patch.put(['metadata', 'annotations'], `${policy.prefix}${WRITTEN_ANNOTATIONS.status}`, JSON.stringify(status));
  for (const f of published) patch.put(['metadata', 'annotations'], `${policy.prefix}${f.annotation}`, f.data);
  volumes.forEach((v, i) => patch.append(['spec', 'volumes'], v, text.volumes[i]));
  containers.init.forEach((c, i) => patch.append(['spec', 'initContainers'], c, text.init[i]));
  containers.app.forEach((c, i) => patch.append(['spec', 'containers'], c, text.app[i]));

  const warnings = [...p.warnings];
  const envName = s.env?.value;
  for (const i of p.appContainers) {
    const c = pod.spec.containers[i]!;
    patch.append(['spec', 'containers', i, 'volumeMounts'], { name: root, mountPath, readOnly: true });
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
  return { outcome: 'injected', patch: patch.ops, patchJson: patch.json(), pod: patch.draft, warnings, errors: [], injection };
}
