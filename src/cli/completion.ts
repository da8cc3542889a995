/**
 * `gitsync-injector completion bash|zsh|fish`: a shell completion script
 * for the commands and their flags. The flags are read from each command's
 * help, which lists every flag it takes, so the script follows the commands
 * without a second list to keep in step.
 */
import { parseFlags, UsageError, type Env } from '../args.ts';
import type { Command } from './commands.ts';

const NAME = 'gitsync-injector';
const SHELLS = ['bash', 'zsh', 'fish'] as const;

const USAGE = `Usage: ${NAME} completion bash|zsh|fish

Prints a completion script for the shell: the commands, and each command's
flags. Load it in the current shell, or install it for every new one:

  source <(${NAME} completion bash)        # bash; or save it under /etc/bash_completion.d/
  source <(${NAME} completion zsh)         # zsh
  ${NAME} completion fish | source         # fish; or save it as ~/.config/fish/completions/${NAME}.fish
`;

/** Every long and short flag a command's help lists. */
export function flagsOf(usage: string): { long: string[]; short: string[] } {
  // Option lines only: prose and examples name flags of other programs (kubectl's --type).
  const long = new Set([...usage.matchAll(/^ {2,}(?:-[a-zA-Z], )?--([a-z][a-z0-9-]*)/gm)].map((m) => m[1]!));
  const short = new Set([...usage.matchAll(/^ {2}-([a-zA-Z]),/gm)].map((m) => m[1]!));
  return { long: [...long].sort(), short: [...short].sort() };
}

const words = (flags: { long: string[]; short: string[] }): string => [...flags.long.map((f) => `--${f}`), ...flags.short.map((f) => `-${f}`)].join(' ');

function bash(commands: Readonly<Record<string, Command>>): string {
  const cases = Object.entries(commands)
    .map(([name, c]) => `    ${name}) opts="${words(flagsOf(c.usage))}" ;;`)
    .join('\n');
  return `# ${NAME} completion for bash (${NAME} completion bash)
_gitsync_injector() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" opts=""
  if [ "\${COMP_CWORD}" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${Object.keys(commands).join(' ')} --help --version" -- "$cur") )
    return 0
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -F _gitsync_injector ${NAME}
`;
}

function zsh(commands: Readonly<Record<string, Command>>): string {
  // zsh runs bash completion functions through bashcompinit: one script for both shells.
  return `#compdef ${NAME}
# ${NAME} completion for zsh (${NAME} completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(commands).split('\n').slice(1).join('\n')}`;
}

function fish(commands: Readonly<Record<string, Command>>): string {
  const quote = (s: string): string => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  const lines = [`# ${NAME} completion for fish (${NAME} completion fish)`, `complete -c ${NAME} -f`];
  for (const [name, c] of Object.entries(commands)) {
    lines.push(`complete -c ${NAME} -n '__fish_use_subcommand' -a ${name} -d ${quote(c.summary)}`);
    const { long, short } = flagsOf(c.usage);
    for (const f of long) lines.push(`complete -c ${NAME} -n '__fish_seen_subcommand_from ${name}' -l ${f}`);
    for (const f of short) lines.push(`complete -c ${NAME} -n '__fish_seen_subcommand_from ${name}' -s ${f}`);
    lines.push(`complete -c ${NAME} -n '__fish_seen_subcommand_from ${name}' -F`);
  }
  return `${lines.join('\n')}\n`;
}

/** The command, given the table it completes (passed in: the table lists this command too). */
export function completionCommand(commands: () => Readonly<Record<string, Command>>): Command {
  return {
    summary: 'print a shell completion script (bash, zsh or fish)',
    usage: USAGE,
    async run(args: string[], _env: Env): Promise<number> {
      const [shell, ...rest] = args;
      parseFlags(rest, {});
      if (shell === undefined) throw new UsageError(`name a shell: ${SHELLS.join(', ')}`);
      const table = commands();
      const script = shell === 'bash' ? bash(table) : shell === 'zsh' ? zsh(table) : shell === 'fish' ? fish(table) : undefined;
      if (script === undefined) throw new UsageError(`${JSON.stringify(shell)} is not a shell this command knows; use ${SHELLS.join(', ')}`);
      process.stdout.write(script);
      return 0;
    },
  };
}
