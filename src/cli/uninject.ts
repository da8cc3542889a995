/**
 * `gitsync-injector uninject`: removes what injection added to manifests,
 * found through the status annotation it wrote, and nothing else. `inject`
 * then `uninject` gives back the input byte for byte (YAML) and value for
 * value (JSON): for taking a manifest back out of a rendered pipeline, or
 * to inject it again under a new policy.
 */
import { isObject } from '../engine/index.ts';
import { uninjectWorkload } from '../workloads/index.ts';
import type { Env } from '../args.ts';
import type { Command } from './commands.ts';
import { editSources, renderEdits } from './edit-documents.ts';
import { environmentFor, environmentLines, inputOptions, manifestFlags, readSources, withInputProblems, write } from './manifests.ts';

const USAGE = `Usage: gitsync-injector uninject [-f PATH]... [options]

Removes from Kubernetes manifests what injection added: the git-sync
containers, volumes, mounts, env variable and the status annotation, found
through the status annotation (gitsync.dev/status) of each pod and pod
template; everything else comes out unchanged, in YAML with its comments
and layout. inject then uninject gives back the input byte for byte (YAML)
and value for value (JSON). An empty list or mapping that was in the input
before injection (env: [], annotations: {}) is removed with what injection
put in it.

Options:
${inputOptions(`  -o, --output FORMAT    yaml (default), json, or patch (the JSON Patch of
                         each object that changes: remove operations)`)}

The env variable's name is not in the status annotation: it is the one the
policy (and the namespace's defaults, with a cluster) give the pod, or the
pod's own gitsync.dev/env.

Exit status:
  0  done (objects that were not injected come out unchanged)
  2  usage error, or input that cannot be read or parsed

Examples:
  gitsync-injector uninject -f rendered.yaml > manifests.yaml
  kubectl get deployment airflow-scheduler -o yaml | gitsync-injector uninject
`;

async function run(args: string[], env: Env): Promise<number> {
  const flags = manifestFlags(args, ['yaml', 'json', 'patch']);
  return withInputProblems(async () => {
    const sources = await readSources(flags);
    const environment = await environmentFor(flags, env, sources);
    const { ctx } = environment.deps;
    const fallback = environment.namespace ?? 'default';
    const result = editSources(sources, (object) => {
      const meta = isObject(object) && isObject(object.metadata) ? object.metadata : {};
      const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : fallback;
      const r = uninjectWorkload({ object, namespace, namespaceAnnotations: environment.deps.namespaceAnnotations(namespace) }, ctx.policy.prefix, ctx);
      if (r.workload === undefined || !r.injected) return r.workload === undefined ? undefined : { object, remove: [], replace: [], add: [], messages: r.warnings.map((w) => `warning: ${w}`) };
      return { object: r.object, remove: r.removed, replace: [], add: [], messages: r.warnings.map((w) => `warning: ${w}`) };
    });
    const { text, notes } = renderEdits(result, flags.output);
    await write(process.stdout, text);
    const messages = [...environmentLines(environment), ...result.messages, ...notes.map((n) => `note: ${n}`)];
    if (messages.length > 0) await write(process.stderr, `${messages.join('\n')}\n`);
    return 0;
  });
}

export const uninject: Command = {
  summary: 'remove what injection added to manifests (inverse of inject)',
  usage: USAGE,
  run,
};
