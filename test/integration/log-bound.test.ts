/**
 * What waits for stdout is bounded (src/log.ts): a child logs through the
 * server's logger into a real pipe. While nobody reads it, lines past the
 * bound are dropped and counted, never held without limit; once it is read
 * again and has caught up, a warning says how many. While it is read, none
 * is lost.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, test } from 'vitest';

const WRITER = join(import.meta.dirname, '..', 'support', 'log-writer.ts');
const LINES = 20_000;
const BOUND = 64 * 1024;

interface Run {
  lines: Record<string, unknown>[];
  /** What the child said on stderr, in order. */
  reports: { logged?: number; dropped: number; flushed?: boolean }[];
}

/** Runs the writer; with `stall`, stdout is left unread until it has logged every line, and the bound is 64 KiB. */
function run(stall: boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, String(LINES), ...(stall ? [String(BOUND)] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    const reports: Run['reports'] = [];
    const lines: Record<string, unknown>[] = [];
    const read = (): void => {
      createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    };
    if (stall) child.stdout!.pause();
    else read();
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const report = JSON.parse(line) as Run['reports'][number];
      reports.push(report);
      // Everything is logged: start reading.
      if (stall && report.logged !== undefined) read();
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ lines, reports }) : reject(new Error(`the writer exited with ${code}: ${JSON.stringify(reports)}`))));
  });
}

describe('log lines waiting for stdout', () => {
  test('a stdout nobody reads: lines past the bound are dropped and counted, and a warning says how many once it is read', async () => {
    const { lines, reports } = await run(true);
    const [logged, flushed] = reports;
    expect(flushed?.flushed).toBe(true);
    // 20,000 lines of ~130 bytes are 2.6 MB: the pipe and the 64 KiB bound hold a fraction.
    expect(logged!.dropped).toBeGreaterThan(LINES / 2);
    const written = lines.filter((l) => l.msg === 'line');
    expect(written.length).toBe(LINES - logged!.dropped);
    // The lines that were written are whole and in order.
    const indexes = written.map((l) => l.i as number);
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    const warnings = lines.filter((l) => l.msg === 'log lines dropped: stdout was not read fast enough');
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.every((w) => w.level === 'warn')).toBe(true);
    // Said once stdout caught up, with nothing waiting: no warning is dropped, and together they count every line that was.
    expect(flushed!.dropped).toBe(logged!.dropped);
    expect(warnings.reduce((sum, w) => sum + (w.dropped as number), 0)).toBe(logged!.dropped);
    expect(warnings.at(-1)!.droppedTotal).toBe(logged!.dropped);
  });

  test('a stdout that is read, with the server\'s bound: every line is written, none dropped', async () => {
    const { lines, reports } = await run(false);
    expect(reports.map((r) => r.dropped)).toEqual([0, 0]);
    expect(lines.filter((l) => l.msg === 'line').length).toBe(LINES);
    expect(lines.some((l) => l.level === 'warn')).toBe(false);
  });
});
