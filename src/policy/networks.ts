/**
 * The policy's network profiles: named bundles of proxy settings, a CA
 * bundle, git config and extra env for git-sync, which pods choose by name
 * with the `network` annotation (a default, a preset or a namespace can choose
 * one too, and `enforced` can lock the choice). Everything in a profile is
 * free-form text that ends up in git-sync's environment, so it is checked
 * here, when the policy is loaded, and only ever comes from the policy.
 */
import { X509Certificate } from 'node:crypto';
import { CONTROL_CHARS, isObject, parseObjectName, quote, type EnvPair, type NetworkProfile } from '../engine/index.ts';
import { INVALID, typeProblem } from './field-types.ts';
import { envProblemMessage, gitSyncEnvProblem } from './git-sync-env.ts';
import type { PolicyProblem } from './problems.ts';

/** A network profile as the policy document writes it. */
export interface NetworkPolicy {
  /** Proxy for https:// repositories (HTTPS_PROXY). */
  httpsProxy?: string;
  /** Proxy for http:// URLs, such as a webhook on another host (HTTP_PROXY). */
  httpProxy?: string;
  /** Hosts, domains and CIDRs reached directly (NO_PROXY). */
  noProxy?: string;
  /** PEM certificates git trusts for HTTPS instead of the image's. */
  caBundle?: string;
  /** git config entries, such as http.postBuffer: "524288000". */
  gitConfig?: Record<string, string>;
  /** Extra variables for git-sync, checked against its own settings. */
  env?: Record<string, string>;
}

/**
 * The bundle travels as a pod annotation, and Kubernetes allows 256 KiB of
 * annotations per object in all (the pod's own, the status, known_hosts):
 * a bundle of this size leaves room for them, and is hundreds of certificates.
 */
export const MAX_CA_BUNDLE_BYTES = 64 * 1024;
const PROFILE_FIELDS = ['httpsProxy', 'httpProxy', 'noProxy', 'caBundle', 'gitConfig', 'env'] as const;
const PROXY_SCHEMES = ['http:', 'https:', 'socks5:', 'socks5h:'];
// section[.subsection].name: git's own syntax; the subsection may be anything but a newline (a URL, for url.<base>.insteadOf).
const GIT_CONFIG_KEY = /^[A-Za-z0-9-]+(?:\.[^\n\0]+)?\.[A-Za-z][A-Za-z0-9-]*$/;

type Problems = PolicyProblem[];
const problem = (problems: Problems, field: string, value: string | undefined, message: string, code: PolicyProblem['code'] = 'POLICY_VALUE_INVALID'): void =>
  void problems.push({ code, field, ...(value !== undefined && { value: value.length > 200 ? `${value.slice(0, 200)}…` : value }), message });

function checkProxy(raw: string, field: string, problems: Problems): void {
  const use = 'use a URL such as http://proxy.corp.example:3128';
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return problem(problems, field, raw, `${quote(raw)} is not a URL; ${use}`);
  }
  if (!PROXY_SCHEMES.includes(u.protocol)) return problem(problems, field, raw, `${quote(raw)} is not an http, https or socks5 proxy URL; ${use}`);
  if (u.username || u.password) {
    return problem(problems, field, u.host, 'carries credentials, which would be written into every injected pod\'s spec for anyone who can read pods; use a proxy that does not need them from git-sync, or one that authenticates by source address');
  }
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || /\s/.test(raw)) return problem(problems, field, raw, `${quote(raw)} has a path, query or white space; ${use}`);
}

function checkCaBundle(raw: string, field: string, problems: Problems): string {
  if (Buffer.byteLength(raw) > MAX_CA_BUNDLE_BYTES) {
    problem(problems, field, undefined, `is ${Buffer.byteLength(raw)} bytes; at most ${MAX_CA_BUNDLE_BYTES} fit in the pod annotation that carries it (list only the CAs git needs)`);
    return '';
  }
  const blocks = raw.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const rest = blocks.reduce((text, b) => text.replace(b, ''), raw);
  if (blocks.length === 0 || rest.trim() !== '') {
    problem(problems, field, undefined, 'is not a PEM bundle of certificates only; give one or more -----BEGIN CERTIFICATE----- blocks (no private keys, no other text)');
    return '';
  }
  blocks.forEach((pem, i) => {
    try {
      if (!new X509Certificate(pem).ca) problem(problems, field, undefined, `certificate ${i + 1} is not a CA certificate (basicConstraints CA:TRUE); give the CA that signed the server's certificate`);
    } catch {
      problem(problems, field, undefined, `certificate ${i + 1} cannot be read as an X.509 certificate`);
    }
  });
  return `${blocks.join('\n')}\n`;
}

function checkStringMap(value: unknown, field: string, problems: Problems, expect: string): [string, string][] {
  if (!isObject(value)) {
    problems.push(typeProblem(field, value, 'a map', expect));
    return [];
  }
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(value)) {
    const path = `${field}.${k}`;
    if (typeof v === 'number' || typeof v === 'boolean') out.push([k, String(v)]);
    else if (typeof v === 'string') out.push([k, v]);
    else problems.push(typeProblem(path, v, 'a string', expect));
  }
  return out;
}

function checkValue(path: string, v: string, problems: Problems): boolean {
  if (CONTROL_CHARS.test(v)) {
    problem(problems, path, v, 'contains a control character (newline, tab…); remove it');
    return false;
  }
  return true;
}

/** One profile, checked and compiled; undefined when it has problems. */
function compileProfile(doc: Record<string, unknown>, field: string, problems: Problems): NetworkProfile | undefined {
  const before = problems.length;
  for (const key of Object.keys(doc)) {
    if (!(PROFILE_FIELDS as readonly string[]).includes(key)) {
      problem(problems, `${field}.${key}`, key, `is not a field of a network profile; use ${PROFILE_FIELDS.join(', ')}`, 'POLICY_FIELD_UNKNOWN');
    }
  }
  const str = (key: 'httpsProxy' | 'httpProxy' | 'noProxy' | 'caBundle'): string | undefined => {
    const v = doc[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    problems.push(typeProblem(`${field}.${key}`, v, 'a string', key === 'caBundle' ? 'PEM text, such as caBundle: |' : 'a string'));
    return undefined;
  };
  const env: EnvPair[] = [];
  // curl reads http_proxy only in lower case and HTTPS_PROXY/NO_PROXY in either; Go (git-sync's own requests) prefers upper case. Both, always.
  for (const [key, name] of [['httpsProxy', 'HTTPS_PROXY'], ['httpProxy', 'HTTP_PROXY']] as const) {
    const v = str(key);
    if (v === undefined) continue;
    checkProxy(v, `${field}.${key}`, problems);
    env.push([name, v], [name.toLowerCase(), v]);
  }
  const noProxy = str('noProxy');
  if (noProxy !== undefined) {
    if (/\s/.test(noProxy.replace(/, /g, ',')) || CONTROL_CHARS.test(noProxy)) problem(problems, `${field}.noProxy`, noProxy, `${quote(noProxy)} has white space; use a comma-separated list such as .corp.example,10.0.0.0/8`);
    env.push(['NO_PROXY', noProxy], ['no_proxy', noProxy]);
  }
  const ca = str('caBundle');
  const caBundle = ca === undefined ? '' : checkCaBundle(ca, `${field}.caBundle`, problems);

  const gitConfig: EnvPair[] = [];
  if (doc.gitConfig !== undefined && doc.gitConfig !== null) {
    for (const [key, value] of checkStringMap(doc.gitConfig, `${field}.gitConfig`, problems, 'a map of git config keys to values, such as http.postBuffer: "524288000"')) {
      const path = `${field}.gitConfig.${key}`;
      if (!GIT_CONFIG_KEY.test(key) || CONTROL_CHARS.test(key)) {
        problem(problems, path, key, `${quote(key)} is not a git config key; use section.name or section.<subsection>.name, such as http.postBuffer or url.https://mirror.corp.example/.insteadOf`);
        continue;
      }
      if (!checkValue(path, value, problems)) continue;
      if (caBundle && /^http\..*sslcainfo$/i.test(key)) {
        problem(problems, path, key, 'would compete with caBundle, which sets http.sslCAInfo; use one of them');
        continue;
      }
      gitConfig.push([key, value]);
    }
  }
  if (doc.env !== undefined && doc.env !== null) {
    for (const [name, value] of checkStringMap(doc.env, `${field}.env`, problems, 'a map of variable names to values, such as GITSYNC_VERBOSE: "2"')) {
      const path = `${field}.env.${name}`;
      const why = gitSyncEnvProblem(name);
      if (why !== undefined) problem(problems, path, name, envProblemMessage(name, why), 'VALUE_NOT_ALLOWED');
      else if (checkValue(path, value, problems)) env.push([name, value]);
    }
  }
  return problems.length > before ? undefined : { env, gitConfig, caBundle };
}

/** The `networks` field: profile name → profile. Returns the compiled profiles, or INVALID. */
export function checkNetworks(value: unknown, field: string, problems: Problems): Map<string, NetworkProfile> | typeof INVALID {
  if (!isObject(value)) {
    problems.push(typeProblem(field, value, 'a map', 'a map of profile names to profiles, such as corp: {httpsProxy: http://proxy:3128}'));
    return INVALID;
  }
  const out = new Map<string, NetworkProfile>();
  const before = problems.length;
  for (const [name, doc] of Object.entries(value)) {
    const path = `${field}.${name}`;
    const named = parseObjectName(name);
    if (!named.ok) problem(problems, path, name, named.message, named.code);
    if (!isObject(doc)) {
      problems.push(typeProblem(path, doc, 'a map', `a map with ${PROFILE_FIELDS.join(', ')}`));
      continue;
    }
    const profile = compileProfile(doc, path, problems);
    if (profile && named.ok) out.set(name, profile);
  }
  return problems.length > before ? INVALID : out;
}
