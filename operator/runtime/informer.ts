/**
 * A cache of one collection kept current by list + watch, with the robustness client-node's
 * informer lacks:
 *
 * - the label selector applies to the list as well as the watch;
 * - every watch asks the server to end it after `watchTimeoutSeconds`; it is then resumed from the
 *   last resourceVersion without a re-list;
 * - after an error the watch is restarted with exponential backoff (client-node's informer stays
 *   stopped after any error other than 410 Gone);
 * - a watchdog aborts and restarts a watch that has been silent for longer than `watchdogMs` (a
 *   half-open connection otherwise hangs forever, since the server's timeout never arrives);
 * - 410 Gone (our resourceVersion was compacted) triggers a re-list, whose differences from the
 *   cache are delivered as add/update/delete, so no deletion that happened meanwhile is missed.
 *
 * Objects come from the API's JSON on both paths, so timestamps are RFC 3339 strings whether an
 * object was listed or watched (client-node gives Dates for listed objects, strings for watched).
 * Cached objects are shared: handlers and readers must not mutate them.
 */
import type { Logger } from 'pino';
import type { WatchEvent } from '../kube/client.js';
import { isGone, toKubeApiError } from '../kube/errors.js';
import type { ListWatchSource } from '../kube/listwatch.js';
import { objectKey, type KubeObject } from '../kube/types.js';
import { backoffDelay, type BackoffPolicy } from '../support/backoff.js';
import { type Clock, sleep, systemClock, type Timer } from '../support/clock.js';

export type ChangeType = 'add' | 'update' | 'delete';

export interface ChangeEvent<T> {
  type: ChangeType;
  object: T;
  /** The cached object before an update. */
  old?: T;
}

export type ChangeHandler<T> = (event: ChangeEvent<T>) => void;

export interface InformerOptions<T extends KubeObject> {
  source: ListWatchSource<T>;
  labelSelector?: string;
  /** Server-side watch timeout; default 5 minutes. */
  watchTimeoutSeconds?: number;
  /** Restart a watch that delivered nothing for this long; default watch timeout + 30s. */
  watchdogMs?: number;
  /** Delay between restarts after errors; default 1s doubling to 30s. */
  backoff?: BackoffPolicy;
  /** List page size; default 500. */
  pageSize?: number;
  clock?: Clock;
  logger?: Pick<Logger, 'debug' | 'info' | 'warn'>;
  /** Names this informer in logs, e.g. `webstacks`. */
  name?: string;
}

class WatchdogTimeout extends Error {
  override readonly name = 'WatchdogTimeout';
}

export class Informer<T extends KubeObject> {
  private readonly source: ListWatchSource<T>;
  private readonly labelSelector: string | undefined;
  private readonly watchTimeoutSeconds: number;
  private readonly watchdogMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly pageSize: number;
  private readonly clock: Clock;
  private readonly log: InformerOptions<T>['logger'];
  private readonly name: string;

  private cache = new Map<string, T>();
  private resourceVersion = '';
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private readonly handlers = new Set<ChangeHandler<T>>();
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  /** Watches started so far (the first one included); exposed for tests and debugging. */
  watchesStarted = 0;

  constructor(options: InformerOptions<T>) {
    this.source = options.source;
    this.labelSelector = options.labelSelector;
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
    this.watchdogMs = options.watchdogMs ?? (this.watchTimeoutSeconds + 30) * 1000;
    this.backoff = options.backoff ?? { baseMs: 1_000, maxMs: 30_000 };
    this.pageSize = options.pageSize ?? 500;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger;
    this.name = options.name ?? 'informer';
  }

  /** Registers a handler for add/update/delete; returns a function that unregisters it. */
  onChange(handler: ChangeHandler<T>): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** True once the first list has been loaded into the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(objectKey(namespace, name));
  }

  /** Cached objects, all or those in one namespace. */
  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  /** Last resourceVersion seen (from a list, an event or a bookmark). */
  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.loop = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    // A function, so TypeScript does not carry narrowing of `signal.aborted` across awaits.
    const stopping = () => signal.aborted;
    let needList = true;
    let failures = 0;
    while (!stopping()) {
      // Set from the event callback; an object so the flag's type is not narrowed to `false`.
      const activity = { delivered: false };
      try {
        if (needList) {
          await this.relist(signal);
          needList = false;
        }
        await this.watchOnce(signal, () => {
          activity.delivered = true;
        });
        failures = 0; // the server ended the watch on schedule: resume at once
      } catch (err) {
        if (stopping()) break;
        if (activity.delivered) failures = 0; // the watch worked for a while; this is a fresh failure
        failures++;
        const gone = isGone(toKubeApiError(err));
        if (gone) needList = true;
        // A first 410 is routine (history compacted while we were away): re-list at once.
        const delay = gone && failures === 1 ? 0 : backoffDelay(this.backoff, failures);
        this.log?.[gone || err instanceof WatchdogTimeout ? 'info' : 'warn'](
          { informer: this.name, err, retryInMs: delay, relist: needList },
          gone ? 'watch expired; re-listing' : 'watch failed; restarting',
        );
        if (delay > 0) await sleep(this.clock, delay, signal);
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion: string;
    do {
      const page = await this.source.list({ labelSelector: this.labelSelector, limit: this.pageSize, continue: cont });
      if (signal.aborted) return;
      for (const item of page.items) items.push(withoutManagedFields(item));
      resourceVersion = page.resourceVersion;
      cont = page.continue;
    } while (cont);

    const fresh = new Map<string, T>();
    for (const item of items) fresh.set(keyOf(item), item);
    const previous = this.cache;
    this.cache = fresh;
    this.resourceVersion = resourceVersion;
    for (const [key, obj] of fresh) {
      const old = previous.get(key);
      if (!old) this.emit({ type: 'add', object: obj });
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit({ type: 'update', object: obj, old });
    }
    for (const [key, old] of previous) {
      if (!fresh.has(key)) this.emit({ type: 'delete', object: old });
    }
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
    this.log?.debug({ informer: this.name, objects: fresh.size, resourceVersion }, 'listed');
  }

  private async watchOnce(stop: AbortSignal, onActivity: () => void): Promise<void> {
    // stop() may have run while the list was completing; an abort listener added now would never fire.
    if (stop.aborted) return;
    const controller = new AbortController();
    const abortWatch = () => {
      controller.abort();
    };
    stop.addEventListener('abort', abortWatch, { once: true });
    let watchdog: Timer | undefined;
    const state = { silent: false };
    const arm = () => {
      watchdog?.cancel();
      watchdog = this.clock.setTimer(() => {
        state.silent = true;
        controller.abort();
      }, this.watchdogMs);
    };
    arm();
    this.watchesStarted++;
    try {
      await this.source.watch(
        { resourceVersion: this.resourceVersion, labelSelector: this.labelSelector, timeoutSeconds: this.watchTimeoutSeconds },
        (event) => {
          if (controller.signal.aborted) return;
          arm();
          onActivity();
          this.apply(event);
        },
        controller.signal,
      );
    } catch (err) {
      if (state.silent) throw new WatchdogTimeout(`watch delivered nothing for ${this.watchdogMs}ms`, { cause: err });
      throw err;
    } finally {
      watchdog?.cancel();
      stop.removeEventListener('abort', abortWatch);
    }
  }

  /** Applies one watch event to the cache. Throws on ERROR events (the watch then restarts). */
  private apply(event: WatchEvent): void {
    if (event.type === 'ERROR') throw toKubeApiError(event.object);
    const obj = withoutManagedFields(event.object as T);
    const rv = obj.metadata.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (event.type === 'BOOKMARK') return;
    const key = keyOf(obj);
    const old = this.cache.get(key);
    if (event.type === 'DELETED') {
      this.cache.delete(key);
      this.emit({ type: 'delete', object: obj });
      return;
    }
    if (old?.metadata.resourceVersion === rv) return;
    this.cache.set(key, obj);
    this.emit(old ? { type: 'update', object: obj, old } : { type: 'add', object: obj });
  }

  private emit(event: ChangeEvent<T>): void {
    for (const handler of this.handlers) {
      try {
        handler(event);
      } catch (err) {
        this.log?.warn({ informer: this.name, err, change: event.type }, 'change handler threw');
      }
    }
  }
}

/**
 * Cached objects lose metadata.managedFields: nothing here reads them (server-side apply tracks
 * ownership on the server), and they are a large share of every object, so dropping them keeps
 * the caches of hundreds of stacks small.
 */
function withoutManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

function keyOf(obj: KubeObject): string {
  return objectKey(obj.metadata.namespace, obj.metadata.name);
}
