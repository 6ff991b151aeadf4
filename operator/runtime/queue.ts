/**
 * A keyed work queue in the style of client-go's workqueue, with its workers built in.
 *
 * - A key is queued at most once: adding a queued key again is a no-op (events coalesce).
 * - A key is never processed by two workers at once. Adding a key while it is being processed
 *   marks it dirty, and it is processed again right after the current run ends, so the change that
 *   caused the add is never missed.
 * - A failed run is retried after an exponential per-key backoff (capped); a successful run
 *   resets that key's backoff. A run can ask to be repeated later (`requeueAfterMs`).
 * - Workers only start with `start()`, so a standby replica can fill the queue from its caches
 *   and begin at once when it becomes leader.
 * - `shutdown()` drops queued and delayed keys and resolves when in-flight runs have finished.
 */
import { backoffDelay, type BackoffPolicy } from '../support/backoff.js';
import { type Clock, systemClock, type Timer } from '../support/clock.js';

export interface ProcessResult {
  /** Process the key again after this many milliseconds (a periodic re-check, e.g. while pods roll). */
  requeueAfterMs?: number;
}

export type Outcome = 'success' | 'error' | 'requeue';

// `void` in the union lets handlers that have nothing to report simply return.
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type
export type Handler = (key: string) => Promise<ProcessResult | undefined | void>;

export interface WorkQueueOptions {
  handler: Handler;
  /** Upper bound on keys processed at the same time. */
  concurrency: number;
  backoff?: BackoffPolicy;
  clock?: Clock;
  /** Called whenever the number of keys waiting to be processed changes (for a gauge). */
  onDepth?: (depth: number) => void;
  /** Called after every run: the outcome, how long the handler took, and its error if it threw. */
  onProcessed?: (key: string, outcome: Outcome, durationMs: number, error?: unknown) => void;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 5 * 60_000 };

export class WorkQueue {
  private readonly handler: Handler;
  private readonly concurrency: number;
  private readonly backoff: BackoffPolicy;
  private readonly clock: Clock;
  private readonly onDepth: ((depth: number) => void) | undefined;
  private readonly onProcessed: WorkQueueOptions['onProcessed'];

  /** Keys ready to run, in arrival order; `queued` mirrors it for O(1) membership. */
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added again while being processed. */
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: Timer }>();
  private readonly failures = new Map<string, number>();
  private started = false;
  private stopping = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: WorkQueueOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new Error(`WorkQueue concurrency must be a positive integer, got ${options.concurrency}`);
    }
    this.handler = options.handler;
    this.concurrency = options.concurrency;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.clock = options.clock ?? systemClock;
    this.onDepth = options.onDepth;
    this.onProcessed = options.onProcessed;
  }

  /** Number of keys waiting to run (not counting keys in flight or delayed). */
  get depth(): number {
    return this.ready.length;
  }

  /** Number of keys currently being processed. */
  get inFlight(): number {
    return this.processing.size;
  }

  /** Failures of `key` since its last success (what its next backoff is based on). */
  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  start(): void {
    if (this.stopping) return;
    this.started = true;
    this.pump();
  }

  /** Queues `key` now. Supersedes a pending delayed add of the same key. */
  add(key: string): void {
    if (this.stopping) return;
    this.cancelDelayed(key);
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.ready.push(key);
    this.reportDepth();
    this.pump();
  }

  /** Queues `key` after `ms`. If an earlier delayed add of the key is pending, that one wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopping) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    // Already waiting to run: that run comes first and decides about any later one.
    if (this.queued.has(key)) return;
    const at = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Stops taking work, drops waiting and delayed keys, and resolves once in-flight runs end. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.ready.length = 0;
    this.queued.clear();
    this.dirty.clear();
    this.reportDepth();
    if (this.processing.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private cancelDelayed(key: string): void {
    const pending = this.delayed.get(key);
    if (!pending) return;
    pending.timer.cancel();
    this.delayed.delete(key);
  }

  private pump(): void {
    while (this.started && !this.stopping && this.processing.size < this.concurrency) {
      const key = this.ready.shift();
      if (key === undefined) return;
      this.queued.delete(key);
      this.processing.add(key);
      this.reportDepth();
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    const startedAt = this.clock.now();
    let outcome: Outcome;
    let error: unknown;
    let requeueAfterMs = 0;
    try {
      const result = await this.handler(key);
      requeueAfterMs = result?.requeueAfterMs ?? 0;
      outcome = requeueAfterMs > 0 ? 'requeue' : 'success';
    } catch (err) {
      outcome = 'error';
      error = err;
    }
    this.processing.delete(key);

    if (!this.stopping) {
      if (outcome === 'error') {
        const failures = this.failuresOf(key) + 1;
        this.failures.set(key, failures);
        this.addAfter(key, backoffDelay(this.backoff, failures));
      } else {
        this.failures.delete(key);
        if (outcome === 'requeue') this.addAfter(key, requeueAfterMs);
      }
      // Re-added during the run: something changed since the handler read its inputs, so look
      // again now (this supersedes a backoff or requeue timer set just above).
      if (this.dirty.delete(key)) this.add(key);
    }

    this.safeReport(key, outcome, this.clock.now() - startedAt, error);

    if (this.processing.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
    this.pump();
  }

  private safeReport(key: string, outcome: Outcome, durationMs: number, error: unknown): void {
    try {
      if (outcome === 'error') this.onProcessed?.(key, outcome, durationMs, error);
      else this.onProcessed?.(key, outcome, durationMs);
    } catch {
      // A broken metrics/log hook must not wedge the queue.
    }
  }

  private reportDepth(): void {
    try {
      this.onDepth?.(this.ready.length);
    } catch {
      // Same as above: hooks are observers only.
    }
  }
}
