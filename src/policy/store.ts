/**
 * The policy in force, and the rules for replacing it. Every source (a
 * file, a ConfigMap) hands its text to `apply`: a text that validates
 * replaces the policy at once; one that does not is rejected, and the last
 * good policy stays in force. A bad edit never takes admission down, and it
 * is never silent: the rejection is logged with every problem, counted,
 * kept for /readyz and GET /policy, and announced to listeners (metrics).
 */
import { stringify } from 'yaml';
import type { Logger } from '../log.ts';
import type { CompiledPolicy } from './compile.ts';
import { loadPolicyText, type LoadedPolicy } from './load.ts';
import { loadPolicyTextInWorker } from './offload.ts';
import { formatPolicyProblem } from './problems.ts';
import type { Policy } from './types.ts';

/**
 * What happened to the policy. `loaded`: a new policy (or the same one from
 * a new source, or after a rejection) is in force. `rejected`: a text was
 * refused and the policy in force did not change.
 */
export type PolicyEvent =
  | { type: 'loaded'; source: string; hash: string; previousHash: string }
  | { type: 'rejected'; source: string; problems: string[]; hashInForce: string };

export type PolicyListener = (event: PolicyEvent) => void;

export interface PolicyRejection {
  /** Where the refused text came from. */
  source: string;
  /** When it was refused (ISO 8601). */
  at: string;
  /** Every problem, one line each: `policy.yaml:3:14: limits.minPeriod: … [CODE]`. */
  problems: string[];
}

export interface PolicyInForce {
  compiled: CompiledPolicy;
  /** 'built-in', a file path, or `configmap NS/NAME key K`. */
  source: string;
  /** The policy's version hash (the same one recorded in every injected pod's status). */
  hash: string;
  /** When it came into force (ISO 8601). */
  since: string;
}

/** What GET /policy answers and `gitsync-injector policy` prints. */
export interface PolicyView {
  source: string;
  hash: string;
  since: string;
  policy: Policy;
  /** The last text refused since this policy came into force, if any. */
  rejected?: PolicyRejection;
}

export interface PolicyCounts {
  loaded: number;
  rejected: number;
}

export class PolicyStore {
  readonly #logger: Logger | undefined;
  readonly #listeners = new Set<PolicyListener>();
  #current: PolicyInForce;
  #rejected: PolicyRejection | undefined;
  /** The last text offered per source, so that a source repeating itself (a relist, a touched file) changes nothing. */
  readonly #lastText = new Map<string, string>();
  #counts: PolicyCounts = { loaded: 0, rejected: 0 };

  /**
   * `text`: the text `compiled` came from, when it came from a source; a
   * source offering the same text again then changes nothing, without
   * reading it a second time.
   */
  constructor(initial: { compiled: CompiledPolicy; source: string; text?: string }, logger?: Logger) {
    this.#logger = logger;
    this.#current = { compiled: initial.compiled, source: initial.source, hash: initial.compiled.engine.hash, since: new Date().toISOString() };
    if (initial.text !== undefined) this.#lastText.set(initial.source, initial.text);
  }

  get current(): PolicyInForce {
    return this.#current;
  }

  /** The last refused text, until a policy is loaded after it. */
  get rejected(): PolicyRejection | undefined {
    return this.#rejected;
  }

  /** How many policies were loaded and texts rejected since start (the initial policy is not counted). */
  get counts(): PolicyCounts {
    return { ...this.#counts };
  }

  /** Listens to loads and rejections; returns the function that stops listening. */
  onChange(listener: PolicyListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Validates a policy text and puts it in force, or rejects it. `name`
   * prefixes each problem's position (a file path, a ConfigMap key).
   * Returns whether the text is (now) in force.
   */
  apply(text: string, source: string, name: string = source): boolean {
    if (this.#lastText.get(source) === text) return this.#inForce(source);
    this.#lastText.set(source, text);
    return this.#judge(loadPolicyText(text, name), source, name);
  }

  /**
   * As apply, with the text read in a worker thread (offload.ts): what the
   * sources use, so that a reload never holds admissions up for the time
   * the YAML takes to parse. A newer text from the same source (or a
   * rejection of it) offered meanwhile wins: the older one is dropped.
   */
  async applyInWorker(text: string, source: string, name: string = source): Promise<boolean> {
    if (this.#lastText.get(source) === text) return this.#inForce(source);
    this.#lastText.set(source, text);
    const loaded = await loadPolicyTextInWorker(text, name);
    if (this.#lastText.get(source) !== text) return false;
    return this.#judge(loaded, source, name);
  }

  #inForce(source: string): boolean {
    return this.#current.source === source && this.#rejected?.source !== source;
  }

  #judge(loaded: LoadedPolicy, source: string, name: string): boolean {
    if (!loaded.compiled) {
      this.#reject(
        source,
        loaded.problems.map((p) => formatPolicyProblem(p, name)),
      );
      return false;
    }
    this.use(loaded.compiled, source);
    return true;
  }

  /** Puts a compiled policy in force (a source's fallback, such as the built-in policy). */
  use(compiled: CompiledPolicy, source: string): void {
    const previous = this.#current;
    const hadRejection = this.#rejected !== undefined;
    if (previous.hash === compiled.engine.hash && previous.source === source && !hadRejection) return;
    this.#current = { compiled, source, hash: compiled.engine.hash, since: new Date().toISOString() };
    this.#rejected = undefined;
    this.#counts.loaded++;
    this.#logger?.info({ policy: { source, hash: compiled.engine.hash }, previous: { source: previous.source, hash: previous.hash } }, 'policy loaded');
    this.#emit({ type: 'loaded', source, hash: compiled.engine.hash, previousHash: previous.hash });
  }

  /**
   * Records that a source has no usable text (a file that cannot be read, a
   * ConfigMap without the key, or deleted): the policy in force stays, and
   * whatever text the source offers next is judged afresh.
   */
  reject(source: string, problems: string[]): void {
    this.#lastText.delete(source);
    this.#reject(source, problems);
  }

  #reject(source: string, problems: string[]): void {
    this.#rejected = { source, at: new Date().toISOString(), problems };
    this.#counts.rejected++;
    const inForce = { source: this.#current.source, hash: this.#current.hash };
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    this.#logger?.error({ source, problems, inForce }, `policy from ${source} rejected (${count}); the policy in force stays: ${inForce.source} (${inForce.hash})`);
    this.#emit({ type: 'rejected', source, problems, hashInForce: this.#current.hash });
  }

  view(): PolicyView {
    const { source, hash, since, compiled } = this.#current;
    const view: PolicyView = { source, hash, since, policy: compiled.document };
    if (this.#rejected) view.rejected = this.#rejected;
    return view;
  }

  #emit(event: PolicyEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger?.error({ err: error }, 'a policy listener failed');
      }
    }
  }
}

/**
 * The view as YAML: the policy itself, loadable as a policy file as it is,
 * under comments that say where it came from, its hash and any rejection.
 */
export function policyViewYaml(view: Pick<PolicyView, 'source' | 'hash' | 'policy'> & Partial<PolicyView>): string {
  const header = [`# gitsync-injector policy`, `# source: ${view.source}`, `# hash: ${view.hash}`];
  if (view.since !== undefined) header.push(`# in force since: ${view.since}`);
  if (view.rejected) {
    header.push(`# rejected: ${view.rejected.source} at ${view.rejected.at}; the policy below stays in force:`);
    for (const line of view.rejected.problems) header.push(`#   ${line.replaceAll('\n', ' ')}`);
  }
  return `${header.join('\n')}\n${stringify(view.policy, { lineWidth: 0 })}`;
}
