import { describe, expect, it } from '@jest/globals';
import { withDefaults } from '../../../operator/api/defaults.js';
import { stackNamespace } from '../../../operator/blueprint/layout.js';
import { names } from '../../../operator/blueprint/names.js';
import { gatherCluster } from '../../../operator/database/gather.js';
import { mariadb } from '../../../operator/mysql/mariadb.js';
import { FakeCluster } from '../../support/fake-cluster.js';
import { example } from '../../support/render.js';

/** The facts of a stack whose pods have no IP yet (no SQL is tried), asked for `replicas` instances, with `primary` recorded. */
async function factsOf(replicas: number, primary: string | undefined, recorded: Record<string, unknown> = {}, cluster = new FakeCluster()) {
  const stack = withDefaults(structuredClone(example('minimal')));
  stack.spec.database.replicas = replicas;
  stack.status = primary === undefined ? {} : { database: { primary, ...recorded } };
  return gatherCluster({
    stack,
    wiring: { adapter: mariadb, target: () => undefined, source: (name) => ({ host: name, port: 3306, user: 'repl', password: 'x' }) },
    caches: cluster,
    objects: cluster,
    unreachableSince: new Map(),
    now: Date.parse('2026-12-07T08:00:30Z'),
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
