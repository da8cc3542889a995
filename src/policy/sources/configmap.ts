/**
 * The policy from a ConfigMap, watched through the API server so that an
 * edit is in force within seconds (a ConfigMap mounted as a volume can take
 * a minute or more to reach the pod). Only the one ConfigMap is listed and
 * watched (a metadata.name field selector), which RBAC can grant by name.
 *
 * - The ConfigMap exists and its key holds a valid policy: that policy is in
 *   force. An edit that does not validate is rejected; the last good stays.
 * - The key is missing, or the ConfigMap is deleted: rejected the same way;
 *   the last good policy stays (deleting the ConfigMap by mistake must not
 *   drop the platform's rules). An empty or whitespace-only key is rejected
 *   too (POLICY_EMPTY); to return to the built-in policy, put `{}` in the key.
 * - The ConfigMap does not exist when the webhook starts: the fallback (the
 *   built-in policy) is in force, and the ConfigMap is used once created.
 *
 * Until the first list has answered, or while the ConfigMap exists but no
 * policy from it has ever validated, the replica is not ready: it would
 * otherwise admit pods under a policy the platform team did not choose.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { loadWatch, type BackoffOptions, type CheckResult, type ObjectMeta, type Reflector, type ReflectorStatus } from '../../cluster/index.ts';
import type { Logger } from '../../log.ts';
import type { PolicyStore } from '../store.ts';

// The cluster's watch machinery, which loads client-node. Serve imports this
// module only once it has found a cluster, and it needs client-node itself,
// so waiting for it here costs nothing that would not be spent anyway.
const cluster = await loadWatch();

export interface ConfigMapRef {
  namespace: string;
  name: string;
  key: string;
}

/** The source name shown next to a policy from this ConfigMap. */
export const configMapSource = (ref: ConfigMapRef): string => `configmap ${ref.namespace}/${ref.name} key ${ref.key}`;

interface ConfigMapContent {
  data: Readonly<Record<string, string>>;
  binaryKeys: readonly string[];
}

function contentOf(object: ObjectMeta): ConfigMapContent {
  const { data, binaryData } = object as { data?: Record<string, unknown>; binaryData?: Record<string, unknown> };
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(data ?? {})) if (typeof value === 'string') kept[key] = value;
  return { data: kept, binaryKeys: Object.keys(binaryData ?? {}) };
}

export interface PolicyConfigMapWatcherOptions {
  kubeConfig: KubeConfig;
  ref: ConfigMapRef;
  store: PolicyStore;
  backoff?: BackoffOptions;
  logger?: Logger;
}

export type ConfigMapState =
  /** The first list has not answered yet. */
  | 'waiting'
  /** Nothing from the ConfigMap has been in force: it did not exist at start (and perhaps still does not). The fallback is in force. */
  | 'fallback'
  /** A policy from the ConfigMap is in force (its latest edit may have been rejected). */
  | 'in-force'
  /** The ConfigMap existed at start and nothing from it has validated yet. */
  | 'invalid';

export interface PolicyConfigMapStatus {
  source: string;
  state: ConfigMapState;
  watch: ReflectorStatus;
}

export class PolicyConfigMapWatcher {
  readonly #options: PolicyConfigMapWatcherOptions;
  readonly #source: string;
  readonly #reflector: Reflector<ConfigMapContent>;
  #everLoaded = false;
  #present = false;
  /** Whether the ConfigMap existed at the first read; undefined before it. */
  #presentAtStart: boolean | undefined;
  /** Texts being read in the policy worker: until the first is judged, the ConfigMap counts as not read yet. */
  #reading = 0;

  constructor(options: PolicyConfigMapWatcherOptions) {
    this.#options = options;
    const { ref, kubeConfig } = options;
    this.#source = configMapSource(ref);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const fieldSelector = `metadata.name=${ref.name}`;
    this.#reflector = new cluster.Reflector({
      what: `configmap ${ref.namespace}/${ref.name}`,
      kubeConfig,
      path: `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/configmaps`,
      fieldSelector,
      list: async (page, signal) =>
        cluster.pageOf(await core.listNamespacedConfigMap({ namespace: ref.namespace, fieldSelector, limit: page.limit, _continue: page.continue }, cluster.abortable(signal))),
      project: contentOf,
      backoff: options.backoff,
      logger: options.logger,
    });
    this.#reflector.onChange(() => this.#changed());
    // A policy from this ConfigMap is in force when the store says so, whatever put it there.
    options.store.onChange((event) => {
      if (event.type === 'loaded' && event.source === this.#source) this.#everLoaded = true;
    });
  }

  get source(): string {
    return this.#source;
  }

  status(): PolicyConfigMapStatus {
    const watch = this.#reflector.status();
    let state: ConfigMapState;
    if (!watch.synced || (this.#reading > 0 && !this.#everLoaded && this.#presentAtStart)) state = 'waiting';
    else if (this.#everLoaded) state = 'in-force';
    else state = this.#presentAtStart ? 'invalid' : 'fallback';
    return { source: this.#source, state, watch };
  }

  /**
   * For /readyz: ready once the ConfigMap has been read, unless it existed
   * at start and none of its texts has validated. A bad edit on a running
   * replica (including a ConfigMap created with errors) never makes it unready.
   */
  check(): CheckResult {
    const { state, watch } = this.status();
    const { namespace, name } = this.#options.ref;
    const stale = watch.error ? ` (the watch is failing: ${watch.error})` : '';
    switch (state) {
      case 'waiting':
        return { ok: false, message: `waiting for the first read of configmap ${namespace}/${name}${watch.error ? `: ${watch.error}` : ''}` };
      case 'fallback': {
        const why = this.#present ? `has no valid policy yet (see policy.rejected)` : 'does not exist';
        return { ok: true, message: `configmap ${namespace}/${name} ${why}; the ${this.#options.store.current.source} policy is in force${stale}` };
      }
      case 'invalid':
        return { ok: false, message: `${this.#source} has no valid policy yet and this replica has had no other; see policy.rejected` };
      case 'in-force': {
        const rejected = this.#options.store.rejected?.source === this.#source ? '; its latest edit was rejected, see policy.rejected' : '';
        return { ok: true, message: `${this.#source} in force${rejected}${stale}` };
      }
    }
  }

  start(): void {
    this.#reflector.start();
  }

  stop(): Promise<void> {
    return this.#reflector.stop();
  }

  #changed(): void {
    const { ref, store } = this.#options;
    const content = this.#reflector.items.get(`${ref.namespace}/${ref.name}`);
    const wasPresent = this.#present;
    this.#present = content !== undefined;
    this.#presentAtStart ??= this.#present;
    if (!content) {
      if (wasPresent) {
        store.reject(this.#source, [
          `configmap ${ref.namespace}/${ref.name} was deleted; the policy in force stays until it is created again [POLICY_SOURCE_UNAVAILABLE]`,
        ]);
      }
      return;
    }
    const text = content.data[ref.key];
    if (text === undefined) {
      const keys = [...Object.keys(content.data), ...content.binaryKeys];
      const where = content.binaryKeys.includes(ref.key) ? `; ${ref.key} is under binaryData, the policy must be under data` : `; its keys: ${keys.length ? keys.join(', ') : '(none)'}`;
      store.reject(this.#source, [`configmap ${ref.namespace}/${ref.name} has no key ${ref.key}${where} [POLICY_SOURCE_UNAVAILABLE]`]);
      return;
    }
    // Read off the event loop (a large policy takes the yaml library about a second); a newer edit meanwhile wins.
    this.#reading++;
    void store.applyInWorker(text, this.#source, ref.key).finally(() => this.#reading--);
  }
}
