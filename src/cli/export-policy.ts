/**
 * `gitsync-injector export-policy`: the webhook-free mode. Compiles the
 * policy (built-in, --policy FILE, or the live cluster's) into admission
 * policies the API server runs itself, and writes them as YAML. The
 * compiler is src/export/; this file only reads flags, loads the policy and
 * writes the result.
 */
import { stringify } from 'yaml';
import { API_VERSIONS, compileExport, exportObjects, formatRefusal, type MapApiVersion } from '../export/index.ts';
import { clusterFacts } from '../cluster/index.ts';
import { parseFlags, setting, UsageError, type Env } from '../args.ts';
import { VERSION } from '../version.ts';
import type { Command } from './commands.ts';
import { InputProblem, write } from './io.ts';
import { connect, LIVE_FLAGS, LIVE_OPTIONS_USAGE, liveFlags, livePolicy, offlineEnvironment } from './live.ts';

/** What the export was proven against, in every export's header (docs/webhook-free.md, "Status"). */
const PROVEN = 'proven equal to the webhook for every golden pod on kube-apiserver v1.32 (MutatingAdmissionPolicy v1alpha1): docs/webhook-free.md, "Status"';

const USAGE = `Usage: gitsync-injector export-policy [--policy FILE | --kubeconfig FILE | --context NAME]
                                     [--api-version v1|v1beta1|v1alpha1]
                                     [--native-sidecars supported|unsupported]

Compiles the policy into Kubernetes objects that inject git-sync without the
webhook (docs/webhook-free.md): a MutatingAdmissionPolicy and its binding that
inject opted-in pods, and a ValidatingAdmissionPolicy and its binding that
refuse what the webhook refuses (and what only the webhook serves), with the
webhook's messages and codes. The policy's values are baked in: export again
after every policy change. Writes YAML to standard output.

A policy that needs something an admission policy cannot do exactly is not
exported: every reason is printed on standard error (field: message [CODE])
and nothing is written.

Options:
      --policy FILE        policy YAML file, or - for stdin (also
                           GITSYNC_INJECTOR_POLICY); default: the built-in policy
${LIVE_OPTIONS_USAGE}
      --api-version V      admissionregistration.k8s.io version of the
                           MutatingAdmissionPolicy: v1 (default; Kubernetes 1.36+),
                           v1beta1 (1.34-1.35), v1alpha1 (1.32-1.33, behind the
                           MutatingAdmissionPolicy feature gate)
      --native-sidecars S  whether the cluster runs native sidecars (supported or
                           unsupported), for a policy with nativeSidecars: auto;
                           read from the nodes with --kubeconfig/--context
  -h, --help               show this help

Exit status: 0 exported; 1 the policy cannot be exported, or cannot be read;
2 bad invocation.

Examples:
  gitsync-injector export-policy --policy policy.yaml > webhook-free.yaml
  gitsync-injector export-policy --context prod | kubectl apply -f -
  gitsync-injector export-policy --native-sidecars supported --api-version v1alpha1
`;

const FACTS: Record<string, boolean> = { supported: true, unsupported: false };

async function run(args: string[], env: Env): Promise<number> {
  const flags = parseFlags(args, {
    policy: { type: 'string' },
    'api-version': { type: 'string', default: 'v1' },
    'native-sidecars': { type: 'string' },
    ...LIVE_FLAGS,
  });
  const apiVersion = flags['api-version'];
  if (!(API_VERSIONS as readonly string[]).includes(apiVersion)) {
    throw new UsageError(`--api-version: ${JSON.stringify(apiVersion)} is not one of ${API_VERSIONS.join(', ')}`);
  }
  const native = flags['native-sidecars'];
  if (native !== undefined && !Object.hasOwn(FACTS, native)) {
    throw new UsageError(`--native-sidecars: ${JSON.stringify(native)} is not one of ${Object.keys(FACTS).join(', ')}`);
  }
  const path = setting('policy', flags.policy, 'GITSYNC_INJECTOR_POLICY', env, '');
  if (path.explicit && path.value === '') throw new UsageError(`${path.source}: the file name is empty`);
  const live = liveFlags(flags);

  try {
    let policy;
    let nativeSidecars = native === undefined ? undefined : FACTS[native];
    const notes: string[] = [];
    if (live.live(env)) {
      const cluster = await connect(live, env);
      policy = path.explicit ? (await offlineEnvironment({ policy: path.value })).policy : await livePolicy(cluster, live.policyConfigMap, notes);
      if (nativeSidecars === undefined) nativeSidecars = (await clusterFacts(cluster)).nativeSidecars;
    } else {
      policy = (await offlineEnvironment(path.explicit ? { policy: path.value } : {})).policy;
    }
    const ctx = { policy: policy.compiled.engine, cluster: nativeSidecars === undefined ? {} : { nativeSidecars }, version: VERSION };
    const outcome = compileExport(ctx);
    for (const note of notes) await write(process.stderr, `note: ${note}\n`);
    if (!outcome.ok) {
      const count = outcome.refusals.length === 1 ? '1 reason' : `${outcome.refusals.length} reasons`;
      await write(process.stderr, `gitsync-injector export-policy: the policy in ${policy.source} cannot be exported (${count}):\n${outcome.refusals.map(formatRefusal).join('\n')}\n`);
      return 1;
    }
    const header = [
      `# gitsync-injector ${VERSION} export-policy: the webhook-free mode (docs/webhook-free.md)`,
      `# policy: ${policy.source}, hash ${policy.hash}; export again after every policy change`,
      `# ${PROVEN}`,
      ...(nativeSidecars === undefined ? [] : [`# native sidecars: ${nativeSidecars ? 'supported' : 'unsupported'}`]),
    ];
    const docs = exportObjects(outcome.compiled, apiVersion as MapApiVersion).map((o) => stringify(o, { lineWidth: 0 }));
    await write(process.stdout, `${header.join('\n')}\n${docs.map((d) => `---\n${d}`).join('')}`);
    return 0;
  } catch (error) {
    if (error instanceof InputProblem) {
      await write(process.stderr, `gitsync-injector export-policy: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

export const exportPolicy: Command = {
  summary: 'compile the policy into admission policies that inject without the webhook',
  usage: USAGE,
  run,
};
