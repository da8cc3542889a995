/**
 * `gitsync-injector policy`: validates a policy and prints the effective
 * policy, every field filled in, under its source and version hash. Platform
 * teams run it in CI before applying a change; the printed YAML is itself a
 * valid policy with the same hash, and the hash is the one the webhook will
 * show on GET /policy and record in injected pods.
 */
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { BUILTIN_SOURCE, formatPolicyProblem, loadBuiltinPolicy, loadPolicyText, policyViewYaml, type Policy } from '../policy/index.ts';
import { parseFlags, setting, UsageError, type Env } from '../args.ts';
import type { Command } from './commands.ts';

const USAGE = `Usage: gitsync-injector policy [--policy FILE] [--output yaml|json]

Validates a policy and prints the effective policy: every field, the ones the
file leaves out filled in from the built-in policy, under its source and
version hash. The YAML printed is itself a valid policy file. Without
--policy, prints the built-in policy.

Exit status: 0 valid; 1 invalid or unreadable, with every problem on stderr,
one per line (FILE:LINE:COLUMN: field: message [CODE]); 2 bad invocation.

Options:
  --policy FILE        policy YAML file, or - for stdin (also GITSYNC_INJECTOR_POLICY)
  -o, --output FORMAT  yaml (default) or json
  -h, --help           show this help
`;

const OUTPUTS = ['yaml', 'json'] as const;

async function run(args: string[], env: Env): Promise<number> {
  const flags = parseFlags(args, {
    policy: { type: 'string' },
    output: { type: 'string', short: 'o', default: 'yaml' },
  });
  const output = flags.output;
  if (!(OUTPUTS as readonly string[]).includes(output)) {
    throw new UsageError(`--output: ${JSON.stringify(output)} is not an output format; use one of ${OUTPUTS.join(', ')}`);
  }
  const path = setting('policy', flags.policy, 'GITSYNC_INJECTOR_POLICY', env, '');
  if (path.explicit && path.value === '') throw new UsageError(`${path.source}: the file name is empty`);

  let view: { source: string; hash: string; policy: Policy };
  if (!path.explicit) {
    const { compiled } = loadBuiltinPolicy();
    view = { source: BUILTIN_SOURCE, hash: compiled.engine.hash, policy: compiled.document };
  } else {
    const source = path.value === '-' ? 'stdin' : path.value;
    let content: string;
    try {
      content = path.value === '-' ? await text(process.stdin) : await readFile(path.value, 'utf8');
    } catch (error) {
      process.stderr.write(`gitsync-injector policy: cannot read ${source}: ${(error as Error).message}\n`);
      return 1;
    }
    const loaded = loadPolicyText(content, source);
    if (!loaded.compiled) {
      const count = loaded.problems.length === 1 ? '1 problem' : `${loaded.problems.length} problems`;
      process.stderr.write(`gitsync-injector policy: invalid policy in ${source} (${count}):\n`);
      for (const problem of loaded.problems) process.stderr.write(`${formatPolicyProblem(problem, source)}\n`);
      return 1;
    }
    view = { source, hash: loaded.compiled.engine.hash, policy: loaded.compiled.document };
  }
  process.stdout.write(output === 'json' ? `${JSON.stringify(view, null, 2)}\n` : policyViewYaml(view));
  return 0;
}

export const policy: Command = {
  summary: 'validate a policy and print the effective policy with its hash',
  usage: USAGE,
  run,
};
