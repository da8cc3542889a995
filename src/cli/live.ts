/**
 * Previews that match the cluster: with --kubeconfig, --context or
 * KUBECONFIG, the manifest commands read the policy the webhook uses (its
 * ConfigMap, as `istioctl kube-inject` reads the live injector config) and
 * the annotations of the namespaces the objects go to, and say which they
 * used. Without them, the policy is --policy or the built-in one and no
 * namespace annotations are known, as before.
 */
import { readFile } from 'node:fs/promises';
import type { AdmissionDeps } from '../admission/index.ts';
import { DEFAULT_POLICY_CONFIGMAP, DEFAULT_POLICY_KEY } from '../app/index.ts';
import { clusterFacts, configMapKey, connectLive, LiveError, namespaceAnnotations, wantsCluster, ClusterConfigError, type LiveCluster, type LiveClusterFacts } from '../cluster/index.ts';
import { isAnnotationKey, isDnsLabel, isObject, parseObjectName, parseSecretKey, shownValue, type EnginePolicy } from '../engine/index.ts';
import { formatPolicyProblem, loadBuiltinPolicy, loadPolicyText, type CompiledPolicy } from '../policy/index.ts';
import { isList, type ParsedSource } from '../preview/index.ts';
import { VERSION } from '../version.ts';
import { UsageError, type Env } from '../args.ts';
import { InputProblem, readStdin } from './io.ts';

/** Where the install puts the webhook, and so its policy ConfigMap. */
export const DEFAULT_WEBHOOK_NAMESPACE = 'gitsync-injector';

export const LIVE_FLAGS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  'policy-configmap': { type: 'string' },
  'policy-configmap-key': { type: 'string' },
} as const;

export const LIVE_OPTIONS_USAGE = `      --kubeconfig FILE  read the live policy and the namespaces' annotations
                         from this cluster (also when KUBECONFIG is set)
      --context NAME     the kubeconfig context to use (default: its current)
      --policy-configmap NAMESPACE/NAME
                         the webhook's policy ConfigMap (default
                         ${DEFAULT_WEBHOOK_NAMESPACE}/${DEFAULT_POLICY_CONFIGMAP})
      --policy-configmap-key KEY
                         its key holding the policy (default ${DEFAULT_POLICY_KEY})`;

export interface ConfigMapRef {
  namespace: string;
  name: string;
  key: string;
}

export interface LiveFlags {
  kubeconfig?: string;
  context?: string;
  policyConfigMap: ConfigMapRef;
  /** Whether the command reads the cluster. */
  live(env: Env): boolean;
}

export function liveFlags(values: Record<string, unknown>): LiveFlags {
  const kubeconfig = values.kubeconfig as string | undefined;
  const context = values.context as string | undefined;
  if (kubeconfig === '') throw new UsageError('--kubeconfig: the file name is empty');
  if (context === '') throw new UsageError('--context: the name is empty');
  const given = (values['policy-configmap'] as string | undefined) ?? `${DEFAULT_WEBHOOK_NAMESPACE}/${DEFAULT_POLICY_CONFIGMAP}`;
  const [namespace, name, ...rest] = given.split('/');
  if (rest.length > 0 || name === undefined || !isDnsLabel(namespace!) || !parseObjectName(name).ok) {
    throw new UsageError(`--policy-configmap: ${JSON.stringify(given)} is not NAMESPACE/NAME`);
  }
  const key = (values['policy-configmap-key'] as string | undefined) ?? DEFAULT_POLICY_KEY;
  if (!parseSecretKey(key).ok) throw new UsageError(`--policy-configmap-key: ${JSON.stringify(key)} is not a ConfigMap key (letters, digits, '-', '_' and '.')`);
  const options = { ...(kubeconfig !== undefined && { kubeconfig }), ...(context !== undefined && { context }) };
  return { ...options, policyConfigMap: { namespace: namespace!, name, key }, live: (env) => wantsCluster(options, env) };
}

export interface Environment {
  deps: AdmissionDeps;
  policy: { source: string; hash: string; compiled: CompiledPolicy };
  cluster?: LiveCluster;
  /** The namespace of objects that do not name one, when not kubectl's `default`. */
  namespace?: string;
  /** The namespaces read from the cluster: their annotations, or undefined for one that does not exist. */
  namespaces: Map<string, Record<string, string> | undefined>;
  /** Said about the policy besides its source (a missing ConfigMap). */
  notes: string[];
  /** What the cluster's versions say about native sidecars (mode auto), read as the webhook reads them. */
  facts?: LiveClusterFacts;
}

const deps = (policy: EnginePolicy, namespaces: Environment['namespaces'], facts?: LiveClusterFacts): AdmissionDeps => ({
  ctx: { policy, cluster: facts?.nativeSidecars === undefined ? {} : { nativeSidecars: facts.nativeSidecars }, version: VERSION },
  namespaceAnnotations: (ns) => namespaces.get(ns),
});

/** The policy of --policy: a file, or standard input. */
export async function offlinePolicy(path: string): Promise<Environment['policy']> {
  const source = path === '-' ? 'stdin' : path;
  let text: string;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (error) {
    throw new InputProblem(`cannot read policy file ${path}: ${(error as Error).message}`);
  }
  return compiledFrom(text, source);
}

function compiledFrom(text: string, source: string): Environment['policy'] {
  const loaded = loadPolicyText(text, source);
  if (!loaded.compiled) {
    const count = loaded.problems.length === 1 ? '1 problem' : `${loaded.problems.length} problems`;
    throw new InputProblem(`invalid policy in ${source} (${count}):\n${loaded.problems.map((p) => formatPolicyProblem(p, source)).join('\n')}`);
  }
  return { source, hash: loaded.compiled.engine.hash, compiled: loaded.compiled };
}

function builtin(): Environment['policy'] {
  const { compiled, source } = loadBuiltinPolicy();
  return { source, hash: compiled.engine.hash, compiled };
}

export async function offlineEnvironment(flags: { policy?: string; namespace?: string }): Promise<Environment> {
  const policy = flags.policy === undefined ? builtin() : await offlinePolicy(flags.policy);
  const namespaces = new Map<string, Record<string, string> | undefined>();
  // Offline there is no cluster to ask about native sidecars or namespace annotations: the
  // policy decides the former (as it does for a webhook without cluster facts), and none are known.
  return { deps: { ...deps(policy.compiled.engine, namespaces), namespaceAnnotations: () => undefined }, policy, namespaces, notes: [], ...(flags.namespace && { namespace: flags.namespace }) };
}

/** The namespaces the objects of `sources` are created in. */
function namespacesIn(sources: readonly ParsedSource[], fallback: string): Set<string> {
  const found = new Set<string>();
  const add = (object: unknown): void => {
    const meta = isObject(object) && isObject(object.metadata) ? object.metadata : {};
    found.add(typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : fallback);
  };
  for (const doc of sources.flatMap((s) => s.documents)) {
    const value = doc.value;
    if (value === null || value === undefined) continue;
    if (isObject(value) && value.kind === 'AdmissionReview') {
      const request = isObject(value.request) ? value.request : {};
      if (typeof request.namespace === 'string' && request.namespace !== '') found.add(request.namespace);
    } else if (isList(value)) value.items.forEach(add);
    else add(value);
  }
  return found;
}

/** Connects to the cluster named by the flags; throws InputProblem with what to do. */
export async function connect(flags: LiveFlags, env: Env): Promise<LiveCluster> {
  try {
    return await connectLive(flags, env);
  } catch (error) {
    if (error instanceof ClusterConfigError) throw new InputProblem(error.message);
    throw error;
  }
}

/** The policy the webhook uses, read from its ConfigMap; the built-in policy when there is none, as the webhook does. */
export async function livePolicy(cluster: LiveCluster, ref: ConfigMapRef, notes: string[]): Promise<Environment['policy']> {
  const where = `configmap ${ref.namespace}/${ref.name}`;
  let found;
  try {
    found = await configMapKey(cluster, ref.namespace, ref.name, ref.key);
  } catch (error) {
    if (!(error instanceof LiveError)) throw error;
    throw new InputProblem(`cannot read the policy from ${where} (${error.message}); give --policy FILE, or --policy-configmap NAMESPACE/NAME if it lives elsewhere`);
  }
  if (!found) {
    notes.push(`${where} does not exist in ${cluster.via}; the webhook then uses the built-in policy`);
    return builtin();
  }
  if (found.text === undefined) {
    throw new InputProblem(`${where} has no key ${ref.key}; the webhook rejects it and keeps the last policy it had, which cannot be read from here; give --policy FILE`);
  }
  // The same name serve shows next to a policy from this ConfigMap.
  return compiledFrom(found.text, `${where} key ${ref.key}`);
}

/** Reads each namespace's annotations; a namespace that does not exist has none. */
export async function readNamespaces(cluster: LiveCluster, names: Iterable<string>): Promise<Environment['namespaces']> {
  const namespaces: Environment['namespaces'] = new Map();
  for (const name of [...names].sort()) {
    try {
      namespaces.set(name, await namespaceAnnotations(cluster, name));
    } catch (error) {
      if (!(error instanceof LiveError)) throw error;
      throw new InputProblem(`cannot read namespace ${name} (${error.message}); its gitsync.dev/* defaults would be missing from the preview`);
    }
  }
  return namespaces;
}

export async function liveEnvironment(flags: LiveFlags & { policy?: string; namespace?: string }, env: Env, sources: readonly ParsedSource[]): Promise<Environment> {
  const cluster = await connect(flags, env);
  const notes: string[] = [];
  const policy = flags.policy === undefined ? await livePolicy(cluster, flags.policyConfigMap, notes) : await offlinePolicy(flags.policy);
  const namespace = flags.namespace ?? cluster.contextNamespace ?? 'default';
  const namespaces = await readNamespaces(cluster, namespacesIn(sources, namespace));
  const facts = await clusterFacts(cluster);
  return { deps: deps(policy.compiled.engine, namespaces, facts), policy, cluster, namespace, namespaces, notes, facts };
}

const NATIVE_WORDS: Record<string, string> = { true: 'yes', false: 'no', undefined: 'unknown, mode auto does not choose them' };

/** What the preview used, for stderr: the cluster, the policy with its hash, and each namespace's defaults. */
export function environmentLines(e: Environment): string[] {
  if (!e.cluster) return [];
  const prefix = e.policy.compiled.engine.prefix;
  const lines = [`cluster: ${e.cluster.via} (${e.cluster.server})`, `policy: ${e.policy.source} (hash ${e.policy.hash})`, ...e.notes.map((n) => `note: ${n}`)];
  if (e.facts) lines.push(`native sidecars: ${NATIVE_WORDS[String(e.facts.nativeSidecars)]}: ${e.facts.reason}`);
  for (const [name, annotations] of e.namespaces) {
    if (annotations === undefined) {
      lines.push(`namespace ${name}: does not exist; no defaults`);
      continue;
    }
    const defaults = Object.entries(annotations)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => {
        const key = k.slice(prefix.length);
        return `${k}=${isAnnotationKey(key) ? shownValue(key, v) : v}`;
      });
    lines.push(`namespace ${name}: ${defaults.length > 0 ? `defaults ${defaults.join(', ')}` : `no ${prefix}* defaults`}`);
  }
  return lines;
}

/** The same, as data for -o json. */
export function environmentJson(e: Environment): Record<string, unknown> {
  const json: Record<string, unknown> = { policySource: e.policy.source };
  if (!e.cluster) return json;
  const prefix = e.policy.compiled.engine.prefix;
  json.cluster = { context: e.cluster.context, server: e.cluster.server, ...(e.facts && { facts: e.facts }) };
  json.namespaces = Object.fromEntries(
    [...e.namespaces].map(([name, a]) => [name, a === undefined ? null : Object.fromEntries(Object.entries(a).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k, isAnnotationKey(k.slice(prefix.length)) ? shownValue(k.slice(prefix.length) as never, v) : v]))]),
  );
  if (e.notes.length > 0) json.notes = e.notes;
  return json;
}
