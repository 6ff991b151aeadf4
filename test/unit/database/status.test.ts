import { describe, expect, it } from '@jest/globals';
import { decide } from '../../../operator/database/decide.js';
import { nextLookInMs, statusOf } from '../../../operator/database/loop.js';
import { computeStatus } from '../../../operator/reconcile/status.js';
import { converged, stack } from '../../support/observations.js';
import { cluster, instance } from './builders.js';

describe('status.database', () => {
  const facts = (waitingSessions: number) =>
    cluster([instance({ name: 'db-0', role: 'primary', semiSync: { waitingSessions } }), instance({ name: 'db-1', reachable: false, pod: { ready: false } })]);

  it("counts the primary's commits waiting for a replica's ack, and says nothing when none wait", () => {
    const waiting = facts(3);
    expect(statusOf({ primary: 'db-0' }, waiting, decide(waiting)).commitsWaitingForAck).toBe(3);
    const none = facts(0);
    expect(statusOf({ primary: 'db-0' }, none, decide(none))).not.toHaveProperty('commitsWaitingForAck');
  });
});

describe('DatabaseReady', () => {
  it('is False (WaitingForAcks) while commits wait for an ack, which takes Ready with it but stalls nothing', () => {
    const obs = converged();
    // The replicas that do not ack are usually not Ready either: writes hanging is the news.
    obs.database = { ...obs.database, commitsWaitingForAck: 2 };
    obs.workloads.database = { desired: 3, ready: 1, updated: 3, current: 3, observed: true };
    const status = computeStatus(stack, obs, undefined, '2026-12-02T00:00:00Z');
    const db = status.conditions?.find((c) => c.type === 'DatabaseReady');
    expect(db).toMatchObject({ status: 'False', reason: 'WaitingForAcks' });
    expect(db?.message).toContain("2 commits on the primary foobar-mysql-0 wait for a replica's acknowledgement");
    expect(status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForAcks' });
    expect(status.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('False');
  });
});

describe('the next look', () => {
  const silentPrimary = (unreachableForMs: number) =>
    cluster([instance({ name: 'db-0', role: 'primary', reachable: false, unreachableForMs }), instance({ name: 'db-1', gtid: '0-1-20', io: 'connecting' })], { failoverDelayMs: 10_000 });

  it('comes when a silent primary’s failover delay ends, never "now" (0: the queue would not look again)', () => {
    const almost = silentPrimary(9_000);
    expect(nextLookInMs(decide(almost), true, almost, 0, 400)).toBe(600);
    expect(nextLookInMs(decide(almost), true, almost, 0, 1_000)).toBeGreaterThan(0);
    expect(nextLookInMs(decide(almost), true, almost, 0, 5_000)).toBeGreaterThan(0);
    // Far from its end, the busy cadence.
    const early = silentPrimary(1_000);
    expect(nextLookInMs(decide(early), true, early, 0, 100)).toBe(2_000);
  });
});
