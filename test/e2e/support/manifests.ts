/**
 * The install manifests as a platform team renders them: every folder of
 * manifests/ that holds a kustomization.yaml (the base, each overlay, the
 * examples), rendered with `kubectl kustomize`, the renderer of
 * `kubectl apply -k`. The self-signed overlay needs the files of the `certs`
 * command first: they are generated into a copy of manifests/, never into
 * the repository (and a developer's own generated files are not copied).
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { generateCertificates } from '../../../src/cli/certs.ts';
import type { Kubectl } from './kubectl.ts';

export type Obj = Record<string, any>;

export const MANIFESTS = join(import.meta.dirname, '..', '..', '..', 'manifests');
/** Fixed by the manifests: the namespace and Service of the installation. */
export const INSTALL = 'gitsync-injector';
/** Files the certs command writes into the self-signed overlay. */
const CERT_FILES = /overlays[/\\]self-signed[/\\](ca\.crt|ca\.key|tls\.crt|tls\.key|ca-bundle)$/;

export interface Rendered {
  /** The folder relative to manifests/, e.g. overlays/self-signed. */
  folder: string;
  objects: Obj[];
}

export interface RenderedManifests {
  renders: Rendered[];
  /** Removes the copy. */
  remove(): void;
}

function kustomizations(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name === 'kustomization.yaml') found.push(dir);
    }
  };
  walk(root);
  return found.sort();
}

/** Renders every kustomization in a copy of manifests/, with certificates from the certs command for the self-signed overlay. */
export async function renderManifests(kubectl: Kubectl): Promise<RenderedManifests> {
  const dir = mkdtempSync(join(tmpdir(), 'gitsync-injector-e2e-manifests-'));
  try {
    const copy = join(dir, 'manifests');
    cpSync(MANIFESTS, copy, { recursive: true, filter: (source) => !CERT_FILES.test(source) });
    await generateCertificates({ service: INSTALL, namespace: INSTALL, out: join(copy, 'overlays', 'self-signed'), clusterDomain: 'cluster.local', days: 1, renew: false, force: false });
    const renders: Rendered[] = [];
    for (const folder of kustomizations(copy)) {
      const result = await kubectl.must(['kustomize', folder]);
      renders.push({ folder: relative(copy, folder), objects: parseAllDocuments(result.stdout).map((d) => d.toJS() as Obj).filter((o) => o !== null) });
    }
    return { renders, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** `Kind namespace/name` or `Kind name`, for messages and assertions. */
export const describeObject = (o: Obj): string => `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
