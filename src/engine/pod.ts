/**
 * Pods stay plain JSON from the request to the patch: typed model classes
 * would drop fields they do not know. The client-node types are used as
 * types only, after a structural check that the parts the engine touches
 * have the shapes it expects.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { isObject, valueAt } from './json.ts';

/** A pod whose spec.containers is a non-empty array of named objects, and whose touched parts are well-typed. */
export type Pod = V1Pod & { spec: NonNullable<V1Pod['spec']> & { containers: V1Container[] } };

const optionalArrayOfObjects = (v: unknown): boolean => v === undefined || v === null || (Array.isArray(v) && v.every(isObject));
const optionalObject = (v: unknown): boolean => v === undefined || v === null || isObject(v);
const optionalString = (v: unknown): boolean => v === undefined || v === null || typeof v === 'string';

function containerProblem(c: Record<string, unknown>, where: string): string | undefined {
  if (typeof c.name !== 'string') return `${where} has no name`;
  if (!optionalString(c.image)) return `${where}.image is not a string`;
  if (!optionalArrayOfObjects(c.env)) return `${where}.env is not a list`;
  if (!optionalArrayOfObjects(c.volumeMounts)) return `${where}.volumeMounts is not a list`;
  if (!((c.volumeMounts ?? []) as Record<string, unknown>[]).every((m) => typeof m.mountPath === 'string')) {
    return `${where}.volumeMounts has a mount without a mountPath`;
  }
  if (!optionalArrayOfObjects(c.ports)) return `${where}.ports is not a list`;
  return undefined;
}

/**
 * Kubernetes' limit on a pod's annotations, keys and values together
 * (TotalAnnotationSizeLimitB): the API server refuses a pod above it, but
 * only after admission, so the webhook is sent pods with any number.
 */
export const ANNOTATIONS_SIZE_LIMIT = 256 * 1024;

/**
 * Why a pod's annotations are unusable: a value that is not a string, or
 * more than Kubernetes allows. One for-in pass, stopped at the limit: the
 * rest of the engine then never walks more than 256 KiB of annotations,
 * where a hostile pod once made it walk tens of thousands of them several
 * times. Characters count no more than bytes do, so a pod refused here is
 * one the API server refuses too.
 */
function annotationsProblem(annotations: unknown): string | undefined {
  if (!isObject(annotations)) return undefined;
  let size = 0;
  for (const key in annotations) {
    const value = annotations[key];
    if (typeof value !== 'string') return 'metadata.annotations has a value that is not a string';
    size += key.length + value.length;
    if (size > ANNOTATIONS_SIZE_LIMIT) return `metadata.annotations hold more than ${ANNOTATIONS_SIZE_LIMIT} bytes, the most Kubernetes allows a pod`;
  }
  return undefined;
}

/** Returns why `value` is not a pod the engine can work on, or undefined when it is. */
export function podShapeProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'the object is not a JSON object';
  if (!optionalObject(value.metadata)) return 'metadata is not an object';
  const metadata = (value.metadata ?? {}) as Record<string, unknown>;
  if (!optionalObject(metadata.annotations)) return 'metadata.annotations is not an object';
  const annotations = annotationsProblem(metadata.annotations);
  if (annotations) return annotations;
  if (!optionalString(metadata.namespace)) return 'metadata.namespace is not a string';
  if (!isObject(value.spec)) return 'spec is missing';
  const spec = value.spec;
  if (!Array.isArray(spec.containers) || spec.containers.length === 0 || !spec.containers.every(isObject)) {
    return 'spec.containers is not a non-empty list';
  }
  for (const field of ['initContainers', 'ephemeralContainers', 'volumes'] as const) {
    if (!optionalArrayOfObjects(spec[field])) return `spec.${field} is not a list`;
  }
  if (!optionalString(spec.restartPolicy)) return 'spec.restartPolicy is not a string';
  for (const field of ['containers', 'initContainers'] as const) {
    const list = (spec[field] ?? []) as Record<string, unknown>[];
    for (const [i, c] of list.entries()) {
      const problem = containerProblem(c, `spec.${field}[${i}]`);
      if (problem) return problem;
    }
  }
  if (!((spec.volumes ?? []) as Record<string, unknown>[]).every((v) => typeof v.name === 'string')) {
    return 'a volume in spec.volumes has no name';
  }
  return undefined;
}

export const annotationsOf = (pod: Pod): Record<string, string> => (pod.metadata?.annotations ?? {}) as Record<string, string>;

/** The members of a list that are objects; nothing when the list is absent or not a list (ephemeral containers are not shape-checked). */
const objectsIn = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter(isObject) : []);
const allContainers = (pod: Pod): Record<string, unknown>[] => {
  const spec = pod.spec as unknown as Record<string, unknown>;
  return [...objectsIn(spec.containers), ...objectsIn(spec.initContainers), ...objectsIn(spec.ephemeralContainers)];
};
const addString = (names: Set<string>, v: unknown): void => {
  if (typeof v === 'string') names.add(v);
};

/** Annotations through which kubectl picks a container by name (exec, logs, attach, cp). */
const CONTAINER_ANNOTATIONS = ['kubectl.kubernetes.io/default-container', 'kubectl.kubernetes.io/default-logs-container'];
/**
 * The AppArmor profile of one container, by its name after this prefix (the
 * annotation Kubernetes still honours beside securityContext.appArmorProfile):
 * one naming a container the pod does not have would otherwise unconfine
 * git-sync once the injector added a container of that name.
 */
export const APPARMOR_CONTAINER_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';

/** The resourceFieldRef container names of downwardAPI items. */
function downwardApiContainers(items: unknown, names: Set<string>): void {
  for (const item of objectsIn(items)) addString(names, valueAt(item, ['resourceFieldRef', 'containerName']));
}

/**
 * Every container name the pod has or refers to: its containers, init and
 * ephemeral containers, and the names it points at (an ephemeral container's
 * target, resourceFieldRef in env and downwardAPI volumes, kubectl's default
 * container, a container's AppArmor annotation). The injector's containers
 * avoid all of them: a name the author refers to but did not use would
 * otherwise point at git-sync, where the credentials are.
 */
export function containerNames(pod: Pod): Set<string> {
  const names = new Set<string>();
  for (const c of allContainers(pod)) {
    addString(names, c.name);
    addString(names, c.targetContainerName);
    for (const e of objectsIn(c.env)) addString(names, valueAt(e, ['valueFrom', 'resourceFieldRef', 'containerName']));
  }
  for (const v of objectsIn(pod.spec.volumes)) {
    downwardApiContainers(valueAt(v, ['downwardAPI', 'items']), names);
    for (const source of objectsIn(valueAt(v, ['projected', 'sources']))) downwardApiContainers(valueAt(source, ['downwardAPI', 'items']), names);
  }
  const annotations = annotationsOf(pod);
  for (const key of CONTAINER_ANNOTATIONS) addString(names, annotations[key]);
  for (const key of Object.keys(annotations)) if (key.startsWith(APPARMOR_CONTAINER_ANNOTATION)) names.add(key.slice(APPARMOR_CONTAINER_ANNOTATION.length));
  return names;
}

/**
 * Every volume name the pod declares or refers to: spec.volumes and the names
 * mounted (volumeMounts) or attached (volumeDevices) by any container, init or
 * ephemeral container, declared or not. A pod that mounts an undeclared
 * 'git-sync-root' is invalid on its own, but would become valid, with the
 * author's container writing into git-sync's root, if the injector added a
 * volume under that name; so the injector's volumes avoid every such name,
 * and the API server refuses the author's dangling mount.
 */
export function volumeNames(pod: Pod): Set<string> {
  const names = new Set<string>();
  for (const v of objectsIn(pod.spec.volumes)) addString(names, v.name);
  for (const c of allContainers(pod)) {
    for (const m of [...objectsIn(c.volumeMounts), ...objectsIn(c.volumeDevices)]) addString(names, m.name);
  }
  return names;
}

/** Container ports in use anywhere in the pod: all containers share one network namespace. */
export function portsInUse(pod: Pod): Set<number> {
  const spec = pod.spec;
  const ports = new Set<number>();
  for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
    for (const p of c.ports ?? []) if (typeof p.containerPort === 'number') ports.add(p.containerPort);
  }
  return ports;
}

/** The name the pod will have, for messages and logs: name, else generateName with a '*' for the random suffix. */
export function podDisplayName(pod: unknown): string {
  const metadata = isObject(pod) && isObject(pod.metadata) ? pod.metadata : {};
  if (typeof metadata.name === 'string' && metadata.name) return metadata.name;
  if (typeof metadata.generateName === 'string' && metadata.generateName) return `${metadata.generateName}*`;
  return '(unnamed)';
}

/** The first free name among base, base-2, base-3, …; the chosen name is added to `taken`. */
export function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  taken.add(name);
  return name;
}
