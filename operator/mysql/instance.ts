/**
 * One instance, driven over SQL: the operations the database loop calls, each a sequence from
 * operations.ts run on one session. Errors propagate: the caller decides again from fresh status.
 */
import { interpretStatus, readRawStatus, type EngineAdapter } from './engine.js';
import type { GtidSet } from './gtid.js';
import {
  commitsWaitingForAckQuery,
  connectionsAliveQuery,
  ER_LOCK_WAIT_TIMEOUT,
  ER_NO_SUCH_THREAD,
  fenceStatements,
  clientConnectionsQuery,
  killConnectionStatement,
  offlineStatements,
  onlineStatements,
  otherAccountsConnectionsQuery,
  promoteStatements,
  repointStatements,
  semiSyncSourceOffStatements,
  semiSyncSourceOnStatements,
  type FenceOptions,
  type PromoteOptions,
  type RepointOptions,
} from './operations.js';
import { DEFAULT_QUERY_TIMEOUT_MS, openSession, type Row, type SqlSession } from './session.js';
import type { ConnectionTarget, InstanceObservation, InstanceStatus, ReplicationSource } from './types.js';

/** How long fencing waits for the connections it killed to end before it tries again. */
const KILLED_CONNECTIONS_GONE_MS = 5000;
/** A stray writer's fence waits this long for a lock before its clients are cut off: every second it stays writable is a second of two writers. */
const STRAY_WRITER_LOCK_WAIT_SECONDS = 1;

export class Instance {
  constructor(
    readonly adapter: EngineAdapter,
    private readonly session: SqlSession,
  ) {}

  static async connect(adapter: EngineAdapter, target: ConnectionTarget): Promise<Instance> {
    return new Instance(adapter, await openSession(target));
  }

  async status(): Promise<InstanceStatus> {
    return interpretStatus(await readRawStatus(this.session, this.adapter), this.adapter);
  }

  /** Stops receiving from the source (the applier goes on): an old primary gets no more acks. */
  async stopReplicationIo(): Promise<void> {
    await this.run([this.adapter.stopReplicaIo()]);
  }

  async startReplication(): Promise<void> {
    await this.run([this.adapter.startReplica()]);
  }

  /** Waits until `set` is applied; false when the timeout passed first. */
  async waitForGtid(set: GtidSet, timeoutMs: number): Promise<boolean> {
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    // The server's own timeout answers first; the session's only guards against a hung server.
    const rows = await this.session.query(this.adapter.waitForGtid(set, seconds), { timeoutMs: seconds * 1000 + DEFAULT_QUERY_TIMEOUT_MS });
    return Number(rows[0]?.reached ?? 0) === 1;
  }

  /** Waits until everything received is applied (the relay log is drained); false on timeout. */
  async waitUntilApplied(timeoutMs: number): Promise<boolean> {
    const status = await this.status();
    if (status.executed.includes(status.received)) return true;
    return this.waitForGtid(status.received, timeoutMs);
  }

  async promote(options: PromoteOptions): Promise<void> {
    await this.run(promoteStatements(this.adapter, options));
  }

  async repoint(source: ReplicationSource, options: RepointOptions): Promise<void> {
    await this.run(repointStatements(this.adapter, source, options));
  }

  /**
   * Read-only. While commits wait for acks it rejects with the server's lock wait timeout, unless
   * asked to interrupt them (see FenceOptions).
   */
  async fence(options: FenceOptions = {}): Promise<void> {
    try {
      await this.run(fenceStatements(this.adapter, options));
    } catch (err) {
      if (!options.interruptCommitsWaitingForAck || errorCode(err) !== ER_LOCK_WAIT_TIMEOUT) throw err;
      await this.interruptCommitsWaitingForAck();
      await this.run(fenceStatements(this.adapter, options));
      await this.run(onlineStatements(this.adapter));
    }
  }

  /**
   * Fences a writable instance that is not the primary (an old primary back after a failover),
   * before anything else and without waiting on its clients: a commit waiting for an ack becomes
   * an error (fence), and when another client's transaction or lock still holds read-only back
   * (seen on the real nodes: such a fence waited 85 s, the old primary writable beside the new
   * one), the clients are cut off first. Then every client connection ends, so an application's
   * pool reconnects through the Service to the primary instead of collecting read-only errors.
   * What those clients had not committed was never acknowledged. Returns the clients ended last.
   */
  async fenceStrayWriter(): Promise<number> {
    const options = { lockWaitSeconds: STRAY_WRITER_LOCK_WAIT_SECONDS, interruptCommitsWaitingForAck: true };
    try {
      await this.fence(options);
    } catch (err) {
      if (errorCode(err) !== ER_LOCK_WAIT_TIMEOUT) throw err;
      await this.disconnectClients();
      await this.fence(options);
    }
    return this.disconnectClients();
  }

  /**
   * Ends the commits that wait for an ack, so that read-only can be set, without telling any
   * client that its write succeeded.
   *
   * MariaDB ends a killed session's wait: killing the waiting sessions is enough, and their
   * clients get an error. MySQL cuts a killed session's client off but keeps the commit waiting
   * for its ack for as long as the wait lasts (seen against mysqld 9.7: the session stayed in
   * command Killed, waiting, for all 12 s it was watched), and that commit holds read-only back. So on MySQL no application statement may start any more
   * (offline_mode), every connection of another account is killed, and only then does the
   * source stop waiting: the commits that end now have no client left to tell.
   */
  private async interruptCommitsWaitingForAck(): Promise<void> {
    const offline = offlineStatements(this.adapter);
    if (offline.length === 0) {
      const ids = (await this.session.query(commitsWaitingForAckQuery())).map((row) => Number(row.id));
      for (const id of ids) await this.killIfAlive(id);
      await this.untilGone(ids, KILLED_CONNECTIONS_GONE_MS);
      return;
    }
    await this.run(offline);
    const ids = (await this.session.query(otherAccountsConnectionsQuery())).map((row) => Number(row.id));
    for (const id of ids) await this.killIfAlive(id);
    await this.run(semiSyncSourceOffStatements(this.adapter));
    await this.untilGone(ids, KILLED_CONNECTIONS_GONE_MS);
  }

  /**
   * Ends the connections of clients (clientConnectionsQuery), as a switchover does on the old
   * primary once it is fenced: an application's pool keeps its connections, and with them
   * read-only errors, until they end; ended, the pool reconnects through the Service to the new
   * primary. Returns how many it ended.
   */
  async disconnectClients(): Promise<number> {
    const ids = (await this.session.query(clientConnectionsQuery())).map((row) => Number(row.id));
    for (const id of ids) await this.killIfAlive(id);
    return ids.length;
  }

  /** KILL, where the connection may have ended by itself since it was listed. */
  private async killIfAlive(id: number): Promise<void> {
    try {
      await this.session.query(killConnectionStatement(id));
    } catch (err) {
      if (errorCode(err) !== ER_NO_SUCH_THREAD) throw err;
    }
  }

  /** Waits (bounded) until none of the connections `ids` exists any more. */
  private async untilGone(ids: readonly number[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (ids.length > 0 && Date.now() < deadline) {
      const rows = await this.session.query(connectionsAliveQuery(ids));
      if (Number(rows[0]?.n ?? 0) === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async enableSemiSyncSource(ackCount: number): Promise<void> {
    await this.run(semiSyncSourceOnStatements(this.adapter, ackCount));
  }

  async disableSemiSyncSource(): Promise<void> {
    await this.run(semiSyncSourceOffStatements(this.adapter));
  }

  /** For adapters' own sequences (seeding). */
  /** Runs `statements` in order; each gets `timeoutMs` (the session's default otherwise). */
  async run(statements: readonly string[], options: { timeoutMs?: number } = {}): Promise<void> {
    for (const sql of statements) await this.session.query(sql, options);
  }

  async query(sql: string): Promise<Row[]> {
    return this.session.query(sql);
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

function errorCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('errno' in err)) return undefined;
  return typeof err.errno === 'number' ? err.errno : undefined;
}

/** The status of the instance at `target`, or why it could not be read: never throws. */
export async function observeInstance(adapter: EngineAdapter, target: ConnectionTarget): Promise<InstanceObservation> {
  let instance: Instance | undefined;
  try {
    instance = await Instance.connect(adapter, target);
    return { reachable: true, ...(await instance.status()) };
  } catch (err) {
    return { reachable: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    await instance?.close();
  }
}
