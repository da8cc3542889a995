/**
 * The command table: each subcommand lives in its own file and is listed
 * here once; main dispatches to it and prints the list in its usage.
 */
import type { Env } from '../args.ts';
import { annotate } from './annotate.ts';
import { audit } from './audit.ts';
import { certs } from './certs.ts';
import { completionCommand } from './completion.ts';
import { check } from './check.ts';
import { exportPolicy } from './export-policy.ts';
import { inject } from './inject.ts';
import { policy } from './policy.ts';
import { serve } from './serve.ts';
import { uninject } from './uninject.ts';
import { version } from './version.ts';

export interface Command {
  /** One line for the command list. */
  summary: string;
  /** The command's full help: synopsis, flags, environment variables. */
  usage: string;
  /** Runs the command; resolves with the process exit code. Throws UsageError for a bad invocation. */
  run(args: string[], env: Env): Promise<number>;
}

export const COMMANDS: Readonly<Record<string, Command>> = {
  serve,
  certs,
  inject,
  check,
  annotate,
  uninject,
  audit,
  policy,
  'export-policy': exportPolicy,
  version,
  completion: completionCommand(() => COMMANDS),
};
