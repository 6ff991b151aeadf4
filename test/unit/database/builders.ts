/**
 * Facts for decide() in a few words: MariaDB GTID text, the source by name, pod state by flag.
 * Defaults describe a healthy semi-sync instance in its role.
 */
import type { ClusterFacts, InstanceFacts, PodFacts } from '../../../operator/database/facts.js';
import { MariadbGtidSet } from '../../../operator/mysql/mariadb-gtid.js';
import type { IoThreadState, ReplicationStatus, SemiSyncStatus, ServerError } from '../../../operator/mysql/types.js';

export interface InstanceSpec {
  name: string;
  role?: 'primary' | 'replica';
  /** What it committed, MariaDB notation. */
  gtid?: string;
  /** What its IO thread received beyond that. */
  received?: string;
  reachable?: boolean;
  unreachableForMs?: number;
  readOnly?: boolean;
  /** The instance it replicates from (replicas: db-0 by default); null: not a replica. */
  source?: string | null;
  io?: IoThreadState;
  sqlRunning?: boolean;
  lagSeconds?: number;
  lastIoError?: ServerError;
  lastSqlError?: ServerError;
  tables?: number;
  semiSync?: Partial<SemiSyncStatus>;
  pod?: Partial<PodFacts>;
}

export const address = (name: string): { host: string; port: number } => ({ host: `${name}.db.shop.svc`, port: 3306 });

export function instance(spec: InstanceSpec): InstanceFacts {
  const role = spec.role ?? 'replica';
  const pod: PodFacts = { exists: true, ready: true, terminating: false, nodeReady: true, outdated: false, ...spec.pod };
  if (spec.reachable === false) {
    return { name: spec.name, address: address(spec.name), pod, sql: { reachable: false, error: 'connect ETIMEDOUT' }, unreachableForMs: spec.unreachableForMs ?? 60_000 };
  }
  const executed = MariadbGtidSet.parse(spec.gtid ?? '0-1-10');
  const source = spec.source === undefined ? (role === 'replica' ? 'db-0' : null) : spec.source;
  const replication: ReplicationStatus | undefined =
    source === null
      ? undefined
      : {
          sourceHost: address(source).host,
          sourcePort: address(source).port,
          ioThread: spec.io ?? 'running',
          sqlThreadRunning: spec.sqlRunning ?? true,
          lagSeconds: spec.lagSeconds ?? 0,
          lastIoError: spec.lastIoError,
          lastSqlError: spec.lastSqlError,
          autoPositioning: true,
        };
  const tables = spec.tables ?? (executed.isEmpty() ? 0 : 3);
  return {
    name: spec.name,
    address: address(spec.name),
    pod,
    unreachableForMs: 0,
    sql: {
      reachable: true,
      engine: 'mariadb',
      serverId: spec.name,
      readOnly: spec.readOnly ?? role === 'replica',
      executed,
      received: executed.union(MariadbGtidSet.parse(spec.received ?? '')),
      replication,
      semiSync: {
        sourceEnabled: role === 'primary',
        sourceActive: role === 'primary',
        sourceClients: 0,
        waitingSessions: 0,
        waitPoint: 'AFTER_SYNC',
        timeoutMs: 4294967295,
        ackCount: 1,
        replicaEnabled: role === 'replica',
        replicaActive: role === 'replica',
        ...spec.semiSync,
      },
      applicationTables: tables,
      dataDirEmpty: tables === 0 && executed.isEmpty(),
    },
  };
}

export function cluster(instances: InstanceFacts[], overrides: Partial<ClusterFacts> = {}): ClusterFacts {
  return {
    instances,
    primary: 'db-0',
    excluded: [],
    failoverDelayMs: 30_000,
    ackCount: instances.length > 1 ? 1 : 0,
    durability: 'Required',
    maxLagSeconds: 30,
    ...overrides,
  };
}
