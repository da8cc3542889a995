import { fail, ok, type Parsed } from './result.ts';
import { quote } from '../problems.ts';
import { maskCredentials } from './repo.ts';

/** A webhook target as git-sync will call it: scheme, host (lower-case, IPv6 without brackets), port. */
export interface WebhookUrl {
  url: string;
  host: string;
  /** The port written, or the scheme's. */
  port: number;
}

/** Hosts that are the pod itself: a webhook to them reaches only the pod's own containers. */
export const LOCAL_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/**
 * A webhook URL as messages show it: masked as repository URLs are (all up to
 * the last '@', a user:password without one, a query's or fragment's text),
 * since a refused value is refused precisely for carrying such things. A URL
 * the injector accepts reads as written.
 */
export const displayWebhookUrl: (raw: string) => string = maskCredentials;

/**
 * git-sync's --webhook-url: an http or https URL without credentials,
 * query or fragment. Which hosts it may name is the policy's decision
 * (plan.ts); here it is only checked to be a plain URL.
 */
export function parseWebhookUrl(raw: string): Parsed<WebhookUrl> {
  const bad = (why: string): Parsed<WebhookUrl> =>
    fail('URL_INVALID', `${quote(displayWebhookUrl(raw))} ${why}; use a URL such as http://localhost:8080/-/reload`);
  if (raw.length > 2048) return bad('is longer than 2048 characters');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return bad('is not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return bad('is not an http:// or https:// URL');
  if (u.username || u.password || raw.slice(u.protocol.length + 2).split('/')[0]!.includes('@')) return bad('carries credentials');
  if (u.search || u.hash || raw.includes('?') || raw.includes('#')) return bad('has a query or fragment');
  if (/\s/.test(raw)) return bad('contains white space');
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  return ok({ url: u.href, host, port });
}
