/**
 * Serving certificates: generating them (serve --dev's development set and
 * the `certs` command), and reading, checking and reloading the pair the
 * webhook serves.
 */
export { createCA, issueServingCertificate, type CAOptions, type KeyPair, type ServingOptions } from './certificates.ts';
export { certificatePaths, ensureDevCertificates, replaceFile, writeCertificates, type CertificatePaths } from './files.ts';
export {
  CertificateError,
  CertificateReadError,
  checkCertificatePair,
  readCertificatePair,
  watchCertificate,
  type CertificateFiles,
  type CertificatePair,
  type CertificateWatcher,
  type CertificateWatcherOptions,
  type CheckedCertificate,
  type ReloadEvent,
} from './reload.ts';
