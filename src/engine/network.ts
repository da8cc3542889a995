/**
 * The network a pod's git-sync uses: one of the policy's named profiles
 * (proxy variables, extra env, git config, a CA bundle), chosen with the
 * `network` annotation. Pods only choose a name; every value comes from the
 * policy, compiled and checked when it was loaded (policy/networks.ts).
 *
 * The CA bundle reaches git-sync the way the policy's known_hosts does: as a
 * pod annotation the injector writes, projected into a file by a downwardAPI
 * volume, so no ConfigMap or Secret has to exist in the pod's namespace and
 * nothing needs RBAC. git is pointed at it with `http.sslCAInfo` through
 * git-sync's --git-config, not with GIT_SSL_CAINFO: the environment variable
 * would override every http.sslCAInfo, including a per-URL
 * `http.<url>.sslCAInfo` that the policy's own gitConfig may set, whereas
 * config keeps every trust decision in one place where git's own precedence
 * (the more specific URL wins) applies. docs/networks.md says the same.
 *
 * git is not git-sync's only HTTPS client: git-sync itself (Go's net/http)
 * asks the GitHub API for App installation tokens and calls --webhook-url.
 * Go reads its roots from SSL_CERT_FILE, so the bundle is named there too;
 * without it a GitHub Enterprise Server behind the private CA refuses the
 * token request ("x509: certificate signed by unknown authority"), which
 * test/gitsync/github-app.test.ts shows with the real git-sync. git does not
 * read SSL_CERT_FILE once http.sslCAInfo is set, so git's trust is unchanged.
 */
import { WRITTEN_ANNOTATIONS } from './annotations.ts';
import type { EnginePolicy, NetworkProfile } from './context.ts';
import type { EnvPair } from './dialect.ts';
import { quote, type Problem } from './problems.ts';
import { publishedPath, type PublishedFile } from './published.ts';
import type { Settings } from './settings.ts';

export const CA_BUNDLE_MOUNT = '/etc/git-sync-ca';
const CA_BUNDLE_NAME = 'ca-bundle.crt';
export const CA_BUNDLE_FILE = publishedPath({ mountPath: CA_BUNDLE_MOUNT, file: CA_BUNDLE_NAME });

export interface NetworkWiring {
  /** Proxy variables and the profile's extra env. */
  env: readonly EnvPair[];
  /** git config entries for git-sync's --git-config, the CA entry included. */
  gitConfig: EnvPair[];
  /** The bundle, published on the pod and projected into a file (published.ts). */
  caBundle?: PublishedFile;
  errors: Problem[];
}

const NONE: NetworkProfile = { env: [], gitConfig: [], caBundle: '' };

export function wireNetwork(settings: Settings, policy: EnginePolicy): NetworkWiring {
  const chosen = settings.network;
  let profile = NONE;
  const errors: Problem[] = [];
  if (chosen) {
    const found = policy.networks.get(chosen.value);
    if (found) profile = found;
    else {
      const known = [...policy.networks.keys()];
      errors.push({
        code: 'NETWORK_UNKNOWN',
        field: chosen.field,
        value: chosen.raw,
        message: `${quote(chosen.raw)} is not a network profile of the policy; use one of ${known.length ? known.join(', ') : '(none defined)'}`,
      });
    }
  }
  const wiring: NetworkWiring = { env: profile.env, gitConfig: [...profile.gitConfig], errors };
  if (profile.caBundle) {
    wiring.gitConfig.push(['http.sslCAInfo', CA_BUNDLE_FILE]);
    wiring.env = [...profile.env, ['SSL_CERT_FILE', CA_BUNDLE_FILE]];
    wiring.caBundle = {
      annotation: WRITTEN_ANNOTATIONS.caBundle,
      volume: 'git-sync-ca',
      mountPath: CA_BUNDLE_MOUNT,
      file: CA_BUNDLE_NAME,
      data: profile.caBundle,
    };
  }
  return wiring;
}

/** A string as git-sync's --git-config reads a quoted key or value: '\' , '"' and ',' escaped (newlines never reach here). */
const quoted = (s: string): string => `"${s.replace(/[\\",]/g, (c) => `\\${c}`).replace(/\t/g, '\\t')}"`;

/**
 * git-sync's --git-config value: comma-separated `key:value` pairs. Keys and
 * values are always quoted, so that a URL in a key (`url.<base>.insteadOf`)
 * or a comma in a value needs no special case.
 */
export function encodeGitConfig(entries: readonly EnvPair[]): string {
  return entries.map(([k, v]) => `${quoted(k)}:${quoted(v)}`).join(',');
}
