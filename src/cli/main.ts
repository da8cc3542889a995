#!/usr/bin/env node
/**
 * The `gitsync-injector` command: dispatches to a subcommand from the
 * command table. Exit codes: 0 success, 1 failure, 2 bad invocation (one
 * line saying what is wrong, and where to find the help).
 */
import { VERSION } from '../version.ts';
import { UsageError } from '../args.ts';
import { closest } from '../engine/index.ts';
import { COMMANDS, type Command } from './commands.ts';

const NAME = 'gitsync-injector';

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const list = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: ${NAME} <command> [options]

Gives any Kubernetes pod its files from git: a mutating admission webhook
that injects git-sync into pods that ask for it with annotations.

Commands:
${list.join('\n')}

Options:
  -h, --help     show this help
  -v, --version  print the version

Run '${NAME} <command> --help' for a command's options.
`;
}

const commandFor = (name: string): Command | undefined => (Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined);

/** Whether args ask for help, looking only before a `--` that ends the options. */
function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(usage());
    return 2;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = commandFor(first);
  if (!command) {
    const suggestion = first.startsWith('-') ? undefined : closest(first, Object.keys(COMMANDS));
    const what = first.startsWith('-') ? `unknown option ${first}` : `unknown command ${JSON.stringify(first)}${suggestion ? `; did you mean ${suggestion}?` : ''}`;
    process.stderr.write(`${NAME}: ${what}\nRun '${NAME} --help' for the commands.\n`);
    return 2;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, process.env);
  } catch (error) {
    if (error instanceof UsageError) {
      // One line and where to look, not the whole help: the mistake stays on screen.
      process.stderr.write(`${NAME} ${first}: ${error.message}\nRun '${NAME} ${first} --help' for its options.\n`);
      return 2;
    }
    process.stderr.write(`${NAME} ${first}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
