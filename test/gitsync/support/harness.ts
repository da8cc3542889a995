/**
 * One test file's workspace: a temporary folder, the pods set up in it, and
 * `syncOnce`: inject a pod with the real engine, set it up with the kubelet
 * model and run its first git-sync container to its exit. `close` (afterAll)
 * kills every git-sync and removes every folder.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectResult } from '../../../src/engine/index.ts';
import { runToExit, stopAll, stopCredentialCaches, type Exit } from './gitsync.ts';
import { PodSandbox, type Fixtures, type Image } from './kubelet.ts';
import { firstGitSync, injectedPod, NAMESPACE, type PodOptions } from './pods.ts';

export interface Synced {
  pod: V1Pod;
  result: InjectResult;
  sandbox: PodSandbox;
  exit: Exit & { output: string };
}

export class Harness {
  readonly dir: string;
  private readonly sandboxes: PodSandbox[] = [];

  constructor(name: string) {
    this.dir = mkdtempSync(join(tmpdir(), `gitsync-${name}-`));
  }

  /** Sets up a pod's volumes (FailedMount is thrown from here). */
  async sandbox(pod: V1Pod, fixtures: Fixtures): Promise<PodSandbox> {
    const sandbox = await PodSandbox.create(pod, { namespace: NAMESPACE, fixtures });
    this.sandboxes.push(sandbox);
    return sandbox;
  }

  /** Injects, sets up, runs the first git-sync container to its exit (CreateContainerConfigError is thrown from here). */
  async syncOnce(annotations: Record<string, string>, fixtures: Fixtures, image: Image, options: PodOptions = {}): Promise<Synced> {
    const { pod, result } = injectedPod(annotations, options);
    return { pod, result, ...(await this.run(pod, fixtures, image)) };
  }

  /** Runs the first git-sync container of an already injected pod. */
  async run(pod: V1Pod, fixtures: Fixtures, image: Image): Promise<{ sandbox: PodSandbox; exit: Exit & { output: string } }> {
    const sandbox = await this.sandbox(pod, fixtures);
    const exit = await runToExit(sandbox.process(firstGitSync(pod), image));
    return { sandbox, exit };
  }

  async close(): Promise<void> {
    await stopAll();
    for (const s of this.sandboxes) s.close(stopCredentialCaches);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** git-sync's JSON log lines, parsed; other lines as { msg }. */
export function logLines(output: string): { msg?: string; error?: string; [k: string]: unknown }[] {
  return output
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as { msg?: string; error?: string };
      } catch {
        return { msg: l };
      }
    });
}
