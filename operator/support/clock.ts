/**
 * Time as a dependency. The queue, the informer and the leader elector take a Clock so that unit
 * tests can drive backoff, requeue-after, watchdogs and lease expiry deterministically with a fake
 * one instead of waiting in real time.
 */

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds unless cancelled first. */
  setTimer(fn: () => void, ms: number): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const handle = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => { clearTimeout(handle); } };
  },
};

/**
 * Resolves after `ms`, or as soon as `signal` aborts (it never rejects: loops that sleep between
 * attempts check their own stop flag afterwards, which keeps shutdown paths free of try/catch).
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = () => {
      timer.cancel();
      resolve();
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
