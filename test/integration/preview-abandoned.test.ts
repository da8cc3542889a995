/**
 * A preview whose client hangs up stops costing anything (issue 15, item
 * 9): its job leaves the worker's queue, or ends the worker if it is
 * running, instead of parsing on for seconds (once for 24 s) while the
 * next preview waits behind it.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { openTls } from '../support/raw-client.ts';
import { send, startServers, type TestServers } from '../support/server.ts';

let servers: TestServers;
beforeAll(async () => {
  servers = await startServers();
});
afterAll(async () => {
  await servers.close();
});

/** A ConfigMap of 30,000 keys (1.3 MB): seconds of YAML parsing in the worker. */
const costly = (): string => `kind: ConfigMap\ndata:\n${Array.from({ length: 30_000 }, (_, i) => `  k${i}: "value number ${i} with some text"`).join('\n')}\n`;

const messages = (): string[] => servers.lines.map((l) => String(l.msg));

describe('a client that hangs up during its preview', () => {
  test('its work is stopped, and the next preview does not wait for it', async () => {
    const body = costly();
    const socket = await openTls({ port: servers.previewPort, ca: servers.ca });
    socket.on('error', () => {});
    socket.write(`POST /preview HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/yaml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    await new Promise<void>((resolve) => socket.write(body, () => resolve()));
    // Time for the server to take the whole body in and hand it to the worker, whose parse takes seconds.
    await new Promise((resolve) => setTimeout(resolve, 500));
    socket.destroy();

    await vi.waitFor(() => expect(messages()).toContain('preview abandoned: the client closed the connection, and its work was stopped'), { timeout: 15_000, interval: 20 });
    const next = await send({ port: servers.previewPort, ca: servers.ca, path: '/preview', method: 'POST', headers: { 'content-type': 'application/yaml' }, body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' });
    expect(next.status, next.text).toBe(200);
    // The small preview was answered after the costly one was given up, never after its parse.
    const log = messages().filter((m) => m.startsWith('preview'));
    expect(log).toEqual(['preview abandoned: the client closed the connection, and its work was stopped', 'preview']);
  }, 60_000);
});
