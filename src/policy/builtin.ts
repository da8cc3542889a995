import type { Policy } from './types.ts';

/**
 * The policy in force when none is configured: safe defaults that work on
 * any cluster. Every default of an annotation not listed in `defaults` comes
 * from the annotation table itself.
 */
export const BUILTIN_POLICY: Policy = {
  annotationPrefix: 'gitsync.dev/',
  image: 'registry.k8s.io/git-sync/git-sync:v4.7.1',
  imagePullPolicy: 'IfNotPresent',
  dialect: 'v4',
  defaults: {},
  presets: {
    // The Airflow chart's layout: DAGs at /opt/airflow/dags/repo/<sub-path>,
    // the chart's credential Secret keys, and Airflow told where they are.
    // A repository named plugins is Airflow's plugins folder, the same way.
    airflow: {
      'mount-path': '/opt/airflow/dags',
      env: 'AIRFLOW__CORE__DAGS_FOLDER',
      'secret-layout': 'airflow',
      'plugins.mount-path': '/opt/airflow/plugins',
      'plugins.env': 'AIRFLOW__CORE__PLUGINS_FOLDER',
      'plugins.secret-layout': 'airflow',
    },
  },
  allowedRepos: [],
  // Every filter that helps a sync; the git server decides whether it honours them.
  allowedFilters: ['blob:none', 'blob:limit', 'tree:0'],
  enforced: {},
  limits: {
    minPeriod: '10s',
    maxDepth: undefined,
    // DAGs, plugins and two more (shared libraries, config): each repository is two containers at most.
    maxRepositories: 4,
    allowedModes: ['sidecar', 'native', 'init-only'],
    maxSyncTimeout: '10m',
    maxFailures: 10,
    webhookHosts: [],
    // What a team may raise its own git-sync to (cpu-limit, memory-limit…): enough for a large monorepo.
    maxResources: { cpu: '1', memory: '2Gi' },
    maxRootSizeLimit: undefined,
  },
  networks: {},
  // The user names hosts expect with an access token: GitHub (any token, and
  // the only one a GitHub App installation token accepts), GitLab (OAuth and
  // access tokens), Bitbucket (repository and workspace access tokens).
  tokenUsers: { github: 'x-access-token', gitlab: 'oauth2', bitbucket: 'x-token-auth' },
  // Not set: git-sync's own default, https://api.github.com/.
  githubBaseUrl: undefined,
  knownHosts: [],
  allowInsecureHostKeys: false,
  excludedNamespaces: ['kube-system'],
  onInvalidAnnotations: 'deny',
  nativeSidecars: 'auto',
  gitSync: { root: '/git', link: 'repo', httpPort: 1234, maxFailures: 3, user: 65533, group: 65533, rootSizeLimit: undefined },
  resources: {
    requests: { cpu: '10m', memory: '64Mi' },
    limits: { memory: '256Mi' },
  },
  // Non-root, nothing to escalate to, read-only image, the runtime's seccomp
  // profile: what the "restricted" Pod Security Standard asks for.
  securityContext: {
    runAsNonRoot: true,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    seccompProfile: { type: 'RuntimeDefault' },
  },
};
