/**
 * Partial clone filters (git's --filter, git-sync's --filter, v4.7.0+):
 * the few forms that help a sync and that every git server implementing
 * partial clone understands. Anything else (sparse:oid=, object:type=,
 * combine:) is refused: it is either a lever on the server or a feature
 * that old servers answer wrongly.
 *
 *   blob:none           no file contents; git fetches the ones the checkout needs
 *   blob:limit=<n>[kmg] no file contents of n bytes or more
 *   tree:<depth>        no trees below depth (tree:0: the commit only)
 *   none                no filter: a full clone (turns the sparse default off)
 */
import { fail, ok, type Parsed } from './result.ts';
import { quote } from '../problems.ts';

/** The value that asks for no filter at all. */
export const NO_FILTER = 'none';
/** A policy allow-list entry that allows every `blob:limit=<n>`. */
export const ANY_BLOB_LIMIT = 'blob:limit';

const FILTER = /^(?:blob:none|blob:limit=\d{1,12}[kmg]?|tree:\d{1,6})$/;
const ALLOWED = '`blob:none`, `blob:limit=<n>[k|m|g]`, `tree:<depth>` or `none`';

/** A filter as git spells it, or `none`. Sizes and depths are kept as written: git reads them itself. */
export function parseFilter(raw: string): Parsed<string> {
  if (raw === NO_FILTER || FILTER.test(raw)) return ok(raw);
  return fail('VALUE_NOT_ALLOWED', `${quote(raw)} is not a partial clone filter the injector supports; use ${ALLOWED.replaceAll('`', '')}`);
}

/** The forms, for the docs. */
export const FILTER_FORMS = ALLOWED;

/** Whether a policy allow-list admits a filter (`none` is always allowed: it asks for less). */
export function filterAllowed(allowed: readonly string[], filter: string): boolean {
  if (filter === NO_FILTER) return true;
  return allowed.includes(filter) || (allowed.includes(ANY_BLOB_LIMIT) && filter.startsWith(`${ANY_BLOB_LIMIT}=`));
}
