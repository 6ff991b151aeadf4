/**
 * The one shape of every loop (after kubebuilder's one controller per file and cert-manager's
 * self-registering controllers): a name, a field manager, predicates saying which stacks an event
 * wakes, and a work queue with backoff. The manager (controller/manager.ts) owns the informers and
 * hands every event to every loop's predicates; a loop woken by another loop's writes says so in
 * its own predicates, where a reader of that loop finds it.
 */
import type { Logger } from 'pino';
import { splitStackKey } from '../api/keys.js';
import type { WebStack } from '../api/types.js';
import { isConflict } from '../kube/errors.js';
import type { KubeObject } from '../kube/types.js';
import type { ChangeEvent } from './informer.js';
import { reconcileLogger } from './logger.js';
import { WorkQueue, type Outcome, type ProcessResult } from './queue.js';
import type { BackoffPolicy } from '../support/backoff.js';

/** Which stacks a change wakes: these keys, or every stack. */
export type Wake = readonly string[] | 'all';
export const NONE: Wake = [];

export interface Controller {
  readonly name: string;
  /** The server-side apply field manager of everything this loop writes (api/identity.ts). */
  readonly fieldManager: string;
  /** The stacks a change of a WebStack wakes. */
  onStack(e: ChangeEvent<WebStack>): Wake;
  /** The stacks a change of a cached child object wakes. */
  onObject(e: ChangeEvent<KubeObject>): Wake;
  /** Queues a stack's key. */
  enqueue(key: string): void;
  start(): void;
  /** Stops taking work; resolves when the runs in flight are done. */
  stop(): Promise<void>;
}

export interface QueuedControllerOptions {
  name: string;
  fieldManager: string;
  /** One run for one queue key, with a logger that names the stack and the run. */
  handler: (key: string, log: Logger) => Promise<ProcessResult | undefined>;
  onStack?: (e: ChangeEvent<WebStack>) => Wake;
  onObject?: (e: ChangeEvent<KubeObject>) => Wake;
  concurrency: number;
  backoff?: BackoffPolicy;
  /** Holds a key this long before it runs, so a burst of events makes one run. */
  debounceMs?: number;
  /** The queue key a stack's key becomes (a loop over all stacks makes every key its one pass). */
  queueKey?: (stackKey: string) => string;
  logger: Logger;
  onDepth?: (depth: number) => void;
  onProcessed?: (outcome: Outcome, durationMs: number) => void;
}

/** A Controller over a WorkQueue: what every loop of the operator is. */
export function queuedController(o: QueuedControllerOptions): Controller {
  const logger = o.logger.child({ loop: o.name });
  const queue = new WorkQueue({
    concurrency: o.concurrency,
    ...(o.backoff ? { backoff: o.backoff } : {}),
    handler: (key) => o.handler(key, key.includes('/') ? reconcileLogger(logger, splitStackKey(key)) : logger),
    ...(o.onDepth ? { onDepth: o.onDepth } : {}),
    onProcessed: (key, outcome, durationMs, error) => {
      o.onProcessed?.(outcome, durationMs);
      if (error !== undefined) logRetry(logger, key, error);
    },
  });
  const queueKey = o.queueKey ?? ((key: string) => key);
  return {
    name: o.name,
    fieldManager: o.fieldManager,
    onStack: o.onStack ?? (() => NONE),
    onObject: o.onObject ?? (() => NONE),
    enqueue: (key) => (o.debounceMs ? queue.addAfter(queueKey(key), o.debounceMs) : queue.add(queueKey(key))),
    start: () => queue.start(),
    stop: () => queue.shutdown(),
  };
}

/**
 * A conflict (409) means another writer changed the object since this run read it, a race the
 * compare-and-swap writes expect (e.g. a fresh stack's finalizer): the retry is routine, not a warning.
 */
function logRetry(logger: Logger, key: string, error: unknown): void {
  const fields = { key, err: describe(error) };
  if (isConflict(error)) logger.debug(fields, 'run failed; retrying with backoff');
  else logger.warn(fields, 'run failed; retrying with backoff');
}

/** What a thrown value says, Error or not (a library may reject with a plain object). */
function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return typeof error === 'object' && error !== null ? JSON.stringify(error) : String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}

/** Status writes (ours included) change neither generation, deletion nor finalizers: no loop needs to run again for them. */
export function specOrLifecycleChanged(e: ChangeEvent<WebStack>): boolean {
  if (e.type !== 'update' || !e.old) return true;
  const [a, b] = [e.old.metadata, e.object.metadata];
  return a.generation !== b.generation || a.deletionTimestamp !== b.deletionTimestamp || String(a.finalizers) !== String(b.finalizers);
}
