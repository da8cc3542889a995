/**
 * A body over the limit is answered with 413 for every client, including
 * those that write the whole body before reading anything (Python's
 * http.client, many HTTP libraries): the server reads and discards a
 * bounded amount before it closes, so their kernel does not see a reset.
 */
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BODY_LIMIT } from '../../src/server/errors.ts';
import { errorsIn, rawExchange } from '../support/raw-client.ts';
import { startServers, type TestServers } from '../support/server.ts';

/** 4 MiB: over the 3 MiB limit, as the clients sent it. */
const BODY = Buffer.alloc(4 * 1024 * 1024, 'a');

let servers: TestServers;
beforeAll(async () => {
  servers = await startServers();
});
afterAll(async () => {
  await servers.close();
});

const head = (path: string, length: number): string =>
  `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

const hasPython = spawnSync('python3', ['-c', 'import ssl, http.client'], { stdio: 'ignore' }).status === 0;

/** Python's http.client: request() sends the whole body, then getresponse() reads. Prints the status, or the error. */
const PYTHON_CLIENT = `
import http.client, ssl, sys
ctx = ssl.create_default_context(cadata=sys.argv[3])
conn = http.client.HTTPSConnection("localhost", int(sys.argv[1]), context=ctx, timeout=20)
try:
    conn.request("POST", sys.argv[2], body=b"a" * (4 * 1024 * 1024), headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    print(r.status, r.read().decode())
except Exception as e:
    print("error", type(e).__name__, e)
`;

describe.each(['/mutate', '/preview'])('a body over the limit on %s', (path) => {
  test('a client that writes the whole body before reading gets the 413', async () => {
    expect(BODY.length).toBeGreaterThan(BODY_LIMIT);
    const exchange = await rawExchange(servers, [head(path, BODY.length), BODY], { waitMs: 15_000, readAfterWrite: true });
    expect(exchange.statuses).toEqual([413]);
    expect(errorsIn(exchange.text)).toEqual([{ code: 413, reason: 'BODY_TOO_LARGE' }]);
    expect(exchange.closedByServer).toBe(true);
  });

  test.runIf(hasPython)("Python's http.client gets the 413", async () => {
    // Not spawnSync: the server runs on this process's event loop.
    const child = spawn('python3', ['-c', PYTHON_CLIENT, String(servers.port), path, servers.ca], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    await new Promise((resolve) => child.on('close', resolve));
    expect(stdout).toMatch(/^413 \{"error":\{"code":413,"reason":"BODY_TOO_LARGE"/);
  });
});

test('a body far over what is drained is still answered at once and the connection closed', async () => {
  // Content-Length says 1 GiB: nothing is waited for; the client gets the 413 while it is still sending.
  const exchange = await rawExchange(servers, [head('/mutate', 1024 ** 3)], { waitMs: 5_000 });
  expect(exchange.statuses).toEqual([413]);
  expect(exchange.closedByServer).toBe(true);
});
