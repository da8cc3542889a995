/**
 * GET /policy: the policy in force, with its source and version hash, and
 * the last rejected edit if one is pending. JSON by default; YAML when the
 * client prefers it (`Accept: application/yaml`; the rule is negotiate.ts's),
 * as a document that is itself a valid policy file under comments naming its
 * source and hash.
 * The policy holds no secrets (host keys are public), so it is shown as is.
 */
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerBase } from 'fastify';
import { policyViewYaml, type PolicyView } from '../policy/index.ts';
import { prefersYaml } from './negotiate.ts';

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
