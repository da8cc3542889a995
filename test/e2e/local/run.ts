/**
 * `npm run cluster:local -- <command…>`: runs a command against a local
 * control plane (control-plane.ts) started from the binaries in
 * KUBEBUILDER_ASSETS, with KUBECONFIG pointing at it, e.g.
 *
 *   KUBEBUILDER_ASSETS=~/.cache/gitsync-injector/k8s npm run cluster:local -- npm run test:e2e
 *   KUBEBUILDER_ASSETS=… npm run cluster:local -- kubectl get --raw /readyz
 *
 * The control plane is stopped and its folder removed whatever happens: when
 * the command exits (its exit code becomes ours), when starting fails, and on
 * SIGINT, SIGTERM or SIGHUP (passed on to the command first; we then exit
 * with 128 + the signal's number). Progress goes to stderr, prefixed
 * `cluster:local:`. A missing binary is one line naming KUBEBUILDER_ASSETS,
 * exit code 2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { findAssets, LocalControlPlane, MissingAssetsError, type Assets } from './control-plane.ts';

const say = (line: string): void => {
  process.stderr.write(`cluster:local: ${line}\n`);
};

const args = process.argv.slice(2);
const command = args[0] === '--' ? args.slice(1) : args;
if (command.length === 0) {
  say('usage: npm run cluster:local -- <command> [args…]   (KUBEBUILDER_ASSETS names a folder with etcd, kube-apiserver and optionally kube-controller-manager)');
  process.exit(2);
}

let assets: Assets;
try {
  assets = findAssets(process.env);
} catch (error) {
  if (!(error instanceof MissingAssetsError)) throw error;
  say(error.message);
  process.exit(2);
}

const plane = new LocalControlPlane({ assets, log: say });
let child: ChildProcess | undefined;
let exiting = false;

/** Stops the control plane (it never throws here: a failure to stop is reported) and exits. */
async function finish(code: number): Promise<never> {
  exiting = true;
  try {
    await plane.stop();
  } catch (error) {
    say(`could not stop everything: ${(error as Error).message}`);
    code = code || 1;
  }
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (exiting) return;
    say(`${signal}: stopping`);
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
    void finish(128 + constants.signals[signal]);
  });
}

say(`starting in ${plane.dir}${assets.controllerManager ? '' : ' (no kube-controller-manager in KUBEBUILDER_ASSETS: no controllers, ServiceAccount admission off)'}`);
try {
  await plane.start();
} catch (error) {
  if (!exiting) {
    say(`could not start: ${(error as Error).message}`);
    await finish(1);
  }
}
if (exiting) await new Promise(() => {}); // a signal arrived while starting; finish() exits

say(`ready at ${plane.server}; running ${command.join(' ')}`);
child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env: { ...process.env, KUBECONFIG: plane.kubeconfig } });
const code = await new Promise<number>((resolve) => {
  child!.once('error', (error) => {
    say(`cannot run ${command[0]}: ${error.message}`);
    resolve(127);
  });
  child!.once('exit', (exitCode, signal) => resolve(exitCode ?? 128 + (signal ? constants.signals[signal] : 0)));
});
if (!exiting) await finish(code);
