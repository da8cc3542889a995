/**
 * What the suite creates in the cluster: the input pod of every golden case
 * (test/golden/pods), made creatable, and workloads whose controllers create
 * pods. The golden cases' policies and namespaces are not used: the
 * prediction each pod is checked against comes from the webhook under test
 * (its /preview), so the shape of the pod is what is being tested, under
 * whatever policy that webhook has.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const GOLDEN_DIR = join(import.meta.dirname, '..', '..', 'golden', 'pods');

/** An image every cluster can pull and that needs no command: the pods are looked at, not run. */
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';

export interface GoldenShape {
  /** The golden file, e.g. 02-airflow-scheduler.yaml. */
  file: string;
  description: string;
  /** The pod to create: the golden input, made creatable. */
  pod: Json;
}

/**
 * The golden input as the API server will accept it from a test:
 * - `name` as its name, or as its generateName prefix when it had only that,
 *   so cases whose pods share a name do not collide;
 * - no namespace of its own (it is created in the throwaway namespace);
 * - no references that must exist first and are not what the injector reads:
 *   service account, owner references (the garbage collector would delete
 *   the pod), priority and runtime classes; no status;
 * - `spec.nodeName` kept: the API server does not require the node to exist,
 *   and a mirror pod must name one (it is refused without);
 * - an image for every container that has none.
 */
export function creatable(input: unknown, name: string): Json {
  const pod = structuredClone(input) as Json;
  const metadata: Json = isObject(pod.metadata) ? pod.metadata : {};
  pod.metadata = metadata;
  if (typeof metadata.name === 'string' && metadata.name !== '') metadata.name = name;
  else metadata.generateName = `${name}-`;
  for (const key of ['namespace', 'ownerReferences', 'uid', 'resourceVersion', 'creationTimestamp']) delete metadata[key];
  delete pod.status;
  const spec: Json = isObject(pod.spec) ? pod.spec : {};
  for (const key of ['serviceAccountName', 'serviceAccount', 'priorityClassName', 'priority', 'runtimeClassName']) delete spec[key];
  for (const list of ['initContainers', 'containers'] as const) {
    for (const c of (Array.isArray(spec[list]) ? spec[list] : []) as Json[]) c.image ??= PAUSE_IMAGE;
  }
  return { apiVersion: 'v1', kind: 'Pod', ...pod };
}

/** Every golden case file, in name order, parsed as the golden test reads it (YAML 1.1). */
export function goldenFiles<T extends { input: unknown }>(): { file: string; doc: T }[] {
  return readdirSync(GOLDEN_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => ({ file, doc: parseDocument(readFileSync(join(GOLDEN_DIR, file), 'utf8'), { version: '1.1' }).toJS() as T }));
}

/** Every golden case's input pod, made creatable. */
export function goldenShapes(): GoldenShape[] {
  return goldenFiles<{ description?: string; input: unknown }>().map(({ file, doc }) => {
      const caseId = file.replace(/\.yaml$/, '').toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40).replace(/-+$/, '');
      return { file, description: doc.description ?? file, pod: creatable(doc.input, `golden-${caseId}`) };
    });
}

/** The pod template annotations of the workloads: an Airflow-like component syncing a public repository. */
const TEMPLATE_ANNOTATIONS = {
  'gitsync.dev/repo': 'https://github.com/kubernetes/git-sync.git',
  'gitsync.dev/ref': 'master',
  'gitsync.dev/preset': 'airflow',
  'gitsync.dev/sub-path': 'docs',
};

export interface WorkloadShape {
  kind: string;
  /** Label on the pod template, to find the pods the controller creates. */
  selector: string;
  object: Json;
}

/** A Deployment (long-running: init + sidecar) and a Job (run to completion: init only). */
export function workloadShapes(): WorkloadShape[] {
  const template = (app: string, restartPolicy: string) => ({
    metadata: { labels: { 'e2e.gitsync.dev/workload': app }, annotations: TEMPLATE_ANNOTATIONS },
    spec: { restartPolicy, terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: PAUSE_IMAGE }] },
  });
  return [
    {
      kind: 'Deployment',
      selector: 'e2e.gitsync.dev/workload=scheduler',
      object: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'scheduler' },
        spec: { replicas: 1, selector: { matchLabels: { 'e2e.gitsync.dev/workload': 'scheduler' } }, template: template('scheduler', 'Always') },
      },
    },
    {
      kind: 'Job',
      selector: 'e2e.gitsync.dev/workload=task',
      object: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'task' },
        spec: { backoffLimit: 0, ttlSecondsAfterFinished: 600, template: template('task', 'Never') },
      },
    },
  ];
}
