/**
 * Durability Preferred on the default two instances: when the primary stops waiting for acks, when
 * it waits again, and that nothing it wrote meanwhile can be lost to a failover.
 */
import { describe, expect, it } from '@jest/globals';
import { decide } from '../../../operator/database/decide.js';
import { cluster, instance, type InstanceSpec } from './builders.js';

const primary = (extra: Partial<InstanceSpec> = {}) => instance({ name: 'db-0', role: 'primary', gtid: '0-1-20', ...extra });
const withoutAcks = { semiSync: { sourceEnabled: false, sourceActive: false } };
const preferred = { durability: 'Preferred' as const };

describe('durability Preferred, two instances', () => {
  it('stops waiting for acks only when Kubernetes reports the replica down', () => {
    for (const pod of [{ exists: false }, { ready: false }, { terminating: true }, { nodeReady: false }]) {
      const d = decide(cluster([primary(), instance({ name: 'db-1', reachable: false, pod })], preferred));
      expect({ pod, state: d.state, action: d.action }).toMatchObject({ pod, state: 'Degraded', action: { kind: 'releaseAcks', instance: 'db-0' } });
    }
    // Unreachable from the operator alone, its pod Ready on a Ready node: the operator may be the one cut off.
    const cutOff = decide(cluster([primary(), instance({ name: 'db-1', reachable: false })], preferred));
    expect(cutOff.action.kind).not.toBe('releaseAcks');
  });

  it('does not count a replica that replicates from the primary as down while its pod is not Ready yet: it acks', () => {
    // A restarted replica catching up: connected and applying, a few seconds behind, its readiness probe not yet passed.
    const catchingUp = instance({ name: 'db-1', gtid: '0-1-18', lagSeconds: 3, pod: { ready: false } });
    expect(decide(cluster([primary(), catchingUp], preferred)).action.kind).not.toBe('releaseAcks');
    // Its pod on the way out is: it stops acking when its server stops.
    const leaving = instance({ name: 'db-1', gtid: '0-1-18', lagSeconds: 3, pod: { terminating: true } });
    expect(decide(cluster([primary(), leaving], preferred)).action).toMatchObject({ kind: 'releaseAcks' });
    // Not replicating (its IO thread reconnecting), not Ready: down.
    const reconnecting = instance({ name: 'db-1', gtid: '0-1-18', io: 'connecting', pod: { ready: false } });
    expect(decide(cluster([primary(), reconnecting], preferred)).action).toMatchObject({ kind: 'releaseAcks' });
  });

  it('takes a node whose kubelet stopped renewing its Lease as down, long before the node controller says NotReady', () => {
    const lease = (renewedAgoMs: number) => ({ nodeLease: { renewedAgoMs, durationMs: 40_000 } });
    // 40 s leases are renewed every 10 s: missed for 15 s, the node is silent.
    const silentNode = decide(cluster([primary(), instance({ name: 'db-1', reachable: false, pod: lease(15_000) })], preferred));
    expect(silentNode).toMatchObject({ state: 'Degraded', action: { kind: 'releaseAcks', instance: 'db-0' } });
    expect(silentNode.reason).toContain("db-1: its node's kubelet stopped renewing its Lease");
    // A heartbeat late by less than half a renewal, or an instance that answers, is no evidence.
    expect(decide(cluster([primary(), instance({ name: 'db-1', reachable: false, pod: lease(14_000) })], preferred)).action.kind).not.toBe('releaseAcks');
    expect(decide(cluster([primary(), instance({ name: 'db-1', gtid: '0-1-12', io: 'connecting', pod: lease(60_000) })], preferred)).action.kind).not.toBe('releaseAcks');
    // Under Required, the evidence changes nothing: writes wait.
    expect(decide(cluster([primary(), instance({ name: 'db-1', reachable: false, pod: lease(60_000) })])).action.kind).not.toBe('releaseAcks');
  });

  it('after a failover, stops waiting while the old primary it left stays silent, without waiting for its node to be NotReady', () => {
    // A power cut: the old primary's pod still looks Ready on a Ready node until the node controller's grace period ends.
    const left = instance({ name: 'db-1', reachable: false, unreachableForMs: 25_000 });
    const afterFailover = { ...preferred, failedOverFrom: { name: 'db-1', agoMs: 12_000 } };
    expect(decide(cluster([primary(), left], afterFailover))).toMatchObject({ state: 'Degraded', action: { kind: 'releaseAcks', instance: 'db-0' } });
    expect(decide(cluster([primary(), left], afterFailover)).reason).toContain('silent since the failover');
    // It answered after the failover and went silent again: only Kubernetes' word counts now.
    const answeredSince = instance({ name: 'db-1', reachable: false, unreachableForMs: 5_000 });
    expect(decide(cluster([primary(), answeredSince], afterFailover)).action.kind).not.toBe('releaseAcks');
    // Another instance than the one the failover left.
    expect(decide(cluster([primary(), left], { ...preferred, failedOverFrom: { name: 'db-2', agoMs: 12_000 } })).action.kind).not.toBe('releaseAcks');
    // Required waits whatever the failover left.
    expect(decide(cluster([primary(), left], { failedOverFrom: { name: 'db-1', agoMs: 12_000 } })).action.kind).not.toBe('releaseAcks');
  });

  it('never stops waiting under Required: writes wait for the replica, and say so', () => {
    const d = decide(cluster([primary({ semiSync: { waitingSessions: 3 } }), instance({ name: 'db-1', reachable: false, pod: { exists: false } })]));
    expect(d.action.kind).toBe('none');
    expect(d.state).toBe('Incomplete');
    expect(d.reason).toContain('3 commits wait');
  });

  it('keeps running without acks (no promote back to semi-sync) while the replica is still down or behind, repairing it meanwhile', () => {
    const stillDown = decide(cluster([primary(withoutAcks), instance({ name: 'db-1', reachable: false, pod: { ready: false } })], { ...preferred, acksReleasedSince: '0-1-20' }));
    expect(stillDown).toMatchObject({ state: 'Degraded', action: { kind: 'none' } });
    expect(stillDown.reason).toContain('since 0-1-20');
    const behind = decide(cluster([primary(withoutAcks), instance({ name: 'db-1', gtid: '0-1-12', lagSeconds: 40 })], { ...preferred, acksReleasedSince: '0-1-20' }));
    expect(behind).toMatchObject({ state: 'Degraded', action: { kind: 'none' } });
    const pointedElsewhere = decide(cluster([primary(withoutAcks), instance({ name: 'db-1', source: null, readOnly: true, gtid: '0-1-12' })], { ...preferred, acksReleasedSince: '0-1-20' }));
    expect(pointedElsewhere.action).toMatchObject({ kind: 'repoint', instance: 'db-1', source: 'db-0' });
  });

  it('waits for acks again as soon as the replica is in sync', () => {
    const d = decide(cluster([primary(withoutAcks), instance({ name: 'db-1', gtid: '0-1-20' })], { ...preferred, acksReleasedSince: '0-1-15' }));
    expect(d.action).toMatchObject({ kind: 'requireAcks', instance: 'db-0', replica: 'db-1' });
    // A record left from Preferred clears the same way after a change to Required.
    const required = decide(cluster([primary(), instance({ name: 'db-1', gtid: '0-1-20' })], { acksReleasedSince: '0-1-15' }));
    expect(required.action).toMatchObject({ kind: 'requireAcks', replica: 'db-1' });
  });

  it('waits for acks again once the replica has received what the primary had at the last look, whatever its applier lags', () => {
    // Seeded under two writers, it applied 1-2 s behind for minutes: its IO thread is current, and acks are sent on receipt.
    const receiving = { ...instance({ name: 'db-1', gtid: '0-1-18', lagSeconds: 2 }), receivedBehindPrimaryMs: 0 };
    expect(decide(cluster([primary(withoutAcks), receiving], { ...preferred, acksReleasedSince: '0-1-15' })).action).toMatchObject({ kind: 'requireAcks', replica: 'db-1' });
    // Still receiving what the primary had 5 s ago: not yet.
    const late = { ...instance({ name: 'db-1', gtid: '0-1-18', lagSeconds: 0 }), receivedBehindPrimaryMs: 5_000 };
    expect(decide(cluster([primary(withoutAcks), late], { ...preferred, acksReleasedSince: '0-1-15' })).action.kind).not.toBe('requireAcks');
  });

  it('does not fail over to a replica while the primary wrote without acks: its writes exist nowhere else', () => {
    const d = decide(
      cluster([primary({ reachable: false, unreachableForMs: 120_000, pod: { ready: false, nodeReady: false } }), instance({ name: 'db-1', gtid: '0-1-15', io: 'connecting' })], {
        ...preferred,
        acksReleasedSince: '0-1-15',
      }),
    );
    expect(d).toMatchObject({ state: 'Lost', action: { kind: 'none' } });
    expect(d.reason).toContain('none is promoted until db-0 is back');
    // Without the record, the same facts fail over.
    const ordinary = decide(cluster([primary({ reachable: false, unreachableForMs: 120_000, pod: { ready: false, nodeReady: false } }), instance({ name: 'db-1', gtid: '0-1-20', io: 'connecting' })], preferred));
    expect(['stopReplicationIo', 'failover']).toContain(ordinary.action.kind);
  });

  it('fails over to the one replica committing without acks, recorded first, when no other replica is left to ack', () => {
    const lost = primary({ reachable: false, unreachableForMs: 120_000, pod: { ready: false, nodeReady: false } });
    const stopped = instance({ name: 'db-1', gtid: '0-1-20', io: 'stopped' });
    const d = decide(cluster([lost, stopped], preferred));
    expect(d.action).toMatchObject({ kind: 'failover', candidate: 'db-1', withoutAcks: expect.stringContaining('db-1 commits without a replica') });
    // Required keeps semi-sync on: writes wait for the old primary to come back as a replica.
    expect(decide(cluster([lost, stopped])).action).not.toHaveProperty('withoutAcks');
    // A third instance that answers will ack.
    const third = instance({ name: 'db-2', gtid: '0-1-19', io: 'stopped' });
    expect(decide(cluster([lost, stopped, third], preferred)).action).toMatchObject({ kind: 'failover', candidate: 'db-1' });
    expect(decide(cluster([lost, stopped, third], preferred)).action).not.toHaveProperty('withoutAcks');
  });

  it('does not stop waiting for a replica that replicates in sync while its pod is not Ready yet (no flapping after a restart)', () => {
    const restarted = instance({ name: 'db-1', gtid: '0-1-20', pod: { ready: false } });
    expect(decide(cluster([primary(), restarted], preferred)).action.kind).toBe('none');
  });

  it('restarts a broken replica of a reverted template while the primary runs without acks', () => {
    const broken = instance({ name: 'db-1', reachable: false, pod: { ready: false, outdated: true } });
    const d = decide(cluster([primary(withoutAcks), broken], { ...preferred, acksReleasedSince: '0-1-15' }));
    expect(d).toMatchObject({ state: 'Degraded', action: { kind: 'restart', instance: 'db-1' } });
  });

  it('switches over a planned move as before, the replica in sync, and leaves the stopping old primary to a later repoint', () => {
    const d = decide(cluster([primary({ pod: { terminating: true } }), instance({ name: 'db-1', gtid: '0-1-20' })], preferred));
    expect(d.action).toMatchObject({ kind: 'switchover', from: 'db-0', candidate: 'db-1', repointFrom: false });
  });

  it('switches over a planned move as before, the replica in sync', () => {
    const d = decide(cluster([primary({ pod: { terminating: true } }), instance({ name: 'db-1', gtid: '0-1-20' })], preferred));
    expect(d.action).toMatchObject({ kind: 'switchover', from: 'db-0', candidate: 'db-1' });
  });
});
