/**
 * Structured logs, one JSON object per line on stdout, as log collectors in
 * a cluster expect them. Levels are written as names ("info"), not pino's
 * numbers, so queries and alerts read naturally.
 *
 * Stdout is written asynchronously: a line per admission written
 * synchronously blocked the event loop on every request (a pipe or file
 * write each time); asynchronously, lines logged while a write is under way
 * go out together in the next one. Nothing is lost: `flushLogs` writes what
 * is left at shutdown, and pino flushes synchronously if the process exits
 * some other way (process.exit, a second signal).
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const isLogLevel = (value: string): value is LogLevel => (LOG_LEVELS as readonly string[]).includes(value);

export function createLogger(level: LogLevel = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'gitsync-injector' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}

export type { Logger };

/** Resolves once every line logged so far is written (to the destination; the OS has it). */
export const flushLogs = (logger: Logger): Promise<void> =>
  new Promise((resolve, reject) => logger.flush((error) => (error ? reject(error) : resolve())));
