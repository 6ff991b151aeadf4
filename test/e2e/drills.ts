/**
 * The database drills, one matrix for every configuration they run on (W2): a test file brings up
 * a stack and its operator and calls `registerDrills` with what it made. Two writers insert
 * numbered rows through the `-primary` Service (writer.ts: a connection per row, and the test app
 * with its pool); each drill breaks something, waits until the database is Healthy with every
 * instance, acks are awaited again and both writers write, then requires every acknowledged row on
 * the primary. Every drill leaves a record, the ones that did not recover included; the records go
 * to $TMPDIR/webstack-db-drills-<configuration>.json, the raw results docs/failure-modes.md is made
 * from (hack/gen-failure-modes.ts).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DatabaseSpec, SeedProgress } from '../../operator/api/types.js';
import { MYSQL } from '../../operator/blueprint/layout.js';
import type { DrillRecord } from '../../hack/drill-record.js';
import { eventually, getJson, kubectl, repoRoot } from '../support/cluster.js';
import { applyIn } from '../support/objects.js';
import { realCluster, realNodeCount } from './host.js';
import { acks, clientErrors, longestGap, pooledWriterPod, uptime, writerPod } from './writer.js';

/**
 * Each drill runs this many times: WEBSTACK_DB_DRILL_REPEATS, 1 in `npm test` (one bounded case of
 * each kind), 5 in `npm run test:drills` (the matrix the failure table is made from).
 */
const REPEATS = Array.from({ length: Number(process.env.WEBSTACK_DB_DRILL_REPEATS ?? '1') }, (_, i) => i + 1);

/** A stack the drills run on, and what its test file knows of it. */
export interface DrillTarget {
  /** Names the configuration in the records and their file: `defaults`, `mariadb-3`. */
  configuration: string;
  namespace: string;
  stack: string;
  engine: 'mysql' | 'mariadb';
  instances: number;
  durability: 'Required' | 'Preferred';
  /** The WebStack's spec.database as applied ({} for the defaults): a drill that changes it restores it. */
  database: DatabaseSpec;
  /** An image that does not exist, for the bad-image drill. */
  missingImage: string;
  /** The node the writers run on: never a node a drill cuts. */
  writerNode: string;
  /** What the operator logged lately, for a drill that fails. */
  operatorLog(): Promise<string>;
  /**
   * Makes more stacks of the same configuration in the namespace, off the writers' node, and
   * returns their names: the several-stacks power cut runs only where the test file offers them.
   */
  moreStacks?(): Promise<string[]>;
}

interface DbStatus {
  primary?: string;
  state?: string;
  reason?: string;
  replicas?: string[];
  acksReleased?: { since: string };
  commitsWaitingForAck?: number;
  seeding?: SeedProgress;
  lastFailover?: { from: string; to: string; reason: string };
  lastSwitchover?: { from: string; to: string; reason: string };
}

interface PodState {
  metadata: { uid: string; labels: Record<string, string>; deletionTimestamp?: string; creationTimestamp: string; name: string };
  spec: { nodeName: string; volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[] };
  status: { podIP?: string; containerStatuses?: { name: string; restartCount: number; ready: boolean }[] };
}

const WRITERS = ['writer', 'pooled'] as const;
type Writer = (typeof WRITERS)[number];
const TABLES: Record<Writer, string> = { writer: 'acked', pooled: 'pooled' };
/** The bound a drill has to recover in: past it, its row says it did not. */
const RECOVERY_BOUND_MS = 300_000;
/** An outage longer than this prints the database loop's steps, for the figure's why. */
const SLOW_OUTAGE_SECONDS = 5;
const COMMIT = ((): string => {
  const git = (...args: string[]) => execFileSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8' }).trim();
  try {
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') === '' ? '' : '+'}`;
  } catch {
    return 'unknown';
  }
})();
const SERVER_PROCESS = { mysql: 'mysqld', mariadb: 'mariadbd' } as const;
const CLIENT = { mysql: 'mysql', mariadb: 'mariadb' } as const;

/** The drills against one stack, reading and breaking it through kubectl and the host. */
class Drills {
  constructor(
    readonly t: DrillTarget,
    private readonly records: DrillRecord[],
  ) {}

  private get db(): string {
    return `${this.t.stack}-mysql`;
  }

  async status(): Promise<DbStatus> {
    const ws = await getJson<{ status?: { database?: DbStatus } }>(['webstack', this.t.stack, '-n', this.t.namespace]);
    return ws.status?.database ?? {};
  }

  async condition(type: string): Promise<{ status: string; reason: string; message: string } | undefined> {
    const ws = await getJson<{ status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }>(['webstack', this.t.stack, '-n', this.t.namespace]);
    return ws.status?.conditions?.find((c) => c.type === type);
  }

  /** Healthy with `count` instances and waiting for acks again (no release in force). */
  async isHealthy(count = this.t.instances): Promise<boolean> {
    const s = await this.status();
    return s.state === 'Healthy' && s.primary !== undefined && (s.replicas?.length ?? 0) === count - 1 && s.acksReleased === undefined;
  }

  async healthyWith(count = this.t.instances, timeoutMs = 240_000): Promise<DbStatus> {
    await eventually(async () => ((await this.isHealthy(count)) ? true : Promise.reject(new Error(`database ${JSON.stringify(await this.status())}`))), {
      timeoutMs,
      intervalMs: 2000,
      description: `the database Healthy with ${count} instances`,
    });
    return this.status();
  }

  pod(name: string): Promise<PodState> {
    return getJson<PodState>(['pod', name, '-n', this.t.namespace]);
  }

  async databasePods(): Promise<PodState[]> {
    return (await getJson<{ items: PodState[] }>(['pods', '-n', this.t.namespace, '-l', 'app.kubernetes.io/component=database'])).items;
  }

  /** Restarts of the database server container of `pod`, and whether it is ready. */
  async server(pod: string): Promise<{ restarts: number; ready: boolean }> {
    const c = (await this.pod(pod)).status.containerStatuses?.find((s) => s.name === 'mysql');
    return { restarts: c?.restartCount ?? 0, ready: c?.ready ?? false };
  }

  /** The host pid of `pod`'s database server: the nodes share the host's pid namespace. */
  async serverPid(pod: string): Promise<number> {
    const uid = (await this.pod(pod)).metadata.uid;
    const program = SERVER_PROCESS[this.t.engine];
    for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      try {
        const argv0 = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0] ?? '';
        if (path.basename(argv0) !== program) continue;
        // cgroupfs keeps the pod UID's dashes, the systemd driver turns them into underscores.
        const cgroup = readFileSync(`/proc/${entry}/cgroup`, 'utf8');
        if (cgroup.includes(uid) || cgroup.includes(uid.replace(/-/g, '_'))) return Number(entry);
      } catch {
        // The process ended while we looked.
      }
    }
    throw new Error(`no ${program} process of pod ${pod}`);
  }

  /** The rows of a writer's table on `pod`, read in its container by the exporter's account (SELECT on every schema). */
  async rowsOn(pod: string, writer: Writer): Promise<Set<number>> {
    const query = `MYSQL_PWD="$${MYSQL.env.exporterPassword}" ${CLIENT[this.t.engine]} --protocol=socket --socket=${MYSQL.socket} --user=${MYSQL.users.exporter} --batch --skip-column-names -e "SELECT id FROM app.${TABLES[writer]}"`;
    const { stdout } = await kubectl(['exec', '-n', this.t.namespace, pod, '-c', 'mysql', '--', 'sh', '-c', query]);
    return new Set(stdout.split('\n').filter(Boolean).map(Number));
  }

  async startWriters(): Promise<void> {
    const service = await getJson<{ spec: { clusterIP: string } }>(['service', `${this.db}-primary`, '-n', this.t.namespace]);
    const options = { stack: this.t.stack, engine: this.t.engine, serviceIp: service.spec.clusterIP, nodeName: this.t.writerNode };
    await applyIn(this.t.namespace, [writerPod(options), pooledWriterPod(options)]);
    for (const writer of WRITERS) {
      await eventually(async () => ((await acks(this.t.namespace, writer)).length >= 10 ? true : Promise.reject(new Error('fewer than 10 acknowledged rows'))), {
        timeoutMs: 120_000,
        intervalMs: 1000,
        description: `${writer} commits through the -primary Service`,
      });
    }
  }

  /** The drill moved the primary away from `before`. */
  primaryMovedFrom(before: DbStatus): () => Promise<boolean> {
    return async () => {
      const now = await this.status();
      return now.primary !== undefined && now.primary !== before.primary;
    };
  }

  /** The server of `pod` was restarted (more restarts than `restarts`) and is ready again. */
  restartedAndReady(pod: string, restarts: number): () => Promise<boolean> {
    return async () => {
      const now = await this.server(pod).catch(() => ({ restarts: 0, ready: false }));
      return now.restarts > restarts && now.ready;
    };
  }

  async updateRevision(): Promise<string | undefined> {
    return (await getJson<{ status: { updateRevision?: string } }>(['statefulset', this.db, '-n', this.t.namespace])).status.updateRevision;
  }

  /**
   * Every database pod runs the StatefulSet's current template, and that is a newer one than
   * `before`: checked right after a patch, the StatefulSet may not have its new revision yet, and
   * then every pod looks up to date.
   */
  everyPodUpdatedFrom(before: string | undefined): () => Promise<boolean> {
    return async () => {
      const revision = await this.updateRevision();
      const pods = await this.databasePods();
      return revision !== before && pods.length === this.t.instances && pods.every((p) => !p.metadata.deletionTimestamp && p.metadata.labels['controller-revision-hash'] === revision);
    };
  }

  /** A merge patch of spec.database: null removes a field. */
  patchDatabase(database: Record<string, unknown>): Promise<unknown> {
    return kubectl(['patch', 'webstack', this.t.stack, '-n', this.t.namespace, '--type=merge', '-p', JSON.stringify({ spec: { database } })]);
  }

  /** Every row each writer saw acknowledged, and those of them missing on `primary`. */
  async rowsLost(primary: string): Promise<{ acknowledged: number; lost: number[] }> {
    const lost: number[] = [];
    let acknowledged = 0;
    for (const writer of WRITERS) {
      // Acknowledged first, rows second: a row acknowledged after the read cannot be asked for.
      const all = await acks(this.t.namespace, writer);
      const rows = await this.rowsOn(primary, writer);
      acknowledged += all.length;
      lost.push(...all.filter((a) => !rows.has(a.id)).map((a) => a.id));
    }
    // No acknowledged row at all would make "0 lost" say nothing.
    if (acknowledged === 0) throw new Error('no acknowledged row to look for');
    return { acknowledged, lost };
  }

  private base(scenario: string, run: number, before: DbStatus, instances: number) {
    const { configuration, engine, durability } = this.t;
    return { configuration, engine, instances, durability, commit: COMMIT, scenario, run, primaryBefore: before.primary ?? '' };
  }

  /** Records a drill that did not recover within its bound, then fails the test with the operator's log. */
  async didNotRecover(scenario: string, run: number, before: DbStatus, err: unknown, instances = this.t.instances): Promise<never> {
    const status = await this.status().catch((): DbStatus => ({}));
    const acknowledged = (await acks(this.t.namespace).catch(() => [])).length;
    this.records.push({
      ...this.base(scenario, run, before, instances),
      recovered: false,
      outageSeconds: null,
      pooledOutageSeconds: null,
      clientErrors: 0,
      acknowledged,
      lost: null,
      primaryAfter: status.primary ?? '',
      reason: `did not recover: ${String(err).slice(0, 300)}`,
    });
    throw new Error(`${String(err)}\noperator log:\n${await this.t.operatorLog()}`);
  }

  /**
   * After a drill started at `start` (boot clock): once `recovered` and Healthy with `count`
   * instances, both writers write again; then every row either saw acknowledged must be on the
   * primary. Records the figures, a drill that did not recover within the bound included.
   */
  async recovers(scenario: string, run: number, before: DbStatus, start: number, reason: string, recovered: () => Promise<boolean> = () => Promise.resolve(true), count = this.t.instances): Promise<DbStatus> {
    let recoveredAt = 0;
    try {
      await eventually(
        async () => {
          if (!(await recovered()) || !(await this.isHealthy(count))) throw new Error(`database ${JSON.stringify(await this.status())}`);
        },
        { timeoutMs: RECOVERY_BOUND_MS, intervalMs: 1000, description: `${scenario}: recovered and Healthy with ${count} instances` },
      );
      recoveredAt = uptime();
      for (const writer of WRITERS) {
        await eventually(async () => ((await acks(this.t.namespace, writer)).some((a) => a.at > recoveredAt) ? true : Promise.reject(new Error('no write since the recovery'))), {
          timeoutMs: 60_000,
          intervalMs: 500,
          description: `${scenario}: ${writer} writes again`,
        });
      }
    } catch (err) {
      // A drill that never recovers is a result too: its row says so before the test fails.
      return this.didNotRecover(scenario, run, before, err, count);
    }
    const after = await this.status();
    const outage = longestGap(await acks(this.t.namespace, 'writer'), start, recoveredAt);
    const pooled = longestGap(await acks(this.t.namespace, 'pooled'), start, recoveredAt);
    const errors = (await clientErrors(this.t.namespace)).filter((e) => e.at >= start && e.at <= recoveredAt);
    const { acknowledged, lost } = await this.rowsLost(after.primary ?? '');
    this.records.push({ ...this.base(scenario, run, before, count), recovered: true, outageSeconds: outage, pooledOutageSeconds: pooled, clientErrors: errors.length, acknowledged, lost: lost.length, primaryAfter: after.primary ?? '', reason });
    const kinds = [...new Set(errors.map((e) => /Error (\d+)/.exec(e.message)?.[1] ?? e.message.slice(0, 40)))];
    console.log(
      `${this.t.configuration}, ${scenario} (run ${run}): write outage ${outage.toFixed(1)} s (a connection per row), ${pooled.toFixed(1)} s (pooled app, ${errors.length} errors${kinds.length > 0 ? `: ${kinds.join(', ')}` : ''}), ${lost.length} of ${acknowledged} acknowledged rows lost, primary ${before.primary ?? ''} -> ${after.primary ?? ''}`,
    );
    if (lost.length > 0) throw new Error(`${scenario}: acknowledged rows ${lost.join(', ')} are not on the primary\noperator log:\n${await this.t.operatorLog()}`);
    if (Math.max(outage, pooled) > SLOW_OUTAGE_SECONDS) console.log(`${this.t.configuration}, ${scenario}: what the database loop did\n${await this.timeline(start)}`);
    return after;
  }

  /** The database loop's steps since `start` (boot clock), in seconds after it: where a long outage went. */
  private async timeline(start: number): Promise<string> {
    const wallStart = Date.now() - (uptime() - start) * 1000;
    return (await this.t.operatorLog())
      .split('\n')
      .flatMap((line) => {
        try {
          const entry = JSON.parse(line) as { time?: string; msg?: string; state?: string; action?: { kind?: string; reason?: string }; err?: string };
          const at = Date.parse(entry.time ?? '');
          if (!(at >= wallStart) || !/^database|retrying/.test(entry.msg ?? '')) return [];
          return [`  +${((at - wallStart) / 1000).toFixed(1)} s ${entry.msg ?? ''} ${entry.state ?? ''} ${entry.action?.kind ?? ''} ${entry.action?.reason ?? entry.err ?? ''}`.slice(0, 300)];
        } catch {
          return [];
        }
      })
      .join('\n');
  }

  /**
   * A planned switchover when `onTheWritersNode` holds for the primary's pod, so that cutting a
   * node leaves the writers: a lost volume may have brought an instance onto their node.
   */
  async switchOverWhen(onTheWritersNode: (primary: string, replicas: string[]) => Promise<boolean>): Promise<void> {
    const before = await this.healthyWith();
    if (!(await onTheWritersNode(before.primary ?? '', before.replicas ?? []))) return;
    await kubectl(['delete', 'pod', '-n', this.t.namespace, before.primary ?? '', '--wait=false']);
    await eventually(async () => ((await this.primaryMovedFrom(before)()) ? true : Promise.reject(new Error('primary not moved yet'))), { timeoutMs: 120_000, intervalMs: 1000, description: "a switchover away from the writers' node" });
  }

  async onTheWritersNode(pod: string): Promise<boolean> {
    return (await this.pod(pod)).spec.nodeName === this.t.writerNode;
  }

  /** Cuts the power of `node` until `during` returns (or throws); the node boots again in any case. */
  async powerCut<T>(node: string, during: () => Promise<T>): Promise<T> {
    if (node === this.t.writerNode) throw new Error(`refusing to cut ${node}: the writers run there`);
    const index = node.replace(/^real-/, '');
    realCluster('stop-node', '--real', index);
    try {
      return await during();
    } finally {
      realCluster('start-node', '--real', index);
    }
  }
}

/** The primary of each stack: which node it is on, and the stack's time to fail over after `start` (boot clock). */
async function failoverTimes(stacks: readonly Drills[], befores: readonly DbStatus[], start: number): Promise<number[]> {
  return Promise.all(
    stacks.map(async (x, i) => {
      const from = befores[i]?.primary;
      await eventually(
        async () => {
          const s = await x.status();
          if (s.primary === from || s.primary === undefined) throw new Error(`${x.t.stack}: ${s.state ?? 'unknown'}: ${s.reason ?? ''}`);
        },
        { timeoutMs: 240_000, intervalMs: 500, description: `${x.t.stack}: a failover away from ${from ?? ''}` },
      );
      return uptime() - start;
    }),
  );
}

/** Registers the drill matrix against the stack `target()` names (called once its file's beforeAll made it). */
export function registerDrills(target: () => DrillTarget): void {
  // Set by beforeAll: the stack exists only once the test file's own beforeAll made it.
  let d!: Drills;
  let others: Drills[] | undefined;
  const records: DrillRecord[] = [];
  beforeAll(async () => {
    d = new Drills(target(), records);
    await d.healthyWith(d.t.instances, 300_000);
    await d.startWriters();
  }, 420_000);

  afterAll(() => {
    const first = records[0];
    if (first) writeFileSync(path.join(tmpdir(), `webstack-db-drills-${first.configuration}.json`), JSON.stringify(records, null, 2));
  });

  it('both writers commit through the -primary Service, every acknowledged row on the primary', async () => {
    const { lost } = await d.rowsLost((await d.status()).primary ?? '');
    expect(lost).toEqual([]);
  }, 130_000);

  it.each(REPEATS)("the replica's pod deleted: the primary keeps it, writes go on, the replica comes back in sync (run %i)", async (run) => {
    const before = await d.healthyWith();
    const replica = before.replicas?.[(run - 1) % (before.replicas.length || 1)] ?? '';
    const uid = (await d.pod(replica)).metadata.uid;
    const start = uptime();
    await kubectl(['delete', 'pod', '-n', d.t.namespace, replica, '--wait=false']);
    const recreated = async () => (await d.pod(replica).catch(() => undefined))?.metadata.uid !== uid;
    const after = await d.recovers('replica pod deleted', run, before, start, 'replica re-created', recreated);
    expect(after.primary).toBe(before.primary);
  }, 420_000);

  it.each(REPEATS)('the primary pod deleted: a switchover to an in-sync replica (run %i)', async (run) => {
    const before = await d.healthyWith();
    const uid = (await d.pod(before.primary ?? '')).metadata.uid;
    const start = uptime();
    await kubectl(['delete', 'pod', '-n', d.t.namespace, before.primary ?? '', '--wait=false']);
    const moved = d.primaryMovedFrom(before);
    const recreated = async () => (await moved()) && (await d.pod(before.primary ?? '').catch(() => undefined))?.metadata.uid !== uid;
    const after = await d.recovers('primary pod deleted', run, before, start, 'switchover', recreated);
    expect(after.lastSwitchover).toMatchObject({ from: before.primary, to: after.primary });
  }, 420_000);

  it.each(REPEATS)("SIGKILL of the primary's server: a primary serves writes again (run %i)", async (run) => {
    const before = await d.healthyWith();
    const primary = before.primary ?? '';
    const { restarts } = await d.server(primary);
    const start = uptime();
    execFileSync('kill', ['-9', String(await d.serverPid(primary))]);
    const moved = d.primaryMovedFrom(before);
    const restarted = d.restartedAndReady(primary, restarts);
    await d.recovers('primary server SIGKILL', run, before, start, 'restart or failover', async () => (await moved()) || (await restarted()));
  }, 420_000);

  it.each(REPEATS)("SIGKILL of a replica's server: the primary stays, the replica catches up (run %i)", async (run) => {
    // The kubelet backs off restarting a container that failed before, per pod (10 s, 20 s, 40 s
    // ... 5 min; two instances have one replica, killed every run, after earlier drills killed
    // servers too): that would measure its back-off, not the database. So the drill kills a server
    // that has not failed in its pod yet, as in a first crash, re-creating the pod first if needed.
    let before = await d.healthyWith();
    const replicas = before.replicas ?? [];
    const replica = replicas[(run - 1) % replicas.length] ?? '';
    if ((await d.server(replica)).restarts > 0) {
      await kubectl(['delete', 'pod', '-n', d.t.namespace, replica, '--wait=true']);
      before = await d.healthyWith();
    }
    const { restarts } = await d.server(replica);
    const start = uptime();
    execFileSync('kill', ['-9', String(await d.serverPid(replica))]);
    await d.recovers('replica server SIGKILL', run, before, start, 'replica restarted', d.restartedAndReady(replica, restarts));
    expect((await d.status()).primary).toBe(before.primary);
    // The restarted replica caught up: it holds every row acknowledged before the kill.
    const ackedBefore = (await acks(d.t.namespace)).filter((a) => a.at < start).map((a) => a.id);
    await eventually(
      async () => {
        const rows = await d.rowsOn(replica, 'writer');
        const missing = ackedBefore.filter((id) => !rows.has(id));
        if (missing.length > 0) throw new Error(`${replica} misses ${missing.length} rows`);
      },
      { timeoutMs: 60_000, intervalMs: 2000, description: `${replica} caught up` },
    );
  }, 420_000);

  it.each(REPEATS)("the primary's volume and pod lost: a switchover, then the empty instance is seeded as a replica (run %i)", async (run) => {
    const before = await d.healthyWith();
    const primary = before.primary ?? '';
    const claim = (await d.pod(primary)).spec.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName ?? '';
    const claimUid = (await getJson<{ metadata: { uid: string } }>(['pvc', claim, '-n', d.t.namespace])).metadata.uid;
    const start = uptime();
    // The claim goes first (it stays Terminating while the pod uses it), then the pod: the
    // StatefulSet re-creates both, the new claim on a new, empty volume.
    await kubectl(['delete', 'pvc', claim, '-n', d.t.namespace, '--wait=false']);
    await kubectl(['delete', 'pod', primary, '-n', d.t.namespace, '--wait=false']);
    const moved = d.primaryMovedFrom(before);
    const newVolume = async (): Promise<boolean> => {
      const pvc = await getJson<{ metadata: { uid: string }; status?: { phase?: string } }>(['pvc', claim, '-n', d.t.namespace]).catch(() => undefined);
      return pvc !== undefined && pvc.metadata.uid !== claimUid && pvc.status?.phase === 'Bound';
    };
    // What status showed of the seed (a small database seeds in seconds, so it may show only its start).
    const seen: SeedProgress[] = [];
    const watch = setInterval(() => void d.status().then((s) => s.seeding && seen.push(s.seeding), () => undefined), 500);
    const after = await d
      .recovers('primary volume and pod lost', run, before, start, 'switchover, then seeding', async () => (await moved()) && (await newVolume()) && (await d.server(primary)).ready)
      .finally(() => clearInterval(watch));
    const last = seen.at(-1);
    console.log(`${d.t.configuration}, seeding as status showed it: ${last ? `${last.method} of ${last.instance} from ${last.donor}, ${String(last.copiedBytes ?? 0)} bytes copied (${seen.length} looks)` : 'never seen (over between two looks)'}`);
    expect(after.replicas).toContain(primary);
    // The re-created instance started empty and was seeded: it has every row acknowledged before.
    const rows = await d.rowsOn(primary, 'writer');
    expect((await acks(d.t.namespace)).filter((a) => a.at < start && !rows.has(a.id))).toEqual([]);
  }, 480_000);

  it.each(REPEATS)('a rolling update restarts the replicas first, then switches over once; and back (run %i)', async (run) => {
    // A new pod template (another CPU request), then the template as it was: two rollouts, two records.
    const requests = d.t.database.resources?.requests ?? {};
    for (const [what, resources] of [
      ['rolling update', { requests: { ...requests, cpu: `${50 + run * 10}m` } }],
      ['rolling update back', d.t.database.resources ?? null],
    ] as const) {
      const before = await d.healthyWith();
      const primary = before.primary ?? '';
      const revision = await d.updateRevision();
      const start = uptime();
      await d.patchDatabase({ resources });
      const after = await d.recovers(what, run, before, start, 'switchover', d.everyPodUpdatedFrom(revision));
      expect(after.lastSwitchover).toMatchObject({ from: primary, to: after.primary, reason: expect.stringContaining('rolling update') as unknown });
      // The old primary went last: its pod is the newest.
      const newest = [...(await d.databasePods())].sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp)).at(-1);
      expect(newest?.metadata.name).toBe(primary);
    }
  }, 900_000);

  it.each(REPEATS)('a renewal of the database certificate rolls the pods the same way: one switchover (run %i)', async (run) => {
    const before = await d.healthyWith();
    const primary = before.primary ?? '';
    const secretName = `${d.t.stack}-mysql-tls`;
    const certificates = await getJson<{ items: { metadata: { name: string }; spec: { secretName: string } }[] }>(['certificates', '-n', d.t.namespace]);
    const certificate = certificates.items.find((c) => c.spec.secretName === secretName)?.metadata.name ?? '';
    const served = async () => (await getJson<{ data: Record<string, string> }>(['secret', secretName, '-n', d.t.namespace])).data['tls.crt'];
    const oldCertificate = await served();
    const revision = await d.updateRevision();
    const start = uptime();
    // What `cmctl renew` does: the Issuing condition, set by hand.
    const issuing = { type: 'Issuing', status: 'True', reason: 'ManuallyTriggered', message: 'renewal asked for by the e2e drill', lastTransitionTime: new Date().toISOString() };
    await kubectl(['patch', 'certificate', certificate, '-n', d.t.namespace, '--subresource', 'status', '--type', 'json', '-p', JSON.stringify([{ op: 'add', path: '/status/conditions/-', value: issuing }])]);
    const renewedAndRolled = async (): Promise<boolean> => (await served()) !== oldCertificate && (await d.primaryMovedFrom(before)()) && (await d.everyPodUpdatedFrom(revision)());
    const after = await d.recovers('database certificate renewed', run, before, start, 'switchover', renewedAndRolled);
    expect(after.lastSwitchover).toMatchObject({ from: primary, to: after.primary, reason: expect.stringContaining('rolling update') as unknown });
  }, 900_000);

  it.each(REPEATS)('every replica frozen: commits wait for an ack and say so, then complete; the primary stays (run %i)', async (run) => {
    const before = await d.healthyWith();
    // A report left from an earlier drill would count as this one's: none may be there before the freeze.
    await eventually(
      async () => {
        const [s, ready] = await Promise.all([d.status(), d.condition('DatabaseReady')]);
        if (s.commitsWaitingForAck !== undefined || ready?.reason === 'WaitingForAcks') throw new Error(`still reported: ${String(s.commitsWaitingForAck)} waiting, DatabaseReady ${ready?.reason ?? ''}`);
      },
      { timeoutMs: 60_000, intervalMs: 1000, description: 'no commit reported waiting before the freeze' },
    );
    const pids = await Promise.all((before.replicas ?? []).map((r) => d.serverPid(r)));
    const start = uptime();
    // SIGSTOP: the replicas neither ack nor close their connections, as on a partitioned network.
    // Their liveness probe restarts them after 60 s, so the drill stays well within that.
    for (const pid of pids) execFileSync('kill', ['-STOP', String(pid)]);
    let reported: string;
    try {
      // Waiting commits are reported; with Preferred, once the API server shows the replicas not
      // Ready (their readiness probe hangs), the primary commits without acks and says that instead.
      reported = await eventually(
        async () => {
          const [s, ready] = await Promise.all([d.status(), d.condition('DatabaseReady')]);
          if ((s.commitsWaitingForAck ?? 0) >= 1 && ready?.reason === 'WaitingForAcks') return `${s.commitsWaitingForAck ?? 0} commits waiting for an ack`;
          if (s.acksReleased !== undefined) return `acks released since ${s.acksReleased.since}`;
          throw new Error(`commitsWaitingForAck ${s.commitsWaitingForAck ?? 0}, DatabaseReady ${ready?.reason ?? ''}`);
        },
        { timeoutMs: 40_000, intervalMs: 500, description: 'commits waiting for an ack, reported' },
      );
    } finally {
      for (const pid of pids) execFileSync('kill', ['-CONT', String(pid)]);
    }
    console.log(`${d.t.configuration}, replicas frozen: ${reported} after ${(uptime() - start).toFixed(1)} s`);
    await d.recovers('every replica frozen', run, before, start, 'replicas back');
    // The primary never moved: a lost ack is no reason to fail over.
    expect((await d.status()).primary).toBe(before.primary);
  }, 420_000);

  it.each(REPEATS)("draining the primary's node moves the primary first (run %i)", async (run) => {
    const before = await d.healthyWith();
    const primary = before.primary ?? '';
    const node = (await d.pod(primary)).spec.nodeName;
    const start = uptime();
    try {
      // Only the primary is evicted (the PDB allows one database pod down); its local volume keeps the
      // re-created pod off the cordoned node until it is uncordoned.
      await kubectl(['drain', node, '--pod-selector', `statefulset.kubernetes.io/pod-name=${primary}`, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=100s']);
      const moved = await d.status();
      expect(moved.primary).not.toBe(primary);
      expect(moved.lastSwitchover).toMatchObject({ from: primary, to: moved.primary });
    } finally {
      await kubectl(['uncordon', node]);
    }
    await d.recovers('primary node drained', run, before, start, 'switchover', d.primaryMovedFrom(before));
  }, 420_000);

  it.each(REPEATS)('a replica with an errant transaction is excluded with its remedy; applied, the remedy brings it back seeded, and the list empties (run %i)', async (run) => {
    const before = await d.healthyWith();
    const replica = before.replicas?.[0] ?? '';
    const start = uptime();
    // A write on the replica itself, as a person with the operator's password might make: a
    // transaction the primary never had. MySQL's super_read_only stops every account, so it is lifted for it.
    const lift = d.t.engine === 'mysql' ? ['SET GLOBAL super_read_only = OFF', 'INSERT INTO app.acked (id) VALUES (-1)', 'SET GLOBAL super_read_only = ON'] : ['INSERT INTO app.acked (id) VALUES (-1)'];
    // Over TCP with TLS (the server requires secure transport); the password is the operator's, from its Secret.
    const credentials = await getJson<{ data: Record<string, string> }>(['secret', `${d.t.stack}-mysql-credentials`, '-n', d.t.namespace]);
    const password = Buffer.from(credentials.data[MYSQL.secretKeys.operatorPassword] ?? '', 'base64').toString();
    const tls = d.t.engine === 'mysql' ? '--ssl-mode=REQUIRED' : '--ssl';
    const client = [CLIENT[d.t.engine], '--protocol=TCP', '--host=127.0.0.1', tls, `--user=${MYSQL.users.operator}`, '-e', lift.join('; ')];
    await kubectl(['exec', '-n', d.t.namespace, replica, '-c', 'mysql', '--', 'env', `MYSQL_PWD=${password}`, ...client]);
    const excluded = await eventually(
      async () => {
        const ws = await getJson<{ status?: { database?: { excluded?: { name: string; remedy: string }[] } } }>(['webstack', d.t.stack, '-n', d.t.namespace]);
        return ws.status?.database?.excluded?.find((e) => e.name === replica) ?? Promise.reject(new Error(`${replica} not excluded yet`));
      },
      { timeoutMs: 120_000, intervalMs: 1000, description: `${replica} excluded` },
    ).catch((err: unknown) => d.didNotRecover('errant replica excluded, remedied, rejoined', run, before, err));
    console.log(`${d.t.configuration}, ${replica} excluded after ${(uptime() - start).toFixed(1)} s; remedy: ${excluded.remedy}`);
    expect(excluded.remedy).toContain(`delete PersistentVolumeClaim data-${replica}`);
    // The remedy, as the status says it.
    await kubectl(['delete', 'pvc', `data-${replica}`, '-n', d.t.namespace, '--wait=false']);
    await kubectl(['delete', 'pod', replica, '-n', d.t.namespace, '--wait=false']);
    const rejoined = async () => {
      const ws = await getJson<{ status?: { database?: { excluded?: unknown[] } } }>(['webstack', d.t.stack, '-n', d.t.namespace]);
      return (ws.status?.database?.excluded ?? []).length === 0 && (await d.server(replica).catch(() => ({ ready: false }))).ready;
    };
    await d.recovers('errant replica excluded, remedied, rejoined', run, before, start, 'remedy applied, seeded', rejoined);
    expect((await d.rowsOn(replica, 'writer')).has(-1)).toBe(false);
  }, 600_000);

  it.each(REPEATS)('a bad spec.database.image stalls with the reason while writes go on; reverting it heals the tier without a human (run %i)', async (run) => {
    const before = await d.healthyWith();
    const start = uptime();
    await d.patchDatabase({ image: d.t.missingImage });
    const stalled = await eventually(
      async () => {
        const ready = await d.condition('DatabaseReady');
        if (!['ErrImagePull', 'ImagePullBackOff'].includes(ready?.reason ?? '') || (await d.condition('Stalled'))?.status !== 'True') throw new Error(`DatabaseReady ${JSON.stringify(ready)}`);
        return ready;
      },
      { timeoutMs: 180_000, intervalMs: 2000, description: 'DatabaseReady Stalled on the image' },
    );
    expect(stalled?.message).toMatch(new RegExp(`${d.t.stack}-mysql-\\d cannot start`));
    const whileStalled = uptime();
    await eventually(async () => ((await acks(d.t.namespace)).some((a) => a.at > whileStalled) ? true : Promise.reject(new Error('no write since the stall'))), {
      timeoutMs: 30_000,
      intervalMs: 1000,
      description: 'writes going on beside the broken replica',
    });
    await d.patchDatabase({ image: d.t.database.image ?? null });
    await d.recovers('bad image, then reverted', run, before, start, 'reverted');
  }, 600_000);

  it.each(REPEATS)('scale up under writes: the new instance is seeded and joins; scale down with the primary at the highest ordinal: a switchover first, never two writers (run %i)', async (run) => {
    const { instances } = d.t;
    const up = await d.healthyWith();
    const start = uptime();
    await d.patchDatabase({ replicas: instances + 1 });
    const added = `${d.t.stack}-mysql-${instances}`;
    await d.recovers(`scale ${instances} to ${instances + 1}`, run, up, start, 'seeded and in sync', async () => (await d.server(added).catch(() => ({ ready: false }))).ready, instances + 1);
    const ackedBefore = (await acks(d.t.namespace)).filter((a) => a.at < start).map((a) => a.id);
    const rows = await d.rowsOn(added, 'writer');
    expect(ackedBefore.filter((id) => !rows.has(id))).toEqual([]);
    // The case that made two writers: the primary is the instance the scale-down removes. A planned
    // switchover picks the first in-sync replica, so the others are frozen (SIGSTOP: they neither
    // answer nor ack) while the primary's pod is deleted, and the added instance takes over.
    const moving = await d.healthyWith(instances + 1);
    if (moving.primary !== added) {
      const others = await Promise.all((moving.replicas ?? []).filter((r) => r !== added).map((r) => d.serverPid(r)));
      for (const pid of others) execFileSync('kill', ['-STOP', String(pid)]);
      try {
        await kubectl(['delete', 'pod', '-n', d.t.namespace, moving.primary ?? '', '--wait=false']);
        await eventually(async () => ((await d.status()).primary === added ? true : Promise.reject(new Error(`primary ${(await d.status()).primary ?? ''}`))), {
          timeoutMs: 120_000,
          intervalMs: 1000,
          description: `a switchover to ${added}`,
        }).catch(() => undefined);
      } finally {
        for (const pid of others) execFileSync('kill', ['-CONT', String(pid)]);
      }
    }
    const down = await d.healthyWith(instances + 1);
    console.log(`${d.t.configuration}: scaling down with the primary on ${down.primary ?? ''} (the removed instance is ${added})`);
    const downStart = uptime();
    await d.patchDatabase({ replicas: d.t.database.replicas ?? null });
    const gone = async () => (await d.databasePods()).length === instances;
    const after = await d.recovers(`scale ${instances + 1} to ${instances}${down.primary === added ? ', the primary removed' : ''}`, run, down, downStart, 'scaled down', gone);
    expect(after.primary).not.toBe(added);
  }, 900_000);

  (realNodeCount() > 1 ? it.each(REPEATS) : it.skip.each(REPEATS))("a power cut of a replica's node: writes go on (Preferred: after the API server shows it down), the replica rejoins when the node is back (run %i)", async (run) => {
    // A replica off the writers' node: with two instances, the primary moves when the replica is there.
    await d.switchOverWhen(async (_, replicas) => {
      for (const r of replicas) if (!(await d.onTheWritersNode(r))) return false;
      return true;
    });
    const before = await d.healthyWith();
    const candidates = [];
    for (const r of before.replicas ?? []) if (!(await d.onTheWritersNode(r))) candidates.push(r);
    const replica = candidates[0] ?? '';
    const node = (await d.pod(replica)).spec.nodeName;
    const { restarts } = await d.server(replica);
    const start = uptime();
    await d.powerCut(node, async () => {
      // The node stays down until writes went on without it, 2 s after it went (commits under way
      // then may still have been acknowledged), or for at most 2 minutes: a Required cluster waits.
      const cut = uptime();
      const resumed = await eventually(async () => ((await acks(d.t.namespace)).find((a) => a.at > cut + 2) ?? Promise.reject(new Error('no write since the cut'))), {
        timeoutMs: 120_000,
        intervalMs: 500,
        description: `writes going on while ${node} is down`,
      }).catch(() => undefined);
      console.log(`${d.t.configuration}, power cut of ${node} (replica ${replica}): ${resumed ? `writes went on ${(resumed.at - start).toFixed(1)} s after the cut began` : 'no write for 2 minutes'}`);
    });
    await d.recovers('replica node power cut', run, before, start, 'node back, replica rejoined', d.restartedAndReady(replica, restarts));
    expect((await d.status()).primary).toBe(before.primary);
  }, 600_000);

  (realNodeCount() > 1 ? it.each(REPEATS) : it.skip.each(REPEATS))("a power cut of the primary's node: a replica takes over, the old primary rejoins as a replica when the node is back (run %i)", async (run) => {
    await d.switchOverWhen((primary) => d.onTheWritersNode(primary));
    const before = await d.healthyWith();
    const primary = before.primary ?? '';
    const node = (await d.pod(primary)).spec.nodeName;
    const { restarts } = await d.server(primary);
    const start = uptime();
    const failedOver = await d.powerCut(node, () =>
      eventually(
        async () => {
          const s = await d.status();
          if (s.primary === primary || s.primary === undefined) throw new Error(`database ${s.state ?? 'unknown'}: ${s.reason ?? ''}`);
          return s;
        },
        { timeoutMs: 240_000, intervalMs: 1000, description: `a failover away from ${primary}` },
      ).then((s) => {
        console.log(`${d.t.configuration}, power cut of ${node}: failed over to ${s.primary ?? ''} after ${(uptime() - start).toFixed(1)} s`);
        return s;
      }),
    ).catch((err: unknown) => d.didNotRecover('primary node power cut', run, before, err));
    expect(failedOver.lastFailover).toMatchObject({ from: primary, to: failedOver.primary });
    const after = await d.recovers('primary node power cut', run, before, start, 'failover', d.restartedAndReady(primary, restarts));
    expect(after.replicas).toContain(primary);
  }, 600_000);

  const severalStacks = realNodeCount() > 1 && target().moreStacks !== undefined;
  (severalStacks ? it.each(REPEATS) : it.skip.each(REPEATS))("a power cut of the node holding several stacks' primaries: every stack fails over, none waits for another (run %i)", async (run) => {
    others ??= (await (d.t.moreStacks?.() ?? Promise.resolve([]))).map((stack) => new Drills({ ...d.t, stack }, []));
    const all = [d, ...others];
    await d.switchOverWhen((primary) => d.onTheWritersNode(primary));
    const node = (await d.pod((await d.healthyWith()).primary ?? '')).spec.nodeName;
    // Every other stack's primary onto that node too (a switchover where it is elsewhere).
    for (const x of others) await x.switchOverWhen(async (primary) => (await x.pod(primary)).spec.nodeName !== node);
    const befores = await Promise.all(all.map((x) => x.healthyWith()));
    const before = befores[0] ?? {};
    const primary = before.primary ?? '';
    const { restarts } = await d.server(primary);
    const start = uptime();
    const times = await d.powerCut(node, () => failoverTimes(all, befores, start)).catch((err: unknown) => d.didNotRecover('several stacks, primary node power cut', run, before, err));
    console.log(`${d.t.configuration}, power cut of ${node} holding ${String(all.length)} primaries: failed over after ${all.map((x, i) => `${x.t.stack} ${(times[i] ?? 0).toFixed(1)} s`).join(', ')}`);
    await d.recovers('several stacks, primary node power cut', run, before, start, 'failover', d.restartedAndReady(primary, restarts));
    for (const x of others) await x.healthyWith();
    // One stack's failover does not wait for another's: they come within a few looks of each other.
    expect(Math.max(...times) - Math.min(...times)).toBeLessThan(10);
  }, 900_000);
}
