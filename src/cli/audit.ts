/**
 * `gitsync-injector audit`: what no injector offers: against a cluster, the
 * pods that ask for git-sync but have none, the pods injected under an older
 * policy or by another injector version, and the workloads whose annotations
 * sit where no pod sees them (workloads/audit.ts decides; this reads the
 * cluster and prints). One read of each collection, no watch.
 */
import { parseArgs } from 'node:util';
import { isDnsLabel, isObject } from '../engine/index.ts';
import { listAll, LiveError, type LiveCluster } from '../cluster/index.ts';
import { yamlText } from '../preview/index.ts';
import { auditPod, auditWorkload, FINDINGS, type Finding } from '../workloads/index.ts';
import { VERSION } from '../version.ts';
import { UsageError, usageError, type Env } from '../args.ts';
import type { Command } from './commands.ts';
import { InputProblem, write } from './io.ts';
import { connect, LIVE_FLAGS, LIVE_OPTIONS_USAGE, liveFlags, livePolicy, offlinePolicy, readNamespaces } from './live.ts';
import { withInputProblems } from './manifests.ts';

const USAGE = `Usage: gitsync-injector audit [options]

Lists, from a cluster, what needs attention:
  not-injected  pods that ask for git-sync (gitsync.dev/* annotations or
                namespace defaults) but have none: created while the webhook
                was down or before it was installed, not sent to it, or
                skipped by the engine (with the reason it gives now)
  drift         pods injected under another policy hash than the one in
                force, or by another injector version than expected
  wrong-level   workloads whose gitsync.dev/* annotations are on their own
                metadata (or a CronJob's job template's), where no pod sees
                them
The engine judges each pod with the live policy (the policy ConfigMap) and
its namespace's defaults, as the webhook would now.

Options:
  -n, --namespace NAME   only this namespace (default: all namespaces)
  -o, --output FORMAT    text (default: a table), json or yaml
      --policy FILE      judge with this policy instead of the live one (- for
                         standard input)
      --injector-version V
                         the version injected pods should carry (default: this
                         command's, ${VERSION})
${LIVE_OPTIONS_USAGE}
  -h, --help             show this help

Reading the cluster needs list on pods, namespaces, deployments, statefulsets,
daemonsets, replicasets, replicationcontrollers, jobs and cronjobs, and get on
the policy ConfigMap.

Exit status:
  0  nothing found
  1  something found (each finding is one row)
  2  usage error, or the cluster or the policy cannot be read

Examples:
  gitsync-injector audit --context prod
  gitsync-injector audit -n airflow -o json | jq '.findings[] | select(.finding == "drift")'
`;

/** The collections of workloads, as the API serves them; list items carry no kind, so it is set from here. */
const WORKLOADS = [
  { kind: 'Deployment', apiVersion: 'apps/v1', plural: 'deployments' },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', plural: 'statefulsets' },
  { kind: 'DaemonSet', apiVersion: 'apps/v1', plural: 'daemonsets' },
  { kind: 'ReplicaSet', apiVersion: 'apps/v1', plural: 'replicasets' },
  { kind: 'ReplicationController', apiVersion: 'v1', plural: 'replicationcontrollers' },
  { kind: 'Job', apiVersion: 'batch/v1', plural: 'jobs' },
  { kind: 'CronJob', apiVersion: 'batch/v1', plural: 'cronjobs' },
] as const;

const collection = (apiVersion: string, plural: string, namespace?: string): string =>
  `/${apiVersion.includes('/') ? 'apis' : 'api'}/${apiVersion}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${plural}`;

async function read(cluster: LiveCluster, path: string): Promise<unknown[]> {
  try {
    return await listAll(cluster, path);
  } catch (error) {
    if (error instanceof LiveError) throw new InputProblem(`cannot list ${path} (${error.message})`);
    throw error;
  }
}

const withKind = (items: unknown[], kind: string, apiVersion: string): unknown[] => items.map((o) => (isObject(o) ? { ...o, kind, apiVersion } : o));

function table(findings: readonly Finding[]): string {
  const rows = [['FINDING', 'KIND', 'NAMESPACE/NAME', 'REASON', 'DETAIL'], ...findings.map((f) => [f.finding, f.kind, `${f.namespace}/${f.name}`, f.reason, f.detail])];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i < 4 ? cell.padEnd(widths[i]!) : cell)).join('  ')).join('\n');
}

async function run(args: string[], env: Env): Promise<number> {
  const options = { namespace: { type: 'string', short: 'n' }, output: { type: 'string', short: 'o' }, policy: { type: 'string' }, 'injector-version': { type: 'string' }, ...LIVE_FLAGS } as const;
  let values;
  try {
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw usageError(error, options);
  }
  const output = values.output ?? 'text';
  if (!['text', 'json', 'yaml'].includes(output)) throw new UsageError(`--output: ${JSON.stringify(output)} is not an output format; use text, json, yaml`);
  const namespace = values.namespace;
  if (namespace !== undefined && !isDnsLabel(namespace)) throw new UsageError(`--namespace: ${JSON.stringify(namespace)} is not a namespace name (lowercase letters, digits and '-', at most 63)`);
  if (values.policy === '') throw new UsageError('--policy: the file name is empty');
  const version = values['injector-version'] ?? VERSION;
  if (version === '') throw new UsageError('--injector-version: the version is empty');
  const live = liveFlags(values);
  return withInputProblems(async () => {
    const cluster = await connect(live, env);
    const notes: string[] = [];
    const policy = values.policy === undefined ? await livePolicy(cluster, live.policyConfigMap, notes) : await offlinePolicy(values.policy);
    // One namespace is read by name (RBAC may grant no more); all of them with one list.
    const namespaces = namespace ? await readNamespaces(cluster, [namespace]) : new Map<string, Record<string, string> | undefined>();
    if (!namespace) {
      for (const ns of await read(cluster, '/api/v1/namespaces')) {
        const m = isObject(ns) && isObject(ns.metadata) ? ns.metadata : {};
        if (typeof m.name === 'string') namespaces.set(m.name, isObject(m.annotations) ? (m.annotations as Record<string, string>) : {});
      }
    }
    const ctx = { policy: policy.compiled.engine, cluster: {}, version };
    const audit = { ctx, version, namespaceAnnotations: (ns: string) => namespaces.get(ns) };
    const pods = withKind(await read(cluster, collection('v1', 'pods', namespace)), 'Pod', 'v1');
    const workloads: unknown[] = [];
    for (const w of WORKLOADS) workloads.push(...withKind(await read(cluster, collection(w.apiVersion, w.plural, namespace)), w.kind, w.apiVersion));
    const findings = [...pods.flatMap((p) => auditPod(p, audit)), ...workloads.flatMap((w) => auditWorkload(w, ctx.policy.prefix))];
    const order = (f: Finding): string => `${FINDINGS.indexOf(f.finding)} ${f.namespace}/${f.name} ${f.kind} ${f.reason}`;
    findings.sort((a, b) => order(a).localeCompare(order(b)));
    const summary = Object.fromEntries(FINDINGS.map((k) => [k, findings.filter((f) => f.finding === k).length]));
    const checked = { pods: pods.length, workloads: workloads.length };
    if (output === 'text') {
      const header = [`cluster: ${cluster.via} (${cluster.server})`, `policy: ${policy.source} (hash ${policy.hash}); injector version ${version}`, ...notes.map((n) => `note: ${n}`)];
      await write(process.stderr, `${header.join('\n')}\n`);
      const counts = FINDINGS.map((k) => `${summary[k]} ${k}`).join(', ');
      const line = findings.length === 0 ? `nothing found in ${checked.pods} pods and ${checked.workloads} workloads` : `${findings.length} found in ${checked.pods} pods and ${checked.workloads} workloads: ${counts}`;
      await write(process.stdout, findings.length === 0 ? `${line}\n` : `${table(findings)}\n\n${line}\n`);
    } else {
      const report = {
        cluster: { context: cluster.context, server: cluster.server },
        policy: { source: policy.source, hash: policy.hash },
        injectorVersion: version,
        ...(namespace && { namespace }),
        checked,
        summary,
        findings,
        ...(notes.length > 0 && { notes }),
      };
      await write(process.stdout, output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : yamlText(report));
    }
    return findings.length > 0 ? 1 : 0;
  });
}

export const audit: Command = {
  summary: 'list, in a cluster, pods not injected or injected under another policy, and misplaced annotations',
  usage: USAGE,
  run,
};
