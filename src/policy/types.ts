/**
 * The policy: what a platform team decides for every pod in the cluster.
 * This is the document's shape after defaults are filled in; the built-in
 * policy (builtin.ts) is a complete example of it.
 */
import type { RawAnnotations } from '../engine/annotations.ts';

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';
export type NativeSidecars = 'auto' | 'enabled' | 'disabled';
export type OnInvalidAnnotations = 'deny' | 'admit';

/** Resource quantities as Kubernetes writes them ("50m", "64Mi"). */
export interface Resources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface Policy {
  /** Prefix of every annotation the injector reads and writes. */
  annotationPrefix: string;
  image: string;
  imagePullPolicy: PullPolicy;
  /** git-sync configuration dialect; only v4 names are emitted. */
  dialect: 'v4';
  /** Defaults for every annotation, written as annotation values. */
  defaults: RawAnnotations;
  /** Named bundles of annotation values that a pod selects with the `preset` annotation. */
  presets: Record<string, RawAnnotations>;
  limits: {
    /** Periods below this are raised to it, with a warning. */
    minPeriod: string;
  };
  /** known_hosts lines for pods that use SSH with `known-hosts: policy`. */
  knownHosts: string[];
  /** Whether pods may turn SSH host key checking off with `known-hosts: insecure`. */
  allowInsecureHostKeys: boolean;
  /** Pods in these namespaces are never injected (kube-system always is one). */
  excludedNamespaces: string[];
  onInvalidAnnotations: OnInvalidAnnotations;
  /** Whether `mode: auto` may choose native sidecars; `auto` asks the cluster facts. */
  nativeSidecars: NativeSidecars;
  gitSync: {
    /** Where the shared volume is mounted in the git-sync containers (GITSYNC_ROOT). */
    root: string;
    /** Name of the symlink git-sync publishes inside the root (GITSYNC_LINK). */
    link: string;
    /** Port of git-sync's HTTP endpoint, used by the probes (moved if a container uses it). */
    httpPort: number;
    /** GITSYNC_MAX_FAILURES: consecutive failures tolerated before git-sync exits. */
    maxFailures: number;
    /** UID and GID git-sync runs as; the image's own user is 65533. */
    user: number;
    group: number;
  };
  resources: Resources;
}
