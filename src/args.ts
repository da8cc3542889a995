/**
 * Flag parsing shared by the commands and by the application's serve
 * configuration: node:util parseArgs, every flag also settable from an
 * environment variable (how a Deployment configures the server), and a
 * UsageError that main turns into a message and exit code 2. A module of its
 * own, not part of cli/, because app/ parses serve's flags with it and must
 * not depend on the command line that depends on app/.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { closest } from './engine/index.ts';

/** A mistake in how the command was called: reported with the usage, exit code 2. */
export class UsageError extends Error {}

export type Env = Readonly<Record<string, string | undefined>>;

/** Parses `args` strictly (unknown flags and stray arguments are errors). */
export function parseFlags<T extends ParseArgsOptionsConfig>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw usageError(error, options);
  }
}

/**
 * node:util parseArgs's error in one short line: `unknown option --polcy
 * (did you mean --policy?)` rather than its advice about `--`.
 */
export function usageError(error: unknown, options: ParseArgsOptionsConfig): UsageError {
  const message = (error as Error).message;
  const code = (error as { code?: string }).code;
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) {
    const given = unknown[1]!.replace(/^-+/, '').split('=')[0]!;
    const near = given.length > 1 ? closest(given, Object.keys(options)) : undefined;
    return new UsageError(`unknown option ${unknown[1]}${near ? ` (did you mean --${near}?)` : ''}`);
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const stray = /'([^']*)'/.exec(message)?.[1];
    return new UsageError(stray === undefined ? 'unexpected argument' : `unexpected argument ${JSON.stringify(stray)}`);
  }
  return new UsageError(message.replace(/\.$/, ''));
}

/** Where a setting came from, for messages that point at the right place to fix it. */
export interface Sourced<T> {
  value: T;
  source: string;
  /** Whether the value was given (flag or environment) rather than defaulted. */
  explicit: boolean;
}

/** A flag's value, else the environment variable's (when set and non-empty), else the default. */
export function setting(flag: string, flagValue: string | undefined, envName: string, env: Env, fallback: string): Sourced<string> {
  if (flagValue !== undefined) return { value: flagValue, source: `--${flag}`, explicit: true };
  const fromEnv = env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: envName, explicit: true };
  return { value: fallback, source: `--${flag} (default)`, explicit: false };
}

/** A TCP port; 0 asks the system for a free one. */
export function parsePort(s: Sourced<string>): number {
  const text = s.value.trim();
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`${s.source}: ${JSON.stringify(s.value)} is not a port number (0-65535)`);
  }
  return port;
}
