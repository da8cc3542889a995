/**
 * Flag parsing shared by the commands and by the application's serve
 * configuration: node:util parseArgs, every flag also settable from an
 * environment variable (how a Deployment configures the server), and a
 * UsageError that main turns into a message and exit code 2. A module of its
 * own, not part of cli/, because app/ parses serve's flags with it and must
 * not depend on the command line that depends on app/.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** A mistake in how the command was called: reported with the usage, exit code 2. */
export class UsageError extends Error {}

export type Env = Readonly<Record<string, string | undefined>>;

/** Parses `args` strictly (unknown flags and stray arguments are errors). */
export function parseFlags<T extends ParseArgsOptionsConfig>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
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
