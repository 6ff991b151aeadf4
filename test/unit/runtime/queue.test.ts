import { describe, expect, it } from '@jest/globals';
import { WorkQueue, type Outcome, type ProcessResult } from '../../../operator/runtime/queue.js';
import { ManualClock, settle } from '../../support/manual-clock.js';

interface Call {
  key: string;
  at: number;
  finish: (result?: ProcessResult) => void;
  fail: (err: Error) => void;
  done: boolean;
}

/** A queue whose handler runs are finished by the test, one by one. */
function harness(opts: { concurrency?: number; backoff?: { baseMs: number; maxMs: number } } = {}) {
  const clock = new ManualClock();
  const calls: Call[] = [];
  const outcomes: [string, Outcome][] = [];
  const depths: number[] = [];
  let running = 0;
  let maxRunning = 0;
  const queue = new WorkQueue({
    concurrency: opts.concurrency ?? 1,
    clock,
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    onDepth: (d) => depths.push(d),
    onProcessed: (key, outcome) => outcomes.push([key, outcome]),
    handler: (key) =>
      new Promise<ProcessResult | undefined>((resolve, reject) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        calls.push({
          done: false,
          key,
          at: clock.now(),
          finish: (result) => {
            running--;
            resolve(result);
          },
          fail: (err) => {
            running--;
            reject(err);
          },
        });
      }),
  });
  const open = () => calls.filter((c) => !c.done);
  /** Finishes the oldest unfinished call for `key` and lets the queue react. */
  const finish = async (key: string, result?: ProcessResult) => {
    const call = open().find((c) => c.key === key);
    if (!call) throw new Error(`no open call for ${key}`);
    call.done = true;
    call.finish(result);
    await settle();
  };
  const fail = async (key: string) => {
    const call = open().find((c) => c.key === key);
    if (!call) throw new Error(`no open call for ${key}`);
    call.done = true;
    call.fail(new Error(`boom ${key}`));
    await settle();
  };
  return {
    clock,
    queue,
    calls,
    outcomes,
    depths,
    finish,
    fail,
    keys: () => calls.map((c) => c.key),
    openKeys: () => open().map((c) => c.key),
    maxRunning: () => maxRunning,
  };
}

describe('WorkQueue', () => {
  it('coalesces duplicate adds of a waiting key', async () => {
    const h = harness();
    h.queue.add('a');
    h.queue.add('a');
    h.queue.add('b');
    h.queue.add('a');
    expect(h.queue.depth).toBe(2);
    h.queue.start();
    await settle();
    await h.finish('a');
    await h.finish('b');
    expect(h.keys()).toEqual(['a', 'b']);
    expect(h.queue.depth).toBe(0);
  });

  it('does not run before start()', async () => {
    const h = harness();
    h.queue.add('a');
    await h.clock.advance(60_000);
    expect(h.calls).toHaveLength(0);
    h.queue.start();
    await settle();
    expect(h.keys()).toEqual(['a']);
  });

  it('never processes one key twice at once, and re-runs a key added during its run exactly once', async () => {
    const h = harness({ concurrency: 4 });
    h.queue.start();
    h.queue.add('a');
    await settle();
    expect(h.openKeys()).toEqual(['a']);
    h.queue.add('a');
    h.queue.add('a');
    await settle();
    expect(h.openKeys()).toEqual(['a']); // still one run, despite free workers
    await h.finish('a');
    expect(h.openKeys()).toEqual(['a']); // the second run
    await h.finish('a');
    expect(h.keys()).toEqual(['a', 'a']);
    expect(h.openKeys()).toEqual([]);
  });

  it('bounds concurrency and processes keys in arrival order', async () => {
    const h = harness({ concurrency: 2 });
    for (const k of ['a', 'b', 'c', 'd', 'e']) h.queue.add(k);
    h.queue.start();
    await settle();
    expect(h.openKeys()).toEqual(['a', 'b']);
    expect(h.queue.depth).toBe(3);
    await h.finish('b');
    expect(h.openKeys()).toEqual(['a', 'c']);
    await h.finish('a');
    await h.finish('c');
    await h.finish('d');
    await h.finish('e');
    expect(h.keys()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(h.maxRunning()).toBe(2);
  });

  it('retries failures with capped exponential per-key backoff and resets it on success', async () => {
    const h = harness({ backoff: { baseMs: 100, maxMs: 500 } });
    h.queue.start();
    h.queue.add('a');
    await settle();
    const t0 = h.clock.now();
    const retryTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      await h.fail('a');
      await h.clock.advance(h.clock.nextTimerIn() ?? 0);
      retryTimes.push(h.clock.now() - t0);
    }
    // delays 100, 200, 400, 500 (capped), 500
    expect(retryTimes).toEqual([100, 300, 700, 1200, 1700]);
    expect(h.queue.failuresOf('a')).toBe(5);
    await h.finish('a');
    expect(h.queue.failuresOf('a')).toBe(0);

    // After the success the next failure starts from the base delay again.
    h.queue.add('a');
    await settle();
    await h.fail('a');
    expect(h.clock.nextTimerIn()).toBe(100);
  });

  it('keeps backoff per key', async () => {
    const h = harness({ concurrency: 2, backoff: { baseMs: 100, maxMs: 10_000 } });
    h.queue.start();
    h.queue.add('a');
    await settle();
    await h.fail('a');
    await h.clock.advance(100);
    await h.fail('a'); // a now waits 200
    h.queue.add('b');
    await settle();
    await h.fail('b'); // b waits 100
    expect(h.queue.failuresOf('a')).toBe(2);
    expect(h.queue.failuresOf('b')).toBe(1);
    await h.clock.advance(100);
    expect(h.openKeys()).toEqual(['b']);
    await h.clock.advance(100);
    expect(h.openKeys()).toEqual(['b', 'a']);
  });

  it('a key re-added while failing runs again at once instead of waiting out its backoff', async () => {
    const h = harness({ backoff: { baseMs: 1_000, maxMs: 10_000 } });
    h.queue.start();
    h.queue.add('a');
    await settle();
    h.queue.add('a'); // a change arrives during the run
    await h.fail('a');
    expect(h.openKeys()).toEqual(['a']);
    expect(h.clock.nextTimerIn()).toBeUndefined();
  });

  it('requeues after the delay a run asks for, reporting the outcome', async () => {
    const h = harness();
    h.queue.start();
    h.queue.add('a');
    await settle();
    await h.finish('a', { requeueAfterMs: 30_000 });
    expect(h.outcomes).toEqual([['a', 'requeue']]);
    await h.clock.advance(29_999);
    expect(h.calls).toHaveLength(1);
    await h.clock.advance(1);
    expect(h.calls).toHaveLength(2);
    await h.finish('a');
    expect(h.outcomes.map(([, o]) => o)).toEqual(['requeue', 'success']);
  });

  it('addAfter keeps the earliest pending time, and add() supersedes it', async () => {
    const h = harness();
    h.queue.start();
    h.queue.addAfter('a', 1_000);
    h.queue.addAfter('a', 5_000); // later: ignored
    h.queue.addAfter('a', 500); // earlier: wins
    await h.clock.advance(499);
    expect(h.calls).toHaveLength(0);
    await h.clock.advance(1);
    expect(h.keys()).toEqual(['a']);
    await h.finish('a');
    await h.clock.advance(10_000);
    expect(h.calls).toHaveLength(1); // the superseded timers did not fire

    h.queue.addAfter('b', 1_000);
    h.queue.add('b');
    await settle();
    await h.finish('b');
    await h.clock.advance(5_000);
    expect(h.keys()).toEqual(['a', 'b']);
  });

  it('addAfter with a non-positive delay adds at once', async () => {
    const h = harness();
    h.queue.start();
    h.queue.addAfter('a', 0);
    await settle();
    expect(h.keys()).toEqual(['a']);
  });

  it('reports queue depth changes', async () => {
    const h = harness();
    h.queue.add('a');
    h.queue.add('b');
    h.queue.start();
    await settle();
    expect(h.depths).toEqual([1, 2, 1]);
    await h.finish('a');
    expect(h.depths.at(-1)).toBe(0);
  });

  it('shutdown waits for in-flight runs, drops waiting and delayed keys, and takes no more work', async () => {
    const h = harness({ concurrency: 1 });
    h.queue.start();
    h.queue.add('a');
    h.queue.add('b');
    h.queue.addAfter('c', 1_000);
    await settle();
    let done = false;
    const closing = h.queue.shutdown().then(() => {
      done = true;
    });
    await settle();
    expect(done).toBe(false);
    await h.finish('a');
    await closing;
    expect(done).toBe(true);
    h.queue.add('d');
    await h.clock.advance(10_000);
    expect(h.keys()).toEqual(['a']);
    expect(h.queue.depth).toBe(0);
  });

  it('shutdown resolves at once when idle', async () => {
    const h = harness();
    h.queue.start();
    await expect(h.queue.shutdown()).resolves.toBeUndefined();
  });

  it('survives throwing hooks', async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const queue = new WorkQueue({
      concurrency: 1,
      clock,
      handler: (key) => {
        seen.push(key);
        return Promise.resolve();
      },
      onDepth: () => {
        throw new Error('gauge broke');
      },
      onProcessed: () => {
        throw new Error('counter broke');
      },
    });
    queue.start();
    queue.add('a');
    queue.add('b');
    await settle();
    expect(seen).toEqual(['a', 'b']);
  });

  it('rejects a bad concurrency', () => {
    expect(() => new WorkQueue({ concurrency: 0, handler: () => Promise.resolve() })).toThrow(/concurrency/);
  });
});
