/**
 * Structured logs, one JSON object per line on stdout, as log collectors in
 * a cluster expect them. Levels are written as names ("info"), not pino's
 * numbers, so queries and alerts read naturally.
 *
 * Stdout is written asynchronously: a line per admission written
 * synchronously blocked the event loop on every request (a pipe or file
 * write each time); asynchronously, lines logged while a write is under way
 * go out together in the next one. Nothing is lost while stdout is read:
 * `flushLogs` writes what is left at shutdown, and pino flushes
 * synchronously if the process exits some other way (process.exit, a second
 * signal).
 *
 * What waits to be written is bounded (`LOG_BUFFER_BYTES`): a stdout nobody
 * reads (a stuck log collector, a full pipe) would otherwise grow the
 * process by every line logged until the container's memory ran out, and
 * take the admissions with it. Past the bound a line is dropped, counted
 * (`droppedLogLines`, the metric gitsync_injector_log_lines_dropped_total),
 * and said once stdout has caught up, in a warning with the count.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const isLogLevel = (value: string): value is LogLevel => (LOG_LEVELS as readonly string[]).includes(value);

/** Bytes of log lines that may wait for stdout: more than 10,000 admission lines, far more than a reader that keeps up ever leaves. */
export const LOG_BUFFER_BYTES = 8 * 1024 * 1024;

/** Lines dropped because stdout was not read, per logger that writes to stdout. */
const drops = new WeakMap<Logger, { total: number }>();

export interface LoggerOptions {
  /** Where lines go instead of stdout (tests); unbounded, never dropped. */
  destination?: DestinationStream;
  /** The bound on what waits for stdout, in bytes; default LOG_BUFFER_BYTES. */
  bufferBytes?: number;
}

/** The ISO 8601 text of the second last asked for, up to its decimal point ("2026-12-01T20:34:51."), and that second. */
let isoSecond = Number.NaN;
let isoPrefix = '';

/**
 * `new Date(ms).toISOString()` for a whole number of milliseconds (as
 * Date.now() gives), for the timestamps of log lines: the text of the
 * second is kept, and only its milliseconds are written for each line.
 * pino's isoTime builds a Date and its text on every line, which under load
 * cost several microseconds of each admission (its profile).
 */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoPrefix = new Date(second * 1000).toISOString().slice(0, -4);
    isoSecond = second;
  }
  const millis = ms - second * 1000;
  return `${isoPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

export function createLogger(level: LogLevel = 'info', options: LoggerOptions = {}): Logger {
  const settings = {
    level,
    base: { service: 'gitsync-injector' },
    timestamp: () => `,"time":"${isoTime(Date.now())}"`,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (options.destination) return pino(settings, options.destination);
  const stdout = pino.destination({ dest: 1, sync: false, maxLength: options.bufferBytes ?? LOG_BUFFER_BYTES });
  const logger = pino(settings, stdout);
  const tally = { total: 0 };
  drops.set(logger, tally);
  let unreported = 0;
  stdout.on('drop', () => {
    tally.total++;
    unreported++;
  });
  // 'drain': everything waiting has been written, so the warning has room.
  stdout.on('drain', () => {
    if (unreported === 0) return;
    const dropped = unreported;
    unreported = 0;
    logger.warn({ dropped, droppedTotal: tally.total }, 'log lines dropped: stdout was not read fast enough');
  });
  return logger;
}

export type { Logger };

/** Lines the logger dropped so far because stdout was not read (0 for a logger with its own destination). */
export const droppedLogLines = (logger: Logger): number => drops.get(logger)?.total ?? 0;

/** Resolves once every line logged so far is written (to the destination; the OS has it). */
export const flushLogs = (logger: Logger): Promise<void> =>
  new Promise((resolve, reject) => logger.flush((error) => (error ? reject(error) : resolve())));
