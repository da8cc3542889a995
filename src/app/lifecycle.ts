/**
 * How the running application ends, so that rolling updates lose no
 * admission: on a signal it turns unready, keeps serving for the shutdown
 * delay while the endpoints stop routing here, then drains in-flight
 * requests within the shutdown timeout and closes everything in order
 * (certificate watcher, webhook and preview listener, health server, the
 * sources' watchers).
 */
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import type { App } from './start.ts';

/**
 * Closes an HTTPS server (the webhook, the preview listener): stops
 * listening, lets requests in flight finish and closes idle connections.
 * Connections still busy after `timeoutMs` (a client trickling a body) are
 * cut, so shutdown always ends within the bound.
 */
async function closeWithin(closing: { close(): PromiseLike<unknown>; server: { closeAllConnections(): void } }, timeoutMs: number, logger: Logger): Promise<void> {
  const timer = setTimeout(() => {
    logger.warn({ timeoutMs }, 'requests still in flight at the shutdown timeout; closing their connections');
    closing.server.closeAllConnections();
  }, timeoutMs);
  try {
    await closing.close();
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves with the exit code once a signal has drained and closed both
 * servers. SIGTERM (the kubelet) first keeps serving for the shutdown delay,
 * unready and answering with Connection: close, while the endpoints stop
 * routing here; SIGINT (a person at a terminal) drains at once.
 */
function stopOnSignal(app: App): Promise<number> {
  const { config, logger, webhook, preview, health, readiness, certificates } = app;
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // The operator asked twice: they want out now, drained or not.
        logger.warn({ signal }, 'second signal: exiting without waiting for in-flight requests');
        process.exit(128 + constants.signals[signal]);
      }
      stopping = true;
      readiness.shutDown();
      webhook.startDraining();
      const delayMs = signal === 'SIGTERM' ? config.shutdownDelayMs : 0;
      void (async (): Promise<number> => {
        try {
          if (delayMs > 0) {
            logger.info({ signal, delayMs }, 'shutting down: unready, still serving while endpoints update');
            await sleep(delayMs);
          }
          logger.info({ signal }, 'shutting down: draining in-flight admissions');
          certificates.close();
          await Promise.all([closeWithin(webhook, config.shutdownTimeoutMs, logger), preview && closeWithin(preview, config.shutdownTimeoutMs, logger)]);
          await health.close();
          logger.info('stopped');
          return 0;
        } catch (error) {
          logger.error({ err: error }, 'shutdown failed');
          return 1;
        }
      })().then((code) => {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        resolve(code);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** Serves until SIGTERM or SIGINT, then shuts down; resolves with the exit code. */
export async function runUntilSignal(app: App): Promise<number> {
  const code = await stopOnSignal(app);
  await app.sources.stop();
  return code;
}
