/**
 * Jobs that each hold the event loop for a while (reading a body of
 * megabytes: JSON.parse alone takes tens of milliseconds) run one per turn
 * of the loop, in order. Between two of them the loop reads sockets, so an
 * ordinary admission that arrives meanwhile waits for one such job at most,
 * never for a whole burst of them; and only one such body is being built
 * at a time, which keeps the heap's peak to one of them.
 */
export type Enqueue = (job: () => void) => void;

export function onePerTurn(): Enqueue {
  const queue: (() => void)[] = [];
  let scheduled = false;
  const next = (): void => {
    const job = queue.shift();
    // Scheduled before the job runs: a job that throws does not stop the queue.
    if (queue.length > 0) setImmediate(next);
    else scheduled = false;
    job?.();
  };
  return (job) => {
    queue.push(job);
    if (scheduled) return;
    scheduled = true;
    setImmediate(next);
  };
}
