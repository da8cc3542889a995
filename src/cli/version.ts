/** `gitsync-injector version`: the version, as `--version` prints it, or as JSON with the Node.js version. */
import { parseFlags, UsageError, type Env } from '../args.ts';
import { VERSION } from '../version.ts';
import type { Command } from './commands.ts';

const USAGE = `Usage: gitsync-injector version [-o text|json]

Prints the injector's version: the one recorded in the status annotation of
every pod it injects (and that \`audit\` compares against). The same as
--version; -o json adds the Node.js version.

Options:
  -o, --output FORMAT  text (default) or json
  -h, --help           show this help
`;

async function run(args: string[], _env: Env): Promise<number> {
  const flags = parseFlags(args, { output: { type: 'string', short: 'o', default: 'text' } });
  if (flags.output === 'json') process.stdout.write(`${JSON.stringify({ version: VERSION, node: process.versions.node })}\n`);
  else if (flags.output === 'text') process.stdout.write(`${VERSION}\n`);
  else throw new UsageError(`--output: ${JSON.stringify(flags.output)} is not an output format; use text or json`);
  return 0;
}

export const version: Command = { summary: 'print the version', usage: USAGE, run };
