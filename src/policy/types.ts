/**
 * The policy: what a platform team decides for every pod in the cluster.
 * This is the document's shape after defaults are filled in; the built-in
 * policy (builtin.ts) is a complete example of it.
 */
import type {
  AnnotationKey,
  DialectName,
  Enforcement,
  GitSyncContainerPolicy,
  Mode,
  NativeSidecars,
  PodResource,
  OnInvalidAnnotations,
  PullPolicy,
  RawAnnotations,
  RawPresetAnnotations,
  Resources,
} from '../engine/index.ts';
import type { NetworkPolicy } from './networks.ts';

/**
 * The security context of the injected containers, beyond the user and group
 * (gitSync.user, gitSync.group). The first three fields can only be written
 * with their safe value: they exist so that a restricted-profile block copied
 * into the policy validates, and so that loosening one is refused with the
 * reason rather than as an unknown field. Capabilities are always all dropped.
 */
export interface SecurityContextPolicy {
  runAsNonRoot: boolean;
  privileged: boolean;
  allowPrivilegeEscalation: boolean;
  readOnlyRootFilesystem: boolean;
  /** `type: RuntimeDefault`, or `type: Localhost` with `localhostProfile`. */
  seccompProfile: Record<string, string>;
}

export interface Policy {
  /** Prefix of every annotation the injector reads and writes. */
  annotationPrefix: string;
  image: string;
  imagePullPolicy: PullPolicy;
  /** git-sync configuration dialect: v4 names (the default), or v3 names for pinned v3 images. */
  dialect: DialectName;
  /** Defaults for every annotation, written as annotation values. */
  defaults: RawAnnotations;
  /** Named bundles of annotation values that a pod selects with the `preset` annotation. */
  presets: Record<string, RawPresetAnnotations>;
  /** Patterns repository URLs must match (engine/values/repo-pattern.ts); empty allows every repository. */
  allowedRepos: string[];
  /** Partial clone filters pods may ask for (`blob:limit` allows every size); empty: none. */
  allowedFilters: string[];
  /** Annotations pods and namespaces may not override: the value is the policy default's (or the table's). */
  enforced: Partial<Record<AnnotationKey, Enforcement>>;
  limits: {
    /** Periods below this are raised to it, with a warning. */
    minPeriod: string;
    /** Clone depths above this (and 0, full history) are refused; undefined: no maximum. */
    maxDepth?: number | undefined;
    /** Repositories a pod may sync, the main one included. */
    maxRepositories: number;
    /** Modes pods may use; `auto` picks among them. */
    allowedModes: Mode[];
    /** The longest sync-timeout a pod may ask for (a Go duration). */
    maxSyncTimeout: string;
    /** The most max-failures a pod may ask for; -1 also allows -1 (retry forever). */
    maxFailures: number;
    /** Hosts (or host:port) webhook-url may call besides the pod itself. */
    webhookHosts: string[];
    /** The most a pod may ask for, per resource, for any request or limit of its git-sync containers; a resource not listed has no maximum. */
    maxResources?: Partial<Record<PodResource, string>> | undefined;
    /** The largest root volume sizeLimit a pod may ask for; undefined: no maximum. */
    maxRootSizeLimit?: string | undefined;
  };
  /** Named network profiles (proxy, CA bundle, git config, env) pods choose with the `network` annotation. */
  networks: Record<string, NetworkPolicy>;
  /** User names sent with a token (`secret-layout: token`), by name. */
  tokenUsers: Record<string, string>;
  /** GitHub API base URL for GitHub App authentication (GitHub Enterprise Server); undefined: api.github.com. */
  githubBaseUrl?: string | undefined;
  /** known_hosts lines for pods that use SSH with `known-hosts: policy`. */
  knownHosts: string[];
  /** Whether pods may turn SSH host key checking off with `known-hosts: insecure`. */
  allowInsecureHostKeys: boolean;
  /** Pods in these namespaces are never injected (kube-system always is one). */
  excludedNamespaces: string[];
  onInvalidAnnotations: OnInvalidAnnotations;
  /** Whether `mode: auto` may choose native sidecars; `auto` asks the cluster facts. */
  nativeSidecars: NativeSidecars;
  /** How git-sync runs; the fields mean what the engine's do (engine/context.ts). */
  gitSync: Pick<GitSyncContainerPolicy, 'root' | 'link' | 'httpPort' | 'maxFailures' | 'user' | 'group' | 'rootSizeLimit'>;
  resources: Resources;
  securityContext: SecurityContextPolicy;
}
