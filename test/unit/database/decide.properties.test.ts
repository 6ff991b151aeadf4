/**
 * Properties of decide() over generated clusters: the guarantees docs/database.md promises,
 * checked on every combination fast-check finds, not just the examples in decide.test.ts.
 * Histories are linear (server 1 wrote seq 1..H in domain 0); an instance holds a prefix of it,
 * may have received more, and may hold one errant transaction of its own.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decide, type Action, type Decision } from '../../../operator/database/decide.js';
import type { ClusterFacts, InstanceFacts } from '../../../operator/database/facts.js';
import { cluster, instance } from './builders.js';

interface Truth {
  executed: number;
  received: number;
  /** Holds any transaction (its own errant one included), whether the operator can see it or not. */
  holdsData: boolean;
}

interface Generated {
  facts: ClusterFacts;
  /** What every instance really holds, reachable or not. */
  truth: Map<string, Truth>;
}

/** True with `percent` % probability. */
const chance = (percent: number): fc.Arbitrary<boolean> => fc.integer({ min: 0, max: 99 }).map((n) => n < percent);

/**
 * Odds of each fact. `anything` leaves every combination equally likely; `primaryDown` makes the
 * failover paths common: a recorded primary that does not answer and replicas that mostly do.
 */
interface Odds {
  reachable: number;
  ioStopped: number;
  wiped: number;
  errant: number;
  terminating: number;
  exists: number;
}
const anything: Odds = { reachable: 50, ioStopped: 33, wiped: 50, errant: 20, terminating: 50, exists: 50 };
const replicasOfADeadPrimary: Odds = { reachable: 85, ioStopped: 70, wiped: 10, errant: 10, terminating: 10, exists: 95 };

const generatedInstance = (index: number, names: string[], odds: Odds) =>
  fc
    .record({
      executed: fc.nat({ max: 12 }),
      extraReceived: fc.nat({ max: 3 }),
      errant: chance(odds.errant),
      wiped: chance(odds.wiped),
      reachable: chance(odds.reachable),
      unreachableForMs: fc.constantFrom(0, 5_000, 29_999, 30_000, 120_000),
      readOnly: fc.boolean(),
      source: fc.option(fc.constantFrom(...names), { nil: null }),
      io: fc.oneof(
        { weight: odds.ioStopped, arbitrary: fc.constant('stopped' as const) },
        { weight: 100 - odds.ioStopped, arbitrary: fc.constantFrom('running' as const, 'connecting' as const) },
      ),
      sqlRunning: fc.boolean(),
      lagSeconds: fc.constantFrom(0, 5, 600),
      sourceHalf: fc.boolean(),
      replicaHalf: fc.boolean(),
      exists: chance(odds.exists),
      ready: fc.boolean(),
      terminating: chance(odds.terminating),
      nodeReady: fc.constantFrom(true, false, undefined),
      leaseRenewedAgoMs: fc.constantFrom(undefined, 2_000, 15_000, 60_000),
      outdated: fc.boolean(),
      lacksPrimaryWritesForMs: fc.constantFrom(undefined, 0, 5_000, 45_000),
    })
    .map((g) => {
      const name = names[index] ?? '';
      const executed = g.wiped ? 0 : g.executed;
      const received = g.wiped ? 0 : executed + g.extraReceived;
      const facts: InstanceFacts = instance({
        name,
        gtid: [executed > 0 ? `0-1-${String(executed)}` : '', g.errant && !g.wiped ? `0-${String(10 + index)}-1` : ''].filter(Boolean).join(','),
        received: received > 0 ? `0-1-${String(received)}` : '',
        reachable: g.reachable,
        unreachableForMs: g.unreachableForMs,
        readOnly: g.readOnly,
        source: g.source,
        io: g.io,
        sqlRunning: g.sqlRunning,
        lagSeconds: g.lagSeconds,
        semiSync: { sourceEnabled: g.sourceHalf, replicaEnabled: g.replicaHalf },
        pod: {
          exists: g.exists || g.reachable,
          ready: g.ready,
          terminating: g.terminating,
          nodeReady: g.nodeReady,
          outdated: g.outdated,
          ...(g.leaseRenewedAgoMs === undefined ? {} : { nodeLease: { renewedAgoMs: g.leaseRenewedAgoMs, durationMs: 40_000 } }),
        },
      });
      const withLag = g.lacksPrimaryWritesForMs === undefined ? facts : { ...facts, lacksPrimaryWritesForMs: g.lacksPrimaryWritesForMs };
      return { facts: withLag, truth: { executed, received, holdsData: executed > 0 || (g.errant && !g.wiped) } };
    });

function generatedCluster(odds: Odds, primaryDown: boolean): fc.Arbitrary<Generated> {
  return fc.integer({ min: 1, max: 5 }).chain((n) => {
    const names = Array.from({ length: n }, (_, i) => `db-${String(i)}`);
    return fc
      .record({
        instances: fc.tuple(...names.map((_, i) => generatedInstance(i, names, odds))),
        primary: primaryDown ? fc.constantFrom(...names) : fc.option(fc.constantFrom(...names), { nil: undefined, freq: 8 }),
        // Whether the loop saw the silent primary hold data at its last answer: the truth, or not known.
        primaryWasSeen: fc.boolean(),
        excluded: primaryDown ? fc.constant([]) : fc.subarray(names),
        mysqlAcks: fc.boolean(),
        switchover: fc.boolean(),
        durability: fc.constantFrom('Required' as const, 'Preferred' as const),
      })
      .map((g) => {
        const instances = g.instances.map((i) =>
          primaryDown && i.facts.name === g.primary
            ? {
                ...i,
                facts: {
                  ...i.facts,
                  sql: { reachable: false as const, error: 'connect ETIMEDOUT' },
                  unreachableForMs: 60_000,
                  ...(g.primaryWasSeen ? { heldDataWhenLastSeen: i.truth.holdsData } : {}),
                },
              }
            : i,
        );
        return {
          facts: cluster(
            instances.map((i) => i.facts),
            {
              primary: g.primary,
              excluded: g.excluded,
              ackCount: n === 1 ? 0 : g.mysqlAcks ? Math.floor(n / 2) : 1,
              durability: g.durability,
              ...(g.switchover ? { switchoverRequested: { reason: 'rollout' } } : {}),
            },
          ),
          truth: new Map(instances.map((i) => [i.facts.name, i.truth])),
        };
      });
  });
}

/**
 * A healthy cluster in a rolling update: every instance answers in its role, pods outdated or not,
 * Ready or not. The other two rarely reach the restart rules (1 run in 3000 did).
 */
function rollingUpdate(): fc.Arbitrary<Generated> {
  return fc.integer({ min: 1, max: 5 }).chain((n) => {
    const names = Array.from({ length: n }, (_, i) => `db-${String(i)}`);
    const pod = fc.record({ ready: chance(80), outdated: fc.boolean() });
    return fc.record({ primary: fc.constantFrom(...names), pods: fc.tuple(...names.map(() => pod)), behind: fc.tuple(...names.map(() => fc.nat({ max: 2 }))) }).map((g) => {
      const executed = names.map((name, i) => 12 - (name === g.primary ? 0 : (g.behind[i] ?? 0)));
      const instances = names.map((name, i) => {
        const role = name === g.primary ? ('primary' as const) : ('replica' as const);
        return instance({ name, role, gtid: `0-1-${String(executed[i] ?? 0)}`, source: role === 'replica' ? g.primary : null, pod: g.pods[i] ?? {} });
      });
      return {
        facts: cluster(instances, { primary: g.primary, ackCount: n === 1 ? 0 : 1 }),
        truth: new Map(names.map((name, i) => [name, { executed: executed[i] ?? 0, received: executed[i] ?? 0, holdsData: true }])),
      };
    });
  });
}

/**
 * Two instances, the primary silent, its replica answering with data and its IO stopped: the
 * defaults' failover, where durability Preferred promotes without acks. The others reach that
 * promotion a few times in 3000 runs, too few to count on.
 */
function twoInstanceFailover(): fc.Arbitrary<Generated> {
  const pod = fc.record({ ready: fc.boolean(), exists: fc.boolean(), nodeReady: fc.constantFrom(true, false, undefined) });
  return fc.record({ durability: fc.constantFrom('Required' as const, 'Preferred' as const), pod, behind: fc.nat({ max: 2 }) }).map((g) => {
    const dead = { ...instance({ name: 'db-0', role: 'primary', reachable: false, unreachableForMs: 60_000, pod: g.pod }), heldDataWhenLastSeen: true };
    const replica = instance({ name: 'db-1', gtid: `0-1-${String(12 - g.behind)}`, received: '0-1-12', io: 'stopped', source: 'db-0' });
    return {
      facts: cluster([dead, replica], { primary: 'db-0', ackCount: 1, durability: g.durability }),
      truth: new Map([['db-0', { executed: 12, received: 12, holdsData: true }], ['db-1', { executed: 12 - g.behind, received: 12, holdsData: true }]]),
    };
  });
}

const clusters = fc.oneof(generatedCluster(anything, false), generatedCluster(replicasOfADeadPrimary, true), rollingUpdate(), twoInstanceFailover());

const byName = (facts: ClusterFacts, name: string): InstanceFacts | undefined => facts.instances.find((i) => i.name === name);
const reachable = (i: InstanceFacts): boolean => i.sql.reachable;
const holdsData = (i: InstanceFacts): boolean => i.sql.reachable && !i.sql.dataDirEmpty;
const writable = (i: InstanceFacts): boolean => i.sql.reachable && !i.sql.readOnly;

/** The instance an action makes writable, if any. */
function newWriter(action: Action): string | undefined {
  if (action.kind === 'promote') return action.instance;
  if (action.kind === 'failover' || action.kind === 'switchover') return action.candidate;
  return undefined;
}

const startsFailover = (d: Decision): boolean => d.action.kind === 'failover' || d.action.kind === 'stopReplicationIo';

const RUNS = 3000;

/**
 * Checks `property` on every generated cluster. A property that returns early unless the decision
 * takes a path passes vacuously if the generators stop reaching that path: `exercised` names the
 * path, and at least 10 of the runs must take it.
 */
function check(property: (g: Generated, d: Decision) => void, exercised?: (d: Decision) => boolean): void {
  let taken = 0;
  fc.assert(
    fc.property(clusters, (g) => {
      const d = decide(g.facts);
      if (exercised?.(d)) taken++;
      property(g, d);
    }),
    { numRuns: RUNS },
  );
  if (exercised) expect(taken).toBeGreaterThanOrEqual(RUNS / 300);
}

const isFailover = (d: Decision): boolean => d.action.kind === 'failover';
const makesWriter = (d: Decision): boolean => newWriter(d.action) !== undefined;

describe('decide properties', () => {
  it('never makes an empty instance writable while any instance holds data, seen or not', () => {
    check(({ facts, truth }, d) => {
      const target = newWriter(d.action);
      if (target === undefined || ![...truth.values()].some((t) => t.holdsData)) return;
      const chosen = byName(facts, target);
      expect(chosen && holdsData(chosen)).toBe(true);
    }, makesWriter);
  });

  it('fails over only to a replica whose received GTID set includes every other candidate\'s', () => {
    check(({ facts }, d) => {
      if (d.action.kind !== 'failover') return;
      const { candidate, from } = d.action;
      const chosen = byName(facts, candidate);
      if (!chosen?.sql.reachable) throw new Error(`failover to unreachable ${candidate}`);
      expect(candidate).not.toBe(from);
      for (const other of facts.instances) {
        const eligible = other.name !== from && holdsData(other) && !facts.excluded.includes(other.name) && other.pod.exists && !other.pod.terminating;
        if (eligible && other.sql.reachable) expect(chosen.sql.received.includes(other.sql.received)).toBe(true);
      }
    }, isFailover);
  });

  it('fails over only to a replica holding every write that enough replicas acknowledged', () => {
    check(({ facts, truth }, d) => {
      if (d.action.kind !== 'failover') return;
      const from = d.action.from;
      const candidate = truth.get(d.action.candidate);
      const replicas = [...truth].filter(([name]) => name !== from).map(([, t]) => t);
      const highest = Math.max(0, ...replicas.map((t) => t.received));
      for (let write = 1; write <= highest; write++) {
        const holders = replicas.filter((t) => t.received >= write).length;
        if (holders >= Math.max(1, facts.ackCount)) expect(candidate?.received ?? 0).toBeGreaterThanOrEqual(write);
      }
    }, isFailover);
  });

  it("promotes a failover's candidate without acks only under Preferred, with no other instance answering that could ack", () => {
    check(({ facts }, d) => {
      if (d.action.kind !== 'failover' || d.action.withoutAcks === undefined) return;
      const { candidate } = d.action;
      expect(facts.durability).toBe('Preferred');
      // An old primary that answers has lost its data (why it fails over): it acks nothing until it is seeded again.
      const couldAck = (i: InstanceFacts) => reachable(i) && !(i.name === facts.primary && !holdsData(i));
      expect(facts.instances.filter((i) => i.name !== candidate && couldAck(i)).map((i) => i.name)).toEqual([]);
    }, (d) => d.action.kind === 'failover' && d.action.withoutAcks !== undefined);
  });

  it('never leaves two instances writable: every other answering instance is read-only when one is made writable', () => {
    check(({ facts }, d) => {
      const target = newWriter(d.action);
      if (target === undefined) return;
      // A switchover fences the old primary itself, first.
      const spared = d.action.kind === 'switchover' ? [target, d.action.from] : [target];
      const others = facts.instances.filter((i) => !spared.includes(i.name) && writable(i));
      expect(others.map((i) => i.name)).toEqual([]);
    }, makesWriter);
  });

  it('never starts a failover while the primary answers with its data', () => {
    check(({ facts }, d) => {
      const primary = facts.primary === undefined ? undefined : byName(facts, facts.primary);
      if (primary && holdsData(primary)) expect(startsFailover(d)).toBe(false);
    });
  });

  it('never starts a failover before the delay, nor while the pod is Ready and a replica still receives from it', () => {
    check(({ facts }, d) => {
      const primary = facts.primary === undefined ? undefined : byName(facts, facts.primary);
      if (!primary || reachable(primary)) return;
      if (primary.unreachableForMs < facts.failoverDelayMs) expect(startsFailover(d)).toBe(false);
      const podSaysAlive = primary.pod.exists && primary.pod.ready && !primary.pod.terminating && primary.pod.nodeReady !== false;
      const aReplicaIsConnected = facts.instances.some((i) => i !== primary && i.sql.reachable && i.sql.replication?.ioThread === 'running');
      if (podSaysAlive && aReplicaIsConnected) expect(startsFailover(d)).toBe(false);
    }, startsFailover);
  });

  it('does nothing when the cluster is Lost or the operator is cut off, and judges every instance once, in order', () => {
    check(({ facts }, d) => {
      if (d.state === 'Lost' || d.state === 'Unreachable') expect(d.action).toEqual({ kind: 'none' });
      expect(d.instances.map((i) => i.name)).toEqual(facts.instances.map((i) => i.name));
    });
  });

  it('restarts only an outdated pod: in a cluster not Healthy only a replica that is not Ready, the primary only when it is alone', () => {
    check(({ facts }, d) => {
      if (d.action.kind !== 'restart') return;
      const { instance } = d.action;
      const pod = byName(facts, instance)?.pod;
      expect(pod?.outdated).toBe(true);
      if (d.state !== 'Healthy') {
        expect(instance).not.toBe(facts.primary);
        expect(pod?.ready).toBe(false);
      }
      expect(facts.instances.some((i) => i.pod.terminating)).toBe(false);
      if (instance === facts.primary) expect(facts.instances).toHaveLength(1);
    }, (d) => d.action.kind === 'restart');
  });

  it('acts only on instances of the cluster: over SQL only on answering ones, a pod restart only on an existing pod', () => {
    check(({ facts }, d) => {
      const a = d.action;
      if (a.kind === 'restart') {
        expect(byName(facts, a.instance)?.pod.exists).toBe(true);
        return;
      }
      const targets = a.kind === 'none' ? [] : a.kind === 'stopReplicationIo' ? a.instances : a.kind === 'failover' || a.kind === 'switchover' ? [a.candidate] : [a.instance];
      for (const name of targets) expect(byName(facts, name)?.sql.reachable).toBe(true);
    });
  });
});
