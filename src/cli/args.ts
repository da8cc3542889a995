/**
 * The flag helpers, for the commands that still import them from here. They
 * live in ../args.ts, where app/ can use them without depending on cli/;
 * this re-export goes once check, inject and policy import that directly.
 */
export { parseFlags, parsePort, setting, UsageError, type Env, type Sourced } from '../args.ts';
