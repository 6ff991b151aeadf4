/**
 * The database controller on real nodes (W2): a WebStack with engine mariadb, three MariaDB pods on
 * local volumes, the operator running in this process. A writer pod inserts numbered rows through
 * the `-primary` Service and prints each acknowledged one; after every drill the test reads the new
 * primary and requires every acknowledged row. Figures per drill go to $TMPDIR/webstack-db-drills.json
 * for docs/failure-modes.md.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningOperator } from '../../operator/main.js';
import type { WebStack } from '../../operator/api/types.js';
import { openSession } from '../../operator/mysql/session.js';
import { deleteNamespace, eventually, getJson, installCrds, kubectl, newNamespace } from '../support/cluster.js';
import { startTestOperator } from '../support/operator.js';
import { podHost } from '../../operator/blueprint/layout.js';
import { startCertManager, type RunningProgram } from '../support/cert-manager.js';
import { realCluster, realNodeCount } from './host.js';
import { applyIn, image } from '../support/objects.js';
import { certificateAuthority } from '../support/tls.js';
import { WRITER_LABEL, acks, longestGap, uptime, writerPod } from './writer.js';

/**
 * Each drill runs this many times: WEBSTACK_DB_DRILL_REPEATS, 1 in `npm test` (one bounded case of
 * each kind), 5 in `npm run test:drills` (the matrix the failure table is made from).
 */
const REPEATS = Array.from({ length: Number(process.env.WEBSTACK_DB_DRILL_REPEATS ?? '1') }, (_, i) => i + 1);
const STACK = 'shop';
const DB = `${STACK}-mysql`;
// The configuration these drills run (the defaults' drills are issue 25's next step).
const ENGINE = 'mariadb';
const INSTANCES = 3;
let ns: string;
let operator: RunningOperator;
let certManager: RunningProgram | undefined;
/** One drill's record (hack/gen-failure-modes.ts reads them): a drill that did not recover keeps its row. */
interface DrillRecord {
  engine: string;
  instances: number;
  scenario: string;
  recovered: boolean;
  /** null when the cluster did not recover within the bound. */
  outageSeconds: number | null;
  acknowledged: number;
  /** null when no primary was left to count them on. */
  lost: number | null;
  primaryBefore: string;
  primaryAfter: string;
  reason: string;
}
const drills: DrillRecord[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stack(): WebStack {
  return {
    apiVersion: 'webstack.dev/v1alpha1',
    kind: 'WebStack',
    metadata: { name: STACK, namespace: ns },
    spec: {
      domain: 'shop.e2e.test',
      // reencrypt: the internal CA (real cert-manager) signs the servers' certificates, so
      // replication, the controller and the writer speak verified TLS, and a renewal is a drill.
      tls: { mode: 'reencrypt', issuerRef: { name: 'e2e-public', kind: 'Issuer' } },
      app: { image: image('app:1.0'), replicas: 1 },
      loadBalancer: { replicas: 1, serviceType: 'ClusterIP' },
      web: { replicas: 1 },
      database: {
        engine: ENGINE,
        replicas: INSTANCES,
        storage: { size: '1Gi' },
        resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '512Mi' } },
        deletionPolicy: 'Delete',
      },
      logging: { enabled: false },
      firewall: { extraIngress: [{ tier: 'database', from: { podLabels: { [WRITER_LABEL]: 'true' } }, ports: [{ port: 3306 }] }] },
    },
  };
}

interface DbStatus {
  primary?: string;
  state?: string;
  reason?: string;
  replicas?: string[];
  lastFailover?: { from: string; to: string; reason: string };
  lastSwitchover?: { from: string; to: string; reason: string };
}

async function dbStatus(): Promise<DbStatus> {
  const ws = await getJson<{ status?: { database?: DbStatus } }>(['webstack', STACK, '-n', ns]);
  return ws.status?.database ?? {};
}

async function acknowledged(): Promise<number[]> {
  return (await acks(ns)).map((a) => a.id);
}

async function password(): Promise<string> {
  const secret = await getJson<{ data: Record<string, string> }>(['secret', `${DB}-credentials`, '-n', ns]);
  return Buffer.from(secret.data['operator-password'] ?? '', 'base64').toString();
}

async function internalCa(): Promise<string> {
  const secret = await getJson<{ data: Record<string, string> }>(['secret', `${STACK}-ca`, '-n', ns]);
  return Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString();
}

/** The rows on `pod`, read as the operator does (pod IP, its account). */
async function rowsOn(pod: string): Promise<Set<number>> {
  const ip = (await getJson<{ status: { podIP: string } }>(['pod', pod, '-n', ns])).status.podIP;
  const session = await openSession({
    host: ip,
    port: 3306,
    user: 'webstack-operator',
    password: await password(),
    tls: { ca: await internalCa(), servername: podHost(pod, `${STACK}-mysql-headless`, ns) },
    connectTimeoutMs: 3000,
  });
  try {
    return new Set((await session.query('SELECT id FROM app.acked')).map((r) => Number(r.id)));
  } finally {
    await session.close();
  }
}

async function healthyWith(count: number, timeoutMs = 240_000): Promise<DbStatus> {
  return eventually(
    async () => {
      const s = await dbStatus();
      if (s.state !== 'Healthy' || !s.primary || (s.replicas?.length ?? 0) !== count - 1) throw new Error(`database ${s.state ?? 'unknown'}: ${s.reason ?? ''}`);
      return s;
    },
    { timeoutMs, intervalMs: 2000, description: `the database Healthy with ${count} instances` },
  );
}

/**
 * How long writes stopped: the longest gap between consecutive acknowledgements from the last one
 * before `start` (boot-clock seconds) to the first one after the cluster `recovered`.
 */
async function writeOutage(start: number, recovered: () => Promise<boolean>): Promise<number> {
  await eventually(
    async () => {
      if (!(await recovered())) throw new Error(`database ${(await dbStatus()).state ?? 'unknown'}: ${(await dbStatus()).reason ?? ''}`);
    },
    { timeoutMs: 300_000, intervalMs: 1000, description: 'the database recovered' },
  );
  const recoveredAt = uptime();
  const all = await eventually(
    async () => {
      const list = await acks(ns);
      if (!list.some((a) => a.at > recoveredAt)) throw new Error('no write acknowledged since the recovery');
      return list;
    },
    { timeoutMs: 60_000, intervalMs: 500, description: 'a write acknowledged after the recovery' },
  );
  return longestGap(all, start, recoveredAt);
}

const isHealthy = async (): Promise<boolean> => (await dbStatus()).state === 'Healthy';

/**
 * After a drill started at `start` (boot clock): once `recovered` (default: the database Healthy)
 * and Healthy with three instances, every acknowledged row is on the primary. Records the figures.
 */
async function everyAcknowledgedRowOnThePrimary(scenario: string, before: DbStatus, start: number, reason: string, recovered = isHealthy): Promise<DbStatus> {
  const record = { engine: ENGINE, instances: INSTANCES, scenario, primaryBefore: before.primary ?? '', reason };
  let outageSeconds: number;
  let after: DbStatus;
  try {
    outageSeconds = await writeOutage(start, async () => (await recovered()) && (await isHealthy()));
    after = await healthyWith(INSTANCES);
  } catch (err) {
    // A drill that never recovers is a result too: its row says so before the test fails.
    const status = await dbStatus().catch((): DbStatus => ({}));
    drills.push({ ...record, recovered: false, outageSeconds: null, acknowledged: (await acknowledged().catch(() => [])).length, lost: null, primaryAfter: status.primary ?? '' });
    throw err;
  }
  await sleep(1000);
  const acked = await acknowledged();
  const rows = await rowsOn(after.primary ?? '');
  const lost = acked.filter((id) => !rows.has(id));
  drills.push({ ...record, recovered: true, outageSeconds, acknowledged: acked.length, lost: lost.length, primaryAfter: after.primary ?? '' });
  console.log(`${scenario}: write outage ${outageSeconds.toFixed(1)} s, ${lost.length} of ${acked.length} acknowledged rows lost, primary ${before.primary} -> ${after.primary}`);
  // No acknowledged row at all would make "0 lost" say nothing.
  expect({ scenario, acknowledged: acked.length > 0, lost }).toEqual({ scenario, acknowledged: true, lost: [] });
  return after;
}

interface PodState {
  metadata: { uid: string };
  spec: { nodeName: string; volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[] };
  status: { containerStatuses?: { name: string; restartCount: number; ready: boolean }[] };
}

const podOf = (name: string) => getJson<PodState>(['pod', name, '-n', ns]);

/** Restarts of the database server container of `pod`, and whether it is ready again. */
async function server(pod: string): Promise<{ restarts: number; ready: boolean }> {
  const c = (await podOf(pod)).status.containerStatuses?.find((s) => s.name === 'mysql');
  return { restarts: c?.restartCount ?? 0, ready: c?.ready ?? false };
}

/** The drill moved the primary away from `before`. */
const primaryMovedFrom = (before: DbStatus) => async (): Promise<boolean> => {
  const now = await dbStatus();
  return now.primary !== undefined && now.primary !== before.primary;
};

/** The server of `pod` was restarted (more restarts than `restarts`) and is ready again. */
const restartedAndReady = (pod: string, restarts: number) => async (): Promise<boolean> => {
  const now = await server(pod).catch(() => ({ restarts: 0, ready: false }));
  return now.restarts > restarts && now.ready;
};

const updateRevision = async (): Promise<string | undefined> =>
  (await getJson<{ status: { updateRevision?: string } }>(['statefulset', DB, '-n', ns])).status.updateRevision;

/**
 * Every database pod runs the StatefulSet's current template, and that is a newer one than
 * `before`: checked right after a patch, the StatefulSet may not have its new revision yet, and
 * then every pod looks up to date.
 */
const everyPodUpdatedFrom = (before: string | undefined) => async (): Promise<boolean> => {
  const revision = await updateRevision();
  const pods = await getJson<{ items: { metadata: { labels: Record<string, string>; deletionTimestamp?: string } }[] }>(['pods', '-n', ns, '-l', 'app.kubernetes.io/component=database']);
  return revision !== before && pods.items.length === 3 && pods.items.every((p) => !p.metadata.deletionTimestamp && p.metadata.labels['controller-revision-hash'] === revision);
};

/** The host pid of the mariadbd of `pod`: the nodes share the host's pid namespace. */
async function serverPid(pod: string): Promise<number> {
  const uid = (await getJson<{ metadata: { uid: string } }>(['pod', pod, '-n', ns])).metadata.uid;
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.startsWith('mariadbd\0')) continue;
      // cgroupfs keeps the pod UID's dashes, the systemd driver turns them into underscores.
      const cgroup = readFileSync(`/proc/${entry}/cgroup`, 'utf8');
      if (cgroup.includes(uid) || cgroup.includes(uid.replace(/-/g, '_'))) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  throw new Error(`no mariadbd process of pod ${pod}`);
}

/** A planned switchover when the primary shares the writer's node, so stopping it leaves the writer. */
async function primaryAwayFromTheWriter(): Promise<void> {
  const before = await healthyWith(3);
  const writerNode = (await podOf('writer')).spec.nodeName;
  if ((await podOf(before.primary ?? '')).spec.nodeName !== writerNode) return;
  await kubectl(['delete', 'pod', '-n', ns, before.primary ?? '', '--wait=false']);
  await eventually(async () => ((await primaryMovedFrom(before)()) ? true : Promise.reject(new Error('primary not moved yet'))), { timeoutMs: 120_000, intervalMs: 1000, description: 'a switchover away from the writer\'s node' });
}

beforeAll(async () => {
  await installCrds();
  ns = await newNamespace('db', { restricted: true });
  certManager = await startCertManager(ns, 'e2e-public', certificateAuthority('e2e public CA'));
  operator = await startTestOperator(ns, [
    '--operator-cidr', '10.250.0.1/32',
    '--database-failover-delay', '5s',
    '--image-mariadb-10.11', image('mariadb:10.11'),
    '--image-mysqld-exporter', image('mysqld-exporter:0.14.0'),
    '--image-haproxy', image('haproxy:2.6'),
    '--image-nginx', image('nginx:1.22'),
    '--image-nginx-exporter', image('nginx-exporter:0.11.0'),
  ]);
  await applyIn(ns, [stack()]);
}, 120_000);

afterAll(async () => {
  writeFileSync(path.join(tmpdir(), 'webstack-db-drills.json'), JSON.stringify(drills, null, 2));
  if (ns) await kubectl(['delete', 'webstack', '-n', ns, STACK, '--ignore-not-found', '--timeout=120s'], { allowFail: true });
  await operator.stop();
  certManager?.stop();
  if (ns) await deleteNamespace(ns);
  // The stack's deletion may wait up to 120 s (a node just back from a power cut), then the namespace's.
}, 300_000);

describe('the database controller on real MariaDB servers', () => {
  it('chooses a primary, seeds and points two replicas, and labels the pods by role', async () => {
    const status = await healthyWith(3, 300_000);
    expect(status.primary).toMatch(new RegExp(`^${DB}-[0-2]$`));
    const pods = await getJson<{ items: { metadata: { name: string; labels: Record<string, string> } }[] }>(['pods', '-n', ns, '-l', 'app.kubernetes.io/component=database']);
    const roles = Object.fromEntries(pods.items.map((p) => [p.metadata.name, p.metadata.labels['webstack.dev/mysql-role']]));
    expect(Object.values(roles).sort()).toEqual(['primary', 'replica', 'replica']);
    expect(roles[status.primary ?? '']).toBe('primary');
  }, 320_000);

  it('the writer commits through the -primary Service', async () => {
    const service = await getJson<{ spec: { clusterIP: string } }>(['service', `${DB}-primary`, '-n', ns]);
    await applyIn(ns, [writerPod({ stack: STACK, engine: ENGINE, serviceIp: service.spec.clusterIP })]);
    await eventually(async () => ((await acknowledged()).length >= 20 ? true : Promise.reject(new Error('fewer than 20 acknowledged rows'))), { timeoutMs: 120_000, intervalMs: 2000, description: '20 acknowledged rows' });
    // Acknowledged first, rows second: a row acknowledged after the read cannot be asked for.
    const acked = await acknowledged();
    const rows = await rowsOn((await dbStatus()).primary ?? '');
    expect(acked.filter((id) => !rows.has(id))).toEqual([]);
  }, 130_000);

  it.each(REPEATS)('deleting the primary pod switches over to an in-sync replica, losing no acknowledged row (run %i)', async () => {
    const before = await dbStatus();
    const start = uptime();
    await kubectl(['delete', 'pod', '-n', ns, before.primary ?? '', '--wait=false']);
    await everyAcknowledgedRowOnThePrimary('primary pod deleted', before, start, 'switchover', primaryMovedFrom(before));
    const after = await dbStatus();
    expect(after.primary).not.toBe(before.primary);
    expect(after.lastSwitchover).toMatchObject({ from: before.primary, to: after.primary });
  }, 300_000);

  it.each(REPEATS)('SIGKILL of the primary\'s mysqld: a primary serves writes again and no acknowledged row is lost (run %i)', async () => {
    const before = await healthyWith(3);
    const primary = before.primary ?? '';
    const { restarts } = await server(primary);
    const start = uptime();
    execFileSync('kill', ['-9', String(await serverPid(primary))]);
    const moved = primaryMovedFrom(before);
    const restarted = restartedAndReady(primary, restarts);
    await everyAcknowledgedRowOnThePrimary('primary mysqld SIGKILL', before, start, 'restart or failover', async () => (await moved()) || (await restarted()));
  }, 300_000);

  it.each(REPEATS)("SIGKILL of a replica's mysqld while writes go on: the primary stays, the replica catches up, no acknowledged row is lost (run %i)", async (run) => {
    const before = await healthyWith(3);
    // Another replica each run: the kubelet backs off restarting a container killed again and again
    // (10 s, 20 s, 40 s ... 5 min), which would measure its back-off, not the database.
    const replicas = before.replicas ?? [];
    const replica = replicas[(run - 1) % replicas.length] ?? '';
    const { restarts } = await server(replica);
    const start = uptime();
    execFileSync('kill', ['-9', String(await serverPid(replica))]);
    await everyAcknowledgedRowOnThePrimary('replica mysqld SIGKILL', before, start, 'replica restarted', restartedAndReady(replica, restarts));
    expect((await dbStatus()).primary).toBe(before.primary);
    // The restarted replica caught up: it holds every row acknowledged before the drill.
    const ackedBefore = (await acks(ns)).filter((a) => a.at < start).map((a) => a.id);
    await eventually(
      async () => {
        const rows = await rowsOn(replica);
        const missing = ackedBefore.filter((id) => !rows.has(id));
        if (missing.length > 0) throw new Error(`${replica} misses ${missing.length} rows`);
      },
      { timeoutMs: 60_000, intervalMs: 2000, description: `${replica} caught up` },
    );
  }, 300_000);

  it.each(REPEATS)("losing the primary's volume and pod: a replica takes over, the empty instance is seeded as a replica, no acknowledged row is lost (run %i)", async () => {
    const before = await healthyWith(3);
    const primary = before.primary ?? '';
    const claim = (await podOf(primary)).spec.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName ?? '';
    const claimUid = (await getJson<{ metadata: { uid: string } }>(['pvc', claim, '-n', ns])).metadata.uid;
    const start = uptime();
    // The claim goes first (it stays Terminating while the pod uses it), then the pod: the
    // StatefulSet re-creates both, the new claim on a new, empty volume.
    await kubectl(['delete', 'pvc', claim, '-n', ns, '--wait=false']);
    await kubectl(['delete', 'pod', primary, '-n', ns, '--wait=false']);
    const moved = primaryMovedFrom(before);
    const newVolume = async (): Promise<boolean> => {
      const pvc = await getJson<{ metadata: { uid: string }; status?: { phase?: string } }>(['pvc', claim, '-n', ns]).catch(() => undefined);
      return pvc !== undefined && pvc.metadata.uid !== claimUid && pvc.status?.phase === 'Bound';
    };
    const after = await everyAcknowledgedRowOnThePrimary('primary volume and pod lost', before, start, 'switchover, then seeding', async () => (await moved()) && (await newVolume()) && (await server(primary)).ready);
    expect(after.replicas).toContain(primary);
    // The re-created instance started empty and was seeded: it has every row acknowledged before.
    const rows = await rowsOn(primary);
    expect((await acks(ns)).filter((a) => a.at < start && !rows.has(a.id))).toEqual([]);
  }, 360_000);

  it.each(REPEATS)('a rolling update restarts the replicas first, then switches over once and restarts the old primary, losing no acknowledged row (run %i)', async (run) => {
    const before = await healthyWith(3);
    const primary = before.primary ?? '';
    const revision = await updateRevision();
    const start = uptime();
    // A new pod template: another CPU request.
    await kubectl(['patch', 'webstack', STACK, '-n', ns, '--type', 'merge', '-p', JSON.stringify({ spec: { database: { resources: { requests: { cpu: `${50 + run * 10}m` } } } } })]);
    const after = await everyAcknowledgedRowOnThePrimary('rolling update', before, start, 'switchover', everyPodUpdatedFrom(revision));
    expect(after.primary).not.toBe(primary);
    expect(after.lastSwitchover).toMatchObject({ from: primary, to: after.primary, reason: expect.stringContaining('rolling update') as unknown });
    // The old primary went last: its pod is the newest of the three.
    const pods = await getJson<{ items: { metadata: { name: string; creationTimestamp: string } }[] }>(['pods', '-n', ns, '-l', 'app.kubernetes.io/component=database']);
    const newest = [...pods.items].sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp)).at(-1);
    expect(newest?.metadata.name).toBe(primary);
  }, 600_000);

  it.each(REPEATS)('a renewal of the database certificate rolls the pods the same way: one switchover, no acknowledged row lost (run %i)', async () => {
    const before = await healthyWith(3);
    const primary = before.primary ?? '';
    const secretName = `${DB}-tls`;
    const certificates = await getJson<{ items: { metadata: { name: string }; spec: { secretName: string } }[] }>(['certificates', '-n', ns]);
    const certificate = certificates.items.find((c) => c.spec.secretName === secretName)?.metadata.name ?? '';
    const served = async () => (await getJson<{ data: Record<string, string> }>(['secret', secretName, '-n', ns])).data['tls.crt'];
    const oldCertificate = await served();
    const revision = await updateRevision();
    const start = uptime();
    // What `cmctl renew` does: the Issuing condition, set by hand.
    const issuing = { type: 'Issuing', status: 'True', reason: 'ManuallyTriggered', message: 'renewal asked for by the e2e drill', lastTransitionTime: new Date().toISOString() };
    await kubectl(['patch', 'certificate', certificate, '-n', ns, '--subresource', 'status', '--type', 'json', '-p', JSON.stringify([{ op: 'add', path: '/status/conditions/-', value: issuing }])]);
    const renewedAndRolled = async (): Promise<boolean> => (await served()) !== oldCertificate && (await primaryMovedFrom(before)()) && (await everyPodUpdatedFrom(revision)());
    const after = await everyAcknowledgedRowOnThePrimary('database certificate renewed', before, start, 'switchover', renewedAndRolled);
    expect(after.lastSwitchover).toMatchObject({ from: primary, to: after.primary, reason: expect.stringContaining('rolling update') as unknown });
  }, 600_000);

  it('every replica frozen: commits wait for an ack and say so (status, DatabaseReady, Event), then complete, none lost', async () => {
    const before = await healthyWith(3);
    const replicas = before.replicas ?? [];
    const pids = await Promise.all(replicas.map(serverPid));
    const start = uptime();
    // SIGSTOP: the replicas neither ack nor close their connections, as on a partitioned network.
    // Their liveness probe restarts them after 60 s, so the drill stays well within that.
    for (const pid of pids) execFileSync('kill', ['-STOP', String(pid)]);
    let reported: { waiting: number; condition: string; seconds: number };
    try {
      reported = await eventually(
        async () => {
          const ws = await getJson<{ status?: { database?: { commitsWaitingForAck?: number }; conditions?: { type: string; reason: string }[] } }>(['webstack', STACK, '-n', ns]);
          const waiting = ws.status?.database?.commitsWaitingForAck ?? 0;
          const condition = ws.status?.conditions?.find((c) => c.type === 'DatabaseReady')?.reason ?? '';
          if (waiting < 1 || condition !== 'WaitingForAcks') throw new Error(`commitsWaitingForAck ${waiting}, DatabaseReady ${condition}`);
          return { waiting, condition, seconds: uptime() - start };
        },
        { timeoutMs: 40_000, intervalMs: 1000, description: 'commits waiting for an ack, reported' },
      );
    } finally {
      for (const pid of pids) execFileSync('kill', ['-CONT', String(pid)]);
    }
    console.log(`replicas frozen: ${reported.waiting} commits waiting reported after ${reported.seconds.toFixed(1)} s`);
    const events = await getJson<{ items: { reason: string; involvedObject: { kind: string } }[] }>(['events', '-n', ns]);
    expect(events.items.filter((e) => e.involvedObject.kind === 'WebStack').map((e) => e.reason)).toContain('WaitingForAcks');
    await everyAcknowledgedRowOnThePrimary('every replica frozen', before, start, 'replicas back');
    await eventually(
      async () => {
        const ws = await getJson<{ status?: { database?: { commitsWaitingForAck?: number } } }>(['webstack', STACK, '-n', ns]);
        if (ws.status?.database?.commitsWaitingForAck !== undefined) throw new Error(`still ${ws.status.database.commitsWaitingForAck} waiting`);
      },
      { timeoutMs: 60_000, intervalMs: 2000, description: 'no commit waiting any more' },
    );
    // The primary never moved: a lost ack is no reason to fail over.
    expect((await dbStatus()).primary).toBe(before.primary);
  }, 300_000);

  it("draining the primary's node moves the primary first, losing no acknowledged row", async () => {
    const before = await healthyWith(3);
    const primary = before.primary ?? '';
    const node = (await getJson<{ spec: { nodeName: string } }>(['pod', primary, '-n', ns])).spec.nodeName;
    const start = uptime();
    try {
      // Only the primary is evicted (the PDB allows one database pod down); its local volume keeps the
      // re-created pod off the cordoned node until it is uncordoned.
      await kubectl(['drain', node, '--pod-selector', `statefulset.kubernetes.io/pod-name=${primary}`, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=100s']);
      const moved = await dbStatus();
      expect(moved.primary).not.toBe(primary);
      expect(moved.lastSwitchover).toMatchObject({ from: primary, to: moved.primary });
    } finally {
      await kubectl(['uncordon', node]);
    }
    await everyAcknowledgedRowOnThePrimary('primary node drained', before, start, 'switchover', primaryMovedFrom(before));
  }, 360_000);

  (realNodeCount() > 1 ? it.each(REPEATS) : it.skip.each(REPEATS))("a power cut of the primary's node: a replica takes over, the node's return brings the old primary back as a replica, no acknowledged row is lost (run %i)", async () => {
    await primaryAwayFromTheWriter();
    const before = await healthyWith(3);
    const primary = before.primary ?? '';
    const node = (await podOf(primary)).spec.nodeName;
    const { restarts } = await server(primary);
    const start = uptime();
    realCluster('stop-node', '--real', node.replace(/^real-/, ''));
    let failedOver: DbStatus;
    try {
      failedOver = await eventually(
        async () => {
          const s = await dbStatus();
          if (s.primary === primary || s.primary === undefined) throw new Error(`database ${s.state ?? 'unknown'}: ${s.reason ?? ''}`);
          return s;
        },
        { timeoutMs: 240_000, intervalMs: 1000, description: `a failover away from ${primary}` },
      );
      console.log(`power cut of ${node}: failed over to ${failedOver.primary} after ${(uptime() - start).toFixed(1)} s`);
    } finally {
      realCluster('start-node', '--real', node.replace(/^real-/, ''));
    }
    expect(failedOver.lastFailover).toMatchObject({ from: primary, to: failedOver.primary });
    const after = await everyAcknowledgedRowOnThePrimary('primary node power cut', before, start, 'failover', restartedAndReady(primary, restarts));
    expect(after.replicas).toContain(primary);
  }, 480_000);
});
