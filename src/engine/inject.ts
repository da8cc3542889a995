/**
 * The engine: (pod, namespace defaults, policy, cluster facts) in; mutated
 * pod, JSON Patch, warnings, errors and skip reason out. Pure: no HTTP, no
 * files, no cluster. The webhook, the preview endpoint and the CLI all call
 * this one function, so what a preview shows is what the webhook does.
 */
import { hash } from 'node:crypto';
import type { Operation } from 'fast-json-patch';
import type { V1VolumeMount } from '@kubernetes/client-node';
import { WRITTEN_ANNOTATIONS } from './annotations.ts';
import { KNOWN_HOSTS_MOUNT, SECRET_MOUNT, wireCredentials, type CredentialWiring } from './credentials.ts';
import type { EnvPair } from './dialect.ts';
import { gitSyncContainers, literalEnvValue } from './gitsync.ts';
import { depthAbove, depthMessage } from './limits.ts';
import { chooseMode, type Mode } from './mode.ts';
import { AddOnlyPatch } from './patch.ts';
import { annotationsOf, containerNames, podShapeProblem, portsInUse, uniqueName, volumeNames, type Pod } from './pod.ts';
import { quote, type Problem } from './problems.ts';
import { resolveSettings, type Settings } from './settings.ts';
import { SKIP_REASONS, type SkipReason } from './skips.ts';
import { describePatterns, repoAllowed } from './values/repo-pattern.ts';
import type { EngineContext } from './context.ts';

export interface InjectRequest {
  /** The pod as plain JSON, exactly as received. It is never modified. */
  pod: unknown;
  /** The namespace the pod is created in (AdmissionRequest.namespace); metadata.namespace is the fallback. */
  namespace?: string;
  /** Annotations of that namespace; those with the prefix are defaults for its pods. */
  namespaceAnnotations?: Record<string, string>;
}

/** What was injected, for previews, logs and the status annotation. */
export interface Injection {
  mode: Mode;
  repo: string;
  ref: string;
  initContainers: string[];
  containers: string[];
  volumes: string[];
  /** App containers that got the mount. */
  appContainers: string[];
  /** Where the app containers find the files. */
  path: string;
}

export interface InjectResult {
  outcome: 'injected' | 'skipped' | 'denied';
  skip?: { reason: SkipReason; message: string };
  /** JSON Patch (adds only) that turns the input pod into `pod`; empty unless injected. */
  patch: Operation[];
  /**
   * The pod after the patch; the input object itself when nothing changes.
   * Parts the patch does not touch are shared with the input, so treat both as read-only.
   */
  pod: unknown;
  warnings: Problem[];
  errors: Problem[];
  injection?: Injection;
}

/** A mount path as the kubelet resolves it: '/./git/' and '//git' are both '/git'. */
const normalisePath = (path: string): string => {
  // Pods can have hundreds of mounts, nearly all written plainly: only split the ones that might not be.
  const plain = path.startsWith('/') && !path.endsWith('/') && !path.endsWith('/.') && !path.includes('//') && !path.includes('/./');
  return plain ? path : `/${path.split('/').filter((s) => s !== '' && s !== '.').join('/')}`;
};

const GIT_SYNC_IMAGE = /(?:^|\/)git-sync(?:[:@]|$)/;
const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

function skipped(pod: unknown, reason: SkipReason, detail?: string): InjectResult {
  const message = detail ?? SKIP_REASONS[reason];
  return { outcome: 'skipped', skip: { reason, message }, patch: [], pod, warnings: [], errors: [] };
}

/** Everything decided before anything is written; `errors` non-empty means nothing will be. */
interface Plan {
  settings: Settings;
  mode: Mode;
  appContainers: number[];
  credentials: CredentialWiring;
  /** What to check out, as the policy's dialect spells it. */
  refEnv: readonly EnvPair[];
  periodMs: number;
  errors: Problem[];
  warnings: Problem[];
}

/** What injecting this pod takes, or why it is not for the injector. */
function plan(pod: Pod, namespace: string, req: InjectRequest, ctx: EngineContext): Plan | SkipReason {
  const { policy } = ctx;
  const prefix = policy.prefix;
  const annotations = annotationsOf(pod);
  const { settings, errors, warnings } = resolveSettings(
    { podAnnotations: annotations, namespace, namespaceAnnotations: req.namespaceAnnotations },
    policy,
  );

  if (settings.inject?.value === false) return 'opted-out';
  const optedIn = settings.inject?.value === true || settings.repo?.source === 'pod' || `${prefix}inject` in annotations || `${prefix}repo` in annotations;
  if (!optedIn) return 'not-opted-in';

  const reserved = `${prefix}${WRITTEN_ANNOTATIONS.knownHosts}`;
  if (reserved in annotations) {
    errors.push({ code: 'RESERVED_ANNOTATION', field: reserved, message: 'is written by the injector, never by pods; remove it' });
  }
  const repo = settings.repo;
  if (!repo && !errors.some((e) => e.field.endsWith(`${prefix}repo`))) {
    errors.push({
      code: 'REPO_REQUIRED',
      field: settings.inject?.field ?? `${prefix}repo`,
      ...(settings.inject && { value: settings.inject.raw }),
      message: `${settings.inject ? `${quote(settings.inject.raw)} opts the pod in, but` : 'the pod opted in, but'} no repository is set; set ${prefix}repo on the pod or on namespace ${namespace || '(unknown)'}`,
    });
  }

  if (repo && !repoAllowed(policy.allowedRepos, repo.value)) {
    errors.push({
      code: 'REPO_NOT_ALLOWED',
      field: repo.field,
      value: repo.raw,
      message: `${quote(repo.raw)} is not a repository the policy allows; use one matching ${describePatterns(policy.allowedRepos)}`,
    });
  }
  const depth = settings.depth;
  if (policy.maxDepth !== undefined && depthAbove(depth.value, policy.maxDepth)) {
    errors.push({ code: 'DEPTH_ABOVE_MAXIMUM', field: depth.field, value: depth.raw, message: depthMessage(depth.raw, depth.value, policy.maxDepth) });
  }
  const ref = settings.ref;
  const refEnv = policy.dialect.ref(ref.value);
  if (!refEnv.ok) errors.push({ code: refEnv.code, field: ref.field, value: ref.raw, message: refEnv.message });

  let periodMs = settings.period.value;
  if (periodMs < policy.minPeriod.ms) {
    warnings.push({
      code: 'PERIOD_RAISED',
      field: settings.period.field,
      value: settings.period.raw,
      message: `${quote(settings.period.raw)} is below the policy minimum ${policy.minPeriod.text}; using ${policy.minPeriod.text}`,
    });
    periodMs = policy.minPeriod.ms;
  }

  const modeSetting = settings.mode;
  const choice = chooseMode(modeSetting.value, pod.spec.restartPolicy, policy.nativeSidecars, ctx.cluster, policy.allowedModes);
  if (choice.error) errors.push({ ...choice.error, field: modeSetting.field });
  if (choice.warning) warnings.push({ ...choice.warning, field: modeSetting.field });
  if (choice.mode === 'init-only' && settings.period.source === 'pod') {
    warnings.push({ code: 'SETTING_IGNORED', field: settings.period.field, value: settings.period.raw, message: `${quote(settings.period.raw)} has no effect: the pod syncs once (init-only)` });
  }

  const all = pod.spec.containers.map((c) => c.name);
  let appContainers = all.map((_, i) => i);
  const wanted = settings.containers;
  if (wanted) {
    const missing = wanted.value.filter((n) => !all.includes(n));
    if (missing.length > 0) {
      errors.push({
        code: 'CONTAINER_NOT_FOUND',
        field: wanted.field,
        value: wanted.raw,
        message: `${quote(wanted.raw)} names ${missing.map((m) => quote(m)).join(', ')}, which the pod does not have; its containers are ${all.join(', ')}`,
      });
    }
    appContainers = appContainers.filter((i) => wanted.value.includes(all[i]!));
  }
  const mountPath = settings['mount-path'];
  for (const i of appContainers) {
    const c = pod.spec.containers[i]!;
    if ((c.volumeMounts ?? []).some((m) => normalisePath(m.mountPath) === mountPath.value)) {
      errors.push({
        code: 'MOUNT_PATH_IN_USE',
        field: mountPath.field,
        value: mountPath.raw,
        message: `${quote(mountPath.raw)} is already a mount path of container ${c.name}; choose another ${prefix}mount-path or remove that mount`,
      });
    }
  }

  const fsGroup = pod.spec.securityContext?.fsGroup;
  const credentials = repo
    ? wireCredentials(repo.value, settings, typeof fsGroup === 'number' ? fsGroup : undefined, policy)
    : { env: [], errors: [], warnings: [] };
  errors.push(...credentials.errors);
  warnings.push(...credentials.warnings);
  return { settings, mode: choice.mode, appContainers, credentials, refEnv: refEnv.ok ? refEnv.value : [], periodMs, errors, warnings };
}

export function injectPod(req: InjectRequest, ctx: EngineContext): InjectResult {
  const shape = podShapeProblem(req.pod);
  if (shape) return skipped(req.pod, 'unreadable-pod', `${SKIP_REASONS['unreadable-pod']}: ${shape}`);
  const pod = req.pod as Pod;
  const { policy } = ctx;
  const annotations = annotationsOf(pod);
  const namespace = req.namespace || pod.metadata?.namespace || '';

  if (MIRROR_ANNOTATION in annotations) return skipped(pod, 'mirror-pod');
  if (policy.excludedNamespaces.has(namespace)) return skipped(pod, 'excluded-namespace', `namespace ${namespace} is excluded by the policy`);
  if (ctx.webhookNamespace && namespace === ctx.webhookNamespace) {
    return skipped(pod, 'excluded-namespace', `namespace ${namespace} is the webhook's own namespace, which is never injected`);
  }
  if (`${policy.prefix}${WRITTEN_ANNOTATIONS.status}` in annotations) return skipped(pod, 'already-injected');
  const own = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((c) => GIT_SYNC_IMAGE.test(c.image ?? ''));
  if (own) return skipped(pod, 'has-git-sync', `container ${own.name} already runs git-sync (${own.image})`);

  const p = plan(pod, namespace, req, ctx);
  if (typeof p === 'string') return skipped(pod, p);
  if (p.errors.length > 0) {
    if (policy.onInvalidAnnotations === 'admit') {
      return { ...skipped(pod, 'invalid-annotations'), warnings: p.warnings, errors: p.errors };
    }
    return { outcome: 'denied', patch: [], pod, warnings: p.warnings, errors: p.errors };
  }
  return build(pod, p, ctx);
}

function build(pod: Pod, p: Plan, ctx: EngineContext): InjectResult {
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
    { name: root, emptyDir: {} },
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
  const knownHostsKey = `${policy.prefix}${WRITTEN_ANNOTATIONS.knownHosts}`;
  if (cred.knownHostsVolume) {
    const name = uniqueName('git-sync-known-hosts', takenVolumes);
    volumes.push({ name, ...cred.knownHostsVolume(knownHostsKey) });
    mounts.push({ name, mountPath: KNOWN_HOSTS_MOUNT, readOnly: true });
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
      credentialEnv: cred.env,
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
  };
  const configHash = hash('sha256', JSON.stringify([containers, volumes])).slice(0, 12);
  const status = { version: ctx.version, ...injection, policy: policy.hash, config: configHash };

  // Annotations first: the status records the injection; the known_hosts data
  // is what the downwardAPI volume projects into the file git-sync reads.
  patch.put(['metadata', 'annotations'], `${policy.prefix}${WRITTEN_ANNOTATIONS.status}`, JSON.stringify(status));
  if (cred.knownHostsData) patch.put(['metadata', 'annotations'], knownHostsKey, cred.knownHostsData);
  if (cred.fsGroup !== undefined) patch.put(['spec', 'securityContext'], 'fsGroup', cred.fsGroup);
  for (const v of volumes) patch.append(['spec', 'volumes'], v);
  for (const c of containers.init) patch.append(['spec', 'initContainers'], c);
  for (const c of containers.app) patch.append(['spec', 'containers'], c);

  const warnings = [...p.warnings];
  if (cred.fsGroup !== undefined) {
    warnings.push({
      code: 'FSGROUP_ADDED',
      field: 'spec.securityContext.fsGroup',
      value: String(cred.fsGroup),
      message: `set to ${cred.fsGroup} because the pod had none, so that git-sync can read the SSH key while others cannot`,
    });
  }
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
    }
  }
  return { outcome: 'injected', patch: patch.ops, pod: patch.draft, warnings, errors: [], injection };
}
