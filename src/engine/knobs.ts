/**
 * The operations knobs pods may set within the policy's bounds: how long one
 * sync may take, how many failures git-sync tolerates, a URL to call after
 * each sync and a file to touch. Each is a parsed, named setting that becomes
 * exactly one git-sync variable; none is free-form.
 */
import type { EnginePolicy } from './context.ts';
import type { Mode } from './mode.ts';
import { quote, type Problem } from './problems.ts';
import type { Settings } from './settings.ts';
import { formatDuration } from './values/duration.ts';
import { LOCAL_HOSTS } from './values/webhook.ts';

export interface Knobs {
  syncTimeoutMs: number;
  maxFailures: number;
  /** Called by the continuous git-sync only (a one-time sync runs before the app can answer). */
  webhookUrl?: string | undefined;
  touchFile?: string | undefined;
  errors: Problem[];
  warnings: Problem[];
}

/** Why a sync timeout is above the policy's maximum, or undefined when it is within it (the policy checks its own defaults with this too). */
export function syncTimeoutAboveMaximum(raw: string, ms: number, max: { ms: number; text: string }): string | undefined {
  if (ms <= max.ms) return undefined;
  return `${quote(raw)} is above the policy maximum ${max.text}; use at most ${formatDuration(max.ms)}`;
}

/** Why a max-failures value is above the policy's maximum (-1: retry forever, allowed only when the maximum is -1), or undefined. */
export function maxFailuresAboveMaximum(raw: string, value: number, max: number): string | undefined {
  const forever = value === -1;
  if (max === -1 || (!forever && value <= max)) return undefined;
  return `${quote(raw)} is above the policy maximum; use a whole number from 0 to ${max}${forever ? ' (the policy does not allow retrying forever)' : ''}`;
}

export function checkKnobs(settings: Settings, policy: EnginePolicy, mode: Mode): Knobs {
  const limits = policy.knobs;
  const errors: Problem[] = [];
  const warnings: Problem[] = [];

  const timeout = settings['sync-timeout'];
  const timeoutAbove = syncTimeoutAboveMaximum(timeout.raw, timeout.value, limits.maxSyncTimeout);
  if (timeoutAbove) errors.push({ code: 'SYNC_TIMEOUT_ABOVE_MAXIMUM', field: timeout.field, value: timeout.raw, message: timeoutAbove });

  const failures = settings['max-failures'];
  let maxFailures = policy.gitSync.maxFailures;
  if (failures) {
    maxFailures = failures.value;
    const above = maxFailuresAboveMaximum(failures.raw, failures.value, limits.maxFailures);
    if (above) errors.push({ code: 'MAX_FAILURES_ABOVE_MAXIMUM', field: failures.field, value: failures.raw, message: above });
  }

  const webhook = settings['webhook-url'];
  let webhookUrl: string | undefined;
  if (webhook) {
    const { host, port, url } = webhook.value;
    const hostText = host.includes(':') ? `[${host}]` : host;
    if (!LOCAL_HOSTS.includes(host) && !limits.webhookHosts.has(host) && !limits.webhookHosts.has(`${hostText}:${port}`)) {
      const listed = [...limits.webhookHosts];
      errors.push({
        code: 'WEBHOOK_HOST_NOT_ALLOWED',
        field: webhook.field,
        value: webhook.raw,
        message: `${quote(webhook.raw)} calls ${hostText}, which the policy does not allow; use localhost, 127.0.0.1 or [::1] (the pod itself)${listed.length ? ` or one of ${listed.join(', ')}` : ''}`,
      });
    } else if (mode === 'init-only') {
      warnings.push({ code: 'SETTING_IGNORED', field: webhook.field, value: webhook.raw, message: `${quote(webhook.raw)} has no effect: the pod syncs once (init-only), before its containers can answer` });
    } else webhookUrl = url;
  }

  const touch = settings['touch-file'];
  if (touch && touch.value === policy.gitSync.link) {
    errors.push({
      code: 'PATH_INVALID',
      field: touch.field,
      value: touch.raw,
      message: `${quote(touch.raw)} is the link git-sync publishes the synced tree at; use another name, such as synced`,
    });
  }
  return { syncTimeoutMs: timeout.value, maxFailures, webhookUrl, touchFile: touch?.value, errors, warnings };
}
