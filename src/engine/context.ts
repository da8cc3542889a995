/**
 * What the engine is given besides the pod: the policy's decisions, already
 * validated and worked out, and the facts about the cluster.
 *
 * The engine never sees the policy document. The policy folder validates a
 * document and compiles it into an `EnginePolicy` (policy/compile.ts): every
 * field here is final, so the engine reads values and never re-parses,
 * defaults or second-guesses them on an admission. Keeping the contract in the
 * engine, and the document out of it, is what lets the engine import nothing
 * outside its folder: the policy depends on the engine, never the reverse.
 */
import type { AnnotationKey } from './annotations.ts';
import type { Dialect, EnvPair } from './dialect.ts';
import type { ClusterFacts, Mode, NativeSidecars } from './mode.ts';
import type { RepoPattern } from './values/repo-pattern.ts';

/** Where a setting's value was written, lowest layer first. */
export type SettingSource = 'default' | 'policy' | 'namespace' | 'preset' | 'pod';

/** One annotation's value, parsed, with where it came from for messages. */
export interface Setting<T> {
  value: T;
  /** The value as written. */
  raw: string;
  /** Where it was written, for messages: an annotation key or a policy path. */
  field: string;
  source: SettingSource;
}

/** A layer of parsed annotation values: the policy's defaults, or a preset. */
export type ParsedLayer = ReadonlyMap<AnnotationKey, Setting<unknown>>;

/** `warn`: a pod (or namespace) that sets the annotation gets a warning and the policy's value; `strict`: it is denied. */
export type Enforcement = 'warn' | 'strict';
/** What happens to a pod whose annotations are wrong: denied with every problem, or admitted untouched with them as warnings. */
export type OnInvalidAnnotations = 'deny' | 'admit';
export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/** Resource quantities as Kubernetes writes them ("50m", "64Mi"). */
export interface Resources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

/** A policy maximum: the quantity as the policy wrote it (for messages) and the amount it stands for. */
export interface Maximum {
  text: string;
  value: number;
}

/** Resources whose requests and limits a pod may set for its git-sync containers (within the policy's maximum). */
export type PodResource = 'cpu' | 'memory';

/** How the injected git-sync containers are built. */
export interface GitSyncContainerPolicy {
  image: string;
  imagePullPolicy: PullPolicy;
  /** Where the shared volume is mounted in the git-sync containers (GITSYNC_ROOT). */
  root: string;
  /** Name of the symlink git-sync publishes inside the root (GITSYNC_LINK). */
  link: string;
  /** Port of git-sync's HTTP endpoint, used by the probes (moved if a container uses it). */
  httpPort: number;
  /** Consecutive failures tolerated before git-sync exits. */
  maxFailures: number;
  /** UID and GID git-sync runs as; the image's own user is 65533. */
  user: number;
  group: number;
  resources: Resources;
  /** sizeLimit of the root emptyDir (a quantity such as 1Gi); undefined: no limit. */
  rootSizeLimit?: string | undefined;
  /** The only parts of the security context a policy chooses; the rest is fixed in gitsync.ts. */
  readOnlyRootFilesystem: boolean;
  /** `type: RuntimeDefault`, or `type: Localhost` with `localhostProfile`. */
  seccompProfile: Readonly<Record<string, string>>;
}

/**
 * One of the policy's network profiles, compiled (policy/networks.ts): what
 * git-sync is given when a pod uses it. Everything here is written by the
 * platform team; pods only choose a profile by name.
 */
export interface NetworkProfile {
  /** Proxy variables, then the profile's extra env, already checked against git-sync's own settings. */
  env: readonly EnvPair[];
  /** git config entries (key, value) in the order written. */
  gitConfig: readonly EnvPair[];
  /** PEM certificates git trusts for HTTPS instead of the image's, or '' for the image's. */
  caBundle: string;
}

/** Bounds on the operations knobs pods may set. */
export interface KnobLimits {
  /** sync-timeout above this is refused. */
  maxSyncTimeout: { ms: number; text: string };
  /** max-failures above this is refused; -1 here also lets pods ask for -1 (retry forever). */
  maxFailures: number;
  /** Hosts (lower-case, IPv6 without brackets) webhook-url may name besides the pod's own. */
  webhookHosts: ReadonlySet<string>;
}

/** Everything the engine reads from a policy, compiled once when the policy is loaded. */
export interface EnginePolicy {
  /** Prefix of every annotation read and written (`gitsync.dev/`). */
  prefix: string;
  /** Every annotation with a default: the table's, overlaid with the policy's, parsed. */
  defaults: ParsedLayer;
  presets: ReadonlyMap<string, ParsedLayer>;
  /** Per preset, the layers of its named repositories (`plugins.env` in the policy): preset name → repository name → layer. */
  presetRepositories: ReadonlyMap<string, ReadonlyMap<string, ParsedLayer>>;
  /** Repositories a pod may sync, the main one included. */
  maxRepositories: number;
  /** Periods below this are raised to it; `text` is how the policy wrote it, for messages. */
  minPeriod: { ms: number; text: string };
  /** Clone depths above this (and 0) are refused; undefined: no maximum. */
  maxDepth: number | undefined;
  /** Partial clone filters pods may use; `blob:limit` allows every size. Empty: none. */
  allowedFilters: readonly string[];
  /** The most a pod may ask for, per resource, for any request or limit of its git-sync containers; a resource not listed has no maximum. */
  maxResources: Readonly<Partial<Record<PodResource, Maximum>>>;
  /** The largest root volume sizeLimit a pod may ask for; undefined: no maximum. */
  maxRootSizeLimit: Maximum | undefined;
  /** The modes pods may use; `auto` picks among them. */
  allowedModes: readonly Mode[];
  /** Repository patterns; empty allows every repository. */
  allowedRepos: readonly RepoPattern[];
  /** Annotations pods and namespaces may not override, and what happens when they try. */
  enforced: ReadonlyMap<AnnotationKey, Enforcement>;
  /** How the git-sync containers are told their settings (v4 or v3 names). */
  dialect: Dialect;
  /** Namespaces whose pods are never injected (kube-system always is one). */
  excludedNamespaces: ReadonlySet<string>;
  /** The known_hosts file content for `known-hosts: policy`, or '' if the policy lists none. */
  knownHostsData: string;
  /** Whether pods may turn SSH host key checking off. */
  allowInsecureHostKeys: boolean;
  /** Network profiles by name, for the `network` annotation. */
  networks: ReadonlyMap<string, NetworkProfile>;
  /** User names sent with a token (`secret-layout: token`), by the name `token-user` gives. */
  tokenUsers: ReadonlyMap<string, string>;
  /** GitHub API base URL for `secret-layout: github-app`; undefined: git-sync's default (api.github.com). */
  githubBaseUrl: string | undefined;
  knobs: KnobLimits;
  /** Whether `mode: auto` may choose native sidecars; `auto` asks the cluster facts. */
  nativeSidecars: NativeSidecars;
  onInvalidAnnotations: OnInvalidAnnotations;
  gitSync: GitSyncContainerPolicy;
  /** Short hash of the policy, recorded in each injected pod's status. */
  hash: string;
}

export interface EngineContext {
  policy: EnginePolicy;
  cluster: ClusterFacts;
  /** Injector version, recorded in the status annotation. */
  version: string;
  /**
   * The namespace the webhook itself runs in (serve reads POD_NAMESPACE). Its
   * pods are never injected, whatever the policy says: a webhook that
   * intercepts its own pods can deadlock its own rollout.
   */
  webhookNamespace?: string | undefined;
}
