/**
 * Previews in words: where an object is, what it is, and one line that says
 * what the webhook will do with it and why, for `check` and for the
 * messages `inject` prints on stderr.
 */
import { formatProblem, type Injection, type RepositoryInjection } from '../engine/index.ts';
import type { PreviewObject } from './evaluate.ts';

/** `deploy.yaml:12 (document 2)`, `list.yaml:7 (document 1, item 3)`; the item is the List's 0-based index. */
export function location(o: PreviewObject): string {
  const file = o.source === undefined ? '' : `${o.source}${o.line === undefined ? '' : `:${o.line}`} `;
  return `${file}(document ${o.document}${o.item === undefined ? '' : `, item ${o.item}`})`;
}

/** `Deployment airflow/airflow-scheduler`; objects without a kind or a namespace say so by omission. */
export function label(o: PreviewObject): string {
  const kind = o.kind || '(no kind)';
  // Results for the webhook-free mode say so on every line; the webhook's are as they always were.
  const mode = o.mode === 'webhook-free' ? ' [webhook-free]' : '';
  return `${kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}${mode}`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Where one repository comes from and where the app reads it: `repo …, ref …[, sparse…]; web reads /git/repo`. */
function source(r: RepositoryInjection): string {
  const readers = r.appContainers.length === 1 ? `${r.appContainers[0]} reads` : `${r.appContainers.join(', ')} read`;
  const checkout = [r.sparsePaths && `sparse checkout of ${r.sparsePaths.join(', ')}`, r.filter && `filter ${r.filter}`].filter(Boolean).map((p) => `, ${p}`).join('');
  return `repo ${r.repo}, ref ${r.ref}${checkout}; ${readers} ${r.path}`;
}

/**
 * What was injected, in the order a person checks it: containers, source,
 * where the app reads; then each named repository the same way.
 */
function injected(i: Injection): string {
  const named = i.repositories ?? [];
  const all = [i, ...named];
  const initContainers = all.flatMap((r) => r.initContainers);
  const sidecars = all.flatMap((r) => r.containers);
  const containers =
    i.mode === 'native'
      ? [`native sidecar${initContainers.length === 1 ? '' : 's'} ${initContainers.join(', ')}`]
      : [initContainers.length > 0 && `init container${initContainers.length === 1 ? '' : 's'} ${initContainers.join(', ')}`, sidecars.length > 0 && `sidecar${sidecars.length === 1 ? '' : 's'} ${sidecars.join(', ')}`].filter(
          (p): p is string => typeof p === 'string',
        );
  const others = named.map((r) => `; repository ${r.name}: ${source(r)}`).join('');
  return `injected, mode ${i.mode}: ${containers.join(', ')}; ${source(i)}${others}`;
}

function verdict(o: PreviewObject): string {
  switch (o.outcome) {
    case 'injected':
      return o.injection ? injected(o.injection) : 'injected';
    case 'skipped': {
      const errors = o.errors.map((e) => `; error: ${formatProblem(e)}`).join('');
      return `not injected (${o.skip?.reason ?? 'skipped'}): ${o.skip?.message ?? ''}${errors}`;
    }
    case 'denied':
      return `denied, ${plural(o.errors.length, 'error')}: ${o.errors.map(formatProblem).join('; ')}`;
    case 'ignored':
      return `ignored: ${o.note ?? ''}`;
    case 'allowed':
      return `allowed untouched: ${o.note ?? ''}`;
    case 'invalid':
      return `invalid AdmissionReview: ${o.note ?? ''}`;
    case 'error':
      return `denied, internal error: ${o.note ?? ''}`;
  }
}

/** One line per object: where, what, and what happens to it, with every warning. */
export function checkLine(o: PreviewObject): string {
  const warnings = o.warnings.map((w) => `; warning: ${formatProblem(w)}`).join('');
  return `${location(o)} ${label(o)}: ${verdict(o)}${warnings}`;
}

/** The stderr message of `inject` for an object the webhook would refuse. */
export function refusal(o: PreviewObject): string {
  const what = `${location(o)} ${label(o)}`;
  if (o.errors.length === 0) return `${what} would be denied: ${o.note ?? o.outcome}`;
  return `${what} would be denied, ${plural(o.errors.length, 'error')}:\n${o.errors.map((e) => `  ${formatProblem(e)}`).join('\n')}`;
}

/** The stderr lines of `inject` for warnings: one per warning, so each can be grepped. */
export function warningLines(o: PreviewObject): string[] {
  return o.warnings.map((w) => `${location(o)} ${label(o)}: warning: ${formatProblem(w)}`);
}
