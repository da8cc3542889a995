import { fail, ok, type Parsed } from './result.ts';
import { quote } from '../problems.ts';

// Path segments are kept to characters that need no quoting anywhere they end
// up (mount paths, env values, logs): no ':', which Kubernetes mount paths
// refuse, no '\', no quotes or shell metacharacters.
const SEGMENT = /^[A-Za-z0-9._@+=,-]+$/;

function segmentsOf(raw: string): string[] | string {
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return `${quote(raw)} contains '..'`;
  const bad = segments.find((s) => !SEGMENT.test(s));
  if (bad !== undefined) return `${quote(raw)} contains ${quote(bad)}; use letters, digits and . _ - @ + = ,`;
  return segments;
}

/** An absolute directory path other than '/', normalised (no '.', no '//', no trailing '/'). */
export function parseAbsolutePath(raw: string): Parsed<string> {
  if (!raw.startsWith('/')) return fail('PATH_INVALID', `${quote(raw)} is not an absolute path; start it with '/'`);
  const segments = segmentsOf(raw);
  if (typeof segments === 'string') return fail('PATH_INVALID', `${segments}; use an absolute path such as /git`);
  if (segments.length === 0) return fail('PATH_INVALID', `${quote(raw)} is the root directory; use a directory such as /git`);
  if (raw.length > 1024) return fail('PATH_INVALID', `${quote(raw)} is longer than 1024 characters`);
  return ok(`/${segments.join('/')}`);
}

/** A folder inside the repository, relative, normalised; '' means the repository root. */
export function parseRelativePath(raw: string): Parsed<string> {
  if (raw.startsWith('/')) {
    return fail('PATH_INVALID', `${quote(raw)} starts with '/'; give a folder inside the repository, such as dags`);
  }
  const segments = segmentsOf(raw);
  if (typeof segments === 'string') return fail('PATH_INVALID', `${segments}; give a folder inside the repository, such as dags`);
  if (raw.length > 1024) return fail('PATH_INVALID', `${quote(raw)} is longer than 1024 characters`);
  return ok(segments.join('/'));
}
