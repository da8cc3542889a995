/**
 * Several repositories per pod. The unqualified annotations (`repo`, `ref`,
 * …) are the pod's main repository, exactly as with one repository; a named
 * repository is written `<name>.<key>` (`gitsync.dev/plugins.repo`,
 * `gitsync.dev/plugins.ref`), for the keys whose table row has scope
 * `repository` or `distinct`. Pod-wide keys (`mode`, `preset`, `inject`) are
 * never qualified. docs/decisions.md says why this shape and not vault-k8s's
 * `<key>-<name>`.
 *
 * The name ends up in the names of containers and volumes
 * (`git-sync-<name>`, `git-sync-init-<name>`, `git-sync-root-<name>`, …),
 * so it is a short DNS label; `init` and names beginning with `init-` are
 * refused, since `git-sync-init-x` would read as the init container of a
 * repository `x`.
 */
import { quote, type Problem } from './problems.ts';
import { ANNOTATIONS, isAnnotationKey, type AnnotationKey } from './annotations.ts';

/** Long enough for any real name, short enough that every name built from it stays under 63 characters. */
export const MAX_REPOSITORY_NAME = 20;
const NAME = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

/** Keys a named repository may qualify. */
export const REPOSITORY_KEYS = (Object.keys(ANNOTATIONS) as AnnotationKey[]).filter((k) => ANNOTATIONS[k].scope !== 'pod');

export const isRepositoryKey = (key: string): key is AnnotationKey => isAnnotationKey(key) && ANNOTATIONS[key].scope !== 'pod';

/** What is wrong with a repository name, or undefined. */
export function repositoryNameProblem(name: string): string | undefined {
  if (name.length > MAX_REPOSITORY_NAME || !NAME.test(name)) {
    return `${quote(name)} is not a repository name; use at most ${MAX_REPOSITORY_NAME} lower-case letters, digits and '-', starting with a letter, such as plugins`;
  }
  if (name === 'init' || name.startsWith('init-')) {
    return `${quote(name)} is not a repository name: init and names beginning with init- would read as git-sync's init containers; use another, such as plugins`;
  }
  return undefined;
}

/** A qualified key split into repository name and annotation key; undefined for an unqualified one. */
export function splitQualified(key: string): { name: string; key: string } | undefined {
  const dot = key.indexOf('.');
  if (dot <= 0) return undefined;
  return { name: key.slice(0, dot), key: key.slice(dot + 1) };
}

/** `plugins.` for a named repository, '' for the main one: what goes between the prefix and the key. */
export const qualifier = (name: string | undefined): string => (name === undefined ? '' : `${name}.`);

/** `-plugins` for a named repository, '' for the main one: what its containers' and volumes' names end with. */
export const nameSuffix = (name: string | undefined): string => (name === undefined ? '' : `-${name}`);

/** The error for more repositories than the policy allows, on the first repository past the cap. */
export function tooMany(field: string, count: number, max: number): Problem {
  return {
    code: 'TOO_MANY_REPOSITORIES',
    field,
    value: String(count),
    message: `the pod asks for ${count} repositories and the policy allows at most ${max} per pod (limits.maxRepositories); remove ${count - max} of them`,
  };
}
