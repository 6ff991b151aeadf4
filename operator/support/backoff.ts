/**
 * Exponential backoff without jitter: base, 2*base, 4*base ... capped at max. Jitter spreads
 * retries of many clients against one server; this operator's retries are per key and already
 * spread by when each key failed, and a deterministic schedule keeps the tests exact.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** Delay before retry number `failures` (1 = first retry after the first failure). */
export function backoffDelay(policy: BackoffPolicy, failures: number): number {
  if (failures <= 0) return 0;
  // Cap the exponent too, so that a key failing for days never overflows to Infinity.
  const exponent = Math.min(failures - 1, 52);
  return Math.min(policy.baseMs * 2 ** exponent, policy.maxMs);
}
