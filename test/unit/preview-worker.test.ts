/**
 * The preview worker: the same parse as on the main thread, errors carried
 * across with their positions, and the limits that keep a flood or a costly
 * body from reaching the webhook's event loop.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { InputError, parseSource, PreviewWorker, TooManyObjectsError, WorkerAbortedError, WorkerBusyError, WorkerLimitError, yamlText } from '../../src/preview/index.ts';
import { MAX_PREVIEW_VALUES } from '../../src/preview/worker.ts';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/manifests/${name}`, import.meta.url)), 'utf8');

/** A ConfigMap of about 0.4 MB: a second or more of YAML parsing, within the worker's memory. */
const bigConfigMap = (): string => `kind: ConfigMap\ndata:\n${Array.from({ length: 10_000 }, (_, i) => `  k${i}: "value number ${i} with some text"`).join('\n')}\n`;

const workers: PreviewWorker[] = [];
function worker(options: ConstructorParameters<typeof PreviewWorker>[0] = {}): PreviewWorker {
  const w = new PreviewWorker(options);
  workers.push(w);
  return w;
}
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

describe('jobs', () => {
  test('a parse gives what parseSource gives, without the syntax trees', async () => {
    const text = fixture('mixed.yaml');
    const parsed = await worker().parse('mixed.yaml', text, 'auto');
    expect(parsed).toEqual({ format: 'yaml', documents: parseSource('mixed.yaml', text, 'auto').documents.map(({ yaml: _tree, ...doc }) => doc) });
  });

  test('input errors come back as InputError, with their position', async () => {
    const error = await worker()
      .parse('broken.yaml', fixture('broken.yaml'), 'yaml')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error).toMatchObject({ source: 'broken.yaml', reason: 'INVALID_YAML', line: 7, column: 1 });
  });

  test('objects are counted in the worker', async () => {
    const error = await worker()
      .parse('list.yaml', fixture('list.yaml'), 'yaml', 2)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooManyObjectsError);
    expect(error).toMatchObject({ count: 3, max: 2 });
  });

  test('YAML is written as yamlText writes it', async () => {
    const value = { a: 'on', b: ['2024-01-01', 1], c: { d: null } };
    expect(await worker().yaml(value)).toBe(yamlText(value));
  });

  test('the main thread keeps turning while a large body is parsed', async () => {
    const pending = worker().parse('big.yaml', bigConfigMap(), 'yaml');
    const done = pending.then(() => 'done' as const);
    let turns = 0;
    while ((await Promise.race([done, new Promise<'turn'>((resolve) => setImmediate(() => resolve('turn')))])) === 'turn') turns++;
    expect(turns).toBeGreaterThan(0);
    expect((await pending).documents).toHaveLength(1);
  });
});

describe('limits', () => {
  test('jobs beyond the queue are turned away; those admitted all finish, in order', async () => {
    const w = worker({ maxQueued: 1 });
    const first = w.parse('a', 'kind: A', 'yaml');
    const second = w.parse('b', 'kind: B', 'yaml');
    await expect(w.parse('c', 'kind: C', 'yaml')).rejects.toBeInstanceOf(WorkerBusyError);
    expect((await first).documents[0]!.value).toEqual({ kind: 'A' });
    expect((await second).documents[0]!.value).toEqual({ kind: 'B' });
  });

  test('a job over its time is ended, with a WorkerLimitError', async () => {
    const w = worker({ timeoutMs: 1 });
    await expect(w.parse('big.yaml', bigConfigMap(), 'yaml')).rejects.toThrow(new WorkerLimitError('the job took longer than 0.001 s'));
  });

  test('after a limit, the following jobs run on a fresh worker', async () => {
    const w = worker({ memoryMb: 16 });
    await expect(w.parse('big.yaml', bigConfigMap(), 'yaml')).rejects.toThrow(new WorkerLimitError('the job needs more than 16 MiB'));
    expect((await w.parse('small.yaml', 'kind: Pod', 'yaml')).documents[0]!.value).toEqual({ kind: 'Pod' });
  });

  test('a job that waits longer than allowed for its turn is turned away as busy; the running one finishes', async () => {
    const w = worker({ maxWaitMs: 1 });
    const running = w.parse('big.yaml', bigConfigMap(), 'yaml');
    await expect(w.parse('small.yaml', 'kind: Pod', 'yaml')).rejects.toThrow(new WorkerBusyError('the preview waited 0.001 s for its turn'));
    expect((await running).documents).toHaveLength(1);
  });

  test(`a body of more than ${MAX_PREVIEW_VALUES} values is refused in the worker, before anything reaches this thread`, async () => {
    const w = worker();
    const text = `{"kind":"ConfigMap","data":[${'{},'.repeat(MAX_PREVIEW_VALUES)}{}]}`;
    await expect(w.parse('many.json', text, 'json')).rejects.toThrow(new WorkerLimitError(`the body holds more than ${MAX_PREVIEW_VALUES} values`));
    const within = `{"kind":"ConfigMap","data":[${'{},'.repeat(MAX_PREVIEW_VALUES - 10)}{}]}`;
    expect((await w.parse('fewer.json', within, 'json')).documents).toHaveLength(1);
  });

  test('the worker is sized below the container: its whole heap is at most 44 MiB by default', () => {
    const w = worker();
    const { memoryMb, youngMb } = (w as unknown as { options: { memoryMb: number; youngMb: number } }).options;
    expect(memoryMb + youngMb).toBeLessThanOrEqual(44);
  });

  test('closing rejects what waits and what comes later', async () => {
    const w = worker();
    // The expectations are attached before close() rejects the jobs, so no rejection is ever unhandled.
    const running = expect(w.parse('big.yaml', bigConfigMap(), 'yaml')).rejects.toThrow('the preview worker is shut down');
    const waiting = expect(w.parse('small.yaml', 'kind: Pod', 'yaml')).rejects.toThrow('the preview worker is shut down');
    await w.close();
    await running;
    await waiting;
    await expect(w.yaml({})).rejects.toThrow('the preview worker is shut down');
  });
});

describe('a caller that gives up', () => {
  test('a running job ends its worker at once; the next job runs on a fresh one', async () => {
    const w = worker();
    const gaveUp = new AbortController();
    const running = w.parse('big.yaml', bigConfigMap(), 'yaml', Infinity, gaveUp.signal);
    const next = w.parse('small.yaml', 'kind: Pod', 'yaml');
    const order: string[] = [];
    void next.then(() => order.push('next'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    gaveUp.abort();
    await expect(running.finally(() => order.push('running'))).rejects.toBeInstanceOf(WorkerAbortedError);
    expect((await next).documents[0]!.value).toEqual({ kind: 'Pod' });
    // The next job did not wait for the big one to finish its seconds of parsing: it was ended first.
    expect(order).toEqual(['running', 'next']);
  });

  test('a waiting job leaves the queue; the others run', async () => {
    const w = worker();
    const gaveUp = new AbortController();
    const first = w.parse('a', 'kind: A', 'yaml');
    const waiting = w.parse('b', 'kind: B', 'yaml', Infinity, gaveUp.signal);
    gaveUp.abort();
    await expect(waiting).rejects.toBeInstanceOf(WorkerAbortedError);
    expect((await first).documents[0]!.value).toEqual({ kind: 'A' });
  });

  test('a signal aborted already is refused without queueing', async () => {
    await expect(worker().yaml({}, AbortSignal.abort())).rejects.toBeInstanceOf(WorkerAbortedError);
  });
});
