/**
 * Deciding, before anything is written: the settings that apply to the pod,
 * whether it opted in, everything the policy refuses, the mode, the app
 * containers, and the credential wiring. A plan with errors is a denial (or,
 * if the policy says so, an untouched admission); nothing is built from it.
 */
import { WRITTEN_ANNOTATIONS } from './annotations.ts';
import { planCheckout, type CheckoutPlan } from './checkout.ts';
import type { EngineContext } from './context.ts';
import { wireCredentials, type CredentialWiring } from './credentials.ts';
import type { EnvPair } from './dialect.ts';
import { checkKnobs, type Knobs } from './knobs.ts';
import { depthAbove, depthMessage } from './limits.ts';
import { wireNetwork, type NetworkWiring } from './network.ts';
import { chooseMode, type Mode } from './mode.ts';
import { annotationsOf, type Pod } from './pod.ts';
import { quote, type Problem } from './problems.ts';
import { planResources, type ResourcePlan } from './resources.ts';
import { resolveSettings, type Settings } from './settings.ts';
import type { SkipReason } from './skips.ts';
import { describePatterns, repoAllowed } from './values/repo-pattern.ts';

/** A mount path as the kubelet resolves it: '/./git/' and '//git' are both '/git'. */
const normalisePath = (path: string): string => {
  // Pods can have hundreds of mounts, nearly all written plainly: only split the ones that might not be.
  const plain = path.startsWith('/') && !path.endsWith('/') && !path.endsWith('/.') && !path.includes('//') && !path.includes('/./');
  return plain ? path : `/${path.split('/').filter((s) => s !== '' && s !== '.').join('/')}`;
};

/** Names a message lists before it only counts the rest: a pod may have thousands of containers. */
const MAX_NAMES_LISTED = 20;
const listed = (names: readonly string[]): string =>
  names.length <= MAX_NAMES_LISTED ? names.join(', ') : `${names.slice(0, MAX_NAMES_LISTED).join(', ')} and ${names.length - MAX_NAMES_LISTED} more`;

/** Everything decided before anything is written; `errors` non-empty means nothing will be. */
export interface Plan {
  settings: Settings;
  mode: Mode;
  appContainers: number[];
  credentials: CredentialWiring;
  network: NetworkWiring;
  knobs: Knobs;
  /** Sparse checkout and partial clone filter. */
  checkout: Omit<CheckoutPlan, 'errors'>;
  /** Resources of the git-sync containers and the root volume's sizeLimit. */
  resources: Omit<ResourcePlan, 'errors'>;
  /** What to check out, as the policy's dialect spells it. */
  refEnv: readonly EnvPair[];
  periodMs: number;
  errors: Problem[];
  warnings: Problem[];
}

/** What injecting this pod takes, or why it is not for the injector. */
export function plan(pod: Pod, namespace: string, namespaceAnnotations: Record<string, string> | undefined, ctx: EngineContext): Plan | SkipReason {
  const { policy } = ctx;
  const prefix = policy.prefix;
  const annotations = annotationsOf(pod);
  const { settings, errors, warnings } = resolveSettings(
    { podAnnotations: annotations, namespace, namespaceAnnotations },
    policy,
  );

  if (settings.inject?.value === false) return 'opted-out';
  const optedIn = settings.inject?.value === true || settings.repo?.source === 'pod' || `${prefix}inject` in annotations || `${prefix}repo` in annotations;
  if (!optedIn) return 'not-opted-in';

  // The status is not here: a pod that has it is already injected and never planned.
  for (const written of Object.values(WRITTEN_ANNOTATIONS)) {
    const reserved = `${prefix}${written}`;
    if (written !== WRITTEN_ANNOTATIONS.status && reserved in annotations) {
      errors.push({ code: 'RESERVED_ANNOTATION', field: reserved, message: 'is written by the injector, never by pods; remove it' });
    }
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

  // Sets, not list scans: every loop here is linear in what the pod holds, whatever its size.
  const all = pod.spec.containers.map((c) => c.name);
  let appContainers = all.map((_, i) => i);
  const wanted = settings.containers;
  if (wanted) {
    const present = new Set(all);
    const missing = wanted.value.filter((n) => !present.has(n));
    if (missing.length > 0) {
      errors.push({
        code: 'CONTAINER_NOT_FOUND',
        field: wanted.field,
        value: wanted.raw,
        message: `${quote(wanted.raw)} names ${missing.map((m) => quote(m)).join(', ')}, which the pod does not have; its containers are ${listed(all)}`,
      });
    }
    const chosen = new Set(wanted.value);
    appContainers = appContainers.filter((i) => chosen.has(all[i]!));
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

  const credentials = repo ? wireCredentials(repo.value, settings, policy) : { env: [], errors: [], warnings: [] };
  errors.push(...credentials.errors);
  warnings.push(...credentials.warnings);
  const network = wireNetwork(settings, policy);
  errors.push(...network.errors);
  const knobs = checkKnobs(settings, policy, choice.mode);
  errors.push(...knobs.errors);
  warnings.push(...knobs.warnings);
  const { errors: checkoutErrors, ...checkout } = planCheckout(settings, policy);
  const { errors: resourceErrors, ...resources } = planResources(settings, policy);
  errors.push(...checkoutErrors, ...resourceErrors);
  return { settings, mode: choice.mode, appContainers, credentials, network, knobs, checkout, resources, refEnv: refEnv.ok ? refEnv.value : [], periodMs, errors, warnings };
}
