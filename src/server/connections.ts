/**
 * A cap on open connections, for the listeners every pod can reach. Past it
 * Node closes a new connection as it arrives: a client that opens thousands
 * (each a socket, and for TLS about 50 KB) is refused instead of taking the
 * process past its memory limit, and the connections already open, the API
 * servers' among them, go on being served.
 */
import type { Logger } from 'pino';

/** Connections refused at the cap are logged at most this often, with how many there were. */
const DROP_LOG_INTERVAL_MS = 60_000;

/** Closes connections past `max` as they arrive, and says so in the log (once a minute at most, with the count). */
export function capConnections(server: { maxConnections: number; on(event: 'drop', listener: () => void): unknown }, max: number, logger: Logger): void {
  server.maxConnections = max;
  let dropped = 0;
  let lastLine = -Infinity;
  server.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - lastLine < DROP_LOG_INTERVAL_MS) return;
    logger.warn({ dropped, maxConnections: max }, 'connections refused: the server has as many open as it takes');
    lastLine = now;
    dropped = 0;
  });
}
