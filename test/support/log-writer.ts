/**
 * A child process for test/integration/log-bound.test.ts: logs `count`
 * lines through the server's logger on stdout, some each turn of the event
 * loop, with `bufferBytes` (default: the server's) as the bound on what may
 * wait for stdout. Then it
 * says on stderr how many lines were dropped (`{"logged":…,"dropped":…}`),
 * writes what is left (flushLogs) and says the final count
 * (`{"flushed":true,"dropped":…}`).
 */
import { createLogger, droppedLogLines, flushLogs } from '../../src/log.ts';

const [count, bufferBytes] = process.argv.slice(2).map(Number) as [number, number | undefined];
const logger = createLogger('info', bufferBytes === undefined ? {} : { bufferBytes });
let i = 0;
const turn = (): void => {
  for (let k = 0; k < 200 && i < count; k++, i++) logger.info({ i, padding: 'x'.repeat(60) }, 'line');
  if (i < count) {
    setImmediate(turn);
    return;
  }
  process.stderr.write(`${JSON.stringify({ logged: count, dropped: droppedLogLines(logger) })}\n`);
  void flushLogs(logger).then(() => process.stderr.write(`${JSON.stringify({ flushed: true, dropped: droppedLogLines(logger) })}\n`));
};
turn();
