/**
 * What of the repository git-sync fetches and checks out: a sparse checkout
 * of some folders (the file travels as a published file, published.ts) and a
 * partial clone filter the policy allows.
 *
 * A sparse list comes with `blob:none` by default (when the policy allows
 * it): sparse checkout alone only saves disk, since git still downloads every
 * file of the commit; with the filter the server sends only the files of the
 * listed folders. The filter needs the server's `uploadpack.allowFilter`;
 * without it git drops the filter without an error and downloads everything,
 * which is no worse than no filter.
 *
 * `sub-path` alone never narrows the checkout: DAGs commonly import from
 * folders next to their own, which a checkout of the DAG folder alone would
 * break (docs/big-repositories.md).
 */
import { WRITTEN_ANNOTATIONS } from './annotations.ts';
import type { EnginePolicy } from './context.ts';
import { quote, type Problem } from './problems.ts';
import type { PublishedFile } from './published.ts';
import type { Settings } from './settings.ts';
import { filterAllowed, NO_FILTER } from './values/filter.ts';
import { sparseCheckoutFile, sparseHolds } from './values/sparse.ts';

export const SPARSE_MOUNT = '/etc/git-sync-sparse';
export const SPARSE_FILE = 'sparse-checkout';
/** The filter a sparse list gets when the pod names none. */
export const SPARSE_DEFAULT_FILTER = 'blob:none';

export interface CheckoutPlan {
  /** The sparse-checkout file, when the pod lists folders. */
  sparse?: PublishedFile;
  /** The partial clone filter; undefined: a full clone. */
  filter?: string;
  errors: Problem[];
}

const unsupported = (field: string, raw: string, what: string, policy: EnginePolicy): Problem => ({
  code: 'DIALECT_UNSUPPORTED',
  field,
  value: raw,
  message: `${what} needs git-sync v4 (--filter: v4.7.0 or later), and the policy's dialect is ${policy.dialect.name}; remove this annotation or ask the platform team for a v4 image`,
});

export function planCheckout(settings: Settings, policy: EnginePolicy): CheckoutPlan {
  const out: CheckoutPlan = { errors: [] };
  const names = policy.dialect.names;
  const sparse = settings['sparse-paths'];
  if (sparse) {
    if (!names.sparseCheckoutFile) out.errors.push(unsupported(sparse.field, sparse.raw, 'a sparse checkout', policy));
    const sub = settings['sub-path'];
    if (sub && !sparseHolds(sparse.value, sub.value)) {
      out.errors.push({
        code: 'SUB_PATH_OUTSIDE_SPARSE',
        field: sub.field,
        value: sub.raw,
        message: `${quote(sub.raw)} is in none of the folders of ${policy.prefix}sparse-paths (${sparse.value.join(', ')}), so the app would find nothing there; add it to ${policy.prefix}sparse-paths or choose a sub-path inside one of them`,
      });
    }
    out.sparse = { annotation: WRITTEN_ANNOTATIONS.sparseCheckout, volume: 'git-sync-sparse-checkout', mountPath: SPARSE_MOUNT, file: SPARSE_FILE, data: sparseCheckoutFile(sparse.value) };
  }

  const chosen = settings.filter;
  if (chosen) {
    if (!filterAllowed(policy.allowedFilters, chosen.value)) {
      const allowed = policy.allowedFilters.length ? `use one of ${policy.allowedFilters.map((f) => (f === 'blob:limit' ? 'blob:limit=<size>' : f)).join(', ')} or none` : `the policy allows none; remove this annotation`;
      out.errors.push({ code: 'FILTER_NOT_ALLOWED', field: chosen.field, value: chosen.raw, message: `${quote(chosen.raw)} is not a partial clone filter the policy allows; ${allowed}` });
    } else if (chosen.value !== NO_FILTER) {
      if (!names.filter) out.errors.push(unsupported(chosen.field, chosen.raw, 'a partial clone filter', policy));
      out.filter = chosen.value;
    }
  } else if (sparse && filterAllowed(policy.allowedFilters, SPARSE_DEFAULT_FILTER) && names.filter) {
    out.filter = SPARSE_DEFAULT_FILTER;
  }
  return out;
}
