/**
 * Test helpers for the HTTP edges: sample pods and reviews, a webhook server
 * on a free port with certificates from our own CA, captured log lines, and
 * requests over real HTTPS that trust that CA (and nothing else).
 */
import { request as httpRequest, type Agent, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Operation } from 'fast-json-patch';
import type { AdmissionDeps } from '../../src/admission/index.ts';
import type { EngineContext } from '../../src/engine/index.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';
import { mustCompile } from '../../src/policy/compile.ts';
import { buildHealthServer, buildPreviewServer, buildServer, webhookReadiness, type HealthServer, type Readiness, type PreviewServer, type PreviewServerOptions, type WebhookServer } from '../../src/server/index.ts';
import { createCA, issueServingCertificate, type KeyPair } from '../../src/tls/index.ts';
import { VERSION } from '../../src/version.ts';

export const engineContext = (): EngineContext => ({ policy: mustCompile(BUILTIN_POLICY).engine, cluster: {}, version: VERSION });

export function samplePod(annotations: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: 'web-', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/site.git', ...annotations } },
    spec: { containers: [{ name: 'web', image: 'nginx' }] },
  };
}

export const badPod = (): Record<string, unknown> => samplePod({ 'gitsync.dev/period': '5x', 'gitsync.dev/mode': 'bogus' });

/** An AdmissionReview for a Pod CREATE in namespace `team-a`; `request` overrides any request field. */
export function reviewOf(pod: unknown, request: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'team-a',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
      ...request,
    },
  };
}

/** A logger whose JSON lines are kept in `lines`, parsed. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger('info', { destination: sink }), lines };
}

/** A CA and a serving certificate for localhost and 127.0.0.1, made once per test file. */
let certificates: Promise<{ ca: KeyPair; serving: KeyPair }> | undefined;
export function testCertificates(): Promise<{ ca: KeyPair; serving: KeyPair }> {
  certificates ??= (async () => {
    const ca = await createCA('gitsync-injector test CA');
    const serving = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    return { ca, serving };
  })();
  return certificates;
}

export interface TestServers {
  webhook: WebhookServer;
  preview: PreviewServer;
  health: HealthServer;
  readiness: Readiness;
  deps: AdmissionDeps;
  /** The webhook's port on 127.0.0.1: /mutate only. */
  port: number;
  /** The preview listener's port on 127.0.0.1: /preview and /policy. */
  previewPort: number;
  healthPort: number;
  /** PEM of the CA that signed the webhook's certificate. */
  ca: string;
  lines: Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * Starts the webhook, the preview listener (/preview, /policy when a policy
 * store is given) and the health server on free ports of 127.0.0.1, as
 * `serve` wires them.
 */
export async function startServers(deps: Partial<AdmissionDeps> = {}, options: Pick<PreviewServerOptions, 'policyPending' | 'policy'> = {}): Promise<TestServers> {
  const { ca, serving } = await testCertificates();
  const { logger, lines } = captureLogger();
  const fullDeps: AdmissionDeps = { ctx: engineContext(), namespaceAnnotations: () => undefined, ...deps };
  const webhook = buildServer({ tls: serving, deps: fullDeps, logger, policyPending: options.policyPending });
  const preview = buildPreviewServer({ tls: serving, deps: fullDeps, logger, ...options });
  const readiness = webhookReadiness(webhook, fullDeps, 'built-in');
  const health = buildHealthServer({ readiness, logger });
  await webhook.listen({ host: '127.0.0.1', port: 0 });
  await preview.listen({ host: '127.0.0.1', port: 0 });
  await health.listen({ host: '127.0.0.1', port: 0 });
  return {
    webhook,
    preview,
    health,
    readiness,
    deps: fullDeps,
    port: (webhook.server.address() as AddressInfo).port,
    previewPort: (preview.server.address() as AddressInfo).port,
    healthPort: (health.server.address() as AddressInfo).port,
    ca: ca.cert,
    lines,
    close: async () => {
      await webhook.close();
      await preview.close();
      await health.close();
    },
  };
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON; typed by the caller, since response shapes vary. */
  json<T = any>(): T;
}

export interface RequestOptions {
  port: number;
  path?: string;
  method?: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  /** For HTTPS: the CA to trust; the request fails unless the server's certificate chains to it. */
  ca?: string;
  /** The host to connect to and verify the certificate for; default localhost. */
  host?: string;
  /** The TLS server name to ask for and verify, when it differs from host. */
  servername?: string;
  agent?: Agent | false;
}

/**
 * One request, resolved with the whole response. A server may answer before
 * it has read the body (413) and close the connection; an error after the
 * response arrived is that close, not a failure.
 */
export function send(options: RequestOptions): Promise<Response> {
  const { body, ca, host = 'localhost' } = options;
  const headers: Record<string, string | number> = { ...options.headers };
  const framed = Object.keys(headers).some((h) => ['content-length', 'transfer-encoding'].includes(h.toLowerCase()));
  if (body !== undefined && !framed) headers['content-length'] = Buffer.byteLength(body);
  const common = { host, port: options.port, path: options.path ?? '/', method: options.method ?? 'GET', headers, agent: options.agent ?? false };
  return new Promise((resolve, reject) => {
    let answered = false;
    const onResponse = (res: IncomingMessage): void => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    };
    const req = ca !== undefined ? httpsRequest({ ...common, ca, servername: options.servername }, onResponse) : httpRequest(common, onResponse);
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    req.end(body);
  });
}

/** POSTs an object (or raw text) to the webhook's /mutate as application/json. */
export function postReview(servers: { port: number; ca: string }, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return send({
    port: servers.port,
    ca: servers.ca,
    path: '/mutate',
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The JSON Patch in an admission response, decoded. */
export function decodePatch(response: { patch?: string }): Operation[] {
  if (response.patch === undefined) throw new Error('the response has no patch');
  return JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
}
