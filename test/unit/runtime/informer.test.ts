import { describe, expect, it } from '@jest/globals';
import type { WatchEvent, WatchEventType } from '../../../operator/kube/client.js';
import { KubeApiError } from '../../../operator/kube/errors.js';
import type { ListOptions, ListPage, ListWatchSource, WatchOptions } from '../../../operator/kube/listwatch.js';
import type { KubeObject } from '../../../operator/kube/types.js';
import { Informer, type ChangeEvent } from '../../../operator/runtime/informer.js';
import { ManualClock, settle } from '../../support/manual-clock.js';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

function cm(name: string, rv: number, data: Record<string, string> = {}, namespace = 'ns'): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, resourceVersion: String(rv), creationTimestamp: '2024-01-01T00:00:00Z' }, data };
}

interface OpenWatch {
  options: WatchOptions;
  onEvent: (event: WatchEvent) => void;
  signal: AbortSignal;
  close: () => void;
  fail: (err: unknown) => void;
}

/** A collection the test edits directly, with the list and watch calls it receives recorded. */
class FakeSource implements ListWatchSource<ConfigMap> {
  objects: ConfigMap[] = [];
  resourceVersion = 100;
  pageSize: number | undefined;
  listCalls: ListOptions[] = [];
  watches: OpenWatch[] = [];
  listFailures = 0;

  list(options: ListOptions): Promise<ListPage<ConfigMap>> {
    this.listCalls.push(options);
    if (this.listFailures > 0) {
      this.listFailures--;
      return Promise.reject(new KubeApiError(503, 'ServiceUnavailable', 'apiserver not ready'));
    }
    const start = options.continue ? Number(options.continue) : 0;
    const end = this.pageSize ? start + this.pageSize : this.objects.length;
    const items = this.objects.slice(start, end).map((o) => structuredClone(o));
    return Promise.resolve({ items, resourceVersion: String(this.resourceVersion), continue: end < this.objects.length ? String(end) : undefined });
  }

  watch(options: WatchOptions, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      // Like KubeClient.watch: an exception from the event callback ends the watch with that error.
      const deliver = (event: WatchEvent) => {
        try {
          onEvent(event);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      const w: OpenWatch = { options, onEvent: deliver, signal, close: resolve, fail: reject };
      signal.addEventListener('abort', () => {
        reject(new KubeApiError(0, 'Aborted', 'aborted'));
      });
      this.watches.push(w);
    });
  }

  get current(): OpenWatch {
    const w = this.watches.at(-1);
    if (!w) throw new Error('no watch open');
    return w;
  }

  send(type: WatchEventType, object: KubeObject): void {
    this.current.onEvent({ type, object });
  }
}

function setup(opts: { watchdogMs?: number } = {}) {
  const clock = new ManualClock();
  const source = new FakeSource();
  const informer = new Informer<ConfigMap>({
    source,
    clock,
    labelSelector: 'app=demo',
    watchTimeoutSeconds: 60,
    backoff: { baseMs: 1_000, maxMs: 8_000 },
    ...(opts.watchdogMs ? { watchdogMs: opts.watchdogMs } : {}),
  });
  const events: string[] = [];
  informer.onChange((e: ChangeEvent<ConfigMap>) => events.push(`${e.type}:${e.object.metadata.name}@${e.object.metadata.resourceVersion ?? ''}`));
  return { clock, source, informer, events };
}

describe('Informer', () => {
  it('lists with the label selector, delivers adds, syncs, then watches from the list resourceVersion', async () => {
    const { source, informer, events } = setup();
    source.objects = [cm('a', 1), cm('b', 2)];
    expect(informer.hasSynced()).toBe(false);
    informer.start();
    await informer.waitForSync();
    await settle();
    expect(informer.hasSynced()).toBe(true);
    expect(events).toEqual(['add:a@1', 'add:b@2']);
    expect(source.listCalls[0]).toMatchObject({ labelSelector: 'app=demo' });
    expect(source.current.options).toEqual({ resourceVersion: '100', labelSelector: 'app=demo', timeoutSeconds: 60 });
    expect(informer.get('ns', 'a')?.metadata.resourceVersion).toBe('1');
    expect(informer.list().map((o) => o.metadata.name).sort()).toEqual(['a', 'b']);
    await informer.stop();
  });

  it('reads all pages of a paginated list', async () => {
    const { source, informer } = setup();
    source.pageSize = 2;
    source.objects = [cm('a', 1), cm('b', 2), cm('c', 3), cm('d', 4), cm('e', 5)];
    informer.start();
    await informer.waitForSync();
    expect(informer.list()).toHaveLength(5);
    expect(source.listCalls.map((c) => c.continue)).toEqual([undefined, '2', '4']);
    await informer.stop();
  });

  it('applies watch events to the cache and reports them, skipping unchanged versions', async () => {
    const { source, informer, events } = setup();
    source.objects = [cm('a', 1)];
    informer.start();
    await informer.waitForSync();
    await settle();
    source.send('ADDED', cm('b', 101));
    source.send('MODIFIED', cm('a', 102, { k: 'v' }));
    source.send('MODIFIED', cm('a', 102, { k: 'v' })); // same version again
    source.send('DELETED', cm('b', 103));
    source.send('BOOKMARK', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '', resourceVersion: '150' } });
    expect(events).toEqual(['add:a@1', 'add:b@101', 'update:a@102', 'delete:b@103']);
    expect(informer.get('ns', 'a')?.data).toEqual({ k: 'v' });
    expect(informer.get('ns', 'b')).toBeUndefined();
    expect(informer.lastResourceVersion).toBe('150');
    await informer.stop();
  });

  it('resumes from the last resourceVersion at once when the server ends the watch, without re-listing', async () => {
    const { source, informer } = setup();
    informer.start();
    await informer.waitForSync();
    await settle();
    source.send('ADDED', cm('a', 120));
    source.current.close();
    await settle();
    expect(source.watches).toHaveLength(2);
    expect(source.current.options.resourceVersion).toBe('120');
    expect(source.listCalls).toHaveLength(1);
    await informer.stop();
  });

  it('restarts a failed watch with exponential backoff, and resets the backoff once events flow', async () => {
    const { clock, source, informer } = setup();
    informer.start();
    await informer.waitForSync();
    await settle();
    const restartTimes: number[] = [];
    const t0 = clock.now();
    for (let i = 0; i < 4; i++) {
      source.current.fail(new Error('connection reset'));
      const before = source.watches.length;
      while (source.watches.length === before) await clock.advance(100);
      restartTimes.push(clock.now() - t0);
    }
    // 1s, then 2s, 4s, 8s after each failure (plus the 100ms steps of this loop)
    expect(restartTimes).toEqual([1_000, 3_000, 7_000, 15_000]);
    expect(source.listCalls).toHaveLength(1); // errors other than 410 do not re-list

    source.send('ADDED', cm('x', 130));
    source.current.fail(new Error('connection reset'));
    await clock.advance(999);
    expect(source.watches).toHaveLength(5);
    await clock.advance(1);
    expect(source.watches).toHaveLength(6);
    await informer.stop();
  });

  it('re-lists on 410 Gone and reports what changed while it was away', async () => {
    const { source, informer, events } = setup();
    source.objects = [cm('keep', 1), cm('change', 2), cm('remove', 3)];
    informer.start();
    await informer.waitForSync();
    await settle();
    events.length = 0;

    source.objects = [cm('keep', 1), cm('change', 20), cm('new', 21)];
    source.resourceVersion = 300;
    source.send('ERROR', { apiVersion: 'v1', kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } as unknown as KubeObject);
    await settle();
    expect(source.listCalls).toHaveLength(2);
    expect(events.sort()).toEqual(['add:new@21', 'delete:remove@3', 'update:change@20']);
    expect(source.current.options.resourceVersion).toBe('300');
    expect(informer.list()).toHaveLength(3);
    await informer.stop();
  });

  it('restarts a watch that stays silent longer than the watchdog bound', async () => {
    const { clock, source, informer } = setup({ watchdogMs: 10_000 });
    informer.start();
    await informer.waitForSync();
    await settle();
    const first = source.current;
    await clock.advance(5_000);
    source.send('ADDED', cm('a', 101)); // activity re-arms the watchdog
    await clock.advance(9_999);
    expect(first.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(first.signal.aborted).toBe(true);
    await clock.advance(1_000); // first restart after an error waits the base backoff
    expect(source.watches).toHaveLength(2);
    expect(source.current.options.resourceVersion).toBe('101');
    await informer.stop();
  });

  it('retries a failing initial list with backoff and only then reports synced', async () => {
    const { clock, source, informer } = setup();
    source.listFailures = 2;
    source.objects = [cm('a', 1)];
    informer.start();
    await settle();
    expect(informer.hasSynced()).toBe(false);
    await clock.advance(1_000);
    expect(source.listCalls).toHaveLength(2);
    expect(informer.hasSynced()).toBe(false);
    await clock.advance(2_000);
    expect(source.listCalls).toHaveLength(3);
    expect(informer.hasSynced()).toBe(true);
    await informer.stop();
  });

  it('stop() aborts the open watch and starts no other', async () => {
    const { clock, source, informer } = setup();
    informer.start();
    await informer.waitForSync();
    await settle();
    const open = source.current;
    await informer.stop();
    expect(open.signal.aborted).toBe(true);
    await clock.advance(60_000);
    expect(source.watches).toHaveLength(1);
  });

  it('keeps delivering to other handlers when one throws, and can unsubscribe', async () => {
    const { source, informer, events } = setup();
    const unsubscribe = informer.onChange(() => {
      throw new Error('handler bug');
    });
    informer.start();
    await informer.waitForSync();
    await settle();
    source.send('ADDED', cm('a', 101));
    unsubscribe();
    source.send('ADDED', cm('b', 102));
    expect(events).toEqual(['add:a@101', 'add:b@102']);
    await informer.stop();
  });

  it('filters list() by namespace', async () => {
    const { source, informer } = setup();
    source.objects = [cm('a', 1, {}, 'one'), cm('a', 2, {}, 'two'), cm('b', 3, {}, 'two')];
    informer.start();
    await informer.waitForSync();
    expect(informer.list('two').map((o) => o.metadata.name)).toEqual(['a', 'b']);
    expect(informer.get('one', 'a')?.metadata.resourceVersion).toBe('1');
    await informer.stop();
  });

  it('caches objects without managedFields, from lists and from watch events', async () => {
    const { source, informer } = setup();
    const managed = (o: ConfigMap): ConfigMap => ({ ...o, metadata: { ...o.metadata, managedFields: [{ manager: 'someone', operation: 'Apply' }] } });
    source.objects = [managed(cm('a', 1, { k: 'v' }))];
    informer.start();
    await informer.waitForSync();
    await settle();
    source.send('ADDED', managed(cm('b', 101)));
    for (const name of ['a', 'b']) {
      const cached = informer.get('ns', name);
      expect(cached?.metadata.name).toBe(name);
      expect(cached?.metadata).not.toHaveProperty('managedFields');
    }
    expect(informer.get('ns', 'a')?.data).toEqual({ k: 'v' });
    await informer.stop();
  });
});
