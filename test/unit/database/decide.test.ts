import { describe, expect, it } from '@jest/globals';
import type { InstanceFacts } from '../../../operator/database/facts.js';
import { decide } from '../../../operator/database/decide.js';
import { cluster, instance, type InstanceSpec } from './builders.js';

const primary = (extra: Partial<InstanceSpec> = {}) => instance({ name: 'db-0', role: 'primary', ...extra });
const down = { reachable: false, pod: { ready: false } } as const;

describe('decide: a reverted pod template', () => {
  it('restarts a replica of an old template that is not Ready even while Degraded, and never the primary that way', () => {
    const stuck = instance({ name: 'db-1', reachable: false, pod: { ready: false, outdated: true } });
    expect(decide(cluster([primary(), stuck])).action).toMatchObject({ kind: 'restart', instance: 'db-1' });
    // Ready replicas of an old template wait for Healthy, as every rolling update does.
    const lagging = instance({ name: 'db-2', lagSeconds: 600, pod: { outdated: true } });
    expect(decide(cluster([primary(), instance({ name: 'db-1' }), lagging])).action.kind).not.toBe('restart');
  });
});

describe('decide: the operator cut off from the servers', () => {
  const silent = (name: string, ms: number, pod: Partial<{ ready: boolean; nodeReady: boolean }> = {}) => instance({ name, reachable: false, unreachableForMs: ms, pod });

  it('says Unreachable and does nothing once no instance has answered for 2 minutes while every pod is Ready, primary chosen or not', () => {
    for (const primaryName of ['db-0', undefined]) {
      const d = decide(cluster([silent('db-0', 130_000), silent('db-1', 125_000)], { primary: primaryName }));
      expect(d).toMatchObject({ state: 'Unreachable', action: { kind: 'none' }, reason: expect.stringContaining('no instance has answered the operator for 125 s') as unknown });
    }
  });

  it('is not cut off before 2 minutes, when one instance answers, or when a pod or its node is down (a failure the loop handles)', () => {
    expect(decide(cluster([silent('db-0', 110_000), silent('db-1', 130_000)])).state).not.toBe('Unreachable');
    expect(decide(cluster([silent('db-0', 130_000), instance({ name: 'db-1' })])).state).not.toBe('Unreachable');
    expect(decide(cluster([silent('db-0', 130_000, { ready: false }), silent('db-1', 130_000)])).state).not.toBe('Unreachable');
    expect(decide(cluster([silent('db-0', 130_000, { nodeReady: false }), silent('db-1', 130_000)])).state).not.toBe('Unreachable');
  });
});

describe('decide: a live primary', () => {
  it('leaves a replica whose pod is terminating to stop, instead of repointing it', () => {
    const stopping = instance({ name: 'db-1', source: null, pod: { terminating: true } });
    expect(decide(cluster([primary(), stopping])).action.kind).not.toBe('repoint');
    expect(decide(cluster([primary(), instance({ name: 'db-1', source: null })])).action).toMatchObject({ kind: 'repoint', instance: 'db-1' });
  });

  it('is Healthy when every replica replicates from it in sync, and does nothing', () => {
    const d = decide(cluster([primary(), instance({ name: 'db-1' }), instance({ name: 'db-2' })]));
    expect(d).toMatchObject({ state: 'Healthy', action: { kind: 'none' } });
    expect(d.instances.map((i) => [i.name, i.role, i.healthy])).toEqual([
      ['db-0', 'primary', true],
      ['db-1', 'replica', true],
      ['db-2', 'replica', true],
    ]);
  });

  it('is Degraded with one replica down while the other still acks', () => {
    const d = decide(cluster([primary(), instance({ name: 'db-1' }), instance({ name: 'db-2', ...down })]));
    expect(d).toMatchObject({ state: 'Degraded', action: { kind: 'none' } });
    expect(d.instances[2]).toMatchObject({ healthy: false, reason: expect.stringContaining('unreachable') as unknown });
  });

  it('is Incomplete when fewer replicas are in sync than each commit waits for, and says writes stall', () => {
    const d = decide(cluster([primary({ semiSync: { waitingSessions: 2 } }), instance({ name: 'db-1', ...down })]));
    expect(d.state).toBe('Incomplete');
    expect(d.reason).toMatch(/writes stall; 2 commits wait/);
    expect(d.instances[0]?.reason).toBe("accepts writes; 2 commits wait for a replica's ack");
  });

  it('repoints a replica that replicates from elsewhere, and one whose source half is on', () => {
    expect(decide(cluster([primary(), instance({ name: 'db-1', source: 'db-2' }), instance({ name: 'db-2' })])).action).toMatchObject({ kind: 'repoint', instance: 'db-1', source: 'db-0' });
    expect(decide(cluster([primary(), instance({ name: 'db-1', semiSync: { sourceEnabled: true } })])).action).toMatchObject({ kind: 'repoint', instance: 'db-1' });
  });

  it('does not repeat a repoint that fails to connect, and reports the error', () => {
    const d = decide(cluster([primary(), instance({ name: 'db-1', io: 'connecting', lastIoError: { code: 2026, message: 'TLS/SSL error: certificate verify failed' } })]));
    expect(d.action).toEqual({ kind: 'none' });
    expect(d.instances[1]?.reason).toMatch(/certificate verify failed/);
  });

  it('seeds an empty replica from the primary', () => {
    const d = decide(cluster([primary(), instance({ name: 'db-1', gtid: '', source: null })]));
    expect(d.action).toMatchObject({ kind: 'seed', instance: 'db-1', donor: 'db-0' });
  });

  it('takes a replica that lacks what the primary wrote over 30 s ago out of sync, though it reports 0 s behind (a full disk, a hung IO thread)', () => {
    const stuck = { ...instance({ name: 'db-1' }), lacksPrimaryWritesForMs: 45_000 };
    const d = decide(cluster([primary(), stuck]));
    expect(d.instances.find((v) => v.name === 'db-1')).toMatchObject({ role: 'replica', healthy: false, reason: '45 s behind' });
    expect(d.state).not.toBe('Healthy');
    const fine = decide(cluster([primary(), { ...instance({ name: 'db-1' }), lacksPrimaryWritesForMs: 4_000 }]));
    expect(fine.instances.find((v) => v.name === 'db-1')).toMatchObject({ healthy: true, reason: 'in sync, 4 s behind' });
  });

  it('excludes a replica with errant transactions, one the binlogs cannot serve and one whose applier failed, with the remedy', () => {
    const errant = decide(cluster([primary({ gtid: '0-2-20,0-1-10' }), instance({ name: 'db-1', gtid: '0-1-11' })])).action;
    expect(errant).toMatchObject({ kind: 'exclude', instance: 'db-1', remedy: expect.stringContaining('PersistentVolumeClaim data-db-1') as unknown });
    const purged = decide(cluster([primary(), instance({ name: 'db-1', gtid: '0-1-2', io: 'stopped', lastIoError: { code: 1236, message: 'binlog purged' } })])).action;
    expect(purged).toMatchObject({ kind: 'exclude', reason: expect.stringContaining('binary logs') as unknown });
    const purgedOnMysql = decide(cluster([primary(), instance({ name: 'db-1', gtid: '0-1-2', io: 'stopped', lastIoError: { code: 13114, message: 'Got fatal error 1236 from source' } })])).action;
    expect(purgedOnMysql).toMatchObject({ kind: 'exclude', instance: 'db-1' });
    const applierFailed = decide(cluster([primary(), instance({ name: 'db-1', sqlRunning: false, lastSqlError: { code: 1062, message: "Duplicate entry 'alice@example.com' for key 'users.email'" } })]));
    expect(applierFailed.action).toMatchObject({ kind: 'exclude', reason: expect.stringContaining('applier error 1062') as unknown });
    // Its text quotes row data: neither the reason (Events) nor the status carries it.
    expect(JSON.stringify(applierFailed)).not.toContain('alice@example.com');
  });

  it('leaves an excluded replica alone until it comes back empty, then seeds it', () => {
    const errant = instance({ name: 'db-1', gtid: '0-1-11', source: null });
    expect(decide(cluster([primary(), errant], { excluded: ['db-1'] })).action).toEqual({ kind: 'none' });
    const wiped = instance({ name: 'db-1', gtid: '', source: null });
    expect(decide(cluster([primary(), wiped], { excluded: ['db-1'] })).action).toMatchObject({ kind: 'seed', instance: 'db-1' });
  });

  it('fences a second writable instance before anything else', () => {
    const d = decide(cluster([primary(), instance({ name: 'db-1', readOnly: false })]));
    expect(d.action).toMatchObject({ kind: 'fence', instance: 'db-1' });
  });

  it('promotes the recorded primary again when it came back read-only or without semi-sync', () => {
    expect(decide(cluster([primary({ readOnly: true }), instance({ name: 'db-1' })])).action).toMatchObject({ kind: 'promote', instance: 'db-0' });
    expect(decide(cluster([primary({ semiSync: { sourceEnabled: false } }), instance({ name: 'db-1' })])).action).toMatchObject({ kind: 'promote' });
    // A 10 s timeout from a config file would degrade to asynchronous silently.
    expect(decide(cluster([primary({ semiSync: { timeoutMs: 10_000 } }), instance({ name: 'db-1' })])).action).toMatchObject({ kind: 'promote' });
  });

  it('switches over to the most advanced in-sync replica when the primary pod is terminating or asked to move', () => {
    const replicas = [instance({ name: 'db-1', gtid: '0-1-9' }), instance({ name: 'db-2', gtid: '0-1-10' })];
    const terminating = decide(cluster([primary({ pod: { terminating: true } }), ...replicas]));
    expect(terminating.action).toMatchObject({ kind: 'switchover', from: 'db-0', candidate: 'db-2' });
    const drain = decide(cluster([primary(), ...replicas], { switchoverRequested: { reason: 'node drain' } }));
    expect(drain.action).toMatchObject({ kind: 'switchover', reason: expect.stringContaining('node drain') as unknown });
  });

  it('does not switch over to a replica that is not in sync', () => {
    const d = decide(cluster([primary({ pod: { terminating: true } }), instance({ name: 'db-1', lagSeconds: 600 })]));
    expect(d.action).toEqual({ kind: 'none' });
    expect(d.reason).toMatch(/no replica is ready to take over/);
  });
});

describe('decide: a rolling update (the StatefulSet is OnDelete)', () => {
  const old = { pod: { outdated: true } };
  const replicas = (outdated: boolean) => [instance({ name: 'db-1', pod: { outdated } }), instance({ name: 'db-2', pod: { outdated } })];

  it('restarts the replicas first, highest ordinal first', () => {
    expect(decide(cluster([primary(old), ...replicas(true)])).action).toMatchObject({ kind: 'restart', instance: 'db-2' });
    expect(decide(cluster([primary(old), instance({ name: 'db-1', pod: { outdated: true } }), instance({ name: 'db-2' })])).action).toMatchObject({ kind: 'restart', instance: 'db-1' });
  });

  it('then switches over away from the primary, which restarts as a replica after', () => {
    const d = decide(cluster([primary(old), ...replicas(false)]));
    expect(d.action).toMatchObject({ kind: 'switchover', from: 'db-0', reason: expect.stringContaining('rolling update') as unknown });
    const moved = decide(cluster([instance({ name: 'db-0', ...old, source: 'db-2' }), instance({ name: 'db-1', source: 'db-2' }), primary({ name: 'db-2' })], { primary: 'db-2' }));
    expect(moved.action).toMatchObject({ kind: 'restart', instance: 'db-0' });
  });

  it('restarts one pod at a time: nothing while a replica is out of sync or a pod is terminating', () => {
    expect(decide(cluster([primary(old), instance({ name: 'db-1', ...old, lagSeconds: 600 }), instance({ name: 'db-2', ...old })])).action.kind).not.toBe('restart');
    expect(decide(cluster([primary(old), instance({ name: 'db-1', pod: { terminating: true } }), instance({ name: 'db-2', ...old })])).action.kind).not.toBe('restart');
    expect(decide(cluster([primary(old), instance({ name: 'db-1', pod: { ready: false } }), instance({ name: 'db-2', ...old })])).action.kind).not.toBe('restart');
  });

  it('restarts a lone instance in place', () => {
    expect(decide(cluster([primary({ ...old, semiSync: { sourceEnabled: false } })], { ackCount: 0 })).action).toMatchObject({ kind: 'restart', instance: 'db-0' });
  });
});

describe('decide: the first primary', () => {
  it('waits until every instance answers', () => {
    const d = decide(cluster([instance({ name: 'db-0', gtid: '', source: null, readOnly: false }), instance({ name: 'db-1', ...down })], { primary: undefined }));
    expect(d).toMatchObject({ state: 'Incomplete', action: { kind: 'none' } });
  });

  it('takes the first ordinal when all are empty, after fencing the others', () => {
    const fresh = (name: string) => instance({ name, gtid: '', source: null, readOnly: false });
    expect(decide(cluster([fresh('db-0'), fresh('db-1')], { primary: undefined })).action).toMatchObject({ kind: 'fence', instance: 'db-1' });
    const fenced = instance({ name: 'db-1', gtid: '', source: null, readOnly: true });
    expect(decide(cluster([fresh('db-0'), fenced], { primary: undefined })).action).toMatchObject({ kind: 'promote', instance: 'db-0' });
  });

  it('takes the instance holding data over an empty first ordinal', () => {
    const d = decide(cluster([instance({ name: 'db-0', gtid: '', source: null }), instance({ name: 'db-1', gtid: '0-1-5', source: null })], { primary: undefined }));
    expect(d.action).toMatchObject({ kind: 'promote', instance: 'db-1' });
  });
});

describe('decide: failover', () => {
  const lostPrimary = (ms = 60_000, pod = { ready: false }) => instance({ name: 'db-0', role: 'primary', reachable: false, unreachableForMs: ms, pod });

  it('waits for the failover delay', () => {
    const d = decide(cluster([lostPrimary(10_000), instance({ name: 'db-1', io: 'connecting' })]));
    expect(d).toMatchObject({ state: 'Failed', action: { kind: 'none' } });
    expect(d.reason).toMatch(/failover after 30 s/);
  });

  it('stops every replica\'s IO thread first, then fails over to the superset replica', () => {
    const first = decide(cluster([lostPrimary(), instance({ name: 'db-1', gtid: '0-1-8', io: 'connecting' }), instance({ name: 'db-2', gtid: '0-1-7', received: '0-1-9', io: 'connecting' })]));
    expect(first.action).toMatchObject({ kind: 'stopReplicationIo', instances: ['db-1', 'db-2'] });
    const second = decide(cluster([lostPrimary(), instance({ name: 'db-1', gtid: '0-1-8', io: 'stopped' }), instance({ name: 'db-2', gtid: '0-1-7', received: '0-1-9', io: 'stopped' })]));
    expect(second).toMatchObject({ state: 'Failed', action: { kind: 'failover', from: 'db-0', candidate: 'db-2' } });
  });

  it('works with two instances: the API server is the witness', () => {
    const d = decide(cluster([lostPrimary(), instance({ name: 'db-1', io: 'stopped' })]));
    expect(d.action).toMatchObject({ kind: 'failover', candidate: 'db-1' });
  });

  it('does not fail over when the pod is Ready and a replica is still connected: the operator is the one cut off', () => {
    const d = decide(cluster([lostPrimary(60_000, { ready: true }), instance({ name: 'db-1' })]));
    expect(d).toMatchObject({ state: 'Incomplete', action: { kind: 'none' } });
    expect(d.reason).toMatch(/operator is the one cut off/);
  });

  it('fails over with the pod Ready when every replica lost the source too', () => {
    const d = decide(cluster([lostPrimary(60_000, { ready: true }), instance({ name: 'db-1', io: 'connecting' })]));
    expect(d.action).toMatchObject({ kind: 'stopReplicationIo' });
  });

  it('is Lost when too few replicas answer to be sure of every acknowledged write', () => {
    const d = decide(cluster([lostPrimary(), instance({ name: 'db-1', io: 'stopped' }), instance({ name: 'db-2', ...down })]));
    expect(d).toMatchObject({ state: 'Lost', action: { kind: 'none' } });
  });

  it('is Lost when the replicas diverged', () => {
    const d = decide(cluster([lostPrimary(), instance({ name: 'db-1', gtid: '0-1-5,0-3-1', io: 'stopped' }), instance({ name: 'db-2', gtid: '0-1-6', io: 'stopped' })]));
    expect(d.state).toBe('Lost');
  });

  it('never takes an empty replica, even the only one answering, while the primary held data or may have', () => {
    const d = decide(cluster([lostPrimary(), instance({ name: 'db-1', gtid: '', source: null })]));
    expect(d).toMatchObject({ state: 'Lost', action: { kind: 'none' } });
    const heldData = decide(cluster([{ ...lostPrimary(), heldDataWhenLastSeen: true }, instance({ name: 'db-1', gtid: '', io: 'stopped' })]));
    expect(heldData).toMatchObject({ state: 'Lost', action: { kind: 'none' } });
  });

  it('takes an empty replica when the primary was empty too when it last answered (a new cluster lost before its first write)', () => {
    // Found by the several-stacks power cut: new stacks whose primaries' node lost power before any write stayed Lost.
    const d = decide(cluster([{ ...lostPrimary(), heldDataWhenLastSeen: false }, instance({ name: 'db-1', gtid: '', io: 'stopped' })]));
    expect(d).toMatchObject({ state: 'Failed', action: { kind: 'failover', candidate: 'db-1' } });
  });

  it('keeps an emptied primary read-only while the replica that may hold the data does not answer', () => {
    const emptied = instance({ name: 'db-0', role: 'primary', gtid: '', readOnly: true });
    const d = decide(cluster([emptied, instance({ name: 'db-1', ...down })]));
    expect(d).toMatchObject({ state: 'Incomplete', action: { kind: 'none' } });
    expect(d.reason).toMatch(/db-1 do not answer: they may hold the data/);
  });

  it('fails over at once from a primary that answers with an empty data directory, fencing it first', () => {
    const emptied = instance({ name: 'db-0', role: 'primary', gtid: '', readOnly: false });
    expect(decide(cluster([emptied, instance({ name: 'db-1', io: 'stopped' })])).action).toMatchObject({ kind: 'fence', instance: 'db-0' });
    const fenced = instance({ name: 'db-0', role: 'primary', gtid: '', readOnly: true });
    expect(decide(cluster([fenced, instance({ name: 'db-1', io: 'stopped' })])).action).toMatchObject({ kind: 'failover', candidate: 'db-1' });
  });

  it('after the failover, fences the returning old primary, then excludes it for its errant write', () => {
    const back = instance({ name: 'db-0', gtid: '0-1-11', source: null, readOnly: false });
    const promoted = instance({ name: 'db-1', role: 'primary', gtid: '0-1-10,0-2-15' });
    expect(decide(cluster([back, promoted], { primary: 'db-1' })).action).toMatchObject({ kind: 'fence', instance: 'db-0' });
    const fenced = instance({ name: 'db-0', gtid: '0-1-11', source: null, readOnly: true });
    expect(decide(cluster([fenced, promoted], { primary: 'db-1' })).action).toMatchObject({ kind: 'exclude', instance: 'db-0' });
    const clean = instance({ name: 'db-0', gtid: '0-1-10', source: null, readOnly: true });
    expect(decide(cluster([clean, promoted], { primary: 'db-1' })).action).toMatchObject({ kind: 'repoint', instance: 'db-0', source: 'db-1' });
  });

  describe('an old primary back with a transaction the new one lacks (never acknowledged)', () => {
    const onMysql = (i: InstanceFacts): InstanceFacts => (i.sql.reachable ? { ...i, sql: { ...i.sql, engine: 'mysql' } } : i);
    const promoted = onMysql(instance({ name: 'db-1', role: 'primary', gtid: '0-1-10,0-2-15' }));
    const lastFailover = { failedOverFrom: { name: 'db-0', agoMs: 60_000 }, primary: 'db-1' };

    it('is re-seeded from the new primary on MySQL, the discarded GTIDs named', () => {
      const back = onMysql(instance({ name: 'db-0', gtid: '0-1-11', source: null, readOnly: true }));
      expect(decide(cluster([back, promoted], lastFailover)).action).toMatchObject({ kind: 'seed', instance: 'db-0', donor: 'db-1', discarding: '0-1-11' });
    });

    it('is excluded on MariaDB (no in-place copy), when it is not the one the failover left, or once it followed the new primary', () => {
      const back = instance({ name: 'db-0', gtid: '0-1-11', source: null, readOnly: true });
      expect(decide(cluster([back, promoted], lastFailover)).action).toMatchObject({ kind: 'exclude', instance: 'db-0' });
      const other = onMysql(back);
      expect(decide(cluster([other, promoted], { ...lastFailover, failedOverFrom: { name: 'db-2', agoMs: 60_000 } })).action).toMatchObject({ kind: 'exclude' });
      const following = onMysql(instance({ name: 'db-0', gtid: '0-1-11', source: 'db-1', readOnly: true }));
      expect(decide(cluster([following, promoted], lastFailover)).action).toMatchObject({ kind: 'exclude', instance: 'db-0' });
    });
  });
});
