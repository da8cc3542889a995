/**
 * The values the template and the checks read, as expressions: each
 * annotation's applying value (settings.ts), and the few the engine works
 * out from them: the transport, the mode `auto` chooses, and the period as
 * git-sync is told it.
 *
 * The mode is derived from the engine by probing: for each requested mode
 * and each kind of pod (runs to completion or not), the engine is asked, and
 * its answer (a mode, or a refusal with its message) becomes a row of a CEL
 * conditional. The period's Go spelling is the one computation written here;
 * test/property/export-values.test.ts compares it with the engine's over the
 * whole envelope.
 */
import { MODES, formatDuration, formatProblem, type EngineContext, type Mode, type Problem } from '../engine/index.ts';
import { and, concat, cond, div, durationSeconds, eq, gt, int, intString, lookup, lt, mod, or, raw, str, type B, type N, type S, type Scope } from './cel.ts';
import { probe } from './probe.ts';
import type { Resolver } from './settings.ts';

export interface Values {
  repo: S;
  transport: S;
  ref: S;
  secret: S;
  layout: S;
  tokenUser: S;
  sshKey: S;
  knownHosts: S;
  subPath: S;
  mountPath: S;
  env: S;
  depth: S;
  submodules: S;
  /** The requested mode (`auto` included). */
  requestedMode: S;
  /** The mode the pod gets, or '' when the engine refuses the request (modeError says why). */
  mode: S;
  /** The engine's refusal of the requested mode for this pod, as `field: message [CODE]`, or ''. */
  modeError: S;
  /** The modes some pod can get: the template has containers for these. */
  reachableModes: Mode[];
  /** The credential variant's id (probe.ts credentialVariants): which env, mounts and volumes the credentials take. */
  variant: S;
  /** Whole seconds of the sync timeout, and its Go spelling for git-sync. */
  syncTimeoutSeconds: N;
  syncTimeoutText: S;
  /** max-failures as git-sync is told it: the pod's, else the policy's gitSync.maxFailures. */
  maxFailures: S;
  /** Whole seconds of the period. */
  periodSeconds: N;
  /** The period as git-sync is told it: raised to the policy minimum, in Go's spelling. */
  periodText: S;
  /** The containers annotation, '' when unset: every app container. */
  containersListed: S;
}

/** Whether the pod runs to completion (restartPolicy Never or OnFailure), which `auto` reads. */
export const runsToCompletion: B = raw(
  "(has(object.spec.restartPolicy) && object.spec.restartPolicy in ['Never', 'OnFailure'])",
  (i) => ['Never', 'OnFailure'].includes((i.pod.spec as { restartPolicy?: string }).restartPolicy ?? ''),
);

/** Go's duration spelling of whole seconds (`1h12m1s`, `1m`, `30s`), as the engine's formatDuration writes it. */
export function goDuration(n: N): S {
  const h = div(n, 3600);
  const m = div(mod(n, 3600), 60);
  const s = mod(n, 60);
  const zero = int(0);
  return concat(
    cond(gt(h, zero), concat(intString(h), str('h')), str('')),
    cond(gt(m, zero), concat(intString(m), str('m')), str('')),
    cond(or(gt(s, zero), and(eq(intString(h), str('0')), eq(intString(m), str('0')))), concat(intString(s), str('s')), str('')),
  );
}

export function values(ctx: EngineContext, r: Resolver, scope: Scope): Values {
  const { policy } = ctx;
  const repo = r.value('repo');
  const requestedMode = r.value('mode');
  const periodSeconds = scope.bind('periodSeconds', durationSeconds(r.value('period')));
  const syncTimeoutSeconds = scope.bind('syncTimeoutSeconds', durationSeconds(r.value('sync-timeout')));
  const minSeconds = Math.ceil(policy.minPeriod.ms / 1000);

  // The engine's answer for each requested mode, for both kinds of pod.
  const modes: [string, S][] = [];
  const reachableModes = new Set<Mode>();
  const errors: [string, S][] = [];
  for (const requested of MODES) {
    for (const completes of [true, false]) {
      const result = probe(ctx, { mode: requested, restartPolicy: completes ? 'Never' : 'Always' });
      const modeProblem = result.errors.find((e) => e.code === 'MODE_NOT_ALLOWED' || e.code === 'NATIVE_SIDECARS_UNSUPPORTED');
      const key = `${requested}/${completes ? 'completes' : 'runs'}`;
      if (modeProblem) errors.push([key, modeMessage(modeProblem, r)]);
      else if (result.outcome === 'injected') {
        modes.push([key, str(result.injection!.mode)]);
        reachableModes.add(result.injection!.mode);
      }
      else throw new Error(`a mode probe (${requested}) was ${result.outcome}: ${result.errors.map(formatProblem).join('; ')}`);
    }
  }
  const modeKey = concat(requestedMode, cond(runsToCompletion, str('/completes'), str('/runs')));
  const transport = scope.bindTotal('transport', cond(raw(`${repo.cel}.startsWith('https://')`, (i) => repo.ev(i).startsWith('https://')), str('https'), str('ssh')));
  const secret = r.value('secret');
  const layout = r.value('secret-layout');
  const variant = scope.bindTotal(
    'variant',
    cond(
      eq(transport, str('https')),
      cond(eq(secret, str('')), str('https-public'), cond(eq(layout, str('token')), concat(str('https-token-'), r.value('token-user')), concat(str('https-'), layout))),
      concat(str('ssh-'), r.value('known-hosts'), cond(eq(r.value('ssh-key'), str('')), str(''), str('-key'))),
    ),
  );

  return {
    repo,
    transport,
    variant,
    reachableModes: [...reachableModes].sort(),
    ref: r.value('ref'),
    secret,
    layout,
    tokenUser: r.value('token-user'),
    sshKey: r.value('ssh-key'),
    knownHosts: r.value('known-hosts'),
    subPath: r.value('sub-path'),
    mountPath: r.value('mount-path'),
    env: r.value('env'),
    depth: r.value('depth'),
    submodules: r.value('submodules'),
    requestedMode,
    mode: scope.bindTotal('chosenMode', lookup(modeKey, modes, str(''))),
    modeError: scope.bindTotal('modeError', lookup(modeKey, errors, str(''))),
    periodSeconds,
    syncTimeoutSeconds,
    syncTimeoutText: scope.bind('syncTimeoutText', goDuration(syncTimeoutSeconds)),
    maxFailures: cond(eq(r.value('max-failures'), str('')), str(String(policy.gitSync.maxFailures)), r.value('max-failures')),
    periodText: scope.bind('periodText', cond(lt(periodSeconds, int(minSeconds)), str(formatDuration(policy.minPeriod.ms)), goDuration(periodSeconds))),
    // The engine trims the names; the envelope allows one space after a comma, which this drops.
    containersListed: scope.bindTotal('containersListed', raw(`${r.value('containers').cel}.replace(' ', '')`, (i) => r.value('containers').ev(i).replaceAll(' ', ''))),
  };
}

/** A mode refusal with its field as the pod's: where the mode was written. */
function modeMessage(p: Problem, r: Resolver): S {
  return concat(r.field('mode'), str(`: ${p.message} [${p.code}]`));
}

