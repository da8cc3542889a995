/** POST /preview on the webhook under test: its own prediction for an object, as if created in the throwaway namespace. */
import { send } from '../../support/server.ts';
import type { Prediction } from './checks.ts';

export interface PreviewEndpoint {
  host: string;
  port: number;
  /** PEM of the CA the webhook's certificate chains to. */
  ca: string;
  /** The name to verify the certificate for. */
  servername: string;
  namespace: string;
}

export function previewClient(endpoint: PreviewEndpoint): (object: unknown) => Promise<Prediction> {
  return async (object) => {
    const res = await send({
      host: endpoint.host,
      servername: endpoint.servername,
      port: endpoint.port,
      ca: endpoint.ca,
      path: `/preview?namespace=${encodeURIComponent(endpoint.namespace)}`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(object),
    });
    if (res.status !== 200) throw new Error(`POST /preview answered ${res.status}: ${res.text.slice(0, 500)}`);
    const { objects } = res.json<{ objects: Prediction[] }>();
    if (objects.length !== 1) throw new Error(`POST /preview returned ${objects.length} objects for one`);
    return objects[0]!;
  };
}
