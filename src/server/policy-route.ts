/**
 * GET /policy: the policy in force, with its source and version hash, and
 * the last rejected edit if one is pending. JSON by default; YAML when the
 * client prefers it (`Accept: application/yaml`), as a document that is
 * itself a valid policy file under comments naming its source and hash.
 * The policy holds no secrets (host keys are public), so it is shown as is.
 */
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerBase } from 'fastify';
import { policyViewYaml, type PolicyView } from '../policy/index.ts';

const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);
const JSON_TYPES = new Set(['application/json', 'application/*', '*/*']);

/** Whether an Accept header ranks a YAML type above JSON (ties and no header: JSON). */
export function prefersYaml(accept: string | undefined): boolean {
  if (!accept) return false;
  let yaml = 0;
  let json = 0;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.map((p) => /^q=([0-9.]+)$/.exec(p)).find(Boolean);
    const weight = q ? Number(q[1]) : 1;
    if (!Number.isFinite(weight)) continue;
    if (YAML_TYPES.has(type)) yaml = Math.max(yaml, weight);
    else if (JSON_TYPES.has(type)) json = Math.max(json, weight);
  }
  return yaml > 0 && yaml > json;
}

export interface PolicyViewSource {
  view(): PolicyView;
}

export function registerPolicyRoute<S extends RawServerBase>(
  app: FastifyInstance<S, RawRequestDefaultExpression<S>, RawReplyDefaultExpression<S>, FastifyBaseLogger>,
  policy: PolicyViewSource,
): void {
  app.get('/policy', (request, reply) => {
    const view = policy.view();
    void reply.header('vary', 'accept').header('cache-control', 'no-store');
    if (prefersYaml(request.headers.accept)) void reply.type('application/yaml; charset=utf-8').send(policyViewYaml(view));
    else void reply.send(view);
  });
}
