/**
 * Namespace annotations for namespace defaults, from a watch of every
 * Namespace. Admission reads this copy and never waits on the API server: a
 * namespace the copy does not know (the cache has not synced, or it was
 * created a moment ago) has no defaults, which is `undefined` to the engine.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { abortable, pageOf } from './api.ts';
import type { BackoffOptions } from './backoff.ts';
import { Reflector, type CheckResult, type ObjectMeta, type ReflectorStatus } from './reflector.ts';

/**
 * kubectl apply stores the whole manifest in this annotation; it is never a
 * default and can be large, so it is not kept.
 */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Annotations = Readonly<Record<string, string>>;

function annotationsOf(object: ObjectMeta): Annotations {
  const all = (object.metadata as { annotations?: Record<string, unknown> } | undefined)?.annotations ?? {};
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(all)) if (key !== LAST_APPLIED && typeof value === 'string') kept[key] = value;
  return Object.freeze(kept);
}

export interface NamespaceCacheOptions {
  kubeConfig: KubeConfig;
  backoff?: BackoffOptions;
  logger?: Logger;
}

export interface NamespaceCacheStatus extends ReflectorStatus {
  namespaces: number;
}

export class NamespaceCache {
  readonly #reflector: Reflector<Annotations>;

  constructor(options: NamespaceCacheOptions) {
    const core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#reflector = new Reflector({
      what: 'namespaces',
      kubeConfig: options.kubeConfig,
      path: '/api/v1/namespaces',
      list: async (page, signal) => pageOf(await core.listNamespace({ limit: page.limit, _continue: page.continue }, abortable(signal))),
      project: annotationsOf,
      backoff: options.backoff,
      logger: options.logger,
    });
  }

  /** The namespace's annotations as last seen; undefined for a namespace not (yet) known. */
  annotations(namespace: string): Record<string, string> | undefined {
    return this.#reflector.items.get(namespace);
  }

  status(): NamespaceCacheStatus {
    return { ...this.#reflector.status(), namespaces: this.#reflector.items.size };
  }

  /**
   * For /readyz: not ready before the first list, so that a new replica does
   * not admit pods without their namespace defaults; after it, a failing
   * watch leaves the copy stale but in use, and is only reported.
   */
  check(): CheckResult {
    const status = this.status();
    if (!status.synced) return { ok: false, message: `waiting for the first list of namespaces${status.error ? `: ${status.error}` : ''}` };
    return { ok: true, message: `${status.namespaces} namespaces cached${status.error ? `; updates are failing: ${status.error}` : ''}` };
  }

  onChange(listener: () => void): () => void {
    return this.#reflector.onChange(listener);
  }

  start(): void {
    this.#reflector.start();
  }

  stop(): Promise<void> {
    return this.#reflector.stop();
  }
}
