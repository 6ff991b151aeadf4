/**
 * The operations on one instance as ordered SQL, pure and shared by both engines. The order is
 * the safety: a promoted instance has its semi-sync source half on before it accepts writes, a
 * repointed one is read-only before it is anyone's replica.
 */
import { SEMI_SYNC_NEVER_DEGRADE_TIMEOUT_MS, type EngineAdapter } from './engine.js';
import { sqlInteger, sqlString } from './sql-literal.js';
import type { ReplicationSource } from './types.js';

export function readOnlyStatements(adapter: EngineAdapter, on: boolean): string[] {
  const variable = adapter.vocabulary.readOnlyVariable;
  if (on) return [`SET GLOBAL ${variable} = ON`];
  // super_read_only OFF leaves read_only ON; both must go.
  return variable === 'read_only' ? ['SET GLOBAL read_only = OFF'] : [`SET GLOBAL ${variable} = OFF`, 'SET GLOBAL read_only = OFF'];
}

/**
 * The source half, loss-less: AFTER_SYNC (a transaction becomes visible only once a replica has
 * it), waits even with no replica connected, and a timeout so long that it never falls back to
 * asynchronous silently; a stall shows as waiting sessions instead.
 */
export function semiSyncSourceOnStatements(adapter: EngineAdapter, ackCount: number): string[] {
  const s = adapter.vocabulary.semiSync;
  return [
    `SET GLOBAL ${s.waitPoint} = 'AFTER_SYNC'`,
    `SET GLOBAL ${s.timeout} = ${sqlInteger(SEMI_SYNC_NEVER_DEGRADE_TIMEOUT_MS)}`,
    `SET GLOBAL ${s.waitNoReplica} = ON`,
    ...(s.ackCount === undefined ? [] : [`SET GLOBAL ${s.ackCount} = ${sqlInteger(Math.max(1, ackCount))}`]),
    `SET GLOBAL ${s.sourceEnabled} = ON`,
  ];
}

export function semiSyncSourceOffStatements(adapter: EngineAdapter): string[] {
  return [`SET GLOBAL ${adapter.vocabulary.semiSync.sourceEnabled} = OFF`];
}

export function semiSyncReplicaStatements(adapter: EngineAdapter, on: boolean): string[] {
  return [`SET GLOBAL ${adapter.vocabulary.semiSync.replicaEnabled} = ${on ? 'ON' : 'OFF'}`];
}

/**
 * Lets application accounts in again after an interrupted fence (Instance.fence) switched them
 * out; nothing for MariaDB. Part of every promote and repoint, so an instance left offline by a
 * fence that stopped half-way serves again once it has a role.
 */
export function onlineStatements(adapter: EngineAdapter): string[] {
  const variable = adapter.vocabulary.offlineModeVariable;
  return variable === undefined ? [] : [`SET GLOBAL ${variable} = OFF`];
}

export function offlineStatements(adapter: EngineAdapter): string[] {
  const variable = adapter.vocabulary.offlineModeVariable;
  return variable === undefined ? [] : [`SET GLOBAL ${variable} = ON`];
}

export interface PromoteOptions {
  /** Acks each commit waits for; 0 (a single-instance cluster) leaves semi-sync off. */
  ackCount: number;
}

/** Makes the instance the writable primary: no longer a replica, semi-sync source on, writes on. */
export function promoteStatements(adapter: EngineAdapter, options: PromoteOptions): string[] {
  return [
    adapter.stopReplica(),
    adapter.resetReplicaAll(),
    ...semiSyncReplicaStatements(adapter, false),
    ...(options.ackCount > 0 ? semiSyncSourceOnStatements(adapter, options.ackCount) : semiSyncSourceOffStatements(adapter)),
    ...readOnlyStatements(adapter, false),
    ...onlineStatements(adapter),
  ];
}

export interface RepointOptions {
  /** The replica half of semi-sync (on whenever the source waits for acks). */
  semiSync: boolean;
}

/**
 * Makes the instance a read-only replica of `source`. The source half goes off here, not at
 * fencing: only the primary may have it on (a replica with it on blocks its own applier), and by
 * the time an instance is repointed it holds nothing its new source lacks.
 */
export function repointStatements(adapter: EngineAdapter, source: ReplicationSource, options: RepointOptions): string[] {
  return [
    ...readOnlyStatements(adapter, true),
    adapter.stopReplica(),
    ...semiSyncSourceOffStatements(adapter),
    ...semiSyncReplicaStatements(adapter, options.semiSync),
    ...adapter.changeSource(source),
    adapter.startReplica(),
    ...onlineStatements(adapter),
  ];
}

export interface FenceOptions {
  /**
   * How long read_only may wait for commits in progress. A commit waiting for a semi-sync ack
   * holds it up for as long as no replica acks, so fencing gives up rather than hang.
   */
  lockWaitSeconds?: number;
  /**
   * When the lock wait runs out, end the commits that wait for an ack and try once more (how
   * differs by engine: Instance.fence). Their clients get an error, never a success; the commits
   * stay on this instance only, which then holds errant transactions and is excluded.
   */
  interruptCommitsWaitingForAck?: boolean;
}

/** Both engines' thread state for a commit waiting for an ack ("... from slave" / "... from replica"). */
export const WAITING_FOR_ACK_STATE = 'Waiting for semi-sync ACK from %';

export const ER_LOCK_WAIT_TIMEOUT = 1205;
/** "Unknown thread id": KILL of a connection that has ended. */
export const ER_NO_SUCH_THREAD = 1094;

export function commitsWaitingForAckQuery(): string {
  return `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE STATE LIKE ${sqlString(WAITING_FOR_ACK_STATE)}`;
}

/**
 * Connections of other accounts than the operator's own (applications, exporters, replicas'
 * binlog readers), not yet killed: what an interrupted fence cuts off.
 */
export function otherAccountsConnectionsQuery(): string {
  return [
    'SELECT ID AS id FROM information_schema.PROCESSLIST',
    "WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ('Daemon', 'Killed')",
    "AND USER NOT IN ('system user', 'event_scheduler', SUBSTRING_INDEX(CURRENT_USER(), '@', 1))",
  ].join(' ');
}

/**
 * Connections of clients (applications, exporters) that a switchover ends on the old primary: every
 * account but the operator's, and no replica's binlog reader (another replica still reads from it
 * until it is repointed).
 */
export function clientConnectionsQuery(): string {
  return `${otherAccountsConnectionsQuery()} AND COMMAND NOT LIKE 'Binlog Dump%'`;
}

/** A SELECT of one column `n`: how many of the connections `ids` still exist. */
export function connectionsAliveQuery(ids: readonly number[]): string {
  return `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID IN (${ids.map(sqlInteger).join(', ')})`;
}

export function killConnectionStatement(id: number): string {
  return `KILL CONNECTION ${sqlInteger(id)}`;
}

const DEFAULT_FENCE_LOCK_WAIT_SECONDS = 10;

/**
 * Stops an instance from accepting writes. The semi-sync source half is deliberately left as it
 * is: switching it off would let every session waiting for an ack commit and report success for
 * a write no replica holds, exactly the acknowledged write a failover must not lose.
 */
export function fenceStatements(adapter: EngineAdapter, options: FenceOptions = {}): string[] {
  return [`SET SESSION lock_wait_timeout = ${sqlInteger(options.lockWaitSeconds ?? DEFAULT_FENCE_LOCK_WAIT_SECONDS)}`, ...readOnlyStatements(adapter, true)];
}
