/**
 * One server under load, in its own process so that the load generator's CPU
 * is not counted against it and it can be pinned to a core:
 *
 *   node bench/server.ts KIND TLS_DIR
 *
 * `ours` is the webhook as `serve` builds it: buildServer, the production log
 * level (one JSON log line per admission on stdout) and the Prometheus
 * metrics every admission updates. `baseline` is the bare fastify server of
 * baseline.ts. The parts (`--parts`) are the webhook without some of what
 * every admission does, so that the difference in CPU per request is what
 * that part costs under load: `ours-no-log` without its log line (the
 * logger at "silent"), `ours-no-log-metrics` without the log line and
 * without any metrics (no registry, so no process metrics and no GC
 * observer either). The parent talks to it over the IPC channel:
 * it is told the port once listening, and sends 'stop' to end it (a clean
 * exit, so that `--cpu-prof` can write its profile).
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { admit, type AdmissionDeps } from '../src/admission/index.ts';
import { createLogger } from '../src/log.ts';
import { createMetrics } from '../src/metrics/index.ts';
import { buildServer, type TlsFiles } from '../src/server/index.ts';
import { VERSION } from '../src/version.ts';
import { buildBaselineServer } from './baseline.ts';
import { isServerKind, SERVER_KINDS, type ServerKind } from './kinds.ts';
import { benchContext, measuredReviews } from './reviews.ts';


/** Messages from the server process to the benchmark. */
export type ServerMessage = { type: 'listening'; port: number } | { type: 'failed'; message: string };

function start(kind: ServerKind, tls: TlsFiles) {
  const deps: AdmissionDeps = { ctx: benchContext(), namespaceAnnotations: () => undefined };
  if (kind !== 'baseline') {
    const logger = createLogger(kind === 'ours' ? 'info' : 'silent');
    const onAdmission = kind === 'ours-no-log-metrics' ? undefined : createMetrics({ version: VERSION }).observeAdmission;
    return buildServer({ tls, deps, logger, ...(onAdmission && { onAdmission }) });
  }
  const answers = new Map<string, Buffer>();
  for (const r of measuredReviews()) {
    const { uid } = (r.review as { request: { uid: string } }).request;
    answers.set(uid, Buffer.from(JSON.stringify(admit(JSON.parse(r.body), deps).review)));
  }
  return buildBaselineServer(tls, answers, Buffer.from(JSON.stringify(admit({}, deps).review)));
}

async function main(): Promise<void> {
  const [kind, dir] = process.argv.slice(2);
  if (!isServerKind(kind) || dir === undefined || process.send === undefined) {
    process.stderr.write(`usage: node bench/server.ts ${SERVER_KINDS.join('|')} TLS_DIR (started by bench/run.ts, with an IPC channel)\n`);
    process.exit(2);
  }
  const send = (message: ServerMessage): void => void process.send!(message);
  try {
    const app = start(kind, { cert: readFileSync(join(dir, 'tls.crt')), key: readFileSync(join(dir, 'tls.key')) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    process.on('message', (message) => {
      if (message !== 'stop') return;
      void app.close().then(() => process.exit(0));
    });
    // The parent going away must not leave a server behind.
    process.on('disconnect', () => process.exit(0));
    send({ type: 'listening', port: (app.server.address() as AddressInfo).port });
  } catch (error) {
    send({ type: 'failed', message: (error as Error).message });
    process.exit(1);
  }
}

await main();
