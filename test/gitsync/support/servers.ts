/**
 * Git servers on 127.0.0.1 for git-sync to sync from:
 * - HTTPS: a Node https server with a certificate from a private CA (made
 *   with src/tls, or one the test shares with another server), which checks
 *   HTTP basic auth on paths under /private/ (the password can be rotated
 *   mid-test) and runs `git http-backend` as a CGI program for every request.
 * - SSH: an sshd on a free port with a fresh host key, public-key login only
 *   for the current user (the URL's user), keys from an authorized_keys file.
 * Both serve the bare repositories under one folder, by absolute path for
 * SSH and relative to that folder for HTTPS.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createCA, issueServingCertificate, type KeyPair } from '../../../src/tls/index.ts';
import { canConnect, freePort } from './ports.ts';
import { GIT_HTTP_BACKEND, SSHD, SSH_KEYGEN } from './tools.ts';

const run = promisify(execFile);

export interface HttpsGitServer {
  /** https://127.0.0.1:PORT */
  origin: string;
  /** The private CA's certificate (PEM) and where it is written. */
  caCert: string;
  caFile: string;
  /** Requests seen, for assertions about what git-sync sent; `bytes`: the response body's size, counted as it is sent. */
  requests: { path: string; user?: string; status: number; bytes: number }[];
  /** Changes the password /private/ wants from the next request on (a rotated credential). */
  setPassword(password: string): void;
  close(): Promise<void>;
}

const unauthorized = (res: ServerResponse): void => {
  res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
  res.end('authentication required\n');
};

/**
 * `git http-backend` behind HTTPS. Paths under /private/ need `credentials`
 * (basic auth); everything else is public. Repositories are looked up under
 * `projectRoot` (GIT_PROJECT_ROOT).
 */
export async function startHttpsGitServer(
  dir: string,
  projectRoot: string,
  credentials: { username: string; password: string },
  /** anyUser: only the password counts, whatever the user (GitHub with an installation token: git-sync sends the user "-"). */
  options: { dnsNames?: string[]; ca?: KeyPair; anyUser?: boolean } = {},
): Promise<HttpsGitServer> {
  const ca = options.ca ?? (await createCA('gitsync-injector git server test CA'));
  const serving = await issueServingCertificate(ca, { dnsNames: ['localhost', ...(options.dnsNames ?? [])], ipAddresses: ['127.0.0.1'] });
  const caFile = join(dir, 'git-server-ca.crt');
  writeFileSync(caFile, ca.cert);
  const requests: HttpsGitServer['requests'] = [];
  let password = credentials.password;
  const authorized = (header: string | undefined): boolean => {
    if (!header?.startsWith('Basic ')) return false;
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return decoded.slice(i + 1) === password && (options.anyUser || decoded.slice(0, i) === credentials.username);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const auth = req.headers.authorization;
    const user = auth?.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')[0] : undefined;
    const entry = { path: url.pathname, ...(user !== undefined && { user }), status: 0, bytes: 0 };
    const record = (status: number): void => {
      entry.status = status;
      requests.push(entry);
    };
    const send = (chunk: Buffer): void => {
      entry.bytes += chunk.length;
      res.write(chunk);
    };
    if (url.pathname.startsWith('/private/') && !authorized(auth)) {
      record(401);
      unauthorized(res);
      return;
    }
    const cgi = spawn(GIT_HTTP_BACKEND!, [], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        HOME: dir,
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-length'] !== undefined && { CONTENT_LENGTH: req.headers['content-length'] }),
        ...(req.headers['content-encoding'] !== undefined && { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }),
        ...(req.headers['git-protocol'] !== undefined && { GIT_PROTOCOL: String(req.headers['git-protocol']) }),
        REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
        ...(user !== undefined && { REMOTE_USER: user }),
        SERVER_PROTOCOL: 'HTTP/1.1',
        GATEWAY_INTERFACE: 'CGI/1.1',
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    req.pipe(cgi.stdin!);
    cgi.stdin!.on('error', () => {});
    // CGI output: headers, a blank line, the body.
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout!.on('data', (chunk: Buffer) => {
      if (headersDone) {
        send(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf('\r\n\r\n');
      const lf = head.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
      if (end < 0) return;
      const sep = end === crlf ? 4 : 2;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      headersDone = true;
      record(status);
      res.writeHead(status, headers);
      send(head.subarray(end + sep));
    });
    cgi.on('close', () => {
      if (!headersDone) {
        record(502);
        res.writeHead(502).end();
      } else res.end();
    });
  };

  const server: Server = createHttpsServer({ cert: serving.cert, key: serving.key }, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    caCert: ca.cert,
    caFile,
    requests,
    setPassword: (rotated) => {
      password = rotated;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SshKeyPair {
  /** OpenSSH private key (the text a Secret holds). */
  privateKey: string;
  publicKey: string;
}

export async function sshKeyPair(dir: string, name: string): Promise<SshKeyPair> {
  const file = join(dir, name);
  await run(SSH_KEYGEN!, ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return { privateKey: readFileSync(file, 'utf8'), publicKey: readFileSync(`${file}.pub`, 'utf8') };
}

export interface SshGitServer {
  port: number;
  /** The user in the URL: the current user, the only one this sshd lets in. */
  user: string;
  /** `[127.0.0.1]:PORT ssh-ed25519 AAAA…`: the known_hosts line for this server. */
  knownHostsLine: string;
  /** ssh://USER@127.0.0.1:PORT/<absolute path> */
  url(repoPath: string): string;
  output(): string;
  close(): Promise<void>;
}

/** sshd on 127.0.0.1 allowing public-key login by the current user with `authorizedKeys`. */
export async function startSshGitServer(dir: string, authorizedKeys: string[]): Promise<SshGitServer> {
  const sshDir = join(dir, 'sshd');
  mkdirSync(sshDir, { recursive: true });
  const hostKey = join(sshDir, 'host_ed25519');
  await run(SSH_KEYGEN!, ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-host', '-f', hostKey]);
  writeFileSync(join(sshDir, 'authorized_keys'), authorizedKeys.map((k) => k.trim()).join('\n') + '\n', { mode: 0o600 });
  // sshd running as root needs its privilege separation directory.
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const user = userInfo().username;
  const config = join(sshDir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(sshDir, 'authorized_keys')}`,
      `PidFile ${join(sshDir, 'sshd.pid')}`,
      'StrictModes no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${user}`,
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(SSHD!, ['-D', '-e', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sshd did not start on 127.0.0.1:${port}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
  return {
    port,
    user,
    knownHostsLine: `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}`,
    url: (repoPath) => `ssh://${user}@127.0.0.1:${port}${repoPath}`,
    output: () => log,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
