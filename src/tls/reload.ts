/**
 * Serving certificate reload. cert-manager renews the certificate in its
 * Secret and the kubelet updates the mounted files (it swaps a `..data`
 * symlink, so both files change at once); an operator may also overwrite the
 * files in place, one after the other. The watcher notices either way and
 * hands a checked pair to the server, whose new handshakes then use it;
 * connections already open, and requests in flight on them, are untouched.
 *
 * Changes are noticed by watching the files' directories (immediate) and by
 * reading them every `intervalMs` (the safety net for file systems that send
 * no events). A pair that cannot be read, parsed or matched is never served:
 * the previous one stays in use. Because an in-place rotation writes the two
 * files one at a time, a bad pair is only reported (logged and counted) when
 * it is still on disk `settleMs` later; a rotation caught halfway is not a
 * failure.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';

export interface CertificatePair {
  cert: Buffer;
  key: Buffer;
}

/** A pair that passed every check, with what the logs and metrics say about it. */
export interface CheckedCertificate extends CertificatePair {
  notAfter: Date;
  /** SHA-256 fingerprint of the certificate, colon-separated hex as openssl prints it. */
  fingerprint256: string;
  /** The certificate's subjectAltName, e.g. `DNS:gitsync-injector.gitsync-injector.svc`. */
  subjectAltName: string;
  /** Hash of both files' bytes: a reload happens when it changes. */
  contentHash: string;
}

/** A pair that cannot be served; the message names the file and what is wrong with it. */
export class CertificateError extends Error {}

/**
 * One of the files cannot be read at all (missing, unreadable): a separate
 * class so that startup can say where the certificate should be mounted.
 */
export class CertificateReadError extends CertificateError {
  readonly file: string;
  readonly what: 'certificate' | 'key';
  /** Why reading failed, e.g. `ENOENT: no such file or directory, open '…'`. */
  readonly reason: string;

  constructor(file: string, what: 'certificate' | 'key', reason: string) {
    super(`cannot read the ${what} ${file}: ${reason}`);
    this.file = file;
    this.what = what;
    this.reason = reason;
  }
}

export interface CertificateFiles {
  cert: string;
  key: string;
}

const contentHash = (pair: CertificatePair): string => createHash('sha256').update(pair.cert).update('\0').update(pair.key).digest('hex');

/** Checks a pair the way the TLS server will use it; throws CertificateError saying what is wrong. */
export function checkCertificatePair(pair: CertificatePair, files: CertificateFiles): CheckedCertificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pair.cert);
  } catch (error) {
    throw new CertificateError(`${files.cert} does not hold a PEM certificate: ${(error as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pair.key);
  } catch (error) {
    throw new CertificateError(`${files.key} does not hold a PEM private key: ${(error as Error).message}`);
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new CertificateError(`the key in ${files.key} does not belong to the certificate in ${files.cert}`);
  }
  try {
    createSecureContext({ cert: pair.cert, key: pair.key });
  } catch (error) {
    throw new CertificateError(`TLS cannot use ${files.cert} with ${files.key}: ${(error as Error).message}`);
  }
  return {
    cert: pair.cert,
    key: pair.key,
    notAfter: new Date(certificate.validTo),
    fingerprint256: certificate.fingerprint256,
    subjectAltName: certificate.subjectAltName ?? '',
    contentHash: contentHash(pair),
  };
}

async function readPair(files: CertificateFiles): Promise<CertificatePair> {
  const read = (path: string, what: 'certificate' | 'key'): Promise<Buffer> =>
    readFile(path).catch((error: unknown) => {
      throw new CertificateReadError(path, what, (error as Error).message);
    });
  // Both reads finish before either error is thrown, and the certificate's comes first:
  // the same files on disk always give the same error, so a bad state is reported once.
  const [cert, key] = await Promise.allSettled([read(files.cert, 'certificate'), read(files.key, 'key')]);
  if (cert.status === 'rejected') throw cert.reason;
  if (key.status === 'rejected') throw key.reason;
  return { cert: cert.value, key: key.value };
}

/** Reads and checks a pair; throws CertificateError. */
export async function readCertificatePair(files: CertificateFiles): Promise<CheckedCertificate> {
  return checkCertificatePair(await readPair(files), files);
}

export type ReloadEvent = { result: 'success'; notAfter: Date } | { result: 'failure' };

export interface CertificateWatcherOptions {
  files: CertificateFiles;
  /** The pair the server was started with. */
  current: CheckedCertificate;
  /** Puts a checked pair into service (the server's setSecureContext). May throw: that is a failed reload. */
  apply(pair: CheckedCertificate): void;
  logger: Logger;
  /** Called once per reload attempt that changes something: a new pair served, or a bad one refused. */
  onReload?(event: ReloadEvent): void;
  /** How often the files are read even without a change event; default 10 s. */
  intervalMs?: number;
  /** How long a bad pair may stay on disk before it is reported; default 1 s. */
  settleMs?: number;
  /** How long change events are gathered before the files are read; default 100 ms. */
  debounceMs?: number;
}

export interface CertificateWatcher {
  /** The pair in service. */
  readonly current: CheckedCertificate;
  /** Reads the files now and reloads if they changed; resolves once that is done. */
  check(): Promise<void>;
  /** Stops watching; a check under way finishes but applies nothing. */
  close(): void;
}

export function watchCertificate(options: CertificateWatcherOptions): CertificateWatcher {
  const { files, logger } = options;
  const intervalMs = options.intervalMs ?? 10_000;
  const settleMs = options.settleMs ?? 1_000;
  const debounceMs = options.debounceMs ?? 100;
  let current = options.current;
  let closed = false;
  // A bad content seen and waiting for the settle period (since when), and the last one reported.
  let pending: { hash: string; since: number } | undefined;
  let reported: string | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  const timers = new Set<NodeJS.Timeout>();

  const later = (ms: number): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      void check();
    }, ms).unref();
    timers.add(timer);
  };

  const reject = (hash: string, error: Error): void => {
    const now = Date.now();
    if (pending?.hash !== hash) {
      // First sighting: perhaps the middle of a rotation. Look again once it has settled.
      pending = { hash, since: now };
      later(settleMs);
      return;
    }
    // Seen again before the settle period is over (a change event, or a timer firing a
    // little early): look again when it is.
    if (now - pending.since < settleMs) {
      later(settleMs - (now - pending.since) + 1);
      return;
    }
    pending = undefined;
    reported = hash;
    logger.warn(
      { cert: files.cert, key: files.key, error: error.message, serving: { fingerprint256: current.fingerprint256, notAfter: current.notAfter } },
      'serving certificate not reloaded; the previous one stays in use',
    );
    options.onReload?.({ result: 'failure' });
  };

  const once = async (): Promise<void> => {
    let pair: CertificatePair | undefined;
    let hash: string;
    let unreadable: Error | undefined;
    try {
      pair = await readPair(files);
      hash = contentHash(pair);
    } catch (error) {
      unreadable = error as Error;
      hash = `unreadable:${unreadable.message}`;
    }
    if (closed) return;
    if (hash === current.contentHash) {
      // Back to the pair in service (a bad write undone): later bad files are news again.
      pending = undefined;
      reported = undefined;
      return;
    }
    // Already reported: the same bad files say nothing new until they change.
    if (hash === reported) return;
    if (pair === undefined) {
      reject(hash, unreadable ?? new CertificateError(`cannot read ${files.cert} and ${files.key}`));
      return;
    }
    let checked: CheckedCertificate;
    try {
      checked = checkCertificatePair(pair, files);
      options.apply(checked);
    } catch (error) {
      reject(hash, error as Error);
      return;
    }
    current = checked;
    pending = undefined;
    reported = undefined;
    logger.info(
      { cert: files.cert, fingerprint256: checked.fingerprint256, notAfter: checked.notAfter, subjectAltName: checked.subjectAltName },
      'serving certificate reloaded',
    );
    options.onReload?.({ result: 'success', notAfter: checked.notAfter });
  };

  // One check at a time; a request during a check runs another one after it.
  const check = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await once();
      } while (again && !closed);
      running = undefined;
    })();
    return running;
  };

  let debouncing = false;
  const onEvent = (): void => {
    if (debouncing || closed) return;
    debouncing = true;
    const timer = setTimeout(() => {
      timers.delete(timer);
      debouncing = false;
      void check();
    }, debounceMs).unref();
    timers.add(timer);
  };

  const watchers: FSWatcher[] = [];
  for (const dir of new Set([dirname(files.cert), dirname(files.key)])) {
    try {
      const watcher = watch(dir, { persistent: false }, onEvent);
      // Events are an optimisation; the periodic read still finds every change.
      watcher.on('error', (error) => {
        logger.debug({ dir, error: error.message }, 'certificate directory watch failed; relying on periodic reads');
        watcher.close();
      });
      watchers.push(watcher);
    } catch (error) {
      logger.debug({ dir, error: (error as Error).message }, 'cannot watch the certificate directory; relying on periodic reads');
    }
  }
  const poll = setInterval(() => void check(), intervalMs).unref();

  return {
    get current() {
      return current;
    },
    check,
    close() {
      closed = true;
      clearInterval(poll);
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const watcher of watchers) watcher.close();
    },
  };
}
