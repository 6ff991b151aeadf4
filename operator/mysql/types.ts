/**
 * What the database loop learns from one instance over SQL, in engine-neutral terms, and the
 * addresses it needs to act. Filled by an engine adapter (mariadb.ts, mysql84.ts).
 */
import type { EngineName, GtidSet } from './gtid.js';

export type { EngineName } from './gtid.js';

export interface Endpoint {
  host: string;
  port: number;
}

export interface Credentials {
  user: string;
  password: string;
}

/** How the operator reaches an instance: TLS verified against `ca` (PEM) when given. */
export interface ConnectionTarget extends Endpoint, Credentials {
  tls?: { ca: string; servername?: string };
  /** A Unix socket to connect through instead of host and port (a server of the same pod). */
  socketPath?: string;
  connectTimeoutMs?: number;
}

/**
 * The source a replica connects to. `caFile` is a path on the replica's own filesystem (the
 * server reads it, not the operator); when set the replica verifies the source's certificate.
 */
export interface ReplicationSource extends Endpoint, Credentials {
  caFile?: string;
  /** Seconds between the source's heartbeats to an idle replica (the server's default when unset). */
  heartbeatSeconds?: number;
}

export type IoThreadState = 'running' | 'connecting' | 'stopped';

export interface ServerError {
  code: number;
  message: string;
}

export interface ReplicationStatus {
  sourceHost: string;
  sourcePort: number;
  ioThread: IoThreadState;
  sqlThreadRunning: boolean;
  /** Seconds behind the source as the server reports it; undefined while the SQL thread is stopped. */
  lagSeconds: number | undefined;
  lastIoError: ServerError | undefined;
  lastSqlError: ServerError | undefined;
  /** GTID auto-positioning (MySQL SOURCE_AUTO_POSITION, MariaDB Using_Gtid). */
  autoPositioning: boolean;
}

export interface SemiSyncStatus {
  /** The source half is switched on (the variable). */
  sourceEnabled: boolean;
  /** The source half is actually waiting for acks (the status: off after a silent degrade). */
  sourceActive: boolean;
  /** Replicas connected with the replica half on, as the source counts them. */
  sourceClients: number;
  /** Sessions blocked in commit, waiting for a replica's ack: writes are stalled while > 0. */
  waitingSessions: number;
  waitPoint: string | undefined;
  timeoutMs: number | undefined;
  /** Acks each commit waits for (MariaDB has no knob: always 1). */
  ackCount: number;
  replicaEnabled: boolean;
  replicaActive: boolean;
}

export interface InstanceStatus {
  engine: EngineName;
  serverId: string;
  readOnly: boolean;
  /** Transactions this instance has committed (MariaDB gtid_binlog_state, MySQL gtid_executed). */
  executed: GtidSet;
  /** `executed` plus what the IO thread has received and not yet applied. */
  received: GtidSet;
  /** Undefined when the instance is not configured as a replica. */
  replication: ReplicationStatus | undefined;
  semiSync: SemiSyncStatus;
  /** Tables outside the system schemas. */
  applicationTables: number;
  /** No application table and no transaction: a fresh or wiped data directory. */
  dataDirEmpty: boolean;
}

export type InstanceObservation = ({ reachable: true } & InstanceStatus) | { reachable: false; error: string };
