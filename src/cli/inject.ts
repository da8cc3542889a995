/**
 * `gitsync-injector inject`: the webhook, offline. Reads manifests from
 * files, directories or standard input and writes them back with git-sync
 * injected into every pod and pod template that asks for it, exactly as the
 * webhook would inject their pods: for GitOps pipelines, reviews, and
 * clusters that cannot run webhooks. Also home of what `check` shares with
 * it: the flags, reading the input, and the policy.
 */
import { parseArgs } from 'node:util';
import type { AdmissionDeps } from '../admission/index.ts';
import { BUILTIN_POLICY } from '../policy/builtin.ts';
import { mustCompile } from '../policy/compile.ts';
import { loadPolicyFile } from '../policy/load.ts';
import {
  evaluateSource,
  InputError,
  parseSource,
  readInputs,
  REFUSED,
  refusal,
  renderJson,
  renderPatches,
  renderYaml,
  SourceError,
  warningLines,
  type EvaluatedSource,
  type PreviewObject,
} from '../preview/index.ts';
import { VERSION } from '../version.ts';
import { UsageError, type Env } from './args.ts';
import type { Command } from './commands.ts';
import { isDnsLabel } from '../engine/index.ts';

/** The options `inject` and `check` share, around the command's own -o line. */
export const inputOptions = (output: string): string => `  -f, --filename PATH    a manifest file, a directory (read recursively: *.yaml,
                         *.yml and *.json, sorted by path), or - for standard
                         input; repeatable; also as arguments (default: -)
${output}
      --policy FILE      policy YAML file (default: the built-in policy)
      --namespace NAME   namespace of objects that do not name one (default:
                         default); the namespace's own annotations are not
                         known offline
  -h, --help             show this help`;

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
                         that object: kubectl patch --type=json applies it)`)}

Warnings, and the objects the webhook would deny with every reason, are
printed on standard error as FILE:LINE (document N) KIND NAMESPACE/NAME.

Exit status:
  0  all well (objects may have been left unchanged)
  1  some object would be denied by the webhook; it is written unchanged
  2  usage error, or input that cannot be read or parsed (FILE:LINE:COLUMN)

Examples:
  gitsync-injector inject -f deployment.yaml | kubectl apply -f -
  kustomize build overlays/prod | gitsync-injector inject -f - | kubectl apply -f -
  kubectl kustomize overlays/prod | gitsync-injector inject --policy policy.yaml > rendered.yaml
  gitsync-injector inject -f manifests/ --namespace airflow -o patch
`;


export interface ManifestFlags {
  paths: string[];
  output: string;
  policy?: string;
  namespace?: string;
}

/** The flags `inject` and `check` share, plus -o with the formats the command offers (the first is the default). */
export function manifestFlags(args: string[], outputs: readonly string[]): ManifestFlags {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        output: { type: 'string', short: 'o' },
        policy: { type: 'string' },
        namespace: { type: 'string' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const output = values.output ?? outputs[0]!;
  if (!outputs.includes(output)) throw new UsageError(`--output: ${JSON.stringify(output)} is not an output format; use ${outputs.join(', ')}`);
  const namespace = values.namespace;
  if (namespace !== undefined && !isDnsLabel(namespace)) {
    throw new UsageError(`--namespace: ${JSON.stringify(namespace)} is not a namespace name (lowercase letters, digits and '-', at most 63)`);
  }
  if (values.policy === '') throw new UsageError('--policy: the file name is empty');
  const paths = [...(values.filename ?? []), ...positionals];
  if (paths.some((p) => p === '')) throw new UsageError('an empty file name was given');
  return { paths, output, ...(values.policy !== undefined && { policy: values.policy }), ...(namespace !== undefined && { namespace }) };
}

/** Input the command cannot use: unreadable, unparseable, or a bad policy. Exit status 2, message on stderr. */
export class InputProblem extends Error {}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function engineDeps(policyPath: string | undefined): Promise<AdmissionDeps> {
  let policy;
  try {
    policy = policyPath === undefined ? mustCompile(BUILTIN_POLICY) : await loadPolicyFile(policyPath);
  } catch (error) {
    throw new InputProblem((error as Error).message);
  }
  // Offline there is no cluster to ask about native sidecars or namespace annotations: the
  // policy decides the former (as it does for a webhook without cluster facts), and none are known.
  return { ctx: { policy, cluster: {}, version: VERSION }, namespaceAnnotations: () => undefined };
}

export interface Evaluated {
  deps: AdmissionDeps;
  sources: EvaluatedSource[];
  /** Every object in input order, each with its source's name. */
  objects: PreviewObject[];
}

/** Reads, parses and previews every input; throws InputProblem before anything is written. */
export async function evaluateInputs(flags: ManifestFlags): Promise<Evaluated> {
  const paths = flags.paths.length > 0 ? flags.paths : ['-'];
  if (flags.paths.length === 0 && process.stdin.isTTY) {
    throw new UsageError('no input: give -f FILE, -f DIRECTORY or -f -, or pipe manifests into standard input');
  }
  const deps = await engineDeps(flags.policy);
  let inputs;
  try {
    inputs = await readInputs(paths, readStdin);
  } catch (error) {
    if (error instanceof SourceError) throw new InputProblem(error.message);
    throw error;
  }
  const sources: EvaluatedSource[] = [];
  for (const input of inputs) {
    let parsed;
    try {
      parsed = parseSource(input.name, input.text, input.format);
    } catch (error) {
      if (error instanceof InputError) throw new InputProblem(error.message);
      throw error;
    }
    const documents = evaluateSource(parsed, deps, flags.namespace === undefined ? {} : { namespace: flags.namespace });
    for (const o of documents.flatMap((d) => d.objects)) o.source = parsed.name;
    sources.push({ source: parsed, documents });
  }
  return { deps, sources, objects: sources.flatMap((s) => s.documents.flatMap((d) => d.objects)) };
}

/** Writes all of `text`; a reader that went away (`inject … | head`) is not an error. */
export function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  if (text === '') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error | null): void => {
      stream.off('error', done);
      if (error && (error as NodeJS.ErrnoException).code !== 'EPIPE') reject(error);
      else resolve();
    };
    stream.once('error', done);
    stream.write(text, done);
  });
}

/** Runs a command body, turning InputProblem into its message and exit status 2. */
export async function withInputProblems(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof InputProblem)) throw error;
    await write(process.stderr, `${error.message}\n`);
    return 2;
  }
}

export const exitStatus = (objects: readonly PreviewObject[]): number => (objects.some((o) => REFUSED.has(o.outcome)) ? 1 : 0);

async function run(args: string[], _env: Env): Promise<number> {
  const flags = manifestFlags(args, ['yaml', 'json', 'patch']);
  return withInputProblems(async () => {
    const { sources, objects } = await evaluateInputs(flags);
    const messages: string[] = [];
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
  summary: 'inject git-sync into manifests offline (files, directories or stdin)',
  usage: USAGE,
  run,
};
