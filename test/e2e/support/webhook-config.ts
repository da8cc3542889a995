/**
 * The MutatingWebhookConfiguration of the host mode: the webhook in the test
 * process, reached by URL. Unlike the shipped one (manifests/base), it
 * - matches the throwaway namespace only, so that a run that dies before
 *   its cleanup leaves nothing behind that affects any other pod;
 * - also sends UPDATEs, so the suite sees the webhook let them through
 *   untouched (the shipped configuration never sends them);
 * - has no match conditions, so skipped pods reach the webhook too and its
 *   skip decisions are tested through the API server.
 */
export interface HostWebhookOptions {
  /** The configuration's name, and the base of its webhook's name. */
  name: string;
  namespace: string;
  url: string;
  /** PEM of the CA that signed the webhook's serving certificate. */
  caCert: string;
}

/** The webhook's name as the API server quotes it in denials. */
export const hostWebhookName = (name: string): string => `${name}.e2e.gitsync.dev`;

export function hostWebhookConfiguration(options: HostWebhookOptions): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: options.name, labels: { 'app.kubernetes.io/part-of': 'gitsync-injector-e2e' } },
    webhooks: [
      {
        name: hostWebhookName(options.name),
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        timeoutSeconds: 10,
        reinvocationPolicy: 'IfNeeded',
        failurePolicy: 'Fail',
        clientConfig: { url: options.url, caBundle: Buffer.from(options.caCert).toString('base64') },
        rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [options.namespace] }] },
      },
    ],
  };
}
