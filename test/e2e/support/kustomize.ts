/** The kustomize `images` entry that replaces the image called `name` in the manifests with `reference` (name[:tag] or name@digest). */
export function kustomizeImage(name: string, reference: string): Record<string, string> {
  const at = reference.indexOf('@');
  if (at !== -1) return { name, newName: reference.slice(0, at), digest: reference.slice(at + 1) };
  // A colon after the last slash starts a tag; one before it belongs to a registry's port.
  const colon = reference.lastIndexOf(':');
  return colon > reference.lastIndexOf('/') ? { name, newName: reference.slice(0, colon), newTag: reference.slice(colon + 1) } : { name, newName: reference };
}
