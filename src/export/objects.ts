/**
 * The compiled export as Kubernetes objects: a MutatingAdmissionPolicy and
 * its binding that inject, and ValidatingAdmissionPolicies and bindings that
 * refuse. Conditions are folded a few checks to a condition, so that no
 * policy comes near the API server's 64 matchConditions.
 */
import { POLICY_REFUSALS, WRITTEN_ANNOTATIONS, type ProblemCode } from '../engine/index.ts';
import { and } from './cel.ts';
import type { Check } from './checks.ts';
import { INJECTION_LABEL, type CompiledExport, type Condition } from './compile.ts';

export const API_VERSIONS = ['v1', 'v1beta1', 'v1alpha1'] as const;
export type MapApiVersion = (typeof API_VERSIONS)[number];

export const EXPORT_NAME = 'gitsync-injector';
/** Checks per folded matchCondition of the MutatingAdmissionPolicy. */
const FOLD = 8;

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
  const folded: Condition[] = [];
  for (let i = 0; i < c.checks.length; i += FOLD) {
    const group = c.checks.slice(i, i + FOLD);
    folded.push({ name: `checks-${folded.length + 1}`, expression: and(...group.map((k) => k.ok)) });
  }
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
        matchConditions: conditions(c, [...c.match, ...folded]),
        mutations: c.mutations.map((m) => ({ patchType: 'ApplyConfiguration', applyConfiguration: { expression: c.scope.inline(m.cel) } })),
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
  if (action === 'Deny') {
    const ok = and(...checks.map((k) => k.ok));
    const joined = `[${checks.map((k) => `${k.ok.cel} ? '' : ${k.message.cel}`).join(', ')}].filter(m, m != '').join('; ')`;
    const reason = checks.every((k) => reasonOf(k.code) === 'Forbidden') ? 'Forbidden' : 'Invalid';
    validations = [{ expression: ok.cel, messageExpression: joined, message: 'gitsync-injector: the pod fails the webhook-free checks (docs/webhook-free.md)', reason }];
  } else {
    validations = checks.map((k) => ({ expression: k.ok.cel, messageExpression: k.message.cel, message: `gitsync-injector: check ${k.id} failed [${k.code}]`, reason: reasonOf(k.code) }));
  }
  const texts = validations.flatMap((v) => [v.expression, v.messageExpression]);
  const { texts: renamed, variables } = c.scope.asVariables(texts);
  validations = validations.map((v, i) => ({ ...v, expression: renamed[2 * i]!, messageExpression: renamed[2 * i + 1]! }));
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: metadata(c, name, what),
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: matchConstraints(c),
        matchConditions: conditions(c, c.match),
        variables,
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
