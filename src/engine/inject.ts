/**
 * The engine: (pod, namespace defaults, policy, cluster facts) in; mutated
 * pod, JSON Patch, warnings, errors and skip reason out. Pure: no HTTP, no
 * files, no cluster. The webhook, the preview endpoint and the CLI all call
 * this one function, so what a preview shows is what the webhook does.
 */
import { WRITTEN_ANNOTATIONS } from './annotations.ts';
import { build } from './build.ts';
import type { EngineContext } from './context.ts';
import { skipped, type InjectRequest, type InjectResult } from './outcome.ts';
import { plan } from './plan.ts';
import { annotationsOf, podShapeProblem, type Pod } from './pod.ts';
import { SKIP_REASONS } from './skips.ts';

export type { InjectRequest, InjectResult, Injection, RepositoryInjection } from './outcome.ts';

const GIT_SYNC_IMAGE = /(?:^|\/)git-sync(?:[:@]|$)/;
const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

export function injectPod(req: InjectRequest, ctx: EngineContext): InjectResult {
  const shape = podShapeProblem(req.pod);
  if (shape) return skipped(req.pod, 'unreadable-pod', `${SKIP_REASONS['unreadable-pod']}: ${shape}`);
  const pod = req.pod as Pod;
  const { policy } = ctx;
  const annotations = annotationsOf(pod);
  const namespace = req.namespace || pod.metadata?.namespace || '';

  if (MIRROR_ANNOTATION in annotations) return skipped(pod, 'mirror-pod');
  if (policy.excludedNamespaces.has(namespace)) return skipped(pod, 'excluded-namespace', `namespace ${namespace} is excluded by the policy`);
  if (ctx.webhookNamespace && namespace === ctx.webhookNamespace) {
    return skipped(pod, 'excluded-namespace', `namespace ${namespace} is the webhook's own namespace, which is never injected`);
  }
  if (`${policy.prefix}${WRITTEN_ANNOTATIONS.status}` in annotations) return skipped(pod, 'already-injected');
  const own = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((c) => GIT_SYNC_IMAGE.test(c.image ?? ''));
  if (own) return skipped(pod, 'has-git-sync', `container ${own.name} already runs git-sync (${own.image})`);

  const p = plan(pod, namespace, req.namespaceAnnotations, ctx);
  if (typeof p === 'string') return skipped(pod, p);
  if (p.errors.length > 0) {
    if (policy.onInvalidAnnotations === 'admit') {
      return { ...skipped(pod, 'invalid-annotations'), warnings: p.warnings, errors: p.errors };
    }
    return { outcome: 'denied', patch: [], patchJson: '[]', pod, warnings: p.warnings, errors: p.errors };
  }
  return build(pod, p, ctx);
}
