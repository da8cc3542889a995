/**
 * V8's compile cache (NODE_COMPILE_CACHE) for the Node processes the tests
 * start (cli.ts) and for vitest's own workers (vitest.config.ts): without it
 * each of the few hundred commands the suite runs parses and compiles the
 * same modules again, most of a short command's CPU. It only saves work:
 * Node checks each entry against the module's source and compiles afresh
 * when it changed, so what runs is always the code in the tree.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const COMPILE_CACHE_ENV: Readonly<Record<string, string>> = {
  NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE || join(tmpdir(), 'gitsync-injector-compile-cache'),
};
