/**
 * Drill: two operator processes with leader election on a short lease. Exactly one leads; when it
 * is SIGKILLed the other takes over once the lease expires, and when it gets SIGTERM it releases
 * the lease so the other takes over at once. Either way the new leader reconciles a change.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { WebStack } from '../../../operator/api/types.js';
import { deleteNamespace, eventually, getJson, installCrds, kubectl, newNamespace } from '../../support/cluster.js';
import { AGENT_NAMESPACE } from '../../support/operator.js';
import { metricValue, removeStack, startOperatorProcess, type OperatorProcess } from '../../support/process.js';
import { loadExample } from '../../support/examples.js';

jest.setTimeout(120_000);

const LEASE_SECONDS = 6;

let ns: string;
const processes: OperatorProcess[] = [];

const apply = (obj: unknown) => kubectl(['apply', '--server-side', '--field-manager', 'platform-team', '-f', '-'], { input: JSON.stringify(obj) });

function startReplica(identity: string): Promise<OperatorProcess> {
  const args = ['--namespaces', ns, '--leader-elect', '--lease-namespace', ns, '--lease-name', 'drill-leader', '--identity', identity];
  const timings = ['--lease-duration', `${LEASE_SECONDS}s`, '--renew-deadline', '4s', '--retry-period', '1s'];
  return startOperatorProcess({ args: [...args, ...timings, '--resync-period', '0'] }).then((p) => {
    processes.push(p);
    return p;
  });
}

async function leading(p: OperatorProcess): Promise<boolean> {
  return metricValue(await p.metrics(), 'webstack_leader') === 1;
}

/** The replicas that say they lead, by their own /metrics. */
async function leaders(replicas: OperatorProcess[]): Promise<OperatorProcess[]> {
  const flags = await Promise.all(replicas.map((p) => leading(p)));
  return replicas.filter((_, i) => flags[i]);
}

/** Milliseconds until `p` reports itself leader. */
async function takeover(p: OperatorProcess, since: number): Promise<number> {
  await eventually(
    async () => {
      if (!(await leading(p))) throw new Error('still a follower');
    },
    { description: `replica ${p.pid} to take over the lease`, timeoutMs: (LEASE_SECONDS + 10) * 1000, intervalMs: 100 },
  );
  return Date.now() - since;
}

/** Changes web.replicas and waits for the Deployment to follow: someone is reconciling. */
async function changeIsReconciled(replicas: number): Promise<void> {
  const stack = loadExample('minimal', ns);
  stack.spec.web = { replicas };
  await apply(stack);
  await eventually(
    async () => {
      const web = await getJson<{ spec: { replicas: number } }>(['deployment', 'minimal-web', '-n', ns]);
      if (web.spec.replicas !== replicas) throw new Error(`web has ${web.spec.replicas} replicas`);
      const ws = await getJson<WebStack>(['webstack', 'minimal', '-n', ns]);
      if (ws.status?.observedGeneration !== ws.metadata.generation) throw new Error('generation not observed yet');
    },
    { description: `web replicas ${replicas} reconciled by the new leader`, timeoutMs: 30_000 },
  );
}

beforeAll(async () => {
  await installCrds();
  await kubectl(['create', 'namespace', AGENT_NAMESPACE], { allowFail: true });
  await apply({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt' }, spec: { selfSigned: {} } });
  ns = await newNamespace('drill-leader', { restricted: true });
});

afterAll(async () => {
  for (const p of processes) await p.kill();
  const cleaner = await startOperatorProcess({ args: ['--namespaces', ns, '--leader-elect=false'] }).catch(() => undefined);
  await removeStack(ns, 'minimal');
  await cleaner?.kill();
  await deleteNamespace(ns);
});

describe('leader election between two operator processes', () => {
  let replicas: OperatorProcess[] = [];

  it('elects exactly one leader, which reconciles', async () => {
    replicas = await Promise.all([startReplica('replica-a'), startReplica('replica-b')]);
    await eventually(
      async () => {
        const found = await leaders(replicas);
        if (found.length !== 1) throw new Error(`${found.length} leaders`);
      },
      { description: 'exactly one leader', timeoutMs: (LEASE_SECONDS + 5) * 1000 },
    );
    await changeIsReconciled(3);
    // Still exactly one after reconciling: the follower never starts.
    expect(await leaders(replicas)).toHaveLength(1);
  });

  it('SIGKILL: the follower takes over within the lease duration and reconciles', async () => {
    const [leader] = await leaders(replicas);
    const follower = replicas.find((p) => p !== leader);
    if (!leader || !follower) throw new Error('no leader and follower');
    const killedAt = Date.now();
    leader.signal('SIGKILL');
    await leader.exited;
    const ms = await takeover(follower, killedAt);
    process.stderr.write(`leader SIGKILLed: takeover after ${ms} ms (lease ${LEASE_SECONDS} s)\n`);
    // The lease was renewed at most one retry period before the kill; allow scheduling slack.
    expect(ms).toBeLessThanOrEqual((LEASE_SECONDS + 3) * 1000);
    await changeIsReconciled(4);
    replicas = [follower];
  });

  // A graceful stop drains the queue, then releases the lease: the follower need not wait it out.
  it('SIGTERM: the leader releases the lease, the follower takes over well before it would expire', async () => {
    const [leader] = replicas;
    if (!leader) throw new Error('no leader');
    const follower = await startReplica('replica-c');
    replicas.push(follower);
    expect(await leading(follower)).toBe(false);
    const stoppedAt = Date.now();
    leader.signal('SIGTERM');
    const ms = await takeover(follower, stoppedAt);
    const exit = await leader.exited;
    process.stderr.write(`leader SIGTERMed: takeover after ${ms} ms, exit ${JSON.stringify(exit)}\n`);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan((LEASE_SECONDS * 1000) / 2);
    await changeIsReconciled(2);
  });
});
