/**
 * Cleaning up after the suite, whatever happened: every step runs even when
 * an earlier one fails, and the failures are reported together at the end.
 * Steps run newest first (what was created last goes first), except the
 * ones marked `first`, which run before all others: the webhook
 * configuration, so the API server stops calling a webhook that is going
 * away before anything else is deleted.
 */
export interface CleanupStep {
  what: string;
  run(): Promise<unknown>;
  first: boolean;
}

export class Cleanup {
  private readonly steps: CleanupStep[] = [];

  add(what: string, run: () => Promise<unknown>, options: { first?: boolean } = {}): void {
    this.steps.push({ what, run, first: options.first ?? false });
  }

  /** Runs every step once; throws one error naming each step that failed. */
  async run(): Promise<void> {
    const order = [...this.steps].reverse().sort((a, b) => Number(b.first) - Number(a.first));
    this.steps.length = 0;
    const failures: string[] = [];
    for (const step of order) {
      try {
        await step.run();
      } catch (error) {
        failures.push(`${step.what}: ${(error as Error).message}`);
      }
    }
    if (failures.length > 0) throw new Error(`cleanup failed; remove these by hand:\n${failures.join('\n')}`);
  }
}
