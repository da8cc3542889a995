/**
 * The playground: a page at the preview listener's root where people paste
 * a manifest and see what the webhook will do to it (src/playground/, a
 * page of plain ES modules, HTML and CSS; no build step, no framework, no
 * CDN). It lives on the preview listener, so it exists exactly where
 * /preview does (off in production unless the listener is turned on), and
 * it asks /preview and nothing else, so what it shows is the webhook's answer.
 *
 * The files are read once, at start, into a fixed table: a request names a
 * file of that table or gets 404, so no path from a URL ever reaches the
 * file system. Every answer forbids inline script and any origin but this
 * one (Content-Security-Policy), so text that came from a manifest cannot
 * run as code even if the page had a bug that put it into the DOM as HTML.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import { HttpError } from './http-errors.ts';

/** src/playground/ from source; dist/playground/ when built (`npm run build` copies it there). */
export const PLAYGROUND_DIR = fileURLToPath(new URL('../playground/', import.meta.url));

/** Where the page's files are served; the page itself is at /. */
export const PLAYGROUND_PREFIX = '/playground/';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
};

/**
 * Scripts, styles and fetches from this origin only, nothing inline, no
 * plugins, no frames around the page (clickjacking), no forms posting
 * anywhere, no <base> that would move relative URLs.
 */
export const PLAYGROUND_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': PLAYGROUND_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // The page changes with the injector; a stale script against a newer /preview would mislead.
  'cache-control': 'no-cache',
};

interface Asset {
  type: string;
  body: Buffer;
}

/** Every servable file under `dir`, by its URL path below the prefix ('main.js', 'examples/ssh.yaml'). */
export function readAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(dir)) return assets;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const type = TYPES[extname(entry.name)];
    if (!entry.isFile() || type === undefined) continue;
    const path = join(entry.parentPath, entry.name);
    assets.set(relative(dir, path).split(sep).join('/'), { type, body: readFileSync(path) });
  }
  return assets;
}

/** GET / (the page) and GET /playground/<file>, on the preview listener. */
export function registerPlayground(app: FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>, dir = PLAYGROUND_DIR): void {
  const assets = readAssets(dir);
  // A copy of the injector without the page (a build that skipped the copy) still previews, and says why / is 404.
  if (!assets.has('index.html')) {
    app.log.warn({ dir }, 'the playground page is missing; / answers 404');
    return;
  }
  const serve = (name: string, reply: FastifyReply): FastifyReply => {
    const asset = assets.get(name);
    if (!asset) throw new HttpError('NOT_FOUND', `no file ${JSON.stringify(name.slice(0, 100))} in the playground`);
    return reply.headers(SECURITY_HEADERS).type(asset.type).send(asset.body);
  };
  app.get('/', async (_request, reply) => serve('index.html', reply));
  app.get(`${PLAYGROUND_PREFIX}*`, async (request, reply) => serve((request.params as { '*': string })['*'], reply));
}
