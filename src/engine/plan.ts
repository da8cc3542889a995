/**
 * Deciding, before anything is written: the settings that apply to the pod,
 * whether it opted in, everything the policy refuses, the mode, the app
 * containers, and the credential wiring. A plan with errors is a denial (or,
 * if the policy says so, an untouched admission); nothing is built from it.
 */
import { WRITTEN_ANNOTATIONS } from './annotations.ts';
import { qualifier, splitQualified } from './repositories.ts';
import { planCheckout, type CheckoutPlan } from './checkout.ts';
import type { EngineContext } from './context.ts';
import { wireCredentials, type CredentialWiring } from './credentials.ts';
import type { EnvPair } from './dialect.ts';
import { checkKnobs, type Knobs } from './knobs.ts';
import { depthAbove, depthMessage } from './limits.ts';
import { wireNetwork, type NetworkWiring } from './network.ts';
import { chooseMode, type Mode, type ModeChoice } from './mode.ts';
import { annotationsOf, type Pod } from './pod.ts';
import { quote, type Problem } from './problems.ts';
import { planResources, type ResourcePlan } from './resources.ts';
import { resolveSettings, type Settings } from './settings.ts';
import type { SkipReason } from './skips.ts';

const WRITTEN_KEYS = new Set<string>(Object.values(WRITTEN_ANNOTATIONS));
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

/** What one repository takes: its settings and everything wired from them. */
export interface RepositoryPlan {
  /** Undefined for the main repository (the unqualified annotations). */
  name: string | undefined;
  settings: Settings;
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
}

/** Everything decided before anything is written; `errors` non-empty means nothing will be. */
export interface Plan {
  /** One mode for the pod: every repository's git-sync follows it. */
  mode: Mode;
  /** The main repository first, then the named ones by name. */
  repositories: RepositoryPlan[];
  errors: Problem[];
  warnings: Problem[];
}

/**
 * Pod fields that put every container in one process namespace (or in the
 * node's). There, an author's container running as git-sync's user (or as
 * root, which may switch to it) reads git-sync's environment and files
 * through /proc/<pid>/: the credentials, and its writable root. Nothing the
 * injector adds could be kept apart, so such a pod is not injected.
 */
export const SHARED_PROCESS_FIELDS = ['shareProcessNamespace', 'hostPID'] as const;

export function sharedProcessNamespace(field: (typeof SHARED_PROCESS_FIELDS)[number]): Problem {
  const where = field === 'hostPID' ? "the node's process namespace" : 'one process namespace';
  return {
    code: 'PROCESS_NAMESPACE_SHARED',
    field: `spec.${field}`,
    value: 'true',
    message: `"true" puts the pod's containers in ${where}, where any of them could read git-sync's credentials and files through /proc; remove it, or leave this pod without git-sync`,
  };
}

/** A key `<prefix><name>.repo`: a pod that names a repository opts in, like one that sets `repo`. */
const namesRepository = (annotations: Record<string, string>, prefix: string): boolean =>
  Object.keys(annotations).some((k) => k.startsWith(prefix) && k.endsWith('.repo') && k.indexOf('.', prefix.length) === k.length - 5);

/** What injecting this pod takes, or why it is not for the injector. */
export function plan(pod: Pod, namespace: string, namespaceAnnotations: Record<string, string> | undefined, ctx: EngineContext): Plan | SkipReason {
  const { policy } = ctx;
  const prefix = policy.prefix;
  const annotations = annotationsOf(pod);
  const { settings, repositories, errors, warnings } = resolveSettings(
    { podAnnotations: annotations, namespace, namespaceAnnotations },
    policy,
  );

  if (settings.inject?.value === false) return 'opted-out';
  const optedIn =
    settings.inject?.value === true || settings.repo?.source === 'pod' || `${prefix}inject` in annotations || `${prefix}repo` in annotations || namesRepository(annotations, prefix);
  if (!optedIn) return 'not-opted-in';

  // The status is not here: a pod that has it is already injected and never planned.
  for (const key of Object.keys(annotations)) {
    if (!key.startsWith(prefix) || key === `${prefix}${WRITTEN_ANNOTATIONS.status}`) continue;
    const bare = key.slice(prefix.length);
    if (WRITTEN_KEYS.has(splitQualified(bare)?.key ?? bare)) {
      errors.push({ code: 'RESERVED_ANNOTATION', field: key, message: 'is written by the injector, never by pods; remove it' });
    }
  }

  for (const field of SHARED_PROCESS_FIELDS) if (pod.spec[field] === true) errors.push(sharedProcessNamespace(field));

  const choice = chooseMode(settings.mode.value, pod.spec.restartPolicy, policy.nativeSidecars, ctx.cluster, policy.allowedModes);
  const named = repositories.map((r) => r.name);
  const all = [{ name: undefined, settings }, ...repositories].map((r) => planRepository(pod, r.name, r.settings, { choice, namespace, named }, ctx, errors, warnings));
  checkTogether(pod, all, prefix, errors);
  return { mode: choice.mode, repositories: all, errors, warnings };
}

/** One repository's plan; its problems go to `errors` and `warnings`, named by its qualified annotations. */
/** What every repository's plan shares: the pod's mode, its namespace, and the names of its named repositories. */
interface PodFacts {
  choice: ModeChoice;
  namespace: string;
  named: readonly string[];
}

function planRepository(pod: Pod, name: string | undefined, settings: Settings, facts: PodFacts, ctx: EngineContext, errors: Problem[], warnings: Problem[]): RepositoryPlan {
  const { choice, namespace } = facts;
  const mode = choice.mode;
  // The repository's view of the policy: messages spell its annotations with its qualifier (`gitsync.dev/plugins.secret`).
  const policy = name === undefined ? ctx.policy : { ...ctx.policy, prefix: `${ctx.policy.prefix}${qualifier(name)}` };
  const prefix = policy.prefix;
  const repo = settings.repo;
  if (!repo && !errors.some((e) => e.field.startsWith(`${prefix}repo`))) {
    errors.push(
      name === undefined
        ? {
            code: 'REPO_REQUIRED',
            field: settings.inject?.field ?? `${prefix}repo`,
            ...(settings.inject && { value: settings.inject.raw }),
            message:
              facts.named.length > 0 && !settings.inject
                ? `the pod names ${facts.named.length === 1 ? 'repository' : 'repositories'} ${facts.named.join(', ')}, which come${facts.named.length === 1 ? 's' : ''} in addition to the main one, and no main repository is set; set ${prefix}repo on the pod or on namespace ${namespace || '(unknown)'}`
                : `${settings.inject ? `${quote(settings.inject.raw)} opts the pod in, but` : 'the pod opted in, but'} no repository is set; set ${prefix}repo on the pod or on namespace ${namespace || '(unknown)'}`,
          }
        : { code: 'REPO_REQUIRED', field: `${prefix}repo`, message: `the pod sets annotations for repository ${name}, but not its repository; set ${prefix}repo, or remove the ${prefix}* annotations` },
    );
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
  // The pod's mode is reported once, with the main repository, where it always was among its problems.
  if (name === undefined && choice.error) errors.push({ ...choice.error, field: settings.mode.field });
  if (name === undefined && choice.warning) warnings.push({ ...choice.warning, field: settings.mode.field });
  if (mode === 'init-only' && settings.period.source === 'pod') {
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
  const knobs = checkKnobs(settings, policy, mode);
  errors.push(...knobs.errors);
  warnings.push(...knobs.warnings);
  const { errors: checkoutErrors, ...checkout } = planCheckout(settings, policy);
  const { errors: resourceErrors, ...resources } = planResources(settings, policy);
  errors.push(...checkoutErrors, ...resourceErrors);
  return { name, settings, appContainers, credentials, network, knobs, checkout, resources, refEnv: refEnv.ok ? refEnv.value : [], periodMs };
}

/** `/a` holds `/a` and `/a/b`, not `/ab`. */
const holds = (outer: string, inner: string): boolean => inner === outer || inner.startsWith(outer === '/' ? '/' : `${outer}/`);

/**
 * What no repository can see alone: two repositories mounted in one container
 * at the same path or one inside the other (the inner mount point would have
 * to be created in a read-only volume), or setting the same env variable in
 * one container (one would silently win).
 */
function checkTogether(pod: Pod, repositories: readonly RepositoryPlan[], prefix: string, errors: Problem[]): void {
  for (const [j, b] of repositories.entries()) {
    for (const a of repositories.slice(0, j)) {
      const shared = a.appContainers.filter((i) => b.appContainers.includes(i));
      if (shared.length === 0) continue;
      const where = `container ${pod.spec.containers[shared[0]!]!.name}`;
      const [pa, pb] = [a.settings['mount-path'], b.settings['mount-path']];
      if (holds(pa.value, pb.value) || holds(pb.value, pa.value)) {
        const relation = pa.value === pb.value ? 'is also' : holds(pa.value, pb.value) ? 'is inside' : 'holds';
        errors.push({
          code: 'MOUNT_PATHS_OVERLAP',
          field: pb.field,
          value: pb.raw,
          message: `${quote(pb.raw)} ${relation} the mount path of ${repositoryLabel(a)} (${pa.field}: ${quote(pa.raw)}) in ${where}; give each repository its own folder, such as ${pa.value}-${b.name ?? 'main'}, with ${prefix}${qualifier(b.name)}mount-path`,
        });
      }
      const [ea, eb] = [a.settings.env, b.settings.env];
      if (ea && eb && ea.value === eb.value) {
        errors.push({
          code: 'ENV_NAME_DUPLICATE',
          field: eb.field,
          value: eb.raw,
          message: `${quote(eb.raw)} is also the env variable of ${repositoryLabel(a)} (${ea.field}) in ${where}, and only one value can win; choose another name`,
        });
      }
    }
  }
}

const repositoryLabel = (r: RepositoryPlan): string => (r.name === undefined ? 'the main repository' : `repository ${r.name}`);
