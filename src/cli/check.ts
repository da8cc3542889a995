/**
 * `gitsync-injector check`: for each pod and workload in the manifests, one
 * line that says what the webhook will do when its pods are created and
 * why, so a person can act on it; `-o json` gives the same to machines.
 * Same inputs, policy and engine as `inject`, and the same exit statuses.
 */
import { checkLine, previewResponse, type PreviewObject } from '../preview/index.ts';
import type { Env } from '../args.ts';
import type { Command } from './commands.ts';
import { environmentJson, environmentLines, evaluateInputs, exitStatus, inputOptions, manifestFlags, WEBHOOK_FREE_FLAG, WEBHOOK_FREE_USAGE, withInputProblems, write } from './manifests.ts';

const USAGE = `Usage: gitsync-injector check [-f PATH]... [options]

Says, for each pod and workload in Kubernetes manifests, what the webhook
will do when its pods are created: injected (mode, containers, repository,
ref and the folder the app reads), or not and why (the skip reason, or every
error with its code), with any warnings. One line per object, located as
FILE:LINE (document N); other objects are listed as ignored. Works offline,
with the engine and policy the webhook uses, or with --kubeconfig/--context
(or KUBECONFIG) against the cluster's live policy and namespace defaults,
which it names on standard error (and in -o json: policySource, namespaces).

Options:
${inputOptions(`  -o, --output FORMAT    text (default), or json: the preview of every object
                         (outcome, skip reason, injection, warnings, errors)`, `
${WEBHOOK_FREE_USAGE}`)}

Exit status:
  0  no object would be denied
  1  some object would be denied by the webhook (its line says why)
  2  usage error, or input that cannot be read or parsed (FILE:LINE:COLUMN)

Examples:
  gitsync-injector check -f deployment.yaml
  kustomize build overlays/prod | gitsync-injector check
  gitsync-injector check -f manifests/ -o json | jq '.objects[] | select(.outcome != "injected")'
`;

/** An object's preview without the manifest and patch, which `inject` writes. */
function summary(o: PreviewObject): Omit<PreviewObject, 'object' | 'patch' | 'review'> {
  const { object: _object, patch: _patch, review: _review, ...rest } = o;
  return rest;
}

async function run(args: string[], env: Env): Promise<number> {
  const flags = manifestFlags(args, ['text', 'json'], WEBHOOK_FREE_FLAG);
  return withInputProblems(async () => {
    const { deps, objects, environment } = await evaluateInputs(flags, env);
    if (flags.output === 'json') {
      const response = previewResponse(objects, deps, { webhookFree: flags.own['webhook-free'] === true });
      await write(process.stdout, `${JSON.stringify({ ...response, ...environmentJson(environment), objects: objects.map(summary) }, null, 2)}\n`);
      return exitStatus(objects);
    }
    const used = environmentLines(environment);
    if (used.length > 0) await write(process.stderr, `${used.join('\n')}\n`);
    if (objects.length === 0) {
      await write(process.stderr, 'no Kubernetes objects in the input\n');
    } else {
      await write(process.stdout, `${objects.map(checkLine).join('\n')}\n`);
    }
    return exitStatus(objects);
  });
}

export const check: Command = {
  summary: 'say for each pod and workload in manifests whether and how it gets git-sync',
  usage: USAGE,
  run,
};
