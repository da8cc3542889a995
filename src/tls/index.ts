/** Certificate generation: development certificates now, the `certs` command later. */
export { createCA, issueServingCertificate, type CAOptions, type KeyPair, type ServingOptions } from './certificates.ts';
export { certificatePaths, ensureDevCertificates, writeCertificates, type CertificatePaths } from './files.ts';
