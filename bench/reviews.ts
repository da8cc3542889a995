/**
 * What the benchmark sends: a mix of AdmissionReviews for the pods a cluster
 * running Airflow really creates, each with the outcome it must get, and the
 * policy the server runs with (the built-in one plus SSH host keys, so that
 * SSH pods inject).
 */
import type { AdmissionOutcome } from '../src/admission/index.ts';
import type { EngineContext } from '../src/engine/index.ts';
import { BUILTIN_POLICY } from '../src/policy/builtin.ts';
import { mustCompile } from '../src/policy/compile.ts';
import type { Policy } from '../src/policy/types.ts';
import { VERSION } from '../src/version.ts';
import { compactSchedulerPod, executorTaskPod, growthPod, largePod, schedulerPod, webPod, type GrowthShape } from './pods.ts';

export const BENCH_POLICY: Policy = {
  ...BUILTIN_POLICY,
  knownHosts: ['github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'],
};

export const benchContext = (): EngineContext => ({ policy: mustCompile(BENCH_POLICY).engine, cluster: {}, version: VERSION });

export interface BenchReview {
  /** Short name for tables. */
  name: string;
  description: string;
  /** What the webhook must answer; checked before every run, so the numbers are for what they claim. */
  expected: Extract<AdmissionOutcome, 'injected' | 'skipped' | 'denied'>;
  /** The AdmissionReview as the API server sends it, parsed. */
  review: Record<string, unknown>;
  /** The same, as the bytes on the wire. */
  body: string;
}

const LARGE_ENV = 300;
const LARGE_VOLUMES = 150;

export function reviewFor(uid: string, pod: Record<string, unknown>, username: string): Record<string, unknown> {
  const metadata = pod.metadata as { name?: string; namespace: string };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      ...(metadata.name && { name: metadata.name }),
      namespace: metadata.namespace,
      operation: 'CREATE',
      userInfo: {
        username,
        uid: '6f3c1e0a-2b7d-4c59-8e1f-0a9b8c7d6e5f',
        groups: ['system:serviceaccounts', `system:serviceaccounts:${metadata.namespace}`, 'system:authenticated'],
      },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

const airflowRepo = {
  'gitsync.dev/repo': 'https://github.com/acme/airflow-dags.git',
  'gitsync.dev/ref': 'main',
  'gitsync.dev/preset': 'airflow',
  'gitsync.dev/secret': 'airflow-git-credentials',
  'gitsync.dev/sub-path': 'dags',
};

const REPLICASET_CONTROLLER = 'system:serviceaccount:kube-system:replicaset-controller';

/** The mix, in the order each connection cycles through it. Every uid is fixed, so the baseline can answer each with our exact answer. */
export function benchReviews(): BenchReview[] {
  const reviews: Omit<BenchReview, 'body'>[] = [
    {
      name: 'scheduler',
      description: 'Airflow scheduler (airflow preset, chart credentials, init + sidecar)',
      expected: 'injected',
      review: reviewFor('4b1f0c9e-0001-4a7e-9c3d-5e2f8a6b7c01', schedulerPod({ ...airflowRepo, 'gitsync.dev/period': '30s' }), REPLICASET_CONTROLLER),
    },
    {
      name: 'executor-task',
      description: 'KubernetesExecutor task pod (restartPolicy Never, init-only)',
      expected: 'injected',
      review: reviewFor('4b1f0c9e-0002-4a7e-9c3d-5e2f8a6b7c02', executorTaskPod(airflowRepo), 'system:serviceaccount:airflow:airflow-scheduler'),
    },
    {
      name: 'ssh',
      description: 'dag-processor from an SSH repository, host keys from the policy',
      expected: 'injected',
      review: reviewFor(
        '4b1f0c9e-0003-4a7e-9c3d-5e2f8a6b7c03',
        schedulerPod({
          'gitsync.dev/repo': 'git@github.com:acme/airflow-dags.git',
          'gitsync.dev/preset': 'airflow',
          'gitsync.dev/secret': 'airflow-ssh-git-secret',
          'gitsync.dev/sub-path': 'dags',
        }),
        REPLICASET_CONTROLLER,
      ),
    },
    {
      name: 'skipped',
      description: 'web pod without git-sync annotations (not opted in)',
      expected: 'skipped',
      review: reviewFor('4b1f0c9e-0004-4a7e-9c3d-5e2f8a6b7c04', webPod(), REPLICASET_CONTROLLER),
    },
    {
      name: 'large',
      description: `monolith with ${LARGE_ENV} env vars and ${LARGE_VOLUMES} volumes`,
      expected: 'injected',
      review: reviewFor(
        '4b1f0c9e-0005-4a7e-9c3d-5e2f8a6b7c05',
        largePod({ 'gitsync.dev/repo': 'https://gitlab.example.com/legacy/config.git', 'gitsync.dev/mount-path': '/etc/legacy/git' }, LARGE_ENV, LARGE_VOLUMES),
        REPLICASET_CONTROLLER,
      ),
    },
    {
      name: 'denied',
      description: 'scheduler with three bad annotations (period, ref, mode)',
      expected: 'denied',
      review: reviewFor(
        '4b1f0c9e-0006-4a7e-9c3d-5e2f8a6b7c06',
        schedulerPod({ ...airflowRepo, 'gitsync.dev/period': '5x', 'gitsync.dev/ref': 'main..dev', 'gitsync.dev/mode': 'bogus' }),
        REPLICASET_CONTROLLER,
      ),
    },
  ];
  return reviews.map((r) => ({ ...r, body: JSON.stringify(r.review) }));
}

/**
 * The single review: a compact Airflow scheduler with the airflow
 * preset, the chart's credential Secret and a sub-path (about 1.5 KB).
 */
export function airflowReview(): BenchReview {
  const review = reviewFor('4b1f0c9e-0007-4a7e-9c3d-5e2f8a6b7c07', compactSchedulerPod({ ...airflowRepo }), REPLICASET_CONTROLLER);
  return {
    name: 'airflow',
    description: 'compact Airflow scheduler (airflow preset, a Secret, a sub-path)',
    expected: 'injected',
    review,
    body: JSON.stringify(review),
  };
}

/**
 * The same pod opted out (`gitsync.dev/inject: "false"` on the pod): the
 * server's whole path (parse, the admission adapter, the engine up to its
 * first decision, the log line, metrics, the answer) without an injection.
 * Its cost over the baseline is what the server adds to any request; the
 * Airflow review's cost over it is what the injection adds.
 */
export function optedOutReview(): BenchReview {
  const review = reviewFor('4b1f0c9e-0009-4a7e-9c3d-5e2f8a6b7c09', compactSchedulerPod({ ...airflowRepo, 'gitsync.dev/inject': 'false' }), REPLICASET_CONTROLLER);
  return {
    name: 'airflow, opted out',
    description: 'the same pod opted out (gitsync.dev/inject: "false"): the server without an injection',
    expected: 'skipped',
    review,
    body: JSON.stringify(review),
  };
}

/** Every review the servers are measured with, each answered by the baseline with our exact answer. */
export const measuredReviews = (): BenchReview[] => [...benchReviews(), airflowReview(), optedOutReview()];

/** Reviews of the cost-growth table's pods, one per shape. */
export function growthReview(shape: GrowthShape): BenchReview {
  const review = reviewFor('4b1f0c9e-0008-4a7e-9c3d-5e2f8a6b7c08', growthPod(shape), REPLICASET_CONTROLLER);
  const name = `${shape.containers} containers, ${shape.env} env, ${shape.annotations} annotations`;
  return { name, description: name, expected: 'injected', review, body: JSON.stringify(review) };
}
