/**
 * `gitsync-injector serve`: the webhook's HTTPS server and the probes'
 * HTTP server, configured by flags or the environment, with a graceful
 * shutdown the Deployment's rolling updates can rely on. The command only
 * reads the configuration, starts the application and waits for a signal;
 * app/ does the rest.
 */
import { runUntilSignal, SERVE_OPTIONS_USAGE, serveConfig, startApp } from '../app/index.ts';
import type { Env } from '../args.ts';
import { createLogger, flushLogs } from '../log.ts';
import type { Command } from './commands.ts';

const USAGE = `Usage: gitsync-injector serve [options]

Runs the admission webhook (HTTPS, POST /mutate) and the health server
(HTTP, GET /healthz, /readyz and /metrics). Every option can also be set with
the environment variable shown; a flag wins over the environment. The TLS
files are reloaded when they change.

Options:
${SERVE_OPTIONS_USAGE}  -h, --help           show this help
`;

async function run(args: string[], env: Env): Promise<number> {
  const config = serveConfig(args, env);
  const logger = createLogger(config.logLevel);
  const app = await startApp(config, { env, logger });
  try {
    if (!app) return 1;
    return await runUntilSignal(app);
  } finally {
    // Every admission's line is out before the process ends.
    await flushLogs(logger);
  }
}

export const serve: Command = {
  summary: 'run the admission webhook and its health server',
  usage: USAGE,
  run,
};
