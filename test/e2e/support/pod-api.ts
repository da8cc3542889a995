/**
 * Pod creation straight against the API server, for suites that create
 * hundreds of pods (the webhook-free proof): one kept-alive HTTPS connection
 * pool instead of a kubectl process per pod, which on a 2-core machine is most
 * of the time such a suite takes.
 *
 * The answer has kubectl's shape (KubectlResult), so the suite reads it as it
 * reads kubectl's: exit code 0 when the pod was stored (or would be, dry run),
 * the stored pod on stdout, and on stderr each warning as `Warning: …` (from
 * the response's Warning headers, one per header as kubectl prints them) and
 * then the refusal's message (the Status the API server answered with).
 */
import { Agent, request, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubectlResult } from './kubectl.ts';

export interface PodApi {
  /** Creates `pod` in `namespace` (with `dryRun`, as `kubectl create --dry-run=server`). */
  create(namespace: string, pod: unknown, options?: { dryRun?: boolean }): Promise<KubectlResult>;
  close(): void;
}

/** A Warning header's text: `299 - "text"`, the text quoted with `\` escapes (RFC 7234; k8s.io/apiserver/pkg/warning). */
export function warningText(header: string): string {
  const quoted = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(header);
  return quoted ? quoted[1]!.replace(/\\(.)/g, '$1') : header;
}

export async function podApi(kubeconfig: string, timeoutMs: number): Promise<PodApi> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfig);
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error(`${kubeconfig}: no current cluster`);
  const server = new URL(cluster.server);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const base: RequestOptions = { agent };
  await kubeConfig.applyToHTTPSOptions(base);

  const create = (namespace: string, pod: unknown, options: { dryRun?: boolean } = {}): Promise<KubectlResult> => {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods${options.dryRun ? '?dryRun=All' : ''}`;
    const command = `kubectl create -n ${namespace} -f - -o json${options.dryRun ? ' --dry-run=server' : ''}`;
    const body = JSON.stringify(pod);
    return new Promise((resolve) => {
      const req = request(
        { ...base, hostname: server.hostname, port: server.port, method: 'POST', path, timeout: timeoutMs, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const warnings: string[] = [];
            for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i]!.toLowerCase() === 'warning') warnings.push(`Warning: ${warningText(res.rawHeaders[i + 1]!)}`);
            const ok = res.statusCode === 200 || res.statusCode === 201;
            let refusal = '';
            if (!ok) {
              try {
                refusal = (JSON.parse(text) as { message?: string }).message ?? text;
              } catch {
                refusal = `HTTP ${res.statusCode}: ${text}`;
              }
            }
            resolve({ command, code: ok ? 0 : 1, stdout: ok ? text : '', stderr: [...warnings, ...(ok ? [] : [refusal])].join('\n') + (warnings.length || !ok ? '\n' : '') });
          });
          res.on('error', (error) => resolve({ command, code: 1, stdout: '', stderr: `${error.message}\n` }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (error) => resolve({ command, code: 1, stdout: '', stderr: `${error.message}\n` }));
      req.end(body);
    });
  };
  return { create, close: () => agent.destroy() };
}
