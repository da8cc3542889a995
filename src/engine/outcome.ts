/**
 * What the engine takes and gives: the request (a pod as plain JSON and its
 * namespace's annotations), and the result every adapter reads (outcome,
 * add-only patch, mutated pod, problems, and what was injected).
 */
import type { Operation } from 'fast-json-patch';
import type { Mode } from './mode.ts';
import type { Problem } from './problems.ts';
import { SKIP_REASONS, type SkipReason } from './skips.ts';

export interface InjectRequest {
  /** The pod as plain JSON, exactly as received. It is never modified. */
  pod: unknown;
  /** The namespace the pod is created in (AdmissionRequest.namespace); metadata.namespace is the fallback. */
  namespace?: string;
  /** Annotations of that namespace; those with the prefix are defaults for its pods. */
  namespaceAnnotations?: Record<string, string>;
}

/** What was injected for one repository. */
export interface RepositoryInjection {
  repo: string;
  ref: string;
  initContainers: string[];
  containers: string[];
  volumes: string[];
  /** App containers that got the mount. */
  appContainers: string[];
  /** Where the app containers find the files. */
  path: string;
  /** The folders of a sparse checkout; absent: the whole repository. */
  sparsePaths?: string[];
  /** The partial clone filter; absent: a full clone. */
  filter?: string;
}

/**
 * What was injected, for previews, logs and the status annotation: the
 * pod's mode, the main repository in the fields one repository always had
 * (so readers of one repository keep working), and the named ones.
 */
export interface Injection extends RepositoryInjection {
  mode: Mode;
  /** Named repositories, by name; absent when the pod has only the main one. */
  repositories?: (RepositoryInjection & { name: string })[];
}

export interface InjectResult {
  outcome: 'injected' | 'skipped' | 'denied';
  skip?: { reason: SkipReason; message: string };
  /** JSON Patch (adds only) that turns the input pod into `pod`; empty unless injected. */
  patch: Operation[];
  /** `patch` as JSON text (`JSON.stringify(patch)`), made from parts the engine serialised once: what the webhook encodes. */
  patchJson: string;
  /**
   * The pod after the patch; the input object itself when nothing changes.
   * Parts the patch does not touch are shared with the input, so treat both as read-only.
   */
  pod: unknown;
  warnings: Problem[];
  errors: Problem[];
  injection?: Injection;
}

/** The result for a pod the injector leaves alone, with the reason. */
export function skipped(pod: unknown, reason: SkipReason, detail?: string): InjectResult {
  const message = detail ?? SKIP_REASONS[reason];
  return { outcome: 'skipped', skip: { reason, message }, patch: [], patchJson: '[]', pod, warnings: [], errors: [] };
}
