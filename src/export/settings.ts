/**
 * Which value of an annotation applies to a pod, as CEL: the engine's layers
 * (src/engine/settings.ts), highest first: the pod, the preset, the
 * namespace, the policy's defaults (the annotation table's included). An
 * enforced annotation is the policy's value whatever the pod says. The
 * preset's and the policy's values are baked in: the export is compiled from
 * one policy.
 */
import type { AnnotationKey, EnginePolicy } from '../engine/index.ts';
import { and, bool, choose, concat, cond, eq, matches, not, nsHas, nsVal, or, podHas, podVal, raw, str, type B, type S } from './cel.ts';

export interface Resolver {
  prefix: string;
  /** The preset the pod uses, '' for none. */
  presetName: S;
  /** The value that applies, '' when none does. */
  value(key: AnnotationKey): S;
  /** Whether any layer gives a value. */
  present(key: AnnotationKey): B;
  /** Whether the value that applies is the pod's or the namespace's (a value the export has to check), not a baked one. */
  fromPodOrNamespace(key: AnnotationKey): B;
  /** Where the value that applies was written, as the webhook's messages name it. */
  field(key: AnnotationKey): S;
  /** The policy's value ('' for none). */
  policyRaw(key: AnnotationKey): string | undefined;
  /** `inject` resolved as the engine does: a layer whose value is not true or false is passed over. */
  injectValue: S;
}

export function resolver(policy: EnginePolicy): Resolver {
  const prefix = policy.prefix;
  const policyRaw = (key: AnnotationKey): string | undefined => policy.defaults.get(key)?.raw;
  const k = (key: AnnotationKey): string => `${prefix}${key}`;
  const nsName = raw<string>('namespaceObject.metadata.name', (i) => i.namespace);

  const presetName: S = policy.enforced.has('preset')
    ? str(policyRaw('preset') ?? '')
    : cond(podHas(k('preset')), podVal(k('preset')), cond(nsHas(k('preset')), nsVal(k('preset')), str(policyRaw('preset') ?? '')));

  const presetCases = (key: AnnotationKey): [B, S][] =>
    [...policy.presets].filter(([, layer]) => layer.has(key)).map(([name, layer]) => [eq(presetName, str(name)), str(layer.get(key)!.raw)]);
  const presetSets = (key: AnnotationKey): B => or(...presetCases(key).map(([c]) => c));
  const presetFields = (key: AnnotationKey): [B, S][] => presetCases(key).map(([c], i) => [c, str(`${k(key)} (preset ${[...policy.presets].filter(([, l]) => l.has(key))[i]![0]})`)]);

  const value = (key: AnnotationKey): S => {
    if (key !== 'preset' && policy.enforced.has(key)) return str(policyRaw(key) ?? '');
    if (key === 'preset') return presetName;
    return cond(podHas(k(key)), podVal(k(key)), choose(presetCases(key), cond(nsHas(k(key)), nsVal(k(key)), str(policyRaw(key) ?? ''))));
  };
  const present = (key: AnnotationKey): B => {
    if (policy.enforced.has(key)) return bool(policyRaw(key) !== undefined);
    return policyRaw(key) !== undefined ? bool(true) : or(podHas(k(key)), ...(key === 'preset' ? [] : [presetSets(key)]), nsHas(k(key)));
  };
  const fromPodOrNamespace = (key: AnnotationKey): B => {
    if (policy.enforced.has(key)) return bool(false);
    if (key === 'preset') return or(podHas(k(key)), nsHas(k(key)));
    return or(podHas(k(key)), and(nsHas(k(key)), not(presetSets(key))));
  };
  const field = (key: AnnotationKey): S =>
    policy.enforced.has(key) ? str(policy.defaults.get(key)?.field ?? k(key)) :
    cond(
      podHas(k(key)),
      str(k(key)),
      choose(key === 'preset' ? [] : presetFields(key), cond(nsHas(k(key)), concat(str(`${k(key)} (namespace `), nsName, str(')')), str(policy.defaults.get(key)?.field ?? k(key)))),
    );

  const valid = /^(?:true|false)$/;
  const injectValue: S = policy.enforced.has('inject')
    ? str(policyRaw('inject') ?? '')
    : cond(
        and(podHas(k('inject')), matches(podVal(k('inject')), valid)),
        podVal(k('inject')),
        choose(presetCases('inject'), cond(and(nsHas(k('inject')), matches(nsVal(k('inject')), valid)), nsVal(k('inject')), str(policyRaw('inject') ?? ''))),
      );

  return { prefix, presetName, value, present, fromPodOrNamespace, field, policyRaw, injectValue };
}
