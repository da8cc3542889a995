/**
 * A TLS client that sends bytes exactly as given, for what a well-behaved
 * HTTP client refuses to send: wrong Content-Length headers, broken chunked
 * encoding, bodies that stop half way, garbage instead of a request line.
 * Every exchange is bounded: it ends when the server closes the connection,
 * or after `waitMs`, whichever comes first.
 */
import { connect, type TLSSocket } from 'node:tls';

export interface Target {
  port: number;
  /** PEM of the CA the server's certificate chains to. */
  ca: string;
}

export interface RawOptions {
  /** Half-close after writing (the client says it will send nothing more). */
  end?: boolean;
  /** How long to wait for the server to answer or close; default 3 s. */
  waitMs?: number;
  /** Pause between the chunks written, to look like a slow client. */
  gapMs?: number;
  /**
   * Read nothing until every chunk is written and flushed, as clients that
   * send the whole request before reading the answer do (Python's http.client).
   */
  readAfterWrite?: boolean;
}

export interface RawExchange {
  /** Every HTTP status the server answered with, in order. */
  statuses: number[];
  /** Everything the server sent, as latin1 text. */
  text: string;
  /** Whether the server closed the connection before `waitMs`. */
  closedByServer: boolean;
}

export function openTls(target: Target): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: target.port, servername: 'localhost', ca: target.ca }, () => resolve(socket));
    socket.once('error', reject);
  });
}

const statusesIn = (text: string): number[] => [...text.matchAll(/(?:^|\r\n)HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes `chunks` on a fresh TLS connection and collects what comes back. */
export async function rawExchange(target: Target, chunks: readonly (string | Buffer)[], options: RawOptions = {}): Promise<RawExchange> {
  const socket = await openTls(target);
  let text = '';
  let closedByServer = false;
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  // A reset after the server answered and closed is how some closes look from here; the answer is what counts.
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  if (options.readAfterWrite) socket.pause();
  for (const [i, chunk] of chunks.entries()) {
    if (socket.destroyed) break;
    if (i > 0 && options.gapMs) await delay(options.gapMs);
    const written = new Promise<void>((resolve) => socket.write(chunk, () => resolve()));
    if (options.readAfterWrite) await Promise.race([written, closed]);
  }
  if (options.readAfterWrite) socket.resume();
  if (options.end && !socket.destroyed) socket.end();
  const waited = await Promise.race([closed.then(() => 'closed' as const), delay(options.waitMs ?? 3000).then(() => 'timeout' as const)]);
  closedByServer = waited === 'closed';
  socket.destroy();
  await closed;
  return { statuses: statusesIn(text), text, closedByServer };
}

/** The `{error: {code, reason}}` of every JSON error body in an exchange, in order. */
export function errorsIn(text: string): { code: number; reason: string }[] {
  return [...text.matchAll(/\{"error":\{"code":(\d{3}),"reason":"([^"]*)"/g)].map((m) => ({ code: Number(m[1]), reason: m[2]! }));
}

/** The head of a POST /mutate, with whatever framing headers the case needs. */
export function requestHead(headers: Record<string, string | number>): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `POST /mutate HTTP/1.1\r\nHost: localhost\r\n${lines.join('\r\n')}${lines.length ? '\r\n' : ''}\r\n`;
}
