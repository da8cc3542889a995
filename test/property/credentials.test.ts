/**
 * A repository URL that carries a password or token, in any spelling, is
 * refused, and no part of the answer repeats the secret: not the errors or
 * warnings (their messages and values), not the patch, not the status
 * annotation, not the skip message. The same holds when the URL comes from
 * the namespace's defaults.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatProblem, injectPod, type InjectResult } from '../../src/engine/index.ts';
import { displayRepo, maskCredentials, parseRepo } from '../../src/engine/values/repo.ts';
import { POLICIES, podArb, policyArb, runs, secretTokenArb, urlWithSecretArb } from '../support/arbitraries.ts';

const RUNS = runs(1000);

const urlAndToken = secretTokenArb.chain((token) => urlWithSecretArb(token).map((url) => ({ url, token })));

/** The pieces of `token` that must not appear: all of it, and its two ends (in case something cut it). */
const pieces = (token: string) => [token, token.slice(0, 12), token.slice(-12)];

function expectNoSecret(text: string, token: string): void {
  for (const piece of pieces(token)) expect(text, `${JSON.stringify(piece)} appears`).not.toContain(piece);
}

/** Everything of an answer that reaches people or the cluster (the input pod aside). */
function said(r: InjectResult): string {
  return JSON.stringify([r.errors, r.warnings, [...r.errors, ...r.warnings].map(formatProblem), r.patch, r.injection ?? null, r.skip ?? null]);
}

describe('repository URLs with credentials', () => {
  it('are refused, and the message shows them masked', () => {
    fc.assert(
      fc.property(urlAndToken, ({ url, token }) => {
        const p = parseRepo(url);
        expect(p.ok, url).toBe(false);
        if (!p.ok) expectNoSecret(p.message, token);
        expectNoSecret(displayRepo(url), token);
        expectNoSecret(maskCredentials(url), token);
      }),
      { numRuns: RUNS },
    );
  });

  it('on a pod or its namespace: never injected, and the secret is in no error, warning, patch, status or skip', () => {
    const cases = fc.record({
      secret: urlAndToken,
      pod: podArb(),
      policy: policyArb,
      where: fc.constantFrom('pod', 'namespace'),
      withSecretName: fc.boolean(),
    });
    fc.assert(
      fc.property(cases, ({ secret, pod, policy, where, withSecretName }) => {
        const prefix = POLICIES[policy].engine.prefix;
        const own: Record<string, string> = where === 'pod' ? { [`${prefix}repo`]: secret.url } : { [`${prefix}inject`]: 'true' };
        if (withSecretName) own[`${prefix}secret`] = 'git-credentials';
        const metadata = { ...(pod.metadata as object | undefined), annotations: own };
        const namespaceAnnotations = where === 'namespace' ? { [`${prefix}repo`]: secret.url } : {};
        const r = injectPod({ pod: { ...pod, metadata }, namespace: 'team-a', namespaceAnnotations }, { policy: POLICIES[policy].engine, cluster: {}, version: '0.1.0' });
        expect(r.outcome).not.toBe('injected');
        expectNoSecret(said(r), secret.token);
      }),
      { numRuns: RUNS },
    );
  });
});
