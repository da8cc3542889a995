/**
 * The install manifests as kustomize renders them (`kubectl kustomize`, the
 * same renderer as `kubectl apply -k`): the base and both overlays, each
 * checked for what a platform team relies on. The webhook configuration
 * sends only opted-in pods, never kube-system's or the webhook's own; RBAC
 * is exactly what the informers need and nothing on Secrets; the pods meet
 * the restricted Pod Security Standard; and everything referenced by name
 * is in the render. The self-signed overlay is rendered with files from the
 * `certs` command, in a copy of manifests/.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { certsOptions, generateCertificates } from '../../src/cli/certs.ts';
import { serveConfig } from '../../src/app/index.ts';
import { injectPod, WRITTEN_ANNOTATIONS } from '../../src/engine/index.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { mustCompile } from '../../src/policy/compile.ts';
import { loadPolicyText } from '../../src/policy/load.ts';
import { DEFAULT_WORKER_OPTIONS } from '../../src/preview/index.ts';
import { VERSION } from '../../src/version.ts';
import { kubectlAvailable } from '../support/kubectl.ts';

const MANIFESTS = fileURLToPath(new URL('../../manifests/', import.meta.url));
const NAMESPACE = 'gitsync-injector';
const SERVICE_NAMES = [`gitsync-injector.${NAMESPACE}.svc`, `gitsync-injector.${NAMESPACE}.svc.cluster.local`];
/** What the certs command writes into the self-signed overlay (git-ignored). */
const GENERATED = new Set(['ca.crt', 'ca.key', 'tls.crt', 'tls.key', 'ca-bundle']);

// Rendered objects are plain YAML data; the checks read fields by name.
type Obj = Record<string, any>;

function kustomize(dir: string): Obj[] {
  // --local rendering needs no cluster; a kubeconfig that cannot exist keeps a developer's real one out of it.
  const out = execFileSync('kubectl', ['kustomize', dir], {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: join(tmpdir(), 'gitsync-injector-no-kubeconfig') },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj);
}

const find = (objects: Obj[], kind: string, name?: string): Obj[] => objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
const one = (objects: Obj[], kind: string, name?: string): Obj => {
  const found = find(objects, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
};

/** A pod spec's references to other objects, by kind and name (optional ones left out). */
function podReferences(spec: Obj, where: string): { kind: string; name: string; where: string }[] {
  const refs: { kind: string; name: string; where: string }[] = [];
  refs.push({ kind: 'ServiceAccount', name: spec.serviceAccountName ?? 'default', where });
  for (const s of spec.imagePullSecrets ?? []) refs.push({ kind: 'Secret', name: s.name, where });
  for (const v of spec.volumes ?? []) {
    if (v.secret && !v.secret.optional) refs.push({ kind: 'Secret', name: v.secret.secretName, where: `${where} volume ${v.name}` });
    if (v.configMap && !v.configMap.optional) refs.push({ kind: 'ConfigMap', name: v.configMap.name, where: `${where} volume ${v.name}` });
    for (const source of v.projected?.sources ?? []) {
      if (source.secret && !source.secret.optional) refs.push({ kind: 'Secret', name: source.secret.name, where });
      if (source.configMap && !source.configMap.optional) refs.push({ kind: 'ConfigMap', name: source.configMap.name, where });
    }
  }
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    for (const e of c.env ?? []) {
      const s = e.valueFrom?.secretKeyRef;
      const m = e.valueFrom?.configMapKeyRef;
      if (s && !s.optional) refs.push({ kind: 'Secret', name: s.name, where: `${where} env ${e.name}` });
      if (m && !m.optional) refs.push({ kind: 'ConfigMap', name: m.name, where: `${where} env ${e.name}` });
    }
    for (const e of c.envFrom ?? []) {
      if (e.secretRef && !e.secretRef.optional) refs.push({ kind: 'Secret', name: e.secretRef.name, where: `${where} envFrom` });
      if (e.configMapRef && !e.configMapRef.optional) refs.push({ kind: 'ConfigMap', name: e.configMapRef.name, where: `${where} envFrom` });
    }
  }
  return refs;
}

const podSpecOf = (o: Obj): Obj | undefined => (o.kind === 'Pod' ? o.spec : o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template?.spec : o.spec?.template?.spec);

/** Every ServiceAccount, Secret, ConfigMap, Role, Service and Issuer named by an object of the render, with the namespace it must be in. */
function references(objects: Obj[]): { kind: string; name: string; namespace: string; where: string }[] {
  const refs: { kind: string; name: string; namespace: string; where: string }[] = [];
  for (const o of objects) {
    const ns = o.metadata?.namespace ?? '';
    const here = `${o.kind} ${o.metadata?.name}`;
    const spec = podSpecOf(o);
    if (spec) for (const r of podReferences(spec, here)) refs.push({ ...r, namespace: ns });
    if (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') {
      refs.push({ kind: o.roleRef.kind, name: o.roleRef.name, namespace: o.roleRef.kind === 'Role' ? ns : '', where: here });
      for (const s of o.subjects ?? []) if (s.kind === 'ServiceAccount') refs.push({ kind: 'ServiceAccount', name: s.name, namespace: s.namespace ?? ns, where: here });
    }
    if (o.kind === 'MutatingWebhookConfiguration' || o.kind === 'ValidatingWebhookConfiguration') {
      for (const w of o.webhooks ?? []) {
        const svc = w.clientConfig?.service;
        if (svc) refs.push({ kind: 'Service', name: svc.name, namespace: svc.namespace, where: `${here} webhook ${w.name}` });
      }
    }
    if (o.kind === 'Certificate') refs.push({ kind: o.spec.issuerRef.kind ?? 'Issuer', name: o.spec.issuerRef.name, namespace: o.spec.issuerRef.kind === 'ClusterIssuer' ? '' : ns, where: here });
    if (o.kind === 'Issuer' && o.spec.ca) refs.push({ kind: 'Secret', name: o.spec.ca.secretName, namespace: ns, where: here });
  }
  return refs;
}

/** What the render provides: its objects, and the Secrets cert-manager will write for its Certificates. */
function provided(objects: Obj[]): Set<string> {
  const keys = new Set(objects.map((o) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`));
  for (const c of find(objects, 'Certificate')) keys.add(`Secret/${c.metadata.namespace}/${c.spec.secretName}`);
  return keys;
}

const missingReferences = (objects: Obj[]): string[] => {
  const have = provided(objects);
  return references(objects)
    .filter((r) => !have.has(`${r.kind}/${r.namespace}/${r.name}`))
    .map((r) => `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name} (from ${r.where})`);
};

/**
 * Evaluates a match condition on a pod. The conditions use a small part of
 * CEL (has(), `in` and [] on the annotations map, ==, !=, &&, ||, !,
 * parentheses, quoted strings) that means the same in JavaScript; anything
 * outside that part fails the test rather than being guessed at.
 */
function matches(expression: string, pod: Obj): boolean {
  const tokens = expression.match(/'[^'\\]*'|[A-Za-z_][A-Za-z0-9_.]*|&&|\|\||!=|==|\S/g) ?? [];
  const allowed = new Set(['object.metadata.annotations', 'has', 'in', '&&', '||', '!=', '==', '!', '(', ')', '[', ']']);
  const unknown = tokens.filter((t) => !t.startsWith("'") && !allowed.has(t));
  if (unknown.length > 0) throw new Error(`the match condition uses ${unknown.join(' ')}, outside the CEL subset this test evaluates: ${expression}`);
  const object = { ...pod, metadata: { ...pod.metadata, ...(pod.metadata?.annotations ? { annotations: Object.assign(Object.create(null), pod.metadata.annotations) } : {}) } };
  return new Function('object', 'has', `"use strict"; return (${expression});`)(object, (v: unknown) => v !== undefined) === true;
}

const sent = (webhook: Obj, pod: Obj): boolean => (webhook.matchConditions ?? []).every((c: Obj) => matches(c.expression, pod));

/** Whether a namespace with these labels is selected by a label selector (matchLabels and matchExpressions). */
function selects(selector: Obj | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const ok = { In: has && e.values.includes(labels[e.key]), NotIn: !has || !e.values.includes(labels[e.key]), Exists: has, DoesNotExist: !has }[e.operator as string];
    if (ok === undefined) throw new Error(`unknown selector operator ${e.operator}`);
    if (!ok) return false;
  }
  return true;
}

const nsLabels = (name: string, extra: Record<string, string> = {}): Record<string, string> => ({ 'kubernetes.io/metadata.name': name, ...extra });
const pod = (annotations?: Record<string, string>): Obj => ({ apiVersion: 'v1', kind: 'Pod', metadata: annotations ? { name: 'p', annotations } : { name: 'p' }, spec: {} });

/** Turns the shipped, commented-out policy into the document it shows: `# key: value` lines become `key: value`. */
const uncomment = (text: string): string =>
  text
    .split('\n')
    .map((line) => line.replace(/^# (?!#)/, ''))
    .join('\n');

const available = kubectlAvailable();
const skipReason = available ? '' : ' (skipped: kubectl is not installed)';

describe.skipIf(!available)(`kustomize renders${skipReason}`, () => {
  let work: string;
  let base: Obj[];
  let certManager: Obj[];
  let selfSigned: Obj[];
  let generatedCA: string;

  beforeAll(async () => {
    // A copy, so the certs command's files never land in the repository's overlay.
    work = await mkdtemp(join(tmpdir(), 'gitsync-injector-manifests-'));
    const copy = join(work, 'manifests');
    await cp(MANIFESTS, copy, { recursive: true, filter: (src) => !(src.includes(join('overlays', 'self-signed')) && GENERATED.has(basename(src))) });
    const overlay = join(copy, 'overlays', 'self-signed');
    await generateCertificates(certsOptions(['--service', 'gitsync-injector', '--namespace', NAMESPACE, '--out', overlay]));
    generatedCA = await readFile(join(overlay, 'ca.crt'), 'utf8');
    base = kustomize(join(copy, 'base'));
    certManager = kustomize(join(copy, 'overlays', 'cert-manager'));
    selfSigned = kustomize(overlay);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const renders = (): [string, Obj[]][] => [
    ['base', base],
    ['cert-manager', certManager],
    ['self-signed', selfSigned],
  ];

  describe('the MutatingWebhookConfiguration', () => {
    test('registers pod CREATE only, v1, no side effects, a short timeout, reinvocation, failurePolicy Fail, on the Service', () => {
      for (const [name, objects] of renders()) {
        const config = one(objects, 'MutatingWebhookConfiguration', 'gitsync-injector');
        expect(config.webhooks.map((w: Obj) => w.name), name).toEqual(['pods.gitsync.dev', 'namespace-opt-in.gitsync.dev']);
        for (const w of config.webhooks as Obj[]) {
          expect(w.rules, w.name).toEqual([{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
          expect(w.admissionReviewVersions).toEqual(['v1']);
          expect(w.sideEffects).toBe('None');
          expect(w.timeoutSeconds).toBeGreaterThanOrEqual(1);
          expect(w.timeoutSeconds).toBeLessThanOrEqual(10);
          expect(w.reinvocationPolicy).toBe('IfNeeded');
          expect(w.failurePolicy).toBe('Fail');
          expect(w.clientConfig.service).toEqual({ name: 'gitsync-injector', namespace: NAMESPACE, path: '/mutate', port: 443 });
        }
      }
    });

    test('the Service reaches the webhook port of the Deployment: 443 → https → 8443', () => {
      for (const [name, objects] of renders()) {
        const service = one(objects, 'Service', 'gitsync-injector');
        const deployment = one(objects, 'Deployment', 'gitsync-injector');
        expect(service.metadata.namespace).toBe(NAMESPACE);
        const port = service.spec.ports.find((p: Obj) => p.port === 443);
        expect(port, name).toMatchObject({ targetPort: 'https', protocol: 'TCP' });
        const container = deployment.spec.template.spec.containers[0];
        expect(container.ports.find((p: Obj) => p.name === 'https')).toEqual({ name: 'https', containerPort: 8443, protocol: 'TCP' });
        expect(selects({ matchLabels: service.spec.selector }, deployment.spec.template.metadata.labels)).toBe(true);
      }
    });

    test('never sends kube-system, the webhook namespace or opted-out namespaces; each other namespace to exactly one webhook', () => {
      const [all, optedIn] = one(base, 'MutatingWebhookConfiguration').webhooks as Obj[];
      const route = (labels: Record<string, string>): string[] => [all!, optedIn!].filter((w) => selects(w.namespaceSelector, labels)).map((w) => w.name);
      expect(route(nsLabels('kube-system'))).toEqual([]);
      expect(route(nsLabels(NAMESPACE))).toEqual([]);
      expect(route(nsLabels('kube-system', { 'gitsync.dev/injection': 'enabled' }))).toEqual([]);
      expect(route(nsLabels('team-a', { 'gitsync.dev/injection': 'disabled' }))).toEqual([]);
      expect(route(nsLabels('team-a'))).toEqual(['pods.gitsync.dev']);
      expect(route(nsLabels('team-a', { 'gitsync.dev/injection': 'something-else' }))).toEqual(['pods.gitsync.dev']);
      expect(route(nsLabels('airflow', { 'gitsync.dev/injection': 'enabled' }))).toEqual(['namespace-opt-in.gitsync.dev']);
      // The webhook's own Namespace object is labelled to opt out as well.
      expect(one(base, 'Namespace', NAMESPACE).metadata.labels['gitsync.dev/injection']).toBe('disabled');
    });

    test('match conditions send only pods that opted in, and never opted-out or mirror pods', () => {
      const [all, optedIn] = one(base, 'MutatingWebhookConfiguration').webhooks as Obj[];
      const repo = { 'gitsync.dev/repo': 'https://github.com/acme/dags.git' };
      const cases: [string, Obj, boolean, boolean][] = [
        // what, pod, sent by pods.gitsync.dev, sent by namespace-opt-in.gitsync.dev
        ['repo annotation', pod(repo), true, true],
        ['inject: "true"', pod({ 'gitsync.dev/inject': 'true' }), true, true],
        ['inject with a value the injector will report', pod({ 'gitsync.dev/inject': 'yes' }), true, true],
        ['repo but inject: "false"', pod({ ...repo, 'gitsync.dev/inject': 'false' }), false, false],
        ['inject: "false"', pod({ 'gitsync.dev/inject': 'false' }), false, false],
        ['no annotations', pod(), false, true],
        ['other annotations only', pod({ 'example.com/owner': 'team-a', 'gitsync.dev/ref': 'main' }), false, true],
        ['a mirror pod with a repo', pod({ ...repo, 'kubernetes.io/config.mirror': 'abc' }), false, false],
      ];
      for (const [what, p, toAll, toOptedIn] of cases) {
        expect(sent(all!, p), `${what} → pods.gitsync.dev`).toBe(toAll);
        expect(sent(optedIn!, p), `${what} → namespace-opt-in.gitsync.dev`).toBe(toOptedIn);
      }
    });

    test('base has no caBundle; cert-manager injects it from the serving Certificate; self-signed carries the generated CA', () => {
      for (const w of one(base, 'MutatingWebhookConfiguration').webhooks) expect(w.clientConfig.caBundle).toBeUndefined();

      const injected = one(certManager, 'MutatingWebhookConfiguration');
      const from = injected.metadata.annotations['cert-manager.io/inject-ca-from'] as string;
      const [ns, name] = from.split('/');
      const certificate = one(certManager, 'Certificate', name);
      expect(certificate.metadata.namespace).toBe(ns);
      expect(certificate.spec.secretName).toBe('gitsync-injector-tls');
      expect(certificate.spec.dnsNames).toEqual(SERVICE_NAMES);
      // Signed by a CA of its own, which keeps its key when renewed.
      const issuer = one(certManager, 'Issuer', certificate.spec.issuerRef.name);
      const ca = find(certManager, 'Certificate').find((c) => c.spec.secretName === issuer.spec.ca.secretName)!;
      expect(ca.spec).toMatchObject({ isCA: true, privateKey: { rotationPolicy: 'Never' } });

      const secret = one(selfSigned, 'Secret', 'gitsync-injector-tls');
      expect(secret).toMatchObject({ type: 'kubernetes.io/tls', metadata: { namespace: NAMESPACE } });
      expect(Object.keys(secret.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
      // kustomize wraps long base64 values over several lines; the API server's decoder skips the line breaks.
      const unwrapped = (b64: string): string => b64.replace(/\s/g, '');
      const caBundle = Buffer.from(generatedCA).toString('base64');
      expect(unwrapped(secret.data['ca.crt'])).toBe(caBundle);
      for (const w of one(selfSigned, 'MutatingWebhookConfiguration').webhooks) expect(unwrapped(w.clientConfig.caBundle), w.name).toBe(caBundle);
      // The API server, trusting the caBundle, accepts the Secret's certificate for the Service.
      const serving = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
      expect(serving.verify(new X509Certificate(Buffer.from(caBundle, 'base64')).publicKey)).toBe(true);
      for (const dns of SERVICE_NAMES) expect(serving.checkHost(dns)).toBe(dns);
    });
  });

  describe('the ValidatingAdmissionPolicy for the annotations the injector writes', () => {
    const NAME = 'gitsync-injector-written-annotations';
    const overlays = (): [string, Obj[]][] => renders().filter(([name]) => name !== 'base');

    test('both overlays install it and its binding, cluster-scoped (no namespace written into them), denying', () => {
      for (const [name, objects] of overlays()) {
        const policy = one(objects, 'ValidatingAdmissionPolicy', NAME);
        const binding = one(objects, 'ValidatingAdmissionPolicyBinding', NAME);
        expect(policy.apiVersion, name).toBe('admissionregistration.k8s.io/v1');
        expect(policy.metadata.namespace, name).toBeUndefined();
        expect(binding.metadata.namespace, name).toBeUndefined();
        expect(binding.spec).toEqual({ policyName: NAME, validationActions: ['Deny'] });
        expect(policy.spec.failurePolicy).toBe('Fail');
        // Pod UPDATEs only: creation is the injector's, and it writes these annotations then.
        expect(policy.spec.matchConstraints.resourceRules).toEqual([{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods'] }]);
        // Every rule speaks for itself.
        for (const v of policy.spec.validations) expect(v.messageExpression, name).toContain('metadata.annotations');
      }
    });

    test("protects exactly the injector's WRITTEN_ANNOTATIONS under the built-in prefix (both change together)", () => {
      const policy = one(certManager, 'ValidatingAdmissionPolicy', NAME);
      const variable = (n: string): string => (policy.spec.variables as Obj[]).find((v) => v.name === n)!.expression;
      const literals = (expression: string): string[] => [...expression.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
      expect(literals(variable('prefix'))).toEqual([BUILTIN_POLICY.annotationPrefix]);
      expect(literals(variable('written')).sort()).toEqual(Object.values(WRITTEN_ANNOTATIONS).sort());
    });
  });

  describe('RBAC', () => {
    test('exactly read access to namespaces, nodes and the policy ConfigMap: nothing on Secrets, no wildcards, no writes', () => {
      for (const [name, objects] of renders()) {
        const roles = [...find(objects, 'ClusterRole'), ...find(objects, 'Role')];
        for (const role of roles) {
          for (const rule of role.rules as Obj[]) {
            for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs']) {
              expect((rule[field] ?? []).some((v: string) => v.includes('*')), `${name} ${role.metadata.name} ${field}`).toBe(false);
            }
            expect(rule.resources, `${name} ${role.metadata.name}`).not.toContain('secrets');
            expect(rule.verbs.every((v: string) => ['get', 'list', 'watch'].includes(v))).toBe(true);
          }
        }
        expect(one(objects, 'ClusterRole', 'gitsync-injector').rules).toEqual([
          { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] },
          { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
        ]);
        const role = one(objects, 'Role', 'gitsync-injector-policy');
        expect(role.metadata.namespace).toBe(NAMESPACE);
        expect(role.rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['gitsync-injector-policy'], verbs: ['list', 'watch'] }]);
        expect(roles.map((r) => r.metadata.name).sort()).toEqual(['gitsync-injector', 'gitsync-injector-policy']);
        // Granted to the webhook's ServiceAccount, and only to it.
        for (const binding of [...find(objects, 'ClusterRoleBinding'), ...find(objects, 'RoleBinding')]) {
          expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'gitsync-injector', namespace: NAMESPACE }]);
        }
      }
    });
  });

  describe('the Deployment', () => {
    test('runs 2 replicas spread over nodes, with a PodDisruptionBudget, probes on the health port and resources', () => {
      for (const [name, objects] of renders()) {
        const deployment = one(objects, 'Deployment', 'gitsync-injector');
        const spec = deployment.spec.template.spec;
        expect(deployment.spec.replicas, name).toBeGreaterThanOrEqual(2);
        expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
        const podLabels = deployment.spec.template.metadata.labels;
        expect(spec.topologySpreadConstraints.find((t: Obj) => t.topologyKey === 'kubernetes.io/hostname')).toMatchObject({ maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' });
        for (const t of spec.topologySpreadConstraints) expect(selects(t.labelSelector, podLabels)).toBe(true);
        const pdb = one(objects, 'PodDisruptionBudget', 'gitsync-injector');
        expect(selects(pdb.spec.selector, podLabels)).toBe(true);
        expect(pdb.spec.maxUnavailable).toBe(1);

        const [container, ...others] = spec.containers;
        expect(others).toEqual([]);
        expect(container.image).toBe(`gitsync-injector:${VERSION}`);
        const health = container.ports.find((p: Obj) => p.name === 'health');
        expect(health).toEqual({ name: 'health', containerPort: 8081, protocol: 'TCP' });
        expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'health' });
        expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'health' });
        expect(container.resources.requests).toHaveProperty('cpu');
        expect(container.resources.requests).toHaveProperty('memory');
        expect(container.resources.limits).toHaveProperty('memory');
      }
    });

    test('is told its namespace, and drains within its grace period: shutdown delay + timeout < terminationGracePeriodSeconds', () => {
      const deployment = one(base, 'Deployment', 'gitsync-injector');
      const spec = deployment.spec.template.spec;
      const env = Object.fromEntries(spec.containers[0].env.map((e: Obj) => [e.name, e]));
      expect(env.POD_NAMESPACE.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
      const seconds = (name: string): number => Number(/^(\d+)s$/.exec(env[name].value)![1]);
      expect(seconds('GITSYNC_INJECTOR_SHUTDOWN_DELAY')).toBeGreaterThan(0);
      expect(seconds('GITSYNC_INJECTOR_SHUTDOWN_DELAY') + seconds('GITSYNC_INJECTOR_SHUTDOWN_TIMEOUT')).toBeLessThan(spec.terminationGracePeriodSeconds);
      // The TLS Secret is mounted where serve looks by default.
      const mount = spec.containers[0].volumeMounts.find((m: Obj) => m.name === 'tls');
      expect(mount).toEqual({ name: 'tls', mountPath: '/etc/gitsync-injector/tls', readOnly: true });
      expect(spec.volumes.find((v: Obj) => v.name === 'tls').secret.secretName).toBe('gitsync-injector-tls');
    });

    test('caps the main thread’s JavaScript heap well below its memory limit, leaving room for the workers', () => {
      const container = one(base, 'Deployment', 'gitsync-injector').spec.template.spec.containers[0];
      const limitMi = Number(/^(\d+)Mi$/.exec(container.resources.limits.memory)![1]);
      const nodeOptions = container.env.find((e: Obj) => e.name === 'NODE_OPTIONS')?.value as string;
      const heapMi = Number(/(?:^| )--max-old-space-size=(\d+)(?: |$)/.exec(nodeOptions)?.[1]);
      const semiMi = Number(/(?:^| )--max-semi-space-size=(\d+)(?: |$)/.exec(nodeOptions)?.[1]);
      expect(heapMi).toBeGreaterThan(0);
      expect(semiMi).toBeGreaterThan(0);
      // The young generation comes on top of the old space: two semi-spaces and a large-object space of the same size.
      const youngMi = 3 * semiMi;
      // The preview worker's whole heap fits beside it, with the process's own ~90 MiB outside the heap.
      expect(heapMi + youngMi + DEFAULT_WORKER_OPTIONS.memoryMb + DEFAULT_WORKER_OPTIONS.youngMb + 90).toBeLessThan(limitMi);
    });

    test("its arguments and environment are a valid serve configuration: the ports, TLS files and shutdown the manifests assume", () => {
      const container = one(base, 'Deployment', 'gitsync-injector').spec.template.spec.containers[0];
      const env: Record<string, string> = { POD_NAMESPACE: NAMESPACE };
      for (const e of container.env) if (typeof e.value === 'string') env[e.name] = e.value;
      const [command, ...args] = container.args;
      expect(command).toBe('serve');
      const config = serveConfig(args, env);
      expect(config).toMatchObject({ host: '0.0.0.0', port: 8443, healthPort: 8081, tlsCert: '/etc/gitsync-injector/tls/tls.crt', tlsKey: '/etc/gitsync-injector/tls/tls.key', devCertificates: false });
      expect(config.shutdownDelayMs).toBe(5_000);
      expect(config.shutdownTimeoutMs).toBe(20_000);
      // /preview and /policy are off as shipped: nothing but admission on the port the cluster reaches.
      expect(container.env).toContainEqual({ name: 'GITSYNC_INJECTOR_PREVIEW_PORT', value: 'off' });
      expect(config.preview).toBeUndefined();
    });

    test('the Service exposes the webhook and the health ports only, never a preview port', () => {
      for (const [name, objects] of renders()) {
        const service = one(objects, 'Service', 'gitsync-injector');
        expect(service.spec.ports.map((p: Obj) => p.targetPort).sort(), name).toEqual(['health', 'https']);
        expect(find(objects, 'Service').map((o) => o.metadata.name), name).toEqual(['gitsync-injector']);
      }
    });

    test('meets the restricted Pod Security Standard, which its namespace enforces', () => {
      for (const [name, objects] of renders()) {
        const spec = one(objects, 'Deployment', 'gitsync-injector').spec.template.spec;
        expect(spec.securityContext, name).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        expect(spec.hostNetwork ?? false).toBe(false);
        expect(spec.hostPID ?? false).toBe(false);
        expect(spec.hostIPC ?? false).toBe(false);
        for (const v of spec.volumes) expect(Object.keys(v).filter((k) => k !== 'name')).toEqual(expect.arrayContaining([expect.stringMatching(/^(secret|configMap|emptyDir|projected|downwardAPI)$/)]));
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
          expect(c.securityContext, c.name).toMatchObject({
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          });
          expect(c.securityContext.privileged ?? false).toBe(false);
          expect(c.securityContext.capabilities.add ?? []).toEqual([]);
          expect(c.securityContext.runAsUser ?? spec.securityContext.runAsUser).toBeGreaterThan(0);
        }
        expect(one(objects, 'Namespace', NAMESPACE).metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
      }
    });
  });

  describe('the render is complete', () => {
    test('every namespaced object is in the webhook namespace, which the render creates', () => {
      for (const [name, objects] of renders()) {
        one(objects, 'Namespace', NAMESPACE);
        const cluster = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
        for (const o of objects.filter((o) => !cluster.has(o.kind))) expect(o.metadata.namespace, `${name}: ${o.kind} ${o.metadata.name}`).toBe(NAMESPACE);
      }
    });

    test('every ServiceAccount, Secret, ConfigMap, Role and Service referenced exists (in the base: all but the TLS Secret, which overlays add)', () => {
      expect(missingReferences(base)).toEqual(['Secret gitsync-injector/gitsync-injector-tls (from Deployment gitsync-injector volume tls)']);
      expect(missingReferences(certManager)).toEqual([]);
      expect(missingReferences(selfSigned)).toEqual([]);
      // The policy ConfigMap the webhook watches is the one RBAC names.
      for (const [, objects] of renders()) one(objects, 'ConfigMap', 'gitsync-injector-policy');
    });
  });

  describe('the policy ConfigMap', () => {
    test('as shipped is the built-in policy, and every value it shows, uncommented, is the built-in value', () => {
      const text = one(base, 'ConfigMap', 'gitsync-injector-policy').data['policy.yaml'] as string;
      const builtin = mustCompile(BUILTIN_POLICY);
      const shipped = loadPolicyText(text, 'policy.yaml');
      expect(shipped.problems).toEqual([]);
      expect(shipped.compiled?.engine.hash).toBe(builtin.engine.hash);

      const shown = loadPolicyText(uncomment(text), 'policy.yaml, uncommented');
      expect(shown.problems).toEqual([]);
      // Every top-level field of the policy that has a built-in value is shown (githubBaseUrl has none: it is described)...
      const withValue = Object.entries(BUILTIN_POLICY).filter(([, v]) => v !== undefined).map(([k]) => k);
      expect(Object.keys(parse(uncomment(text)) as Obj).sort()).toEqual(withValue.sort());
      // ...with its built-in value.
      expect(shown.compiled?.document).toEqual(builtin.document);
      expect(shown.compiled?.engine.hash).toBe(builtin.engine.hash);
    });
  });
});

describe.skipIf(!available)(`the Airflow examples${skipReason}`, () => {
  let objects: Obj[];
  beforeAll(() => {
    objects = kustomize(join(MANIFESTS, 'examples'));
  });

  test('render, with every ServiceAccount and ConfigMap they use (Secrets come from the Airflow install and the team)', () => {
    const missing = missingReferences(objects).filter((m) => !m.startsWith('Secret '));
    expect(missing).toEqual([]);
  });

  test('the namespace supplies the repository and the pods opt in; each pod template is injected as documented', () => {
    const namespace = one(objects, 'Namespace', 'airflow');
    const ctx = { policy: mustCompile(BUILTIN_POLICY).engine, cluster: {}, version: VERSION };
    const inject = (podSpec: Obj, metadata: Obj) =>
      injectPod({ pod: { apiVersion: 'v1', kind: 'Pod', metadata, spec: podSpec }, namespace: 'airflow', namespaceAnnotations: namespace.metadata.annotations }, ctx);
    const names = (containers: Obj[] | undefined): string[] => (containers ?? []).map((c) => c.name);

    const scheduler = one(objects, 'Deployment', 'airflow-scheduler').spec.template;
    const s = inject(scheduler.spec, scheduler.metadata);
    expect(s.errors).toEqual([]);
    expect(s.outcome).toBe('injected');
    const sPod = s.pod as Obj;
    const mounted = (c: Obj): boolean => (c.volumeMounts ?? []).some((m: Obj) => m.mountPath === '/opt/airflow/dags');
    // Only the DAG processor reads the files.
    expect(sPod.spec.containers.filter(mounted).map((c: Obj) => c.name)).toEqual(['dag-processor']);
    expect(names(sPod.spec.initContainers)).toContain('git-sync-init');

    const worker = one(objects, 'StatefulSet', 'airflow-worker').spec.template;
    const w = inject(worker.spec, worker.metadata);
    expect(w.outcome).toBe('injected');
    expect((w.pod as Obj).spec.containers.find((c: Obj) => c.name === 'worker').env).toContainEqual({ name: 'AIRFLOW__CORE__DAGS_FOLDER', value: '/opt/airflow/dags/repo/dags' });

    const template = parse(one(objects, 'ConfigMap', 'airflow-pod-template').data['pod_template_file.yaml']) as Obj;
    expect(template.spec.containers.map((c: Obj) => c.name)).toEqual(['base']);
    const t = inject(template.spec, template.metadata);
    expect(t.outcome).toBe('injected');
    // A task pod runs to completion: the init container only, no sidecar.
    expect(names((t.pod as Obj).spec.containers)).toEqual(['base']);
    expect(names((t.pod as Obj).spec.initContainers)).toEqual(['git-sync-init']);
  });

  test('pods in the example namespace reach the webhook only when they opt in', () => {
    const [all] = one(renderBase(), 'MutatingWebhookConfiguration').webhooks as Obj[];
    const namespace = one(objects, 'Namespace', 'airflow');
    expect(selects(all!.namespaceSelector, { 'kubernetes.io/metadata.name': 'airflow', ...namespace.metadata.labels })).toBe(true);
    for (const o of objects.filter((o) => podSpecOf(o))) expect(sent(all!, o.spec.template ?? o), `${o.kind} ${o.metadata.name}`).toBe(true);
  });
});

const renderBase = (): Obj[] => kustomize(join(MANIFESTS, 'base'));

describe.skipIf(!available)(`the install manifests and the image agree${skipReason}`, () => {
  test("the image tag is the package version; the Deployment's ports are serve's defaults", async () => {
    const rendered = renderBase();
    const container = one(rendered, 'Deployment', 'gitsync-injector').spec.template.spec.containers[0];
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(container.image).toBe(`gitsync-injector:${pkg.version}`);
    expect(container.args).toEqual(['serve']);
    expect(container.ports.map((p: Obj) => p.containerPort).sort()).toEqual([8081, 8443]);
  });
});
