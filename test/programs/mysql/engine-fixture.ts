/**
 * What every engine-tier test file shares: servers of one kind started once per file and reset
 * before each test, the operator's instances and the application's connections to them (closed
 * after each test), a small primary-and-replicas cluster, and the facts decide() reads.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from '@jest/globals';
import mysql from 'mysql2/promise';
import type { ClusterFacts } from '../../../operator/database/facts.js';
import { semiSyncAckCount, type EngineAdapter } from '../../../operator/mysql/engine.js';
import { Instance, observeInstance } from '../../../operator/mysql/instance.js';
import type { InstanceStatus } from '../../../operator/mysql/types.js';
import { APP, startServers, type DatabaseServer, type DatabaseServers, type ServerKindName } from '../../support/mysql-servers.js';

export async function eventually<T>(what: string, probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!accept(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    last = await probe();
  }
  return last;
}

export const replicating = (s: InstanceStatus): boolean => s.replication?.ioThread === 'running' && s.replication.sqlThreadRunning;

export interface EngineFixture {
  servers: () => [DatabaseServer, DatabaseServer, DatabaseServer];
  otherCa: () => string;
  connect: (server: DatabaseServer) => Promise<Instance>;
  /** The application's own connection (no SUPER: read-only applies), over verified TLS. */
  app: (server: DatabaseServer) => Promise<mysql.Connection>;
  /** `primary` as the semi-sync primary and the others as its replicas, all replicating, with table shop.t. */
  cluster: (primary: DatabaseServer, ...replicas: DatabaseServer[]) => Promise<{ primary: Instance; replicas: Instance[] }>;
  /**
   * Servers a (primary) and b (replica) replicating, then b's IO thread stopped and one commit on a
   * waiting for the ack no one will send. `pending` is that commit; `waiting`, a's status then.
   */
  commitWaitingForAck: (note: string) => Promise<{ primary: Instance; replica: Instance; pending: Promise<unknown>; waiting: InstanceStatus }>;
  insertRows: (server: DatabaseServer, from: number, to: number) => Promise<void>;
  rowCount: (server: DatabaseServer) => Promise<number>;
  /** What the database loop would gather: SQL status of each server, pod facts as given. */
  observe: (members: DatabaseServer[], primary: string, options?: { podsDown?: string[]; switchover?: string }) => Promise<ClusterFacts>;
}

/** Registers the hooks of a test file whose tests run against three servers of `kind`. */
export function engineFixture(kind: ServerKindName, adapter: EngineAdapter): EngineFixture {
  let env: DatabaseServers | undefined;
  let opened: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    env = await startServers(kind, 3);
  }, 90_000);
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(async () => {
    await Promise.all(
      servers().map(async (server) => {
        if (!server.running) await server.start();
        await server.reset();
      }),
    );
  }, 30_000);
  afterEach(async () => {
    await Promise.all(opened.map((o) => o.close().catch(() => undefined)));
    opened = [];
  });

  function servers(): [DatabaseServer, DatabaseServer, DatabaseServer] {
    const [a, b, c] = env?.servers ?? [];
    if (!a || !b || !c) throw new Error('the servers did not start');
    return [a, b, c];
  }

  async function connect(server: DatabaseServer): Promise<Instance> {
    const instance = await Instance.connect(adapter, server.target());
    opened.push(instance);
    return instance;
  }

  async function app(server: DatabaseServer): Promise<mysql.Connection> {
    const connection = await mysql.createConnection({ host: '127.0.0.1', port: server.port, ...APP, ssl: { ca: env?.ca ?? '', rejectUnauthorized: true } });
    opened.push({ close: () => connection.end() });
    return connection;
  }

  async function cluster(primary: DatabaseServer, ...replicas: DatabaseServer[]): Promise<{ primary: Instance; replicas: Instance[] }> {
    const p = await connect(primary);
    await p.promote({ ackCount: 1 });
    const rs = await Promise.all(replicas.map((r) => connect(r)));
    for (const r of rs) await r.repoint(primary.asSource(), { semiSync: true });
    for (const r of rs) await eventually('replication running', () => r.status(), replicating);
    const writer = await app(primary);
    await writer.query('CREATE TABLE shop.t (id INT PRIMARY KEY, note VARCHAR(40))');
    return { primary: p, replicas: rs };
  }

  async function commitWaitingForAck(note: string): Promise<{ primary: Instance; replica: Instance; pending: Promise<unknown>; waiting: InstanceStatus }> {
    const [a, b] = servers();
    const { primary, replicas } = await cluster(a, b);
    const [replica] = replicas;
    if (!replica) throw new Error('no replica');
    await replica.stopReplicationIo();
    const writer = await app(a);
    const pending = writer.query('INSERT INTO shop.t VALUES (1, ?)', [note]);
    // Handled where the test awaits it; until then a rejection is expected, not unhandled.
    pending.catch(() => undefined);
    const waiting = await eventually('a session waiting for an ack', () => primary.status(), (s) => s.semiSync.waitingSessions === 1);
    return { primary, replica, pending, waiting };
  }

  async function insertRows(server: DatabaseServer, from: number, to: number): Promise<void> {
    const writer = await app(server);
    for (let id = from; id <= to; id++) await writer.query('INSERT INTO shop.t VALUES (?, ?)', [id, `row ${String(id)}`]);
  }

  async function rowCount(server: DatabaseServer): Promise<number> {
    const rows = await server.rootQuery('SELECT COUNT(*) AS n FROM shop.t');
    return Number(rows[0]?.n);
  }

  async function observe(members: DatabaseServer[], primary: string, options: { podsDown?: string[]; switchover?: string } = {}): Promise<ClusterFacts> {
    const instances = await Promise.all(
      members.map(async (server) => {
        const sql = await observeInstance(adapter, server.target());
        const down = options.podsDown?.includes(server.name) ?? false;
        return {
          name: server.name,
          address: { host: '127.0.0.1', port: server.port },
          pod: { exists: true, ready: !down, terminating: false, nodeReady: true, outdated: false },
          sql,
          unreachableForMs: sql.reachable ? 0 : 60_000,
        };
      }),
    );
    return {
      instances,
      primary,
      excluded: [],
      failoverDelayMs: 30_000,
      ackCount: semiSyncAckCount(adapter.engine, members.length),
      durability: 'Required',
      maxLagSeconds: 30,
      ...(options.switchover === undefined ? {} : { switchoverRequested: { reason: options.switchover } }),
    };
  }

  return { servers, otherCa: () => env?.otherCa ?? '', connect, app, cluster, commitWaitingForAck, insertRows, rowCount, observe };
}
