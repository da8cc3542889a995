/**
 * kubectl as an independent JSON Patch oracle. `kubectl patch --local`
 * applies a patch with the same Go library the API server uses, entirely
 * offline: no cluster, no kubeconfig.
 *
 * What kubectl does to a Pod, measured with kubectl v1.32 (see
 * test/unit/kubectl-oracle.test.ts):
 * - It keeps almost every field as written, including unknown fields, `null`
 *   members, empty objects/lists, empty names and `status`, and adds none: the
 *   object is handled as unstructured JSON, never decoded into a typed Pod.
 * - It refuses a document without `apiVersion` and `kind` ("Object 'Kind' is
 *   missing"): it needs them to find the resource. The engine works on pods
 *   that may lack both (previews of bare pod specs, pods at CREATE in tests),
 *   so kubectlPatch adds `apiVersion: v1, kind: Pod` when absent and removes
 *   them again from the output.
 * - It drops `metadata.namespace` when it is "" or null: it sets the object's
 *   namespace to the one it resolved, and setting "" deletes the field. Pods
 *   at CREATE often carry `namespace: ""` (the API server fills it later), so
 *   kubectlPatch puts such a member back.
 * - Numbers come back in Go's notation (1e21 as 1e+21); JSON.parse reads them
 *   as the same numbers, so no normalisation is needed for them.
 *
 * `normaliseKubectlOutput` undoes exactly these two differences and nothing
 * else, so any other difference between kubectl and fast-json-patch shows.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Operation } from 'fast-json-patch';

const KUBECTL = 'kubectl';

// A kubeconfig that cannot exist: `--local` needs none, and this makes sure a
// developer's real kubeconfig (exec plugins, remote servers) is never read.
const ENV = { ...process.env, KUBECONFIG: join(tmpdir(), 'gitsync-injector-no-kubeconfig') };

// Linux limits a single argument to 128 KiB; larger patches go through a file.
const MAX_INLINE_PATCH = 64 * 1024;

let available: boolean | undefined;

/** Whether a kubectl client can be run here; probed once. */
export function kubectlAvailable(): boolean {
  if (available === undefined) {
    try {
      execFileSync(KUBECTL, ['version', '--client'], { env: ENV, stdio: 'ignore', timeout: 10_000 });
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

/** kubectl refused the document or the patch; `stderr` holds its message. */
export class KubectlPatchError extends Error {
  readonly stderr: string;
  constructor(stderr: string) {
    super(`kubectl patch failed: ${stderr.trim()}`);
    this.name = 'KubectlPatchError';
    this.stderr = stderr;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `doc` with the type fields kubectl insists on, added only where they are absent. */
export function withTypeMeta(doc: unknown): unknown {
  if (!isObject(doc)) return doc;
  return { apiVersion: 'v1', kind: 'Pod', ...doc };
}

/**
 * kubectl's output for `input`, with the two changes kubectl makes on its own
 * undone: the type fields withTypeMeta added are removed, and an empty or
 * null `metadata.namespace` that kubectl dropped is put back.
 */
export function normaliseKubectlOutput(input: unknown, output: unknown): unknown {
  if (!isObject(input) || !isObject(output)) return output;
  const out: Record<string, unknown> = { ...output };
  for (const field of ['apiVersion', 'kind'] as const) if (!Object.hasOwn(input, field)) delete out[field];
  const inMeta = input.metadata;
  const outMeta = out.metadata;
  if (isObject(inMeta) && isObject(outMeta) && (inMeta.namespace === '' || inMeta.namespace === null) && !Object.hasOwn(outMeta, 'namespace')) {
    out.metadata = { ...outMeta, namespace: inMeta.namespace };
  }
  return out;
}

/**
 * `doc` with `ops` applied by `kubectl patch --local --type=json`. Throws
 * KubectlPatchError when kubectl refuses the patch (for instance an `add`
 * under a missing parent). The input is not modified.
 */
export function kubectlPatch(doc: unknown, ops: readonly Operation[]): unknown {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-oracle-'));
  try {
    const file = join(dir, 'object.json');
    writeFileSync(file, JSON.stringify(withTypeMeta(doc)));
    const patch = JSON.stringify(ops);
    let patchArgs = ['-p', patch];
    if (patch.length > MAX_INLINE_PATCH) {
      const patchFile = join(dir, 'patch.json');
      writeFileSync(patchFile, patch);
      patchArgs = ['--patch-file', patchFile];
    }
    const out = kubectlPatchLocal(['-f', file, '--type=json', ...patchArgs]);
    return normaliseKubectlOutput(doc, JSON.parse(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `kubectl patch --local … -o json`: its output, or KubectlPatchError with kubectl's message. */
function kubectlPatchLocal(args: string[]): string {
  try {
    return execFileSync(KUBECTL, ['patch', '--local', ...args, '-o', 'json'], {
      env: ENV,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const stderr = (err as { stderr?: unknown }).stderr;
    throw new KubectlPatchError(typeof stderr === 'string' && stderr ? stderr : String(err));
  }
}

/**
 * The objects kubectl reads from a manifest stream (YAML, or JSON when it
 * starts with `{`), offline. `kubectl patch --local` with an empty merge
 * patch reads files with the reader `kubectl apply -f` uses (the resource
 * builder's stream decoder); `apply --dry-run=client` itself needs an API
 * server to map kinds. Throws KubectlPatchError with kubectl's message when
 * it cannot read the text.
 */
export function kubectlRead(text: string): unknown[] {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-read-'));
  try {
    const file = join(dir, 'manifests.yaml');
    writeFileSync(file, text);
    const out = kubectlPatchLocal(['-f', file, '--type=merge', '-p', '{}']);
    // Several objects come out as JSON texts one after the other, each opening and closing at column 0.
    return JSON.parse(`[${out.replaceAll(/^}\n\{$/gm, '},\n{')}]`) as unknown[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
