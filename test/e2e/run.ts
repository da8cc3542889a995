/**
 * `npm run test:e2e`: the end-to-end suite against the cluster in KUBECONFIG.
 * Without KUBECONFIG it says so in one line and succeeds, so that it can sit
 * in any pipeline; with a configuration it cannot use, it fails and says why.
 * Arguments are passed on to vitest (a file name, -t PATTERN, …).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readConfig } from './support/config.ts';

const config = readConfig(process.env);
if ('kind' in config) {
  process.stdout.write(`test:e2e ${config.kind === 'skip' ? 'skipped' : 'cannot run'}: ${config.reason}\n`);
  process.exit(config.kind === 'skip' ? 0 : 2);
}
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));
const configFile = fileURLToPath(new URL('./vitest.config.ts', import.meta.url));
const result = spawnSync(process.execPath, [vitest, 'run', '--config', configFile, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
