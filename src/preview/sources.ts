/**
 * Where manifests come from on the command line: files, directories (read
 * recursively, like `kubectl apply -R -f`), and standard input. Directory
 * contents are sorted so that the output order never depends on the file
 * system.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { InputFormat } from './parse.ts';

export interface InputText {
  /** The path as given (or found under a given directory), or STDIN_NAME. */
  name: string;
  text: string;
  /** From the file's extension; standard input and other names are sniffed. */
  format: InputFormat | 'auto';
}

export const STDIN_NAME = '<stdin>';

const FORMATS: Readonly<Record<string, InputFormat>> = { '.yaml': 'yaml', '.yml': 'yaml', '.json': 'json' };

/** Input that cannot be read: a missing file, a directory without manifests, standard input given twice. */
export class SourceError extends Error {}

function why(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return (error as Error).message;
  }
}

/**
 * Manifest files under `dir`, sorted by path. Names starting with a dot
 * (.git, editor files) are skipped; symbolic links are followed, each real
 * directory once, so a link back up the tree cannot loop.
 */
async function manifestsUnder(dir: string, seen: Set<string>): Promise<string[]> {
  const real = await realpath(dir);
  if (seen.has(real)) return [];
  seen.add(real);
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  const found: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    let info;
    try {
      info = await stat(path);
    } catch {
      continue; // a dangling link names no manifest
    }
    if (info.isDirectory()) found.push(...(await manifestsUnder(path, seen)));
    else if (info.isFile() && Object.hasOwn(FORMATS, extname(name).toLowerCase())) found.push(path);
  }
  return found;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new SourceError(`cannot read ${path}: ${why(error)}`);
  }
}

/** Whether a path given on the command line is a URL to download, as with `kubectl apply -f URL`. */
export const isUrl = (path: string): boolean => /^https?:\/\//i.test(path);

/** Manifests larger than this are not downloaded: far beyond any real bundle, small enough to hold in memory. */
export const MAX_URL_BYTES = 64 * 1024 * 1024;

async function download(url: string): Promise<InputText> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new SourceError(`cannot read ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  if (!response.ok) throw new SourceError(`cannot read ${url}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_URL_BYTES) throw new SourceError(`cannot read ${url}: ${length} bytes is more than ${MAX_URL_BYTES}`);
  const body = Buffer.from(await response.arrayBuffer());
  if (body.length > MAX_URL_BYTES) throw new SourceError(`cannot read ${url}: more than ${MAX_URL_BYTES} bytes`);
  const ext = extname(new URL(url).pathname).toLowerCase();
  return { name: url, text: body.toString('utf8'), format: FORMATS[ext] ?? 'auto' };
}

/**
 * Reads every path in order; '-' is standard input (read once), an http(s)
 * URL is downloaded. Directories give their *.yaml, *.yml and *.json files.
 * Throws SourceError.
 */
export async function readInputs(paths: readonly string[], readStdin: () => Promise<string>): Promise<InputText[]> {
  const inputs: InputText[] = [];
  let stdinRead = false;
  for (const path of paths) {
    if (path === '-') {
      if (stdinRead) throw new SourceError('standard input (-) is given more than once');
      stdinRead = true;
      inputs.push({ name: STDIN_NAME, text: await readStdin(), format: 'auto' });
      continue;
    }
    if (isUrl(path)) {
      inputs.push(await download(path));
      continue;
    }
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw new SourceError(`cannot read ${path}: ${why(error)}`);
    }
    if (info.isDirectory()) {
      const files = await manifestsUnder(path, new Set());
      if (files.length === 0) throw new SourceError(`${path}: the directory has no *.yaml, *.yml or *.json files`);
      for (const file of files) inputs.push({ name: file, text: await readText(file), format: FORMATS[extname(file).toLowerCase()]! });
    } else {
      inputs.push({ name: path, text: await readText(path), format: FORMATS[extname(path).toLowerCase()] ?? 'auto' });
    }
  }
  return inputs;
}
