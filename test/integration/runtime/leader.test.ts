/**
 * Leader election on a real API server: optimistic concurrency on the Lease decides between two
 * candidates; a stopped leader hands over at once; a crashed one is replaced after the lease
 * duration.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeClient } from '../../../operator/kube/client.js';
import { createKubeClient } from '../../../operator/kube/config.js';
import { kubeLeaseStore, type Lease } from '../../../operator/kube/lease.js';
import { LeaderElector } from '../../../operator/runtime/leader.js';
import { deleteNamespace, eventually, getJson, kubeconfigPath, newNamespace } from '../../support/cluster.js';

const LEASE_MS = 4_000;
const RENEW_MS = 3_000;
const RETRY_MS = 500;

let client: KubeClient;
let ns: string;
const running: LeaderElector[] = [];
/** The electors' log lines (failed attempts are logged at debug), to explain a timeout. */
const logLines: string[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString().trim());
      done();
    },
  }),
);

beforeAll(async () => {
  client = createKubeClient({ path: kubeconfigPath(), requestTimeoutMs: 2_000 }).client;
  ns = await newNamespace('rt-leader');
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

afterAll(async () => {
  await deleteNamespace(ns);
});

interface Candidate {
  id: string;
  elector: LeaderElector;
  startedAt: number[];
  stoppedAt: number[];
}

function candidates(...ids: string[]): { leaseName: string; cs: Candidate[] } {
  const leaseName = `lease-${randomBytes(3).toString('hex')}`;
  const cs = ids.map((id) => {
    const startedAt: number[] = [];
    const stoppedAt: number[] = [];
    const elector = new LeaderElector({
      store: kubeLeaseStore(client, ns, leaseName),
      identity: id,
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: RENEW_MS,
      retryPeriodMs: RETRY_MS,
      logger,
      onStartedLeading: () => startedAt.push(Date.now()),
      onStoppedLeading: () => stoppedAt.push(Date.now()),
    });
    running.push(elector);
    return { id, elector, startedAt, stoppedAt };
  });
  return { leaseName, cs };
}

/** The Lease as kubectl sees it, independently of our client. */
const leaseNamed = (name: string) => getJson<Lease>(['lease', name, '-n', ns]);

function defined<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('expected a value');
  return value;
}

const leaders = (cs: Candidate[]) => cs.filter((c) => c.elector.isLeader());

async function waitForLeader(cs: Candidate[], description: string): Promise<Candidate> {
  return eventually(
    () => {
      const current = leaders(cs);
      if (current.length !== 1) return Promise.reject(new Error(`${current.length} leaders; last log line: ${logLines.at(-1) ?? 'none'}`));
      return Promise.resolve(defined(current[0]));
    },
    { description, timeoutMs: 15_000, intervalMs: 50 },
  );
}

describe('leader election', () => {
  it('lets exactly one of two simultaneous candidates lead', async () => {
    const { leaseName, cs } = candidates('alpha', 'beta');
    for (const c of cs) c.elector.start();
    const leader = await waitForLeader(cs, 'one leader');

    // Over several renew periods, nobody else ever leads and the leader never flaps.
    await new Promise((r) => setTimeout(r, 3 * RETRY_MS + LEASE_MS));
    expect(leaders(cs)).toEqual([leader]);
    expect(cs.map((c) => c.startedAt.length).reduce((a, b) => a + b)).toBe(1);
    expect(leader.stoppedAt).toEqual([]);

    const lease = await leaseNamed(leaseName);
    expect(lease.spec).toMatchObject({ holderIdentity: leader.id, leaseDurationSeconds: LEASE_MS / 1000, leaseTransitions: 0 });
    expect(lease.spec?.renewTime).toMatch(/\.\d{6}Z$/);
  }, 60_000);

  it('hands over at once when the leader stops and releases the lease', async () => {
    const { leaseName, cs } = candidates('alpha', 'beta');
    for (const c of cs) c.elector.start();
    const leader = await waitForLeader(cs, 'first leader');
    const follower = defined(cs.find((c) => c !== leader));

    const stoppedAt = Date.now();
    await leader.elector.stop();
    expect(leader.stoppedAt).toHaveLength(1);
    const next = await waitForLeader(cs, 'the follower to take over');
    expect(next).toBe(follower);
    const handover = (follower.startedAt[0] ?? Infinity) - stoppedAt;
    // Well under the lease duration: the follower only had to notice the release.
    expect(handover).toBeLessThan(LEASE_MS / 2);
    const lease = await leaseNamed(leaseName);
    expect(lease.spec).toMatchObject({ holderIdentity: follower.id, leaseTransitions: 1 });
  }, 60_000);

  it('replaces a crashed leader after the lease duration', async () => {
    const { cs } = candidates('alpha', 'beta');
    for (const c of cs) c.elector.start();
    const leader = await waitForLeader(cs, 'first leader');
    const follower = defined(cs.find((c) => c !== leader));
    await new Promise((r) => setTimeout(r, 2 * RETRY_MS)); // the follower has seen a renewal

    const crashedAt = Date.now();
    await leader.elector.stop({ release: false }); // stops renewing, leaves the lease as it is
    const next = await waitForLeader(cs, 'the follower to take over after expiry');
    expect(next).toBe(follower);
    const takeover = (follower.startedAt[0] ?? Infinity) - crashedAt;
    expect(takeover).toBeGreaterThanOrEqual(LEASE_MS - 2 * RETRY_MS);
    expect(takeover).toBeLessThan(LEASE_MS + 4 * RETRY_MS);
  }, 60_000);
});
