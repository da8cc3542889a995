/**
 * Reads a V8 CPU profile (`node --cpu-prof`, the .cpuprofile JSON) and says
 * where the time went: the functions with the most self time, and the same
 * time grouped by area (our engine, adapter and server; fastify; pino; Node's
 * internals; garbage collection; idle).
 *
 *   node bench/profile.ts FILE.cpuprofile [--top N]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  /** Where it is: a repository path, package/path or node:internal path, with its line. */
  location: string;
  area: string;
  ms: number;
  percent: number;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A script URL made short and stable: relative to the repository, or the package and path inside it. */
function shortLocation(url: string): string {
  if (url === '') return '';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(path);
  if (pkg) return `${pkg[1]}/${pkg[2]}`;
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
}

/** The part of the stack a frame belongs to. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'garbage collection';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8 / native';
    return 'native';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const src = /\/src\/([^/]+)\//.exec(url);
  if (src) return `src/${src[1]}`;
  if (url.startsWith('node:')) return 'node internals';
  return shortLocation(url);
}

/** Self time per function, most first. */
export function selfTimes(profile: CpuProfile): SelfTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, SelfTime>();
  let all = 0;
  // timeDeltas[i] is the time between sample i-1 and sample i; the time
  // after a sample belongs to that sample's function (as DevTools counts it).
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (!node) continue;
    all += us;
    const frame = node.callFrame;
    const location = frame.url ? `${shortLocation(frame.url)}:${frame.lineNumber + 1}` : '';
    const name = frame.functionName || '(anonymous)';
    const key = `${name}\u0000${location}`;
    const entry = totals.get(key) ?? { name, location, area: areaOf(frame), ms: 0, percent: 0 };
    entry.ms += us / 1000;
    totals.set(key, entry);
  }
  const list = [...totals.values()].sort((a, b) => b.ms - a.ms);
  for (const e of list) e.percent = all === 0 ? 0 : (100 * e.ms * 1000) / all;
  return list;
}

/** Self time summed by area, most first. */
export function areaTimes(times: readonly SelfTime[]): { area: string; ms: number; percent: number }[] {
  const areas = new Map<string, { area: string; ms: number; percent: number }>();
  for (const t of times) {
    const a = areas.get(t.area) ?? { area: t.area, ms: 0, percent: 0 };
    a.ms += t.ms;
    a.percent += t.percent;
    areas.set(t.area, a);
  }
  return [...areas.values()].sort((a, b) => b.ms - a.ms);
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const num = (n: number, digits = 1): string => n.toFixed(digits);

export function formatProfile(profile: CpuProfile, top = 25): string {
  const times = selfTimes(profile);
  const lines = ['self time by area:'];
  for (const a of areaTimes(times)) lines.push(`  ${pad(num(a.percent), 6)}%  ${pad(num(a.ms, 0), 8)} ms  ${a.area}`);
  lines.push('', `top ${top} functions by self time:`);
  for (const t of times.slice(0, top)) lines.push(`  ${pad(num(t.percent), 6)}%  ${pad(num(t.ms, 0), 8)} ms  ${pad(t.name, 36)} ${t.location}`);
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  const file = positionals[0];
  const top = Number(values.top);
  if (file === undefined || !Number.isInteger(top) || top < 1) {
    process.stderr.write('usage: node bench/profile.ts FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top)}\n`);
}
