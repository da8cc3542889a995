/**
 * What the manifest commands (`inject`, `check`, `annotate`, `uninject`)
 * share: the flags, reading files, directories, URLs and standard input, and
 * the environment the engine runs in: the policy and the namespaces'
 * annotations, offline or read from the cluster (live.ts). Every command then
 * chooses what to do with the objects and how to print the result.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import type { AdmissionDeps } from '../admission/index.ts';
import { isDnsLabel } from '../engine/index.ts';
import { evaluateSource, InputError, parseSource, readInputs, REFUSED, SourceError, type EvaluatedSource, type ParsedSource, type PreviewObject } from '../preview/index.ts';
import { UsageError, usageError, type Env } from '../args.ts';
import { InputProblem, readStdin, write } from './io.ts';
import { liveEnvironment, LIVE_FLAGS, LIVE_OPTIONS_USAGE, liveFlags, offlineEnvironment, type Environment, type LiveFlags } from './live.ts';

export { environmentJson, environmentLines, type Environment } from './live.ts';

export { InputProblem, write } from './io.ts';

/** The options the manifest commands share, around the command's own -o line and options. */
export const inputOptions = (output: string, own = ''): string => `  -f, --filename PATH    a manifest file, a directory (read recursively: *.yaml,
                         *.yml and *.json, sorted by path), an http(s):// URL,
                         or - for standard input; repeatable; also as
                         arguments (default: -)
${output}
${own}      --policy FILE      policy YAML file, or - for standard input (default:
                         with a cluster, the policy ConfigMap; else the
                         built-in policy)
  -n, --namespace NAME   namespace of objects that do not name one (default:
                         the kubeconfig context's, else default)
${LIVE_OPTIONS_USAGE}
  -h, --help             show this help`;

export interface ManifestFlags extends LiveFlags {
  paths: string[];
  output: string;
  policy?: string;
  namespace?: string;
  /** The command's own options, as parseArgs read them. */
  own: Record<string, string | boolean | string[] | undefined>;
}

/** The flags the manifest commands share, the command's own, and -o with the formats it offers (the first is the default). */
export function manifestFlags(args: string[], outputs: readonly string[], own: ParseArgsOptionsConfig = {}): ManifestFlags {
  const options: ParseArgsOptionsConfig = {
    filename: { type: 'string', short: 'f', multiple: true },
    output: { type: 'string', short: 'o' },
    policy: { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    ...LIVE_FLAGS,
    ...own,
  };
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw usageError(error, options);
  }
  const { values, positionals } = parsed;
  const output = (values.output as string | undefined) ?? outputs[0]!;
  if (!outputs.includes(output)) throw new UsageError(`--output: ${JSON.stringify(output)} is not an output format; use ${outputs.join(', ')}`);
  const namespace = values.namespace as string | undefined;
  if (namespace !== undefined && !isDnsLabel(namespace)) {
    throw new UsageError(`--namespace: ${JSON.stringify(namespace)} is not a namespace name (lowercase letters, digits and '-', at most 63)`);
  }
  const policy = values.policy as string | undefined;
  if (policy === '') throw new UsageError('--policy: the file name is empty');
  const paths = [...((values.filename as string[] | undefined) ?? []), ...positionals];
  if (paths.some((p) => p === '')) throw new UsageError('an empty file name was given');
  if (policy === '-' && (paths.includes('-') || paths.length === 0)) {
    throw new UsageError('--policy - and the manifests both read standard input; give the manifests with -f FILE');
  }
  return {
    paths,
    output,
    ...(policy !== undefined && { policy }),
    ...(namespace !== undefined && { namespace }),
    ...liveFlags(values),
    own: values as ManifestFlags['own'],
  };
}

/** Reads and parses every input; throws InputProblem before anything is written. */
export async function readSources(flags: ManifestFlags): Promise<ParsedSource[]> {
  const paths = flags.paths.length > 0 ? flags.paths : ['-'];
  if (flags.paths.length === 0 && process.stdin.isTTY) {
    throw new UsageError('no input: give -f FILE, -f DIRECTORY, -f URL or -f -, or pipe manifests into standard input');
  }
  let inputs;
  try {
    inputs = await readInputs(paths, readStdin);
  } catch (error) {
    if (error instanceof SourceError) throw new InputProblem(error.message);
    throw error;
  }
  return inputs.map((input) => {
    try {
      return parseSource(input.name, input.text, input.format);
    } catch (error) {
      if (error instanceof InputError) throw new InputProblem(error.message);
      throw error;
    }
  });
}

/** The policy and namespace annotations: from the cluster when one is named, else offline. */
export async function environmentFor(flags: ManifestFlags, env: Env, sources: readonly ParsedSource[]): Promise<Environment> {
  return flags.live(env) ? liveEnvironment(flags, env, sources) : offlineEnvironment(flags);
}

/** `--webhook-free`, for the commands that preview (inject, check). */
export const WEBHOOK_FREE_FLAG = { 'webhook-free': { type: 'boolean' } } as const;
export const WEBHOOK_FREE_USAGE = `      --webhook-free     what the exported admission policies would do instead of
                         the webhook (docs/webhook-free.md); results are labelled
                         [webhook-free]`;

export interface Evaluated {
  deps: AdmissionDeps;
  environment: Environment;
  sources: EvaluatedSource[];
  /** Every object in input order, each with its source's name. */
  objects: PreviewObject[];
}

/** Reads, parses and previews every input; throws InputProblem before anything is written. */
export async function evaluateInputs(flags: ManifestFlags, env: Env): Promise<Evaluated> {
  const parsed = await readSources(flags);
  const environment = await environmentFor(flags, env, parsed);
  const { deps } = environment;
  const sources: EvaluatedSource[] = parsed.map((source) => {
    const options = { ...(environment.namespace !== undefined && { namespace: environment.namespace }), ...(flags.own['webhook-free'] === true && { webhookFree: true }) };
    const documents = evaluateSource(source, deps, options);
    for (const o of documents.flatMap((d) => d.objects)) o.source = source.name;
    return { source, documents };
  });
  return { deps, environment, sources, objects: sources.flatMap((s) => s.documents.flatMap((d) => d.objects)) };
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
