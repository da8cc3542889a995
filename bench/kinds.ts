/**
 * The servers bench/server.ts starts, listed once: its usage line, the
 * benchmark and the report read them. A module of its own because
 * server.ts runs when it is imported.
 */
export const SERVER_KINDS = ['baseline', 'ours', 'ours-no-log', 'ours-no-log-metrics'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

/** The parts (--parts): the webhook with some of its per-admission work left out. */
export const PART_KINDS = ['ours-no-log', 'ours-no-log-metrics'] as const satisfies readonly ServerKind[];
export type PartKind = (typeof PART_KINDS)[number];

export const isServerKind = (value: string | undefined): value is ServerKind => (SERVER_KINDS as readonly (string | undefined)[]).includes(value);
