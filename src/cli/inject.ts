/**
 * `gitsync-injector inject`: the webhook, offline. Reads manifests from
 * files, directories or standard input and writes them back with git-sync
 * injected into every pod and pod template that asks for it, exactly as the
 * webhook would inject their pods: for GitOps pipelines, reviews, and
 * clusters that cannot run webhooks. The input side is shared with `check`
 * (manifests.ts).
 */
import { REFUSED, refusal, renderJson, renderPatches, renderYaml, warningLines } from '../preview/index.ts';
import type { Env } from '../args.ts';
import type { Command } from './commands.ts';
import { environmentLines, evaluateInputs, exitStatus, inputOptions, manifestFlags, WEBHOOK_FREE_FLAG, WEBHOOK_FREE_USAGE, withInputProblems, write } from './manifests.ts';

const USAGE = `Usage: gitsync-injector inject [-f PATH]... [options]

Injects git-sync into the pods and pod templates of Kubernetes manifests
(Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
Job, CronJob), offline, with the engine and policy the webhook uses, and
writes every manifest to standard output in input order. Other objects, and
pods that do not ask for git-sync, come out unchanged; in injected YAML
documents only the injected parts are new, and comments and key order are
kept. Injected objects carry the gitsync.dev/status annotation, so running
inject again, or the webhook later, changes nothing.

Options:
${inputOptions(`  -o, --output FORMAT    yaml (default), json (one object, or a v1 List), or
                         patch (the JSON Patch of each injected object, against
                         that object: kubectl patch --type=json applies it)`, `
${WEBHOOK_FREE_USAGE}`)}

Warnings, and the objects the webhook would deny with every reason, are
printed on standard error as FILE:LINE (document N) KIND NAMESPACE/NAME.
With a cluster, standard error first says which policy (source and hash)
and which namespace defaults were used.

Exit status:
  0  all well (objects may have been left unchanged)
  1  some object would be denied by the webhook; it is written unchanged
  2  usage error, or input that cannot be read or parsed (FILE:LINE:COLUMN)

Examples:
  gitsync-injector inject -f deployment.yaml | kubectl apply -f -
  kustomize build overlays/prod | gitsync-injector inject -f - | kubectl apply -f -
  kubectl kustomize overlays/prod | gitsync-injector inject --policy policy.yaml > rendered.yaml
  gitsync-injector inject -f manifests/ -n airflow -o patch
  gitsync-injector inject --context prod -f https://example.com/app.yaml
`;

async function run(args: string[], env: Env): Promise<number> {
  const flags = manifestFlags(args, ['yaml', 'json', 'patch'], WEBHOOK_FREE_FLAG);
  return withInputProblems(async () => {
    const { sources, objects, environment } = await evaluateInputs(flags, env);
    const messages: string[] = environmentLines(environment);
    let text: string;
    if (flags.output === 'json') text = renderJson(sources);
    else if (flags.output === 'patch') text = renderPatches(sources);
    else {
      const rendered = renderYaml(sources);
      text = rendered.text;
      messages.push(...rendered.notes.map((n) => `note: ${n}`));
    }
    for (const o of objects) {
      messages.push(...warningLines(o));
      if (REFUSED.has(o.outcome)) messages.push(refusal(o));
    }
    await write(process.stdout, text);
    if (messages.length > 0) await write(process.stderr, `${messages.join('\n')}\n`);
    return exitStatus(objects);
  });
}

export const inject: Command = {
  summary: 'inject git-sync into manifests (files, directories, URLs or stdin)',
  usage: USAGE,
  run,
};
