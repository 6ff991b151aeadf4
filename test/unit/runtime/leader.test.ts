import { describe, expect, it } from '@jest/globals';
import { KubeApiError } from '../../../operator/kube/errors.js';
import type { Lease, LeaseSpec, LeaseStore } from '../../../operator/kube/lease.js';
import { LeaderElector } from '../../../operator/runtime/leader.js';
import { ManualClock, settle } from '../../support/manual-clock.js';

/** A Lease kept in memory with the API server's optimistic concurrency rules. */
class MemoryLeaseStore implements LeaseStore {
  lease: Lease | undefined;
  private rv = 0;
  /** When set, every call fails (API unreachable). */
  failing = false;
  /** When set, every call hangs forever (a stuck connection). */
  hanging = false;

  private gate(): Promise<void> {
    if (this.hanging) return new Promise(() => undefined);
    if (this.failing) return Promise.reject(new KubeApiError(0, 'NetworkError', 'connection refused'));
    return Promise.resolve();
  }

  async get(): Promise<Lease | undefined> {
    await this.gate();
    return this.lease && structuredClone(this.lease);
  }

  async create(spec: LeaseSpec): Promise<Lease> {
    await this.gate();
    if (this.lease) throw new KubeApiError(409, 'AlreadyExists', 'leases "ops" already exists');
    this.lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'ops', namespace: 'ns', resourceVersion: String(++this.rv) }, spec };
    return structuredClone(this.lease);
  }

  async update(lease: Lease): Promise<Lease> {
    await this.gate();
    if (!this.lease) throw new KubeApiError(404, 'NotFound', 'not found');
    if (lease.metadata.resourceVersion !== this.lease.metadata.resourceVersion) {
      throw new KubeApiError(409, 'Conflict', 'the object has been modified');
    }
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }

  holder(): string | undefined {
    return this.lease?.spec?.holderIdentity;
  }
}

const TIMINGS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

function candidate(store: LeaseStore, clock: ManualClock, identity: string) {
  const events: string[] = [];
  const leaders: (string | undefined)[] = [];
  const elector = new LeaderElector({
    store,
    identity,
    clock,
    ...TIMINGS,
    onStartedLeading: () => events.push(`start@${clock.now()}`),
    onStoppedLeading: () => events.push(`stop@${clock.now()}`),
    onNewLeader: (id) => leaders.push(id),
  });
  return { elector, events, leaders };
}

describe('LeaderElector', () => {
  it('creates the lease when there is none and leads, writing MicroTime timestamps', async () => {
    const clock = new ManualClock();
    const store = new MemoryLeaseStore();
    const a = candidate(store, clock, 'a');
    a.elector.start();
    await settle();
    expect(a.elector.state).toBe('leading');
    expect(a.events).toEqual([`start@${clock.now()}`]);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(store.lease?.spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(store.lease?.spec?.acquireTime).toMatch(/\.\d{6}Z$/);
    await a.elector.stop();
  });

  it('lets exactly one of two simultaneous candidates lead, and keeps it that way', async () => {
    const clock = new ManualClock();
    const store = new MemoryLeaseStore();
    const a = candidate(store, clock, 'a');
    const b = candidate(store, clock, 'b');
    a.elector.start();
    b.elector.start();
    await settle();
    for (let i = 0; i < 30; i++) {
      await clock.advance(2_000);
      expect([a.elector.isLeader(), b.elector.isLeader()].filter(Boolean)).toHaveLength(1);
    }
    const [leader, follower] = a.elector.isLeader() ? [a, b] : [b, a];
    expect(store.holder()).toBe(leader === a ? 'a' : 'b');
    expect(leader.events).toHaveLength(1); // no flapping
    expect(follower.events).toHaveLength(0);
    expect(follower.elector.state).toBe('standby');
    expect(store.lease?.spec?.leaseTransitions).toBe(0);
    await a.elector.stop();
    await b.elector.stop();
  });

  it('renews the lease every retry period', async () => {
    const clock = new ManualClock();
    const store = new MemoryLeaseStore();
    const a = candidate(store, clock, 'a');
    a.elector.start();
    await settle();
    const first = store.lease?.spec?.renewTime;
    const acquired = store.lease?.spec?.acquireTime;
    await clock.advance(2_000);
    expect(store.lease?.spec?.renewTime).not.toBe(first);
    expect(store.lease?.spec?.acquireTime).toBe(acquired);
    await a.elector.stop();
  });

  it('releases the lease on stop so that a follower takes over on its next retry', async () => {
    const clock = new ManualClock();
    const store = new MemoryLeaseStore();
    const a = candidate(store, clock, 'a');
    a.elector.start();
    await settle();
    const b = candidate(store, clock, 'b');
    b.elector.start();
    await clock.advance(4_000);
    expect(b.elector.state).toBe('standby');

    await a.elector.stop();
    expect(a.events).toEqual([expect.stringMatching(/^start@/), expect.stringMatching(/^stop@/)]);
    expect(a.elector.state).toBe('stopped');
    expect(store.lease?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });

    const releasedAt = clock.now();
    await clock.advance(2_000);
    expect(b.elector.isLeader()).toBe(true);
    expect(Number(b.events[0]?.split('@')[1]) - releasedAt).toBeLessThanOrEqual(2_000);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(b.leaders).toEqual(['a', undefined, 'b']);
    await b.elector.stop();
  });

  it('replaces a crashed leader only after the lease duration', async () => {
    const clock = new ManualClock();
    const store = new MemoryLeaseStore();
    const a = candidate(store, clock, 'a');
    const b = candidate(store, clock, 'b');
    a.elector.start();
    await settle();
    b.elector.start();
    await clock.advance(5_000);
    await a.elector.stop({ release: false }); // a crash: no release
    expect(store.holder()).toBe('a');
    const lastRenew = clock.now(); // a renewed at most 2s ago; b saw that version within one retry

    await clock.advance(12_000);
    expect(b.elector.isLeader()).toBe(false); // not before the lease could have expired
    await clock.advance(8_000);
    expect(b.elector.isLeader()).toBe(true);
    const tookOver = Number(b.events[0]?.split('@')[1]);
    expect(tookOver - lastRenew).toBeGreaterThanOrEqual(TIMINGS.leaseDurationMs - TIMINGS.retryPeriodMs);
    expect(tookOver - lastRenew).toBeLessThanOrEqual(TIMINGS.leaseDurationMs + TIMINGS.retryPeriodMs);
    await b.elector.stop();
  });

  it('steps down when it cannot renew for renewDeadline, before a follower could take over', async () => {
    const clock = new ManualClock();
    const store = new MemoryLeaseStore();
    const a = candidate(store, clock, 'a');
    a.elector.start();
    await settle();
    await clock.advance(2_000); // one renew
    const lastGoodAttempt = clock.now();
    store.failing = true;
    await clock.advance(9_000);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(1_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events.at(-1)).toBe(`stop@${lastGoodAttempt + TIMINGS.renewDeadlineMs}`);
    expect(a.elector.state).toBe('standby');

    // The API comes back and nobody else took the lease: it leads again.
    store.failing = false;
    await clock.advance(2_000);
    expect(a.elector.isLeader()).toBe(true);
    await a.elector.stop();
  });

  it('steps down at the deadline even while a renew request hangs', async () => {
    const clock = new ManualClock();
    const store = new MemoryLeaseStore();
    const a = candidate(store, clock, 'a');
    a.elector.start();
    await settle();
    const acquiredAt = clock.now();
    store.hanging = true;
    await clock.advance(10_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events).toEqual([`start@${acquiredAt}`, `stop@${acquiredAt + 10_000}`]);
  });

  it('steps down at once when it finds the lease taken by another candidate', async () => {
    const clock = new ManualClock();
    const store = new MemoryLeaseStore();
    const a = candidate(store, clock, 'a');
    a.elector.start();
    await settle();
    const lease = store.lease;
    if (!lease) throw new Error('no lease');
    await store.update({ ...lease, spec: { ...lease.spec, holderIdentity: 'intruder' } });
    await clock.advance(2_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events).toHaveLength(2);
    await a.elector.stop();
    expect(store.holder()).toBe('intruder'); // stop() does not release a lease it does not hold
  });

  it('rejects inconsistent timings and an empty identity', () => {
    const store = new MemoryLeaseStore();
    const base = { store, identity: 'a', onStartedLeading: () => undefined, onStoppedLeading: () => undefined };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(/retryPeriod < renewDeadline < leaseDuration/);
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow(/identity/);
  });

  it('survives a throwing callback', async () => {
    const clock = new ManualClock();
    const store = new MemoryLeaseStore();
    const elector = new LeaderElector({
      store,
      identity: 'a',
      clock,
      onStartedLeading: () => {
        throw new Error('app broke');
      },
      onStoppedLeading: () => undefined,
    });
    elector.start();
    await settle();
    expect(elector.isLeader()).toBe(true);
    await clock.advance(6_000);
    expect(elector.isLeader()).toBe(true);
    await elector.stop();
  });
});
