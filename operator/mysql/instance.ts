/**
 * One instance, driven over SQL: the operations the database loop calls, each a sequence from
 * operations.ts run on one session. Errors propagate: the caller decides again from fresh status.
 */
import { interpretStatus, readRawStatus, type EngineAdapter } from './engine.js';
import type { GtidSet } from './gtid.js';
import {
  commitsWaitingForAckQuery,
  ER_LOCK_WAIT_TIMEOUT,
  fenceStatements,
  killConnectionStatement,
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
      for (const row of await this.session.query(commitsWaitingForAckQuery())) {
        await this.session.query(killConnectionStatement(Number(row.id)));
      }
      await this.run(fenceStatements(this.adapter, options));
    }
  }

  async enableSemiSyncSource(ackCount: number): Promise<void> {
    await this.run(semiSyncSourceOnStatements(this.adapter, ackCount));
  }

  async disableSemiSyncSource(): Promise<void> {
    await this.run(semiSyncSourceOffStatements(this.adapter));
  }

  /** For adapters' own sequences (seeding). */
  async run(statements: readonly string[]): Promise<void> {
    for (const sql of statements) await this.session.query(sql);
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
