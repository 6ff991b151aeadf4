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
import { applyIn, image, restricted, smallResources } from './objects.js';

/** Each drill runs this many times (WEBSTACK_DB_DRILL_REPEATS, default 2); the full count is 5. */
const REPEATS = Array.from({ length: Number(process.env.WEBSTACK_DB_DRILL_REPEATS ?? '2') }, (_, i) => i + 1);
const STACK = 'shop';
const DB = `${STACK}-mysql`;
let ns: string;
let operator: RunningOperator;
const drills: { scenario: string; outageSeconds: number; acknowledged: number; lost: number; primaryBefore: string; primaryAfter: string; reason: string }[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stack(): WebStack {
  return {
    apiVersion: 'webstack.dev/v1alpha1',
    kind: 'WebStack',
    metadata: { name: STACK, namespace: ns },
    spec: {
      domain: 'shop.e2e.test',
      // terminate: no internal TLS, so no Certificate for the cluster's stand-in issuer to answer
      // (the hop's TLS is the stack e2e's subject); replication and the controller run in clear here.
      tls: { mode: 'terminate', issuerRef: { name: 'none' } },
      app: { image: image('app:1.0'), replicas: 1 },
      loadBalancer: { replicas: 1 },
      web: { replicas: 1 },
      database: {
        engine: 'mariadb',
        replicas: 3,
        storage: { size: '1Gi' },
        resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '512Mi' } },
        deletionPolicy: 'Delete',
      },
      logging: { enabled: false },
      firewall: { extraIngress: [{ tier: 'database', from: { podLabels: { 'e2e.webstack.dev/writer': 'true' } }, ports: [{ port: 3306 }] }] },
    },
  };
}

/** Inserts rows 1, 2, ... one connection each (as a stateless client would), printing `ack N` for each committed one. */
function writerPod(): object {
  const client = `timeout 15 mariadb --host=${DB}-primary --user=app --skip-ssl --connect-timeout=2 app`;
  const script = [
    `until ${client} -e 'CREATE TABLE IF NOT EXISTS acked (id INT PRIMARY KEY)' 2>/dev/null; do sleep 1; done`,
    'echo ready',
    'i=0',
    `while true; do i=$((i+1)); if ${client} -e "INSERT INTO acked (id) VALUES ($i)" 2>/dev/null; then echo "ack $i"; fi; sleep 0.2; done`,
  ].join('\n');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'writer', labels: { 'e2e.webstack.dev/writer': 'true' } },
    spec: {
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'writer',
          image: image('toolbox:1.0'),
          imagePullPolicy: 'Never',
          command: ['sh', '-c', script],
          env: [{ name: 'MYSQL_PWD', valueFrom: { secretKeyRef: { name: `${DB}-credentials`, key: 'app-password' } } }],
          securityContext: restricted(65534),
          resources: smallResources,
        },
      ],
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
  const { stdout } = await kubectl(['logs', '-n', ns, 'writer'], { allowFail: true });
  return stdout.split('\n').flatMap((l) => {
    const id = /^ack (\d+)$/.exec(l)?.[1];
    return id === undefined ? [] : [Number(id)];
  });
}

async function password(): Promise<string> {
  const secret = await getJson<{ data: Record<string, string> }>(['secret', `${DB}-credentials`, '-n', ns]);
  return Buffer.from(secret.data['operator-password'] ?? '', 'base64').toString();
}

/** The rows on `pod`, read as the operator does (pod IP, its account). */
async function rowsOn(pod: string): Promise<Set<number>> {
  const ip = (await getJson<{ status: { podIP: string } }>(['pod', pod, '-n', ns])).status.podIP;
  const session = await openSession({
    host: ip,
    port: 3306,
    user: 'webstack-operator',
    password: await password(),
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

/** How long writes stopped: the longest gap between consecutive acknowledgements around the drill. */
async function writeOutage(start: number, until: () => Promise<boolean>): Promise<number> {
  let lastAck = start;
  let longest = 0;
  let seen = (await acknowledged()).length;
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    await sleep(500);
    const n = (await acknowledged()).length;
    if (n > seen) {
      longest = Math.max(longest, Date.now() - lastAck);
      lastAck = Date.now();
      seen = n;
      if (await until()) return longest / 1000;
    }
  }
  throw new Error('writes did not resume within 4 minutes');
}

async function everyAcknowledgedRowOnThePrimary(scenario: string, before: DbStatus, start: number, reason: string): Promise<void> {
  const outageSeconds = await writeOutage(start, async () => (await dbStatus()).state === 'Healthy');
  const after = await healthyWith(3);
  await sleep(1000);
  const acked = await acknowledged();
  const rows = await rowsOn(after.primary ?? '');
  const lost = acked.filter((id) => !rows.has(id));
  drills.push({ scenario, outageSeconds, acknowledged: acked.length, lost: lost.length, primaryBefore: before.primary ?? '', primaryAfter: after.primary ?? '', reason });
  expect({ scenario, lost }).toEqual({ scenario, lost: [] });
}

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

beforeAll(async () => {
  await installCrds();
  ns = await newNamespace('db', { restricted: true });
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
  await operator.stop();
  if (ns) await deleteNamespace(ns);
}, 120_000);

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
    await applyIn(ns, [writerPod()]);
    await eventually(async () => ((await acknowledged()).length >= 20 ? true : Promise.reject(new Error('fewer than 20 acknowledged rows'))), { timeoutMs: 120_000, intervalMs: 2000, description: '20 acknowledged rows' });
    // Acknowledged first, rows second: a row acknowledged after the read cannot be asked for.
    const acked = await acknowledged();
    const rows = await rowsOn((await dbStatus()).primary ?? '');
    expect(acked.filter((id) => !rows.has(id))).toEqual([]);
  }, 130_000);

  it.each(REPEATS)('deleting the primary pod switches over to an in-sync replica, losing no acknowledged row (run %i)', async () => {
    const before = await dbStatus();
    const start = Date.now();
    await kubectl(['delete', 'pod', '-n', ns, before.primary ?? '', '--wait=false']);
    await everyAcknowledgedRowOnThePrimary('primary pod deleted', before, start, 'switchover');
    const after = await dbStatus();
    expect(after.primary).not.toBe(before.primary);
    expect(after.lastSwitchover).toMatchObject({ from: before.primary, to: after.primary });
  }, 300_000);

  it.each(REPEATS)('SIGKILL of the primary\'s mysqld: a primary serves writes again and no acknowledged row is lost (run %i)', async () => {
    const before = await dbStatus();
    const start = Date.now();
    execFileSync('kill', ['-9', String(await serverPid(before.primary ?? ''))]);
    await everyAcknowledgedRowOnThePrimary('primary mysqld SIGKILL', before, start, 'restart or failover');
  }, 300_000);

  it('every replica frozen: commits wait for an ack and say so (status, DatabaseReady, Event), then complete, none lost', async () => {
    const before = await healthyWith(3);
    const replicas = before.replicas ?? [];
    const pids = await Promise.all(replicas.map(serverPid));
    const start = Date.now();
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
          return { waiting, condition, seconds: (Date.now() - start) / 1000 };
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
    const start = Date.now();
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
    await everyAcknowledgedRowOnThePrimary('primary node drained', before, start, 'switchover');
  }, 360_000);
});
