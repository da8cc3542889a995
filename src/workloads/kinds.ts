/**
 * Where each kind keeps its pod template. The webhook only ever sees pods;
 * previews and the `inject` command see the manifests people write, and for
 * a workload the pods its controller creates are copies of its template. So
 * a workload is injected by running the engine on its template, exactly as
 * the webhook will on each pod created from it.
 */
import { isObject } from '../engine/index.ts';

export interface WorkloadKind {
  kind: string;
  /** API groups the kind belongs to ('' is the core group); old groups whose objects have the same shape are included. */
  groups: readonly string[];
  /** Path of the pod template in the object; empty for a Pod, which is its own template. */
  template: readonly string[];
  /**
   * Metadata of the object itself and of any object between it and its pod
   * template (a CronJob's Job): annotations written there are read by
   * nobody, a common mistake the preview points out.
   */
  outerMetadata: readonly (readonly string[])[];
}

const TEMPLATE = ['spec', 'template'] as const;
const OWN_METADATA = [[]] as const;

export const WORKLOAD_KINDS: readonly WorkloadKind[] = [
  { kind: 'Pod', groups: [''], template: [], outerMetadata: [] },
  { kind: 'Deployment', groups: ['apps', 'extensions'], template: TEMPLATE, outerMetadata: OWN_METADATA },
  { kind: 'StatefulSet', groups: ['apps'], template: TEMPLATE, outerMetadata: OWN_METADATA },
  { kind: 'DaemonSet', groups: ['apps', 'extensions'], template: TEMPLATE, outerMetadata: OWN_METADATA },
  { kind: 'ReplicaSet', groups: ['apps', 'extensions'], template: TEMPLATE, outerMetadata: OWN_METADATA },
  { kind: 'ReplicationController', groups: [''], template: TEMPLATE, outerMetadata: OWN_METADATA },
  { kind: 'Job', groups: ['batch'], template: TEMPLATE, outerMetadata: OWN_METADATA },
  { kind: 'CronJob', groups: ['batch'], template: ['spec', 'jobTemplate', 'spec', 'template'], outerMetadata: [[], ['spec', 'jobTemplate']] },
];

const BY_KIND = new Map(WORKLOAD_KINDS.map((k) => [k.kind, k]));

/** The API group of an apiVersion: 'apps/v1' → 'apps', 'v1' → ''. */
export const apiGroup = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

/** What an object is, as far as injection goes: a workload kind, or a sentence saying why it is not one. */
export type Classification = { workload: WorkloadKind } | { note: string };

/**
 * Classifies an object by its kind and API group. An object without an
 * apiVersion is matched by kind alone (people preview bare manifests); one
 * whose group is foreign (a custom resource that happens to be called
 * Deployment) is not a workload the injector knows.
 */
export function classify(object: unknown): Classification {
  if (!isObject(object)) return { note: `not a Kubernetes object but ${Array.isArray(object) ? 'a list' : `a ${typeof object}`}` };
  const { kind, apiVersion } = object;
  if (typeof kind !== 'string' || kind === '') return { note: 'the object has no kind' };
  const known = BY_KIND.get(kind);
  if (!known) return { note: `${kind} has no pod template` };
  if (typeof apiVersion === 'string' && apiVersion !== '' && !known.groups.includes(apiGroup(apiVersion))) {
    const expected = known.groups.map((g) => (g === '' ? 'v1' : `${g}/…`)).join(' or ');
    return { note: `${kind} of apiVersion ${apiVersion} is not the Kubernetes ${kind} (${expected})` };
  }
  return { workload: known };
}

/** A path as people write it in manifests: ['spec', 'template'] → 'spec.template'. */
export const dotted = (path: readonly string[]): string => path.join('.');

/** A path as a JSON Pointer: ['spec', 'template'] → '/spec/template'; [] → ''. */
export const pointer = (path: readonly string[]): string => path.map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
