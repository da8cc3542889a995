/**
 * `gitsync-injector certs`: what the webhook needs to serve TLS in a cluster
 * without cert-manager, so nobody has to learn openssl. A CA and a serving
 * certificate for the names the API server dials (`<service>.<namespace>.svc`
 * and its `.svc.cluster.local` form), in the file layout of a
 * kubernetes.io/tls Secret, plus the CA as base64, which is the webhook
 * configuration's caBundle. The self-signed overlay reads these files.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certificatePaths, createCA, issueServingCertificate, replaceFile, writeCertificates, type CertificatePaths, type KeyPair } from '../tls/index.ts';
import { parseFlags, UsageError, type Env } from '../args.ts';
import type { Command } from './commands.ts';
import { isDnsLabel, isDnsSubdomain } from '../engine/index.ts';

const CA_DAYS = 3650;
const DEFAULT_DAYS = 365;

const USAGE = `Usage: gitsync-injector certs --service NAME --namespace NS --out DIR [options]

Creates a CA and a serving certificate for the webhook's Service, valid for
NAME.NS.svc and NAME.NS.svc.<cluster domain>, for clusters without
cert-manager. Files written to DIR:

  ca.crt     the CA certificate (PEM)
  ca.key     the CA's private key: keep it to renew the serving certificate
             with --renew; never commit it
  tls.crt    the serving certificate (PEM), signed by the CA
  tls.key    its private key (PEM)
  ca-bundle  ca.crt as base64: the caBundle of the MutatingWebhookConfiguration

tls.crt, tls.key and ca.crt are the keys of a kubernetes.io/tls Secret. With
DIR = manifests/overlays/self-signed, 'kubectl apply -k DIR' installs the
webhook with them. Existing files are never replaced without --renew or --force.

Options:
  --service NAME          the webhook's Service name (required)
  --namespace NS          its namespace (required)
  --out DIR               where to write the files (required; created if missing)
  --cluster-domain NAME   the cluster's DNS domain (default cluster.local)
  --days N                how long the serving certificate is valid (default ${DEFAULT_DAYS})
  --renew                 issue a new serving certificate from the CA already in
                          DIR (ca.crt, ca.key) and replace tls.crt and tls.key;
                          the caBundle stays the same, so nothing else changes
  --force                 replace every file, with a new CA (the caBundle changes)
  -h, --help              show this help
`;

export interface CertsOptions {
  service: string;
  namespace: string;
  out: string;
  clusterDomain: string;
  days: number;
  renew: boolean;
  force: boolean;
}

export interface CertsFiles extends CertificatePaths {
  caBundle: string;
}

export interface CertsResult {
  files: CertsFiles;
  dnsNames: string[];
  /** Whether a new CA was made (false with --renew). */
  newCA: boolean;
  caNotAfter: Date;
  servingNotAfter: Date;
}

/** The command refused to act (files exist, the CA in DIR is unusable); exit code 1. */
export class CertsError extends Error {}

export const certsFiles = (dir: string): CertsFiles => ({ ...certificatePaths(dir), caBundle: join(dir, 'ca-bundle') });

/** The names the API server may dial for a Service: `<service>.<namespace>.svc` and its fully qualified form. */
export const serviceDnsNames = (service: string, namespace: string, clusterDomain = 'cluster.local'): string[] => [
  `${service}.${namespace}.svc`,
  `${service}.${namespace}.svc.${clusterDomain}`,
];

// Service names are RFC 1035 labels (they start with a letter); namespaces are RFC 1123 labels.
const SERVICE_NAME = /^[a-z](?:[-a-z0-9]*[a-z0-9])?$/;

function required(flag: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`--${flag} is required`);
  return value.trim();
}

/** Reads the flags into options; throws UsageError naming the bad flag. */
export function certsOptions(args: string[]): CertsOptions {
  const flags = parseFlags(args, {
    service: { type: 'string' },
    namespace: { type: 'string' },
    out: { type: 'string' },
    'cluster-domain': { type: 'string', default: 'cluster.local' },
    days: { type: 'string', default: String(DEFAULT_DAYS) },
    renew: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
  });
  const service = required('service', flags.service);
  if (service.length > 63 || !SERVICE_NAME.test(service)) {
    throw new UsageError(`--service: ${JSON.stringify(service)} is not a Service name; use lower-case letters, digits and '-', starting with a letter, at most 63 characters`);
  }
  const namespace = required('namespace', flags.namespace);
  if (!isDnsLabel(namespace)) {
    throw new UsageError(`--namespace: ${JSON.stringify(namespace)} is not a namespace name; use lower-case letters, digits and '-', at most 63 characters`);
  }
  const out = required('out', flags.out);
  const clusterDomain = flags['cluster-domain'].trim().replace(/\.$/, '');
  if (!isDnsSubdomain(clusterDomain)) {
    throw new UsageError(`--cluster-domain: ${JSON.stringify(flags['cluster-domain'])} is not a DNS domain such as cluster.local`);
  }
  const days = /^\d+$/.test(flags.days.trim()) ? Number(flags.days.trim()) : NaN;
  if (!Number.isInteger(days) || days < 1 || days > CA_DAYS) {
    throw new UsageError(`--days: ${JSON.stringify(flags.days)} is not a whole number of days from 1 to ${CA_DAYS} (the CA's own validity)`);
  }
  if (flags.renew && flags.force) throw new UsageError('--renew keeps the CA and --force replaces it; give one of them');
  return { service, namespace, out, clusterDomain, days, renew: flags.renew, force: flags.force };
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** The CA kept in DIR by an earlier run, checked to be a CA whose key matches. */
async function existingCA(files: CertsFiles): Promise<KeyPair> {
  const read = async (path: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new CertsError(`--renew needs the CA from an earlier run, but ${path} cannot be read: ${(error as Error).message}`);
    }
  };
  const ca = { cert: await read(files.caCert), key: await read(files.caKey) };
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(ca.cert);
  } catch (error) {
    throw new CertsError(`${files.caCert} does not hold a PEM certificate: ${(error as Error).message}`);
  }
  if (!certificate.ca) throw new CertsError(`${files.caCert} is not a CA certificate (its basic constraints do not allow signing)`);
  let matches: boolean;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(ca.key));
  } catch (error) {
    throw new CertsError(`${files.caKey} does not hold a PEM private key: ${(error as Error).message}`);
  }
  if (!matches) throw new CertsError(`the key in ${files.caKey} does not belong to the CA certificate in ${files.caCert}`);
  if (new Date(certificate.validTo) <= new Date()) {
    throw new CertsError(`the CA in ${files.caCert} expired on ${certificate.validTo}; run again with --force to make a new one`);
  }
  return ca;
}

/** Makes (or renews) the certificates and writes them; throws CertsError when it must not. */
export async function generateCertificates(options: CertsOptions): Promise<CertsResult> {
  const files = certsFiles(options.out);
  const dnsNames = serviceDnsNames(options.service, options.namespace, options.clusterDomain);
  if (!options.renew && !options.force) {
    const all = [files.caCert, files.caKey, files.cert, files.key, files.caBundle];
    const present = (await Promise.all(all.map(async (path) => ((await exists(path)) ? path : undefined)))).filter((p) => p !== undefined);
    if (present.length > 0) {
      throw new CertsError(
        `${present.join(', ')} already ${present.length === 1 ? 'exists' : 'exist'}; nothing was written. ` +
          `Use --renew to issue a new serving certificate from the CA there (the caBundle stays the same), ` +
          `or --force to replace everything with a new CA (the caBundle changes).`,
      );
    }
  }
  const ca = options.renew ? await existingCA(files) : await createCA(`gitsync-injector CA for ${options.service}.${options.namespace}`, { days: CA_DAYS });
  const serving = await issueServingCertificate(ca, { dnsNames, days: options.days });
  try {
    await mkdir(options.out, { recursive: true });
    // A renewal leaves the CA's files, and the caBundle made from it, as they are.
    await writeCertificates(files, options.renew ? undefined : ca, serving);
    if (!options.renew) await replaceFile(files.caBundle, `${Buffer.from(ca.cert).toString('base64')}\n`, 0o644);
  } catch (error) {
    throw new CertsError(`cannot write the certificates to ${options.out}: ${(error as Error).message}`);
  }
  return {
    files,
    dnsNames,
    newCA: !options.renew,
    caNotAfter: new Date(new X509Certificate(ca.cert).validTo),
    servingNotAfter: new Date(new X509Certificate(serving.cert).validTo),
  };
}

const day = (date: Date): string => date.toISOString().slice(0, 10);

function report(result: CertsResult, out: string, kustomization: boolean): string {
  const { files } = result;
  const lines = [
    result.newCA ? `Created a CA (valid until ${day(result.caNotAfter)}) and a serving certificate` : `Renewed the serving certificate from the CA in ${out}`,
    `for ${result.dnsNames.join(' and ')}, valid until ${day(result.servingNotAfter)}:`,
    `  ${files.caCert}`,
    `  ${files.caKey}    keep it to renew with --renew; never commit it`,
    `  ${files.cert}`,
    `  ${files.key}`,
    `  ${files.caBundle}  the webhook configuration's caBundle`,
  ];
  if (kustomization) lines.push('', `Next: kubectl apply -k ${out}`);
  return `${lines.join('\n')}\n`;
}

async function run(args: string[], _env: Env): Promise<number> {
  const options = certsOptions(args);
  let result: CertsResult;
  try {
    result = await generateCertificates(options);
  } catch (error) {
    if (!(error instanceof CertsError)) throw error;
    process.stderr.write(`gitsync-injector certs: ${error.message}\n`);
    return 1;
  }
  process.stdout.write(report(result, options.out, await exists(join(options.out, 'kustomization.yaml'))));
  return 0;
}

export const certs: Command = {
  summary: 'create the CA and serving certificate for clusters without cert-manager',
  usage: USAGE,
  run,
};
