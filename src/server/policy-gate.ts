/**
 * No answer from a policy nobody chose. Until the configured policy source
 * (the ConfigMap) has been read, the policy in memory is the built-in one,
 * without the platform's allowedRepos or image; injecting with it, even for
 * the fraction of a second a start takes, admits what the platform forbids.
 * Readiness keeps the Service's traffic away, but not a `url:` client
 * configuration or a direct caller, so the routes that would use the policy
 * refuse on their own: 503 POLICY_NOT_LOADED, and the webhook
 * configuration's failurePolicy decides what the API server does with the
 * pod (Fail: it is refused and retried by its controller).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './http-errors.ts';

/** Why the policy in memory must not be used yet, or undefined once the configured one is in force. */
export type PolicyPending = () => string | undefined;

/**
 * Refuses the request when the policy is pending; returns whether it did.
 * One warn line per refusal, as for every refused request.
 */
export function refuseWhilePending(pending: PolicyPending | undefined, request: FastifyRequest, reply: FastifyReply): boolean {
  const why = pending?.();
  if (why === undefined) return false;
  const body = errorBody('POLICY_NOT_LOADED', `${why}; no request is answered with a policy the platform did not choose, retry in a moment`);
  request.log.warn({ method: request.method, url: request.url.slice(0, 200), statusCode: body.error.code, reason: body.error.reason }, 'request rejected');
  void reply.code(body.error.code).header('retry-after', '1').send(body);
  return true;
}
