/**
 * The pods the benchmark sends, as the API server sends them to a mutating
 * webhook: already defaulted (imagePullPolicy, terminationMessagePath,
 * dnsPolicy, tolerations…) and with the service account token volume that
 * the built-in ServiceAccount admission plugin adds before any webhook runs.
 * Their size and shape, not only their annotations, is what the server parses
 * and the engine walks, so they are written out as real clusters have them.
 */

type Json = Record<string, unknown>;

/** Fields the API server fills in on every container before admission webhooks see it. */
const containerDefaults = {
  imagePullPolicy: 'IfNotPresent',
  terminationMessagePath: '/dev/termination-log',
  terminationMessagePolicy: 'File',
};

/** Fields the API server fills in on every pod spec before admission webhooks see it. */
const specDefaults = {
  dnsPolicy: 'ClusterFirst',
  enableServiceLinks: true,
  preemptionPolicy: 'PreemptLowerPriority',
  priority: 0,
  schedulerName: 'default-scheduler',
  terminationGracePeriodSeconds: 30,
  tolerations: [
    { effect: 'NoExecute', key: 'node.kubernetes.io/not-ready', operator: 'Exists', tolerationSeconds: 300 },
    { effect: 'NoExecute', key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 300 },
  ],
};

/** The projected token volume the ServiceAccount admission plugin adds, and its mount. */
function serviceAccountToken(suffix: string): { volume: Json; mount: Json } {
  const name = `kube-api-access-${suffix}`;
  return {
    volume: {
      name,
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    },
    mount: { name, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
  };
}

const secretEnv = (name: string, secret: string, key: string): Json => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });

/** The environment the Airflow Helm chart gives its components: mostly references to its Secrets. */
function airflowEnv(): Json[] {
  return [
    { name: 'AIRFLOW__CORE__EXECUTOR', value: 'KubernetesExecutor' },
    secretEnv('AIRFLOW__CORE__FERNET_KEY', 'airflow-fernet-key', 'fernet-key'),
    secretEnv('AIRFLOW_HOME', 'airflow-home', 'home'),
    secretEnv('AIRFLOW__DATABASE__SQL_ALCHEMY_CONN', 'airflow-metadata', 'connection'),
    secretEnv('AIRFLOW_CONN_AIRFLOW_DB', 'airflow-metadata', 'connection'),
    secretEnv('AIRFLOW__API__SECRET_KEY', 'airflow-api-secret-key', 'api-secret-key'),
    secretEnv('AIRFLOW__API_AUTH__JWT_SECRET', 'airflow-jwt-secret', 'jwt-secret'),
    { name: 'AIRFLOW__CORE__LOAD_EXAMPLES', value: 'False' },
    { name: 'AIRFLOW__LOGGING__REMOTE_LOGGING', value: 'False' },
    { name: 'AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE', value: 'airflow' },
  ];
}

const airflowLabels = (component: string): Record<string, string> => ({ component, release: 'airflow', tier: 'airflow' });

/** The metadata both scheduler pods start with: the name their ReplicaSet generates, in the airflow namespace. */
const schedulerMetadata = (rest: Json): Json => ({ generateName: 'airflow-scheduler-7d9f8b6c5-', namespace: 'airflow', ...rest });

/** The scheduler container of both scheduler pods: the chart's command; `rest` is what differs (env, probes, resources, mounts). */
const schedulerContainer = (rest: Json): Json => ({ ...containerDefaults, name: 'scheduler', image: 'apache/airflow:3.1.3', args: ['bash', '-c', 'exec airflow scheduler'], ...rest });

/** The spec of a long-running pod (a Deployment's) as the API server has defaulted it, run as `serviceAccount`. */
const runningSpec = (serviceAccount: string, rest: Json): Json => ({ ...specDefaults, restartPolicy: 'Always', serviceAccountName: serviceAccount, serviceAccount, ...rest });

/** An Airflow scheduler as its ReplicaSet creates it: scheduler, log groomer, a migrations wait, the chart's volumes. */
export function schedulerPod(annotations: Record<string, string>): Json {
  const token = serviceAccountToken('q8x2m');
  const mounts = [
    { name: 'logs', mountPath: '/opt/airflow/logs' },
    { name: 'config', mountPath: '/opt/airflow/airflow.cfg', subPath: 'airflow.cfg', readOnly: true },
    { name: 'config', mountPath: '/opt/airflow/config/airflow_local_settings.py', subPath: 'airflow_local_settings.py', readOnly: true },
    token.mount,
  ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: schedulerMetadata({
      labels: { ...airflowLabels('scheduler'), 'pod-template-hash': '7d9f8b6c5' },
      annotations: {
        'checksum/metadata-secret': '2c1d3f0e8a77b0f2b35c5a2a0c5e4b1f6a8d9e3c7b2a1f0e9d8c7b6a5f4e3d2c',
        'checksum/airflow-config': '8d9e3c7b2a1f0e9d8c7b6a5f4e3d2c2c1d3f0e8a77b0f2b35c5a2a0c5e4b1f6a',
        'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true',
        ...annotations,
      },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'airflow-scheduler-7d9f8b6c5', uid: 'b3c1f6de-0a6e-4a4f-9a53-2d7c0e9f11a2', controller: true, blockOwnerDeletion: true },
      ],
    }),
    spec: runningSpec('airflow-scheduler', {
      securityContext: { runAsUser: 50000, fsGroup: 0 },
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { component: 'scheduler' } } } },
          ],
        },
      },
      initContainers: [
        {
          ...containerDefaults,
          name: 'wait-for-airflow-migrations',
          image: 'apache/airflow:3.1.3',
          args: ['airflow', 'db', 'check-migrations', '--migration-wait-timeout=60'],
          env: airflowEnv(),
          resources: {},
          volumeMounts: mounts.slice(1),
        },
      ],
      containers: [
        schedulerContainer({
          env: airflowEnv(),
          livenessProbe: {
            exec: { command: ['sh', '-c', 'airflow jobs check --job-type SchedulerJob --local'] },
            initialDelaySeconds: 10,
            periodSeconds: 60,
            timeoutSeconds: 20,
            failureThreshold: 5,
            successThreshold: 1,
          },
          resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
          volumeMounts: mounts,
        }),
        {
          ...containerDefaults,
          name: 'scheduler-log-groomer',
          image: 'apache/airflow:3.1.3',
          args: ['bash', '/clean-logs'],
          env: [
            { name: 'AIRFLOW__LOG_RETENTION_DAYS', value: '15' },
            { name: 'AIRFLOW_HOME', value: '/opt/airflow' },
          ],
          resources: {},
          volumeMounts: [mounts[0], token.mount],
        },
      ],
      volumes: [{ name: 'config', configMap: { name: 'airflow-config', defaultMode: 420 } }, { name: 'logs', emptyDir: {} }, token.volume],
    }),
  };
}

/** A KubernetesExecutor task pod as the scheduler creates it: one `base` container, restartPolicy Never. */
export function executorTaskPod(annotations: Record<string, string>): Json {
  const token = serviceAccountToken('h7t4z');
  const task = { dag_id: 'example_bash_operator', task_id: 'runme_0', run_id: 'scheduled__2026-11-22T00:00:00+00:00', try_number: '1' };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'example-bash-operator-runme-0-4e0f1c2a',
      namespace: 'airflow',
      labels: {
        'airflow-worker': '42',
        airflow_version: '3.1.3',
        component: 'worker',
        dag_id: task.dag_id,
        task_id: task.task_id,
        run_id: 'scheduled__2026-11-22T0000000000-8c1b7c3f2',
        try_number: task.try_number,
        kubernetes_executor: 'True',
        release: 'airflow',
      },
      annotations: { ...task, ...annotations },
    },
    spec: {
      ...specDefaults,
      restartPolicy: 'Never',
      serviceAccountName: 'airflow-worker',
      serviceAccount: 'airflow-worker',
      securityContext: { runAsUser: 50000, fsGroup: 0 },
      containers: [
        {
          ...containerDefaults,
          name: 'base',
          image: 'apache/airflow:3.1.3',
          args: ['airflow', 'tasks', 'run', task.dag_id, task.task_id, task.run_id, '--local', '--subdir', 'DAGS_FOLDER/example_bash_operator.py'],
          env: [{ name: 'AIRFLOW_IS_K8S_EXECUTOR_POD', value: 'True' }, ...airflowEnv()],
          resources: { requests: { cpu: '250m', memory: '512Mi' } },
          volumeMounts: [
            { name: 'logs', mountPath: '/opt/airflow/logs' },
            { name: 'config', mountPath: '/opt/airflow/airflow.cfg', subPath: 'airflow.cfg', readOnly: true },
            token.mount,
          ],
        },
      ],
      volumes: [{ name: 'config', configMap: { name: 'airflow-config', defaultMode: 420 } }, { name: 'logs', emptyDir: {} }, token.volume],
    },
  };
}

/** An ordinary web pod from a Deployment, which the injector does not touch. */
export function webPod(): Json {
  const token = serviceAccountToken('w2k9d');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'storefront-5c7d8f9b4-',
      namespace: 'shop',
      labels: { app: 'storefront', 'pod-template-hash': '5c7d8f9b4' },
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'storefront-5c7d8f9b4', uid: '0d6e3b55-8f1c-4b7e-a0c2-7e4f1b9d2c31', controller: true, blockOwnerDeletion: true }],
    },
    spec: runningSpec('default', {
      containers: [
        {
          ...containerDefaults,
          name: 'storefront',
          image: 'registry.example.com/shop/storefront:4.12.0',
          ports: [
            { name: 'http', containerPort: 8080, protocol: 'TCP' },
            { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
          ],
          env: [
            { name: 'PORT', value: '8080' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
          ],
          readinessProbe: { httpGet: { path: '/ready', port: 8080, scheme: 'HTTP' }, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          volumeMounts: [token.mount],
        },
      ],
      volumes: [token.volume],
    }),
  };
}

/**
 * A pod at the large end of what clusters hold: a monolith with `envCount`
 * environment variables and `volumeCount` ConfigMap volumes, each mounted.
 */
export function largePod(annotations: Record<string, string>, envCount: number, volumeCount: number): Json {
  const token = serviceAccountToken('l5n8r');
  const env = Array.from({ length: envCount }, (_, i) =>
    i % 3 === 0
      ? secretEnv(`LEGACY_SETTING_${String(i).padStart(3, '0')}`, 'legacy-settings', `setting-${i}`)
      : { name: `LEGACY_SETTING_${String(i).padStart(3, '0')}`, value: `value-${i}-${'x'.repeat(24)}` },
  );
  const volumes = Array.from({ length: volumeCount }, (_, i) => ({ name: `config-${i}`, configMap: { name: `legacy-config-${i}`, defaultMode: 420 } }));
  const mounts = volumes.map((v, i) => ({ name: v.name, mountPath: `/etc/legacy/conf.d/${String(i).padStart(3, '0')}`, readOnly: true }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'legacy-monolith-6f8d7c9b5-',
      namespace: 'legacy',
      labels: { app: 'legacy-monolith', 'pod-template-hash': '6f8d7c9b5' },
      annotations,
    },
    spec: runningSpec('default', {
      containers: [
        {
          ...containerDefaults,
          name: 'monolith',
          image: 'registry.example.com/legacy/monolith:2019.4',
          env,
          resources: { requests: { cpu: '2', memory: '4Gi' }, limits: { memory: '8Gi' } },
          volumeMounts: [...mounts, token.mount],
        },
        {
          ...containerDefaults,
          name: 'log-shipper',
          image: 'registry.example.com/logging/shipper:1.8',
          env: env.slice(0, Math.min(envCount, 40)),
          resources: { requests: { cpu: '50m', memory: '64Mi' } },
          volumeMounts: [token.mount],
        },
      ],
      volumes: [...volumes, token.volume],
    }),
  };
}

/**
 * The single review: an Airflow scheduler as small as the chart can
 * make it (one container, no chart env), about 1.5 KB on the wire with its
 * AdmissionReview envelope.
 */
export function compactSchedulerPod(annotations: Record<string, string>): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: schedulerMetadata({ labels: airflowLabels('scheduler'), annotations }),
    spec: {
      restartPolicy: 'Always',
      serviceAccountName: 'airflow-scheduler',
      securityContext: { runAsUser: 50000, fsGroup: 0 },
      containers: [
        schedulerContainer({
          env: [{ name: 'AIRFLOW__CORE__EXECUTOR', value: 'KubernetesExecutor' }],
          resources: { requests: { cpu: '500m', memory: '1Gi' } },
          volumeMounts: [{ name: 'logs', mountPath: '/opt/airflow/logs' }],
        }),
      ],
      volumes: [{ name: 'logs', emptyDir: {} }],
    },
  };
}

/** The shape of a pod in the cost-growth table: how many containers, env entries per container and annotations. */
export interface GrowthShape {
  containers: number;
  env: number;
  annotations: number;
}

/**
 * A pod that opts in with `annotations` annotations (the repository, then
 * settings, then annotations of other tools) and has `containers` containers
 * of `env` environment variables each: the sizes the cost of an admission
 * should grow with, no faster.
 */
export function growthPod(shape: GrowthShape): Json {
  const settings: [string, string][] = [
    ['gitsync.dev/repo', 'https://github.com/acme/airflow-dags.git'],
    ['gitsync.dev/ref', 'main'],
    ['gitsync.dev/period', '30s'],
    ['gitsync.dev/depth', '1'],
    ['gitsync.dev/sub-path', 'dags'],
    ['gitsync.dev/mount-path', '/opt/dags'],
    ['gitsync.dev/env', 'DAGS_FOLDER'],
  ];
  const annotations = Object.fromEntries(
    Array.from({ length: shape.annotations }, (_, i) => settings[i] ?? [`example.com/note-${i}`, `a note from another tool, number ${i}`]),
  );
  const env = Array.from({ length: shape.env }, (_, i) => ({ name: `SETTING_${i}`, value: `value-${i}` }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: 'growth-', namespace: 'growth', annotations },
    spec: {
      restartPolicy: 'Always',
      containers: Array.from({ length: shape.containers }, (_, i) => ({
        ...containerDefaults,
        name: `app-${i}`,
        image: 'registry.example.com/app:1.0',
        env,
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      })),
      volumes: [{ name: 'data', emptyDir: {} }],
    },
  };
}
