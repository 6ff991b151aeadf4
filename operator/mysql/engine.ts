/**
 * The engine port: everything that differs between MySQL 8.4 and MariaDB, as a vocabulary of
 * variable and column names plus the few statements whose grammar differs. Both adapters share
 * the reading of those facts (readRawStatus/interpretStatus here) and the operation sequences
 * (operations.ts), so the two engines cannot drift apart in what an operation means.
 */
import type { GtidSet } from './gtid.js';
import { sqlString } from './sql-literal.js';
import type { Row, SqlSession } from './session.js';
import type { EngineName, InstanceStatus, IoThreadState, ReplicationSource, ServerError } from './types.js';

export interface Vocabulary {
  /** The variable that keeps every non-replication write out (MySQL: super_read_only). */
  readOnlyVariable: string;
  serverIdVariable: string;
  /**
   * MySQL's offline_mode: while on, only accounts with CONNECTION_ADMIN may run statements.
   * Undefined for MariaDB, which has no such switch (and needs none: see Instance.fence).
   */
  offlineModeVariable: string | undefined;
  /** Variables whose GTID sets together are what the instance has committed. */
  executedVariables: readonly string[];
  replicaStatusQuery: string;
  columns: {
    ioRunning: string;
    sqlRunning: string;
    sourceHost: string;
    sourcePort: string;
    lag: string;
    received: string;
    autoPosition: string;
  };
  semiSync: {
    sourceEnabled: string;
    waitPoint: string;
    timeout: string;
    waitNoReplica: string;
    /** Undefined for MariaDB, whose source always waits for exactly one ack. */
    ackCount: string | undefined;
    replicaEnabled: string;
    sourceStatus: string;
    sourceClients: string;
    waitingSessions: string;
    replicaStatus: string;
  };
}

export interface EngineAdapter {
  readonly engine: EngineName;
  readonly vocabulary: Vocabulary;
  parseGtidSet(text: string): GtidSet;
  /** Whether the replica status row says GTID auto-positioning is on. */
  autoPositioningIn(value: unknown): boolean;
  stopReplica(): string;
  stopReplicaIo(): string;
  startReplica(): string;
  /** Forgets the replication configuration entirely (the instance is no one's replica). */
  resetReplicaAll(): string;
  /** Points the (stopped) replica at `source` with GTID auto-positioning and, with caFile, verified TLS. */
  changeSource(source: ReplicationSource): string[];
  /** A SELECT of one column `reached`: 1 once `set` is applied, 0 after the timeout. */
  waitForGtid(set: GtidSet, timeoutSeconds: number): string;
}

/** The largest timeout both engines accept (about 49.7 days): semi-sync must never degrade silently. */
export const SEMI_SYNC_NEVER_DEGRADE_TIMEOUT_MS = 4294967295;

/**
 * Acks each commit waits for, by instance count: a single instance has no replica to wait for;
 * MariaDB's semi-sync always waits for exactly one; MySQL waits for half the instances (rounded
 * down), so a failover that sees the other half of the replicas finds every acknowledged write.
 */
export function semiSyncAckCount(engine: EngineName, instances: number): number {
  if (instances <= 1) return 0;
  return engine === 'mariadb' ? 1 : Math.floor(instances / 2);
}

/** Schemas that exist on every server; a table anywhere else is application data. */
export const SYSTEM_SCHEMAS = ['mysql', 'information_schema', 'performance_schema', 'sys'] as const;

export interface RawStatus {
  variables: ReadonlyMap<string, string>;
  status: ReadonlyMap<string, string>;
  replica: Row | undefined;
  applicationTables: number;
}

export async function readRawStatus(session: SqlSession, adapter: EngineAdapter): Promise<RawStatus> {
  const v = adapter.vocabulary;
  const variableNames = [
    v.readOnlyVariable,
    v.serverIdVariable,
    ...v.executedVariables,
    v.semiSync.sourceEnabled,
    v.semiSync.waitPoint,
    v.semiSync.timeout,
    v.semiSync.replicaEnabled,
    ...(v.semiSync.ackCount === undefined ? [] : [v.semiSync.ackCount]),
  ];
  const statusNames = [v.semiSync.sourceStatus, v.semiSync.sourceClients, v.semiSync.waitingSessions, v.semiSync.replicaStatus];
  const variables = await session.query(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${variableNames.map(sqlString).join(', ')})`);
  const status = await session.query(`SHOW GLOBAL STATUS WHERE Variable_name IN (${statusNames.map(sqlString).join(', ')})`);
  const replica = await session.query(v.replicaStatusQuery);
  const tables = await session.query(
    `SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN (${SYSTEM_SCHEMAS.map(sqlString).join(', ')})`,
  );
  return {
    variables: nameValueMap(variables),
    status: nameValueMap(status),
    replica: replica[0],
    applicationTables: Number(tables[0]?.n ?? 0),
  };
}

/** Pure: the raw facts of one instance read in the engine's vocabulary. */
export function interpretStatus(raw: RawStatus, adapter: EngineAdapter): InstanceStatus {
  const v = adapter.vocabulary;
  const variable = (name: string): string | undefined => raw.variables.get(name.toLowerCase());
  const counter = (name: string): number => Number(raw.status.get(name.toLowerCase()) ?? 0);
  const executed = v.executedVariables
    .map((name) => adapter.parseGtidSet(variable(name) ?? ''))
    .reduce((a, b) => a.union(b));
  const replication = raw.replica === undefined ? undefined : interpretReplica(raw.replica, adapter);
  const receivedText = raw.replica === undefined ? '' : text(raw.replica[v.columns.received]);
  const received = executed.union(adapter.parseGtidSet(receivedText));
  const timeout = variable(v.semiSync.timeout);
  return {
    engine: adapter.engine,
    serverId: variable(v.serverIdVariable) ?? '',
    readOnly: isOn(variable(v.readOnlyVariable)),
    executed,
    received,
    replication,
    semiSync: {
      sourceEnabled: isOn(variable(v.semiSync.sourceEnabled)),
      sourceActive: isOn(raw.status.get(v.semiSync.sourceStatus.toLowerCase())),
      sourceClients: counter(v.semiSync.sourceClients),
      waitingSessions: counter(v.semiSync.waitingSessions),
      waitPoint: variable(v.semiSync.waitPoint),
      timeoutMs: timeout === undefined ? undefined : Number(timeout),
      ackCount: v.semiSync.ackCount === undefined ? 1 : Number(variable(v.semiSync.ackCount) ?? 1),
      replicaEnabled: isOn(variable(v.semiSync.replicaEnabled)),
      replicaActive: isOn(raw.status.get(v.semiSync.replicaStatus.toLowerCase())),
    },
    applicationTables: raw.applicationTables,
    dataDirEmpty: raw.applicationTables === 0 && executed.isEmpty(),
  };
}

function interpretReplica(row: Row, adapter: EngineAdapter): InstanceStatus['replication'] {
  const c = adapter.vocabulary.columns;
  const lag = row[c.lag];
  return {
    sourceHost: text(row[c.sourceHost]),
    sourcePort: Number(row[c.sourcePort] ?? 0),
    ioThread: ioThreadState(text(row[c.ioRunning])),
    sqlThreadRunning: text(row[c.sqlRunning]) === 'Yes',
    lagSeconds: lag === null || lag === undefined || lag === '' ? undefined : Number(lag),
    lastIoError: serverError(row.Last_IO_Errno, row.Last_IO_Error),
    lastSqlError: serverError(row.Last_SQL_Errno, row.Last_SQL_Error),
    autoPositioning: adapter.autoPositioningIn(row[c.autoPosition]),
  };
}

function ioThreadState(value: string): IoThreadState {
  if (value === 'Yes') return 'running';
  if (value === 'Connecting') return 'connecting';
  return 'stopped';
}

function serverError(code: unknown, message: unknown): ServerError | undefined {
  const n = Number(code ?? 0);
  return n === 0 ? undefined : { code: n, message: text(message) };
}

function nameValueMap(rows: Row[]): Map<string, string> {
  return new Map(rows.map((row) => [text(row.Variable_name).toLowerCase(), text(row.Value)]));
}

function isOn(value: string | undefined): boolean {
  return value !== undefined && ['ON', '1', 'YES', 'TRUE'].includes(value.toUpperCase());
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return JSON.stringify(value);
}

