/** Why a pod was left untouched. Stable identifiers: they appear in logs, metrics and previews. */
export const SKIP_REASONS = {
  'unreadable-pod': 'the object does not have the shape of a pod; the API server will judge it',
  'mirror-pod': 'static (mirror) pods are managed by the kubelet and must not be changed',
  'excluded-namespace': 'the namespace is excluded by the policy',
  'not-opted-in': 'the pod has neither the repo annotation nor inject: "true"',
  'opted-out': 'the pod says inject: "false"',
  'already-injected': 'the pod carries the status annotation of an earlier injection',
  'has-git-sync': 'the pod already runs a git-sync container of its own',
  'invalid-annotations': 'the annotations have errors and the policy admits such pods untouched',
} as const;

export type SkipReason = keyof typeof SKIP_REASONS;
