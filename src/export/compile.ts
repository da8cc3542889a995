/**
 * Compiling one policy into the webhook-free export: the checks, the
 * mutation and the conditions that say which pods they are for, all as
 * expressions with a CEL and a TypeScript face. objects.ts writes them as
 * Kubernetes objects; evaluate.ts runs them for the preview.
 */
import { WRITTEN_ANNOTATIONS, type EngineContext } from '../engine/index.ts';
import { and, escapeRegex, exists, fieldMatches, ne, nsLabel, or, podAnnotationKeyMatches, podHas, raw, Scope, str, type B } from './cel.ts';
import { buildChecks, type Check } from './checks.ts';
import { exportRefusals, type ExportRefusal } from './refusals.ts';
import { resolver } from './settings.ts';
import { buildTemplate, type Mutation } from './template.ts';
import { values } from './values.ts';

/** The namespace label the webhook's configuration reads (manifests/base/mutatingwebhookconfiguration.yaml). */
export const INJECTION_LABEL = 'gitsync.dev/injection';

export interface Condition {
  name: string;
  expression: B;
}

export interface CompiledExport {
  policyHash: string;
  prefix: string;
  onInvalidAnnotations: 'deny' | 'admit';
  excludedNamespaces: string[];
  /**
   * Which pods the export is for, from the pod alone: not a mirror pod, not
   * injected yet, no git-sync of its own (the webhook's skip reasons, in its order).
   * These are the policies' matchConditions, where the API server gives
   * `namespaceObject` no fields (verified on v1.32: "no such key: metadata").
   */
  match: Condition[];
  /** Opted in, by the pod or its namespace: read in the mutations and validations, where `namespaceObject` is there. */
  optedIn: B;
  checks: Check[];
  /** ApplyConfigurations, applied in order. */
  mutations: Mutation[];
  /** The named values the expressions use, written out where they are used (no `variables`: objects.ts). */
  scope: Scope;
}

export type CompileOutcome = { ok: true; compiled: CompiledExport } | { ok: false; refusals: ExportRefusal[] };

const GIT_SYNC_IMAGE = /(?:^|\/)git-sync(?:[:@]|$)/;

export interface CompileOptions {
  /**
   * Compile with unknown native sidecar support as the engine reads it (auto
   * never picks native), for previews; an export for a cluster needs the fact.
   */
  allowUnknownFacts?: boolean;
}

export function compileExport(ctx: EngineContext, options: CompileOptions = {}): CompileOutcome {
  const refusals = exportRefusals(ctx).filter((r) => !(options.allowUnknownFacts && r.code === 'EXPORT_NATIVE_SIDECARS_UNKNOWN'));
  if (refusals.length > 0) return { ok: false, refusals };
  const { policy } = ctx;
  const p = policy.prefix;
  const scope = new Scope();
  const r = resolver(policy, scope);
  const v = values(ctx, r, scope);
  const template = buildTemplate(ctx, v);
  const checks = buildChecks(ctx, r, v, template);

  // The webhook is called for a pod that carries its opt-in annotations, or for every pod of a namespace labelled enabled.
  const webhookCalled = or(podHas(`${p}repo`), podHas(`${p}inject`), raw(`(${nsLabel(INJECTION_LABEL).cel} == 'enabled')`, (i) => i.namespaceLabels[INJECTION_LABEL] === 'enabled'));
  // The engine's opt-in (src/engine/plan.ts): inject true in any layer, or the pod's own repo or inject annotation; inject false opts out.
  const namesRepository = podAnnotationKeyMatches(new RegExp(`^${escapeRegex(p)}[^.]*\\.repo$`));
  const optedIn = and(
    ne(r.injectValue, str('false')),
    or(raw(`(${r.injectValue.cel} == 'true')`, (i) => r.injectValue.ev(i) === 'true'), podHas(`${p}repo`), podHas(`${p}inject`), namesRepository),
  );
  const match: Condition[] = [
    { name: 'not-a-mirror-pod', expression: raw("!(has(object.metadata.annotations) && 'kubernetes.io/config.mirror' in object.metadata.annotations)", (i) => !podHas('kubernetes.io/config.mirror').ev(i)) },
    { name: 'not-already-injected', expression: raw(`!${podHas(`${p}${WRITTEN_ANNOTATIONS.status}`).cel}`, (i) => !podHas(`${p}${WRITTEN_ANNOTATIONS.status}`).ev(i)) },
    {
      name: 'no-git-sync-container',
      expression: raw(
        `!(${exists('containers', fieldMatches('image', GIT_SYNC_IMAGE)).cel} || ${exists('initContainers', fieldMatches('image', GIT_SYNC_IMAGE)).cel})`,
        (i) => !(exists('containers', fieldMatches('image', GIT_SYNC_IMAGE)).ev(i) || exists('initContainers', fieldMatches('image', GIT_SYNC_IMAGE)).ev(i)),
      ),
    },
  ];
  return {
    ok: true,
    compiled: {
      policyHash: policy.hash,
      prefix: p,
      onInvalidAnnotations: policy.onInvalidAnnotations,
      excludedNamespaces: [...policy.excludedNamespaces].sort(),
      match,
      optedIn: and(webhookCalled, optedIn),
      checks,
      mutations: template.mutations,
      scope,
    },
  };
}
