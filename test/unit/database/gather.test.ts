import { describe, expect, it } from '@jest/globals';
import { withDefaults } from '../../../operator/api/defaults.js';
import { stackNamespace } from '../../../operator/blueprint/layout.js';
import { names } from '../../../operator/blueprint/names.js';
import { gatherCluster, lacksPrimaryWritesForMs, recordPrimary, type Contact, type PrimaryHistory } from '../../../operator/database/gather.js';
import { mariadb } from '../../../operator/mysql/mariadb.js';
import { MariadbGtidSet } from '../../../operator/mysql/mariadb-gtid.js';
import { FakeCluster } from '../../support/fake-cluster.js';
import { example } from '../../support/render.js';

const NOW = Date.parse('2026-12-07T08:00:30Z');

/** The facts of a stack whose pods have no IP yet (no SQL is tried), asked for `replicas` instances, with `primary` recorded. */
async function factsOf(replicas: number, primary: string | undefined, recorded: Record<string, unknown> = {}, cluster = new FakeCluster(), contact = new Map<string, Contact>(), now = NOW) {
  const stack = withDefaults(structuredClone(example('minimal')));
  stack.spec.database.replicas = replicas;
  stack.status = primary === undefined ? {} : { database: { primary, ...recorded } };
  return gatherCluster({
    stack,
    wiring: { adapter: mariadb, target: () => undefined, source: (name) => ({ host: name, port: 3306, user: 'repl', password: 'x' }) },
    caches: cluster,
    objects: cluster,
    contact,
    primaryHistory: { samples: [] },
    now,
    failoverDelayMs: 30_000,
  });
}

describe('gather: the instances observed', () => {
  const base = names(example('minimal').metadata.name).mysql;

  it('are those spec.database.replicas asks for, in ordinal order', async () => {
    const facts = await factsOf(2, `${base}-0`);
    expect(facts.instances.map((i) => i.name)).toEqual([`${base}-0`, `${base}-1`]);
    expect(facts.switchoverRequested).toBeUndefined();
  });

  it('include a primary beyond them (a scale down), and ask for its switchover first', async () => {
    const facts = await factsOf(2, `${base}-2`);
    expect(facts.instances.map((i) => i.name)).toEqual([`${base}-0`, `${base}-1`, `${base}-2`]);
    expect(facts.primary).toBe(`${base}-2`);
    expect(facts.switchoverRequested?.reason).toMatch(/spec.database.replicas is 2: .*-mysql-2 is beyond it \(a scale down\)/);
  });

  it('carry the last failover: which instance it left, and how long ago', async () => {
    const lastFailover = { from: `${base}-1`, to: `${base}-0`, reason: 'power cut', time: '2026-12-07T08:00:18Z' };
    const facts = await factsOf(2, `${base}-0`, { lastFailover });
    expect(facts.failedOverFrom).toEqual({ name: `${base}-1`, agoMs: 12_000 });
    expect((await factsOf(2, `${base}-0`)).failedOverFrom).toBeUndefined();
  });

  it('of an instance that does not answer, carry its node\'s Ready condition and kubelet heartbeat', async () => {
    const cluster = new FakeCluster();
    const ns = stackNamespace(withDefaults(example('minimal')));
    cluster.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${base}-0`, namespace: ns }, spec: { nodeName: 'node-a' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    cluster.seed({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    cluster.seed({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'node-a', namespace: 'kube-node-lease' }, spec: { renewTime: '2026-12-07T08:00:12.000000Z', leaseDurationSeconds: 40 } });
    const [silent, unscheduled] = (await factsOf(2, `${base}-0`, {}, cluster)).instances;
    expect(silent?.pod).toMatchObject({ exists: true, ready: true, nodeReady: true, nodeLease: { renewedAgoMs: 18_000, durationMs: 40_000 } });
    expect(unscheduled?.pod).toMatchObject({ exists: false, nodeReady: undefined });
    expect(unscheduled?.pod.nodeLease).toBeUndefined();
  });
});

describe('gather: how long an instance has been silent', () => {
  const base = names(example('minimal').metadata.name).mysql;
  const ns = stackNamespace(withDefaults(example('minimal')));

  it('counts from its last answer, not from the first look that missed it', async () => {
    const contact = new Map<string, Contact>([[`${ns}/${base}-0`, { answeredAt: NOW - 4_000 }]]);
    const first = await factsOf(2, `${base}-0`, {}, new FakeCluster(), contact);
    expect(first.instances[0]?.unreachableForMs).toBe(4_000);
    const second = await factsOf(2, `${base}-0`, {}, new FakeCluster(), contact, NOW + 3_000);
    expect(second.instances[0]?.unreachableForMs).toBe(7_000);
  });

  it('carries whether it held data when it last answered, for as long as it is silent', async () => {
    const contact = new Map<string, Contact>([[`${ns}/${base}-0`, { answeredAt: NOW - 4_000, heldData: false }]]);
    expect((await factsOf(2, `${base}-0`, {}, new FakeCluster(), contact)).instances[0]?.heldDataWhenLastSeen).toBe(false);
    expect((await factsOf(2, `${base}-0`, {}, new FakeCluster(), contact, NOW + 3_000)).instances[0]?.heldDataWhenLastSeen).toBe(false);
    expect((await factsOf(2, `${base}-0`, {}, new FakeCluster(), new Map())).instances[0]?.heldDataWhenLastSeen).toBeUndefined();
  });

  it('counts from its first miss when it never answered this process (an operator restarted during an outage)', async () => {
    const contact = new Map<string, Contact>();
    expect((await factsOf(2, `${base}-0`, {}, new FakeCluster(), contact)).instances[0]?.unreachableForMs).toBe(0);
    expect((await factsOf(2, `${base}-0`, {}, new FakeCluster(), contact, NOW + 2_000)).instances[0]?.unreachableForMs).toBe(2_000);
  });
});

describe("gather: what a replica lacks of the primary's earlier writes", () => {
  const set = (text: string) => MariadbGtidSet.parse(text);

  it('is the age of the oldest primary set the replica does not hold: a replica that stopped applying, whatever it reports', () => {
    const history: PrimaryHistory = { samples: [] };
    recordPrimary(history, 'db-0', set('0-1-10'), 0);
    recordPrimary(history, 'db-0', set('0-1-20'), 5_000);
    recordPrimary(history, 'db-0', set('0-1-30'), 10_000);
    expect(lacksPrimaryWritesForMs(history, set('0-1-30'), 15_000)).toBe(0);
    expect(lacksPrimaryWritesForMs(history, set('0-1-20'), 15_000)).toBe(5_000);
    expect(lacksPrimaryWritesForMs(history, set('0-1-12'), 15_000)).toBe(10_000);
    expect(lacksPrimaryWritesForMs(history, set('0-1-9'), 15_000)).toBe(15_000);
  });

  it('keeps about a minute, and starts afresh with another primary (the old one may have had writes the new one never got)', () => {
    const history: PrimaryHistory = { samples: [] };
    recordPrimary(history, 'db-0', set('0-1-10'), 0);
    recordPrimary(history, 'db-0', set('0-1-11'), 70_000);
    expect(history.samples.map((s) => s.at)).toEqual([70_000]);
    recordPrimary(history, 'db-1', set('0-1-10,0-2-3'), 75_000);
    expect(history).toMatchObject({ primary: 'db-1', samples: [{ at: 75_000 }] });
    expect(lacksPrimaryWritesForMs(history, set('0-1-11'), 80_000)).toBe(5_000);
  });
});
