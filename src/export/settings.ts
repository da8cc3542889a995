/**
 * Which value of an annotation applies to a pod, as CEL: the engine's layers
 * (src/engine/settings.ts), highest first: the pod, the preset, the
 * namespace, the policy's defaults (the annotation table's included). An
 * enforced annotation is the policy's value whatever the pod says. The
 * preset's and the policy's values are baked in: the export is compiled from
 * one policy.
 */
import type { AnnotationKey, EnginePolicy } from '../engine/index.ts';
import { and, bool, concat, cond, layered, lookup, matches, not, nsHas, nsVal, oneOf, or, podHas, podVal, raw, str, trim, type B, type S, type Scope } from './cel.ts';

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

/** A variable name for an annotation: `mount-path` → `mountPath`. */
const varName = (key: string): string => key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function resolver(policy: EnginePolicy, scope: Scope): Resolver {
  const prefix = policy.prefix;
  const policyRaw = (key: AnnotationKey): string | undefined => policy.defaults.get(key)?.raw;
  const k = (key: AnnotationKey): string => `${prefix}${key}`;
  const nsName = raw<string>('namespaceObject.metadata.name', (i) => i.namespace);

  const presetName: S = scope.bindTotal(
    'preset',
    policy.enforced.has('preset') ? str(policyRaw('preset') ?? '') : layered(k('preset'), [], policyRaw('preset') ?? ''),
  );
  const presetTable = (key: AnnotationKey): Record<string, string> =>
    Object.fromEntries([...policy.presets].filter(([, layer]) => layer.has(key)).map(([name, layer]) => [name, layer.get(key)!.raw]));
  const presetSets = (key: AnnotationKey): B => {
    const names = Object.keys(presetTable(key));
    return names.length === 0 ? bool(false) : oneOf(presetName, names);
  };

  const memo = new Map<AnnotationKey, S>();
  const value = (key: AnnotationKey): S => {
    if (key === 'preset') return presetName;
    let v = memo.get(key);
    if (!v) {
      v = policy.enforced.has(key) ? str(policyRaw(key) ?? '') : scope.bindTotal(varName(key), layered(k(key), [{ key: presetName, table: presetTable(key) }], policyRaw(key) ?? ''));
      memo.set(key, v);
    }
    return v;
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
  const field = (key: AnnotationKey): S => {
    const fallback = policy.defaults.get(key)?.field ?? k(key);
    if (policy.enforced.has(key)) return str(fallback);
    const presetFields = Object.fromEntries(Object.keys(presetTable(key)).map((name) => [name, `${k(key)} (preset ${name})`]));
    return cond(
      podHas(k(key)),
      str(k(key)),
      lookup(
        presetName,
        key === 'preset' ? [] : Object.entries(presetFields).map(([name, f]) => [name, str(f)] as const),
        cond(nsHas(k(key)), concat(str(`${k(key)} (namespace `), nsName, str(')')), str(fallback)),
      ),
    );
  };

  const valid = /^(?:true|false)$/;
  const injectValue: S = scope.bindTotal(
    'optIn',
    policy.enforced.has('inject')
      ? str(policyRaw('inject') ?? '')
      : cond(
          and(podHas(k('inject')), matches(trim(podVal(k('inject'))), valid)),
          trim(podVal(k('inject'))),
          lookup(
            presetName,
            Object.entries(presetTable('inject')).map(([name, v]) => [name, str(v)] as const),
            cond(and(nsHas(k('inject')), matches(trim(nsVal(k('inject'))), valid)), trim(nsVal(k('inject'))), str(policyRaw('inject') ?? '')),
          ),
        ),
  );

  return { prefix, presetName, value, present, fromPodOrNamespace, field, policyRaw, injectValue };
}
