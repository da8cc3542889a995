import { fail, ok, type Parsed } from './result.ts';
import { INVISIBLE_CHARS, codePoint, quote } from '../problems.ts';

const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const ABBREVIATED_SHA = /^(?=.*[a-f])(?=.*[0-9])[0-9a-f]{7,39}$/;
// git check-ref-format: no control characters, space, ~ ^ : ? * [ \ anywhere.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\s\u0000-\u001f\u007f-\u009f~^:?*[\\]/;

function refProblem(ref: string): string | undefined {
  if (ref === '@') return "is '@'";
  if (ref.startsWith('-')) return "starts with '-'";
  // git accepts them, but a ref that reads as 'main' and is not would pass any review.
  const invisible = INVISIBLE_CHARS.exec(ref);
  if (invisible) return `contains ${codePoint(invisible[0])}, an invisible or text-direction character that makes it read as something it is not`;
  if (FORBIDDEN.test(ref)) return 'contains a space or one of ~ ^ : ? * [ \\';
  if (ref.includes('..')) return "contains '..'";
  if (ref.includes('@{')) return "contains '@{'";
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//')) return "has an empty part between '/'";
  if (ref.endsWith('.')) return "ends with '.'";
  for (const part of ref.split('/')) {
    if (part.startsWith('.')) return "has a part starting with '.'";
    if (part.endsWith('.lock')) return "has a part ending with '.lock'";
  }
  if (ref.length > 255) return 'is longer than 255 characters';
  return undefined;
}

/**
 * What git-sync's --ref accepts: HEAD, a branch or tag name valid under
 * `git check-ref-format`, or a full commit hash. Refs never start with '-',
 * so a ref can never be read by git as an option.
 */
export function parseRef(raw: string): Parsed<string> {
  if (raw === 'HEAD' || FULL_SHA.test(raw)) return ok(raw);
  const problem = refProblem(raw);
  if (problem) {
    return fail('REF_INVALID', `${quote(raw)} ${problem}; use a branch or tag name (main, v1.2.0), HEAD, or a full 40-hex commit`);
  }
  if (ABBREVIATED_SHA.test(raw)) {
    return ok(raw, {
      code: 'REF_LOOKS_ABBREVIATED',
      message: `${quote(raw)} looks like an abbreviated commit, which git-sync cannot fetch; use the full 40-hex commit (fine if it is a branch or tag)`,
    });
  }
  return ok(raw);
}
