/**
 * The one endpoint of the GitHub REST API that GitHub App authentication
 * needs, on 127.0.0.1 over HTTPS (a certificate from the test's private CA):
 * POST {base}/app/installations/{id}/access_tokens. As GitHub does, it wants
 * `Authorization: Bearer <JWT>`, a JWT signed RS256 by the App's private key
 * whose `iss` is the App's id or its client id, issued in the past and not
 * yet expired (GitHub allows at most 10 minutes); then it answers 201 with an
 * installation token for a known installation, 404 for another, and 401 for
 * a JWT it cannot verify. The signature is checked with node:crypto against
 * the App's public key; nothing is trusted from the JWT's own header except
 * the algorithm, which must be RS256.
 *
 * Every request is recorded with what was decided and why, so a test can
 * assert that git-sync sent a JWT and which claims it carried.
 */
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { issueServingCertificate, type KeyPair } from '../../../src/tls/index.ts';

export interface GitHubApp {
  appId: string;
  clientId: string;
  installationId: string;
  /** The App's private key as GitHub hands it out (PKCS#1 PEM, "BEGIN RSA PRIVATE KEY"): what the Secret holds. */
  privateKey: string;
  publicKey: KeyObject;
}

/** A new App: a fresh 2048-bit RSA key, as GitHub generates one. */
export function newGitHubApp(ids: { appId: string; clientId: string; installationId: string }): GitHubApp {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...ids, privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), publicKey };
}

export interface TokenRequest {
  path: string;
  status: number;
  /** Why it was refused; undefined when a token was issued. */
  refused?: string;
  /** The JWT's claims when it could be decoded. */
  claims?: Record<string, unknown>;
}

export interface FakeGitHubApi {
  /** https://127.0.0.1:PORT/api/v3/ — a GitHub Enterprise Server-style base URL, as git-sync's --github-base-url takes it. */
  baseUrl: string;
  requests: TokenRequest[];
  close(): Promise<void>;
}

const TOKEN_PATH = /^\/api\/v3\/app\/installations\/([^/]+)\/access_tokens$/;
/** GitHub refuses JWTs that live longer than this. */
const MAX_JWT_LIFETIME_S = 600;

const b64url = (s: string): Buffer => Buffer.from(s, 'base64url');

/** The claims of a JWT signed RS256 by `key`, or why it is not one. */
function verifyJwt(jwt: string, key: KeyObject): { claims: Record<string, unknown> } | { refused: string; claims?: Record<string, unknown> } {
  const parts = jwt.split('.');
  if (parts.length !== 3) return { refused: 'not a JWT' };
  const [head, body, sig] = parts as [string, string, string];
  let header: { alg?: unknown };
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(b64url(head).toString('utf8')) as { alg?: unknown };
    claims = JSON.parse(b64url(body).toString('utf8')) as Record<string, unknown>;
  } catch {
    return { refused: 'JWT could not be decoded' };
  }
  if (header.alg !== 'RS256') return { refused: `JWT algorithm ${String(header.alg)}, not RS256`, claims };
  if (!verify('RSA-SHA256', Buffer.from(`${head}.${body}`), key, b64url(sig))) return { refused: 'JWT signature does not verify with the App key', claims };
  const now = Math.floor(Date.now() / 1000);
  const { iat, exp } = claims;
  if (typeof iat !== 'number' || typeof exp !== 'number') return { refused: 'JWT lacks iat or exp', claims };
  if (iat > now + 60) return { refused: "JWT's iat is in the future", claims };
  if (exp <= now) return { refused: 'JWT expired', claims };
  if (exp - iat > MAX_JWT_LIFETIME_S + 60) return { refused: `JWT lives ${exp - iat}s, more than GitHub allows`, claims };
  return { claims };
}

export async function startFakeGitHubApi(ca: KeyPair, app: GitHubApp, token: string): Promise<FakeGitHubApi> {
  const serving = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const requests: TokenRequest[] = [];
  const answer = (res: ServerResponse, entry: TokenRequest, status: number, body: unknown): void => {
    entry.status = status;
    requests.push(entry);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'https://127.0.0.1').pathname;
    const entry: TokenRequest = { path, status: 0 };
    const route = TOKEN_PATH.exec(path);
    if (req.method !== 'POST' || !route) return answer(res, { ...entry, refused: 'no such endpoint' }, 404, { message: 'Not Found' });
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ')) return answer(res, { ...entry, refused: 'no bearer JWT' }, 401, { message: 'A JSON web token could not be decoded' });
    const checked = verifyJwt(auth.slice('Bearer '.length), app.publicKey);
    if ('refused' in checked) return answer(res, { ...entry, ...checked }, 401, { message: 'A JSON web token could not be decoded' });
    const { claims } = checked;
    if (claims.iss !== app.appId && claims.iss !== app.clientId) {
      return answer(res, { ...entry, claims, refused: `iss ${String(claims.iss)} is not the App` }, 401, { message: 'Integration not found' });
    }
    if (route[1] !== app.installationId) return answer(res, { ...entry, claims, refused: `installation ${route[1]} is not the App's` }, 404, { message: 'Not Found' });
    const expires = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    answer(res, { ...entry, claims }, 201, { token, expires_at: expires, permissions: { contents: 'read' }, repository_selection: 'all' });
  };
  // Drain the (empty) body before answering, as a real server does.
  const server: Server = createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    req.resume();
    req.on('end', () => handle(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `https://127.0.0.1:${port}/api/v3/`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
