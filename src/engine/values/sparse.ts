/**
 * Sparse checkout: the folders of a repository to check out, and the file
 * git-sync's --sparse-checkout-file reads.
 *
 * Folders only, never patterns: the file is written in git's cone format
 * (what `git sparse-checkout set --cone` writes), which git-sync's `git
 * sparse-checkout init` reads in cone mode on current git, and which older
 * git in non-cone mode reads with exactly the same meaning, so the checkout
 * does not depend on the git in the image. Cone mode always checks out the
 * files at the top of the repository and directly inside each parent of a
 * listed folder. Wildcards and negations would switch git to its deprecated
 * non-cone mode, whose results depend on the order of lines.
 *
 * Each folder goes through the relative path parser (no '..', no leading
 * '/', only letters, digits and . _ - @ + = ,), so no line of the file can be
 * anything but a folder of the repository: no '!', '#', '*', '\' or space.
 */
import { parseRelativePath } from './path.ts';
import { fail, ok, type Parsed } from './result.ts';
import { quote } from '../problems.ts';

/** Folders a list may hold: far more than a monorepo's DAGs need, and a bound on the file the pod carries. */
export const MAX_SPARSE_PATHS = 50;
/** Characters of the whole annotation value. */
export const MAX_SPARSE_LENGTH = 4096;

const PATTERN_CHARS = /[*?[\]!\\]/;

const inside = (folder: string, parent: string): boolean => folder.startsWith(`${parent}/`);

/**
 * A comma-separated list of folders inside the repository, normalised: sorted,
 * without duplicates or folders inside another listed one (which add nothing).
 */
export function parseSparsePaths(raw: string): Parsed<string[]> {
  if (raw.length > MAX_SPARSE_LENGTH) {
    return fail('VALUE_NOT_ALLOWED', `is ${raw.length} characters long; list at most ${MAX_SPARSE_LENGTH} characters of folders`);
  }
  const items = raw.split(',').map((s) => s.trim());
  if (items.length > MAX_SPARSE_PATHS) {
    return fail('VALUE_NOT_ALLOWED', `lists ${items.length} folders; list at most ${MAX_SPARSE_PATHS}, such as the parent folder they share`);
  }
  const folders = new Set<string>();
  for (const item of items) {
    if (item === '') return fail('PATH_INVALID', `${quote(raw)} has an empty entry; separate folders with single commas, such as dags,plugins`);
    if (PATTERN_CHARS.test(item)) {
      return fail('PATH_INVALID', `${quote(item)} is a pattern; list folders of the repository, such as dags or teams/data/dags (git's cone mode checks out whole folders)`);
    }
    const folder = parseRelativePath(item);
    if (!folder.ok) return folder;
    if (folder.value === '') return fail('PATH_INVALID', `${quote(item)} is the repository root; leave sparse-paths out to check out the whole repository`);
    folders.add(folder.value);
  }
  const sorted = [...folders].sort();
  return ok(sorted.filter((f) => !sorted.some((other) => inside(f, other))));
}

/**
 * The sparse-checkout file for the folders, in git's cone format: the top
 * level's files, then each parent folder's own files (and not its other
 * folders), then each listed folder whole. Parents come before their
 * children, which non-cone git needs (a later line wins there).
 */
export function sparseCheckoutFile(folders: readonly string[]): string {
  const parents = new Set<string>();
  for (const f of folders) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) parents.add(parts.slice(0, i).join('/'));
  }
  const lines = ['/*', '!/*/'];
  for (const dir of [...new Set([...parents, ...folders])].sort()) {
    lines.push(`/${dir}/`);
    if (parents.has(dir)) lines.push(`!/${dir}/*/`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Whether a checkout of these folders holds `subPath`: it is one of them,
 * inside one, or a parent of one (cone mode checks a parent's own files out,
 * so the folder exists). The repository root ('') always does.
 */
export function sparseHolds(folders: readonly string[], subPath: string): boolean {
  return subPath === '' || folders.some((f) => f === subPath || inside(subPath, f) || inside(f, subPath));
}
