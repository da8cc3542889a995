/**
 * The compiled export as Kubernetes objects: a MutatingAdmissionPolicy and
 * its binding that inject, and ValidatingAdmissionPolicies and bindings that
 * refuse.
 *
 * The API server gives `namespaceObject` no fields in matchConditions (v1.32:
 * "no such key: metadata"), and the opt-in and most checks read the
 * namespace's defaults. So matchConditions hold only what the pod alone
 * decides; the opt-in and the checks guard the first mutation, which writes
 * the status annotation, and the later mutations run only on a pod that
 * carries it: mutations apply in order, each to the pod the ones before it
 * left, and no pod that carried a status annotation matched at all. The
 * validations read the opt-in themselves (`!optedIn || ok`).
 *
 * Neither policy has `variables`, though a ValidatingAdmissionPolicy may:
 * before kubernetes/kubernetes#135757 was fixed (PR #135759), every policy's
 * variables were fields of one type the API server shared between all
 * policies, written while a policy with variables compiled and read while
 * another compiled. The race crashed kube-apiserver v1.32 ("concurrent map
 * read and map write") in our proof while exports were applied under load,
 * and the shared type lets another policy's variable of the same name change
 * the type of ours. An export with no variables neither writes nor reads it on
 * any version. Values a validation uses more than once are read as the
 * mutations read them (`Scope.inlineOnce`).
 */
import { POLICY_REFUSALS, WRITTEN_ANNOTATIONS, type ProblemCode } from '../engine/index.ts';
import { and, not, or, podHas } from './cel.ts';
import type { Check } from './checks.ts';
import { INJECTION_LABEL, type CompiledExport, type Condition } from './compile.ts';

export const API_VERSIONS = ['v1', 'v1beta1', 'v1alpha1'] as const;
export type MapApiVersion = (typeof API_VERSIONS)[number];

export const EXPORT_NAME = 'gitsync-injector';
/** A mutation that changes nothing, by patch type. */
const NO_CHANGE = { ApplyConfiguration: 'Object{}', JSONPatch: '[]' } as const;

type Obj = Record<string, unknown>;

function matchConstraints(c: CompiledExport): Obj {
  return {
    resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
    namespaceSelector: {
      matchExpressions: [
        ...(c.excludedNamespaces.length > 0 ? [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: c.excludedNamespaces }] : []),
        { key: INJECTION_LABEL, operator: 'NotIn', values: ['disabled'] },
      ],
    },
  };
}

const conditions = (c: CompiledExport, cs: readonly Condition[]): Obj[] => cs.map((m) => ({ name: m.name, expression: c.scope.inline(m.expression.cel) }));

function metadata(c: CompiledExport, name: string, what: string): Obj {
  return {
    name,
    labels: { 'app.kubernetes.io/part-of': 'gitsync-injector', 'app.kubernetes.io/component': 'webhook-free' },
    annotations: { [`${c.prefix}policy`]: c.policyHash, [`${c.prefix}export`]: what },
  };
}

/** The MutatingAdmissionPolicy and its binding. */
function mutating(c: CompiledExport, apiVersion: MapApiVersion): Obj[] {
  const applies = and(c.optedIn, ...c.checks.map((k) => k.ok));
  const injected = podHas(`${c.prefix}${WRITTEN_ANNOTATIONS.status}`);
  const guarded = c.mutations.map((m, i) => ({ patchType: m.patchType, cel: `(${(i === 0 ? applies : injected).cel} ? ${m.cel} : ${NO_CHANGE[m.patchType]})` }));
  const group = `admissionregistration.k8s.io/${apiVersion}`;
  return [
    {
      apiVersion: group,
      kind: 'MutatingAdmissionPolicy',
      metadata: metadata(c, EXPORT_NAME, `injects git-sync into opted-in pods that pass every check (status annotation ${c.prefix}${WRITTEN_ANNOTATIONS.status})`),
      spec: {
        failurePolicy: 'Fail',
        reinvocationPolicy: 'Never',
        matchConstraints: matchConstraints(c),
        matchConditions: conditions(c, c.match),
        mutations: guarded.map(({ patchType, cel }) =>
          patchType === 'JSONPatch' ? { patchType, jsonPatch: { expression: c.scope.inlineOnce(cel) } } : { patchType, applyConfiguration: { expression: c.scope.inlineOnce(cel) } },
        ),
      },
    },
    {
      apiVersion: group,
      kind: 'MutatingAdmissionPolicyBinding',
      metadata: { name: EXPORT_NAME, labels: { 'app.kubernetes.io/part-of': 'gitsync-injector', 'app.kubernetes.io/component': 'webhook-free' } },
      spec: { policyName: EXPORT_NAME },
    },
  ];
}

const reasonOf = (code: string): string => (POLICY_REFUSALS.has(code as ProblemCode) || code === 'WEBHOOK_ONLY' ? 'Forbidden' : 'Invalid');

/**
 * A ValidatingAdmissionPolicy over checks. Deny shows only the first failing
 * validation, and the webhook lists every problem at once: so for Deny the
 * checks are one validation whose message joins the failing ones. Warn gives
 * a warning per failing validation: one each.
 */
function validating(c: CompiledExport, name: string, checks: readonly Check[], action: 'Deny' | 'Warn', what: string): Obj[] {
  let validations: { expression: string; messageExpression: string; message: string; reason: string }[];
  const outOfScope = not(c.optedIn);
  if (action === 'Deny') {
    const ok = or(outOfScope, and(...checks.map((k) => k.ok)));
    const joined = `[${checks.map((k) => `${k.ok.cel} ? '' : ${k.message.cel}`).join(', ')}].filter(m, m != '').join('; ')`;
    const reason = checks.every((k) => reasonOf(k.code) === 'Forbidden') ? 'Forbidden' : 'Invalid';
    validations = [{ expression: ok.cel, messageExpression: joined, message: 'gitsync-injector: the pod fails the webhook-free checks (docs/webhook-free.md)', reason }];
  } else {
    validations = checks.map((k) => ({ expression: or(outOfScope, k.ok).cel, messageExpression: k.message.cel, message: `gitsync-injector: check ${k.id} failed [${k.code}]`, reason: reasonOf(k.code) }));
  }
  // No `variables`: see the module's comment.
  validations = validations.map((v) => ({ ...v, expression: c.scope.inlineOnce(v.expression), messageExpression: c.scope.inlineOnce(v.messageExpression) }));
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: metadata(c, name, what),
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: matchConstraints(c),
        matchConditions: conditions(c, c.match),
        validations,
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name, labels: { 'app.kubernetes.io/part-of': 'gitsync-injector', 'app.kubernetes.io/component': 'webhook-free' } },
      spec: { policyName: name, validationActions: [action] },
    },
  ];
}

/**
 * Every object of the export. With `onInvalidAnnotations: admit` the
 * webhook's refusals become warnings (the pod is admitted untouched, as the
 * webhook does), but a pod that needs the webhook is still refused: letting
 * it through untouched would be the silent difference the export must not have.
 */
export function exportObjects(c: CompiledExport, apiVersion: MapApiVersion): Obj[] {
  const engineChecks = c.checks.filter((k) => k.code !== 'WEBHOOK_ONLY');
  const webhookOnly = c.checks.filter((k) => k.code === 'WEBHOOK_ONLY');
  const validations =
    c.onInvalidAnnotations === 'deny'
      ? validating(c, EXPORT_NAME, c.checks, 'Deny', 'refuses opted-in pods the webhook refuses, and those only the webhook serves')
      : [
          ...validating(c, EXPORT_NAME, engineChecks, 'Warn', 'warns about opted-in pods the webhook admits untouched (onInvalidAnnotations: admit)'),
          ...validating(c, `${EXPORT_NAME}-webhook-only`, webhookOnly, 'Deny', 'refuses opted-in pods only the webhook serves'),
        ];
  return [...mutating(c, apiVersion), ...validations];
}
