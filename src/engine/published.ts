/**
 * Files the injector hands to git-sync without creating any object in the
 * pod's namespace (no ConfigMap to own, garbage-collect or grant RBAC on):
 * the content travels as an annotation the injector writes on the pod, and a
 * downwardAPI volume projects that annotation into a file that only the
 * git-sync containers mount. The API server stores the annotation with the
 * pod, the kubelet writes the file before the containers start, and the
 * ValidatingAdmissionPolicy in manifests/admission-policy keeps anyone from
 * changing the annotation afterwards (the kubelet would follow an edit).
 *
 * Used for the policy's SSH known_hosts lines and for the sparse-checkout
 * file; each gets its own volume and folder, so that one file's name never
 * depends on another's.
 */
import type { V1Volume } from '@kubernetes/client-node';
import type { WrittenAnnotation } from './annotations.ts';

export interface PublishedFile {
  /** The annotation that carries the content (without the prefix): one of WRITTEN_ANNOTATIONS. */
  annotation: WrittenAnnotation;
  /** Name of the downwardAPI volume, before it is made unique against the pod's own volumes. */
  volume: string;
  /** Where the git-sync containers see the volume (read-only), and the file's name in it. */
  mountPath: string;
  file: string;
  /** The file's content. */
  data: string;
}

/** Where git-sync finds the file. */
export const publishedPath = (f: Pick<PublishedFile, 'mountPath' | 'file'>): string => `${f.mountPath}/${f.file}`;

/** The volume that projects the file from the pod's annotation `annotationKey` (prefix included). */
export function publishedVolume(f: PublishedFile, annotationKey: string): Omit<V1Volume, 'name'> {
  return { downwardAPI: { items: [{ path: f.file, fieldRef: { fieldPath: `metadata.annotations['${annotationKey}']` } }] } };
}
