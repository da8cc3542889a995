/**
 * What `inject` and `check` share: the manifest flags, reading files,
 * directories and standard input, the policy, and running every object
 * through the engine before anything is written. Both commands are then a
 * few lines each that choose how to print the result.
 */
import { parseArgs } from 'node:util';
import type { AdmissionDeps } from '../admission/index.ts';
import { isDnsLabel } from '../engine/index.ts';
import { loadPolicy } from '../policy/index.ts';
import { evaluateSource, InputError, parseSource, readInputs, REFUSED, SourceError, type EvaluatedSource, type PreviewObject } from '../preview/index.ts';
import { VERSION } from '../version.ts';
import { UsageError } from '../args.ts';

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
    policy = (await loadPolicy(policyPath)).compiled;
  } catch (error) {
    throw new InputProblem((error as Error).message);
  }
  // Offline there is no cluster to ask about native sidecars or namespace annotations: the
  // policy decides the former (as it does for a webhook without cluster facts), and none are known.
  return { ctx: { policy: policy.engine, cluster: {}, version: VERSION }, namespaceAnnotations: () => undefined };
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
