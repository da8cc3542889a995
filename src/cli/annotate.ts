/**
 * `gitsync-injector annotate`: writes the opt-in annotations onto the pod
 * template of every pod and workload in the manifests (a CronJob's job
 * template's pod template), where the webhook reads them, so that the most
 * common mistake, annotations on the Deployment's own metadata, cannot
 * happen. linkerd's default mode: annotate in git, let the webhook inject.
 *
 * There is one flag per annotation of the table (src/engine/annotations.ts):
 * a new annotation is a new flag with no change here. Before anything is
 * written, every annotated object goes through the engine with the policy
 * (and, with a cluster, the namespace's defaults) the webhook will use; an
 * object it would deny stops the command, and nothing is written.
 *
 * `--repository NAME` points the flags of one run at a named repository
 * (`gitsync.dev/NAME.KEY`, docs/several-repositories.md) rather than the main
 * one. One name per run, qualifying every flag given, so that what a flag sets
 * never depends on where it sits on the line; more repositories are more runs
 * piped together. The pod-wide keys (scope `pod` in the table) have no
 * per-repository form and are refused with it.
 */
import type { ParseArgsOptionsConfig } from 'node:util';
import { ANNOTATION_KEYS, ANNOTATIONS, formatProblem, isObject, isRepositoryKey, repositoryNameProblem, type AnnotationKey } from '../engine/index.ts';
import { annotateWorkload, injectWorkload, uninjectWorkload } from '../workloads/index.ts';
import { UsageError, type Env } from '../args.ts';
import type { Command } from './commands.ts';
import { editSources, renderEdits, type ObjectChange } from './edit-documents.ts';
import { environmentFor, environmentLines, inputOptions, manifestFlags, readSources, withInputProblems, write } from './manifests.ts';

/** One string flag per annotation, named as the annotation without its prefix. */
export const ANNOTATION_FLAGS: ParseArgsOptionsConfig = Object.fromEntries(ANNOTATION_KEYS.map((k) => [k, { type: 'string' }]));

/** The keys one value of which is the whole pod's: never qualified by --repository. */
const POD_WIDE = ANNOTATION_KEYS.filter((k) => !isRepositoryKey(k));

/** `--inject, --mode and --preset`. */
const flagList = (keys: readonly string[]): string => keys.map((k) => `--${k}`).join(', ').replace(/, ([^,]*)$/, ' and $1');

const firstSentence = (text: string): string => /^.*?[.!?](?=\s|$)/.exec(text)?.[0] ?? text;

/** Words wrapped to `width` columns, continuation lines indented by `indent`. */
function wrap(text: string, indent: number, width = 79): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** The help lines of the annotation flags, from the table. */
function annotationOptions(): string {
  const width = Math.max(...ANNOTATION_KEYS.map((k) => k.length)) + 10;
  return ANNOTATION_KEYS.map((k) => {
    const def = ANNOTATIONS[k];
    return `      ${`--${k} VALUE`.padEnd(width)} ${wrap(`${def.type}: ${firstSentence(def.help).replaceAll('`', '')}`, 7 + width)}`;
  }).join('\n');
}

const USAGE = `Usage: gitsync-injector annotate [-f PATH]... --ANNOTATION VALUE... [options]

Writes gitsync.dev/* annotations onto the pod template of every pod and
workload in Kubernetes manifests (Pod, Deployment, StatefulSet, DaemonSet,
ReplicaSet, ReplicationController, Job, CronJob), where the webhook reads
them; never onto the workload's own metadata, which its pods do not get.
Comments and layout are kept, as inject keeps them; other objects come out
unchanged. Every annotated object is first checked with the engine and the
policy the webhook uses: if the webhook would deny any, nothing is written.

Annotations (one flag per annotation; see docs/annotations.md):
${annotationOptions()}

Several repositories (docs/several-repositories.md):
      --repository NAME  ${wrap(`the annotation flags of this run set the keys of the repository NAME (gitsync.dev/NAME.KEY), not the main repository's; ${flagList(POD_WIDE)} are one value for the whole pod and cannot be given with it. One repository per run: pipe one annotate into the next for more.`, 25)}

Options:
${inputOptions(
  `  -o, --output FORMAT    yaml (default), json, or patch (the JSON Patch of each
                         annotated object)`,
  `      --overwrite        replace an annotation already set to another value
                         (without it, that is an error and nothing is written)
`,
)}

Exit status:
  0  annotated (objects already carrying the values come out unchanged)
  1  the webhook would deny an annotated object, or an annotation is already
     set to another value without --overwrite; nothing is written
  2  usage error, or input that cannot be read or parsed

Examples:
  gitsync-injector annotate -f deployment.yaml --repo https://github.com/acme/dags.git --ref main > annotated.yaml
  gitsync-injector annotate -f scheduler.yaml --preset airflow --repo git@github.com:acme/dags.git --secret airflow-ssh
  gitsync-injector annotate -f scheduler.yaml --repository plugins --repo git@github.com:acme/plugins.git --secret plugins-ssh
`;

/** The repository --repository names, checked; undefined for the main one. */
function repositoryOf(flags: Record<string, unknown>, given: readonly AnnotationKey[]): string | undefined {
  const names = flags.repository as string[] | undefined;
  if (names === undefined) return undefined;
  if (names.length > 1) throw new UsageError(`--repository is given ${names.length} times; name one repository per run and pipe one annotate into the next for more`);
  const name = names[0]!;
  const problem = repositoryNameProblem(name);
  if (problem) throw new UsageError(`--repository: ${problem}`);
  const podWide = given.filter((k) => !isRepositoryKey(k));
  if (podWide.length > 0) {
    throw new UsageError(`${flagList(podWide)} ${podWide.length === 1 ? 'is one value' : 'are values'} for the whole pod, not for repository ${name}; give ${podWide.length === 1 ? 'it' : 'them'} in a run without --repository`);
  }
  return name;
}

async function run(args: string[], env: Env): Promise<number> {
  const flags = manifestFlags(args, ['yaml', 'json', 'patch'], { ...ANNOTATION_FLAGS, overwrite: { type: 'boolean' }, repository: { type: 'string', multiple: true } });
  const given = ANNOTATION_KEYS.filter((k) => typeof flags.own[k] === 'string') as AnnotationKey[];
  if (given.length === 0) throw new UsageError('no annotation given: give at least one, such as --repo URL');
  const repository = repositoryOf(flags.own, given);
  const key = (k: AnnotationKey): string => (repository === undefined ? k : `${repository}.${k}`);
  return withInputProblems(async () => {
    const sources = await readSources(flags);
    const environment = await environmentFor(flags, env, sources);
    const { ctx } = environment.deps;
    const prefix = ctx.policy.prefix;
    const annotations = Object.fromEntries(given.map((k) => [`${prefix}${key(k)}`, flags.own[k] as string]));
    const fallback = environment.namespace ?? 'default';
    const result = editSources(sources, (object): ObjectChange | undefined => {
      const r = annotateWorkload(object, annotations, { overwrite: flags.own.overwrite === true, prefix });
      if (r.workload === undefined) return undefined;
      const messages: string[] = [];
      for (const c of r.conflicts) messages.push(`error: ${c.key} is already ${JSON.stringify(c.current)}, not ${JSON.stringify(c.wanted)}; give --overwrite to replace it`);
      const meta = isObject(object) && isObject(object.metadata) ? object.metadata : {};
      const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : fallback;
      const request = { namespace, namespaceAnnotations: environment.deps.namespaceAnnotations(namespace) };
      // An injected template is judged as it will be once injected again: without the earlier injection.
      const undone = r.injected ? uninjectWorkload({ object: r.object, ...request }, prefix, ctx) : undefined;
      const judged = injectWorkload({ object: undone?.workload ? undone.object : r.object, ...request }, ctx);
      let failed = r.conflicts.length > 0;
      if (judged.workload !== undefined) {
        if (judged.errors.length > 0) {
          failed = true;
          messages.push(`the webhook would ${judged.outcome === 'denied' ? 'deny' : 'not inject'} it, ${judged.errors.length} error${judged.errors.length === 1 ? '' : 's'}:`);
          messages.push(...judged.errors.map((e) => `  ${formatProblem(e)}`));
        }
        messages.push(...judged.warnings.map((w) => `warning: ${formatProblem(w)}`));
        if (judged.outcome === 'skipped' && judged.errors.length === 0) messages.push(`note: the webhook will not inject it (${judged.skip?.reason}): ${judged.skip?.message}`);
      }
      if (r.injected) messages.push('note: it is already injected; the new values apply once it is injected again (uninject, then inject)');
      return { object: r.object, remove: [], replace: r.replace, add: r.add, messages, failed };
    });
    const used = environmentLines(environment);
    if (result.failed) {
      await write(process.stderr, `${[...used, ...result.messages, 'nothing was written'].join('\n')}\n`);
      return 1;
    }
    const { text, notes } = renderEdits(result, flags.output);
    await write(process.stdout, text);
    const messages = [...used, ...result.messages, ...notes.map((n) => `note: ${n}`)];
    if (messages.length > 0) await write(process.stderr, `${messages.join('\n')}\n`);
    return 0;
  });
}

export const annotate: Command = {
  summary: 'write the opt-in annotations onto the pod templates of manifests',
  usage: USAGE,
  run,
};
