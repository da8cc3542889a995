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

/**
 * System directories an app's files must not be mounted over: the mount
 * hides what the image has there, and points programs at the repository.
 * `below: true` trees hold programs, libraries, kernel interfaces, runtime
 * state and credentials (/var/run/secrets), so no directory inside them is
 * allowed either; the others (/etc, /usr, /usr/share, /var, /tmp…) are refused
 * themselves, since they hide the whole system's files, while a directory of
 * an app's own inside them (/etc/prometheus, /usr/share/nginx/html) is fine.
 */
export const SYSTEM_DIRS: readonly { dir: string; below: boolean; holds: string }[] = [
  { dir: '/etc', below: false, holds: 'the system configuration' },
  { dir: '/etc/ssl', below: true, holds: 'the trusted certificates' },
  { dir: '/etc/pki', below: true, holds: 'the trusted certificates' },
  { dir: '/etc/ca-certificates', below: true, holds: 'the trusted certificates' },
  { dir: '/etc/profile.d', below: true, holds: 'shell start-up files' },
  { dir: '/etc/ld.so.conf.d', below: true, holds: 'the dynamic loader configuration' },
  { dir: '/proc', below: true, holds: "the kernel's process interface" },
  { dir: '/sys', below: true, holds: "the kernel's device interface" },
  { dir: '/dev', below: true, holds: 'device files' },
  { dir: '/bin', below: true, holds: 'programs' },
  { dir: '/sbin', below: true, holds: 'programs' },
  { dir: '/boot', below: true, holds: 'the boot files' },
  { dir: '/run', below: true, holds: 'runtime state, sockets and secrets' },
  { dir: '/var/run', below: true, holds: 'runtime state, sockets and the service account token' },
  { dir: '/usr', below: false, holds: 'the installed system' },
  { dir: '/usr/local', below: false, holds: 'locally installed software' },
  { dir: '/usr/share', below: false, holds: 'shared system data' },
  { dir: '/usr/bin', below: true, holds: 'programs' },
  { dir: '/usr/sbin', below: true, holds: 'programs' },
  { dir: '/usr/local/bin', below: true, holds: 'programs' },
  { dir: '/usr/local/sbin', below: true, holds: 'programs' },
  { dir: '/var', below: false, holds: 'variable system data' },
  { dir: '/tmp', below: false, holds: 'temporary files, which programs must be able to write' },
  { dir: '/var/tmp', below: false, holds: 'temporary files, which programs must be able to write' },
  { dir: '/root', below: true, holds: "root's home and configuration" },
  { dir: '/home', below: false, holds: "the users' homes" },
];
// /lib, /lib32, /lib64, /libx32, /libexec, and the same under /usr and /usr/local: libraries and helper programs.
export const LIBRARY_DIR = /^((?:\/usr(?:\/local)?)?\/lib(?:32|64|x32|exec)?)(?:\/|$)/;

/** Why a normalised mount path is a system directory, or undefined. */
function systemDirProblem(path: string): string | undefined {
  const lib = LIBRARY_DIR.exec(path);
  if (lib) return `${path === lib[1] ? 'is' : 'is inside'} ${lib[1]}, which holds libraries and helper programs`;
  for (const { dir, below, holds } of SYSTEM_DIRS) {
    if (path === dir) return `is ${dir}, which holds ${holds}`;
    if (below && path.startsWith(`${dir}/`)) return `is inside ${dir}, which holds ${holds}`;
  }
  return undefined;
}

/** Where app containers see the repository: an absolute path (parseAbsolutePath) that is not a system directory. */
export function parseMountPath(raw: string): Parsed<string> {
  const parsed = parseAbsolutePath(raw);
  if (!parsed.ok) return parsed;
  const problem = systemDirProblem(parsed.value);
  if (problem) {
    return fail(
      'MOUNT_PATH_NOT_ALLOWED',
      `${quote(raw)} ${problem}; mounting the repository there would hide them from the app; use a directory of the app's own, such as /git or /opt/<app>/<folder>`,
    );
  }
  return parsed;
}
