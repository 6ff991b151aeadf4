/**
 * MySQL 8.4 LTS: GTID sets (gtid_executed), CHANGE REPLICATION SOURCE TO with
 * SOURCE_AUTO_POSITION=1, the semisync_source/semisync_replica plugins
 * (rpl_semi_sync_source_* / _replica_*), super_read_only, and the CLONE plugin for seeding.
 * MySQL 9.7 keeps this vocabulary: test/programs/mysql/mysql-engine.test.ts runs every operation
 * against real mysqld 9.7 processes. No 8.4 server runs in this project's tests.
 */
import type { EngineAdapter } from './engine.js';
import type { GtidSet } from './gtid.js';
import { MysqlGtidSet } from './mysql-gtid.js';
import { sqlInteger, sqlString } from './sql-literal.js';
import type { Credentials, Endpoint, ReplicationSource } from './types.js';

export const mysql84: EngineAdapter = {
  engine: 'mysql',
  vocabulary: {
    readOnlyVariable: 'super_read_only',
    serverIdVariable: 'server_uuid',
    offlineModeVariable: 'offline_mode',
    executedVariables: ['gtid_executed'],
    replicaStatusQuery: 'SHOW REPLICA STATUS',
    columns: {
      ioRunning: 'Replica_IO_Running',
      sqlRunning: 'Replica_SQL_Running',
      sourceHost: 'Source_Host',
      sourcePort: 'Source_Port',
      lag: 'Seconds_Behind_Source',
      received: 'Retrieved_Gtid_Set',
      autoPosition: 'Auto_Position',
    },
    semiSync: {
      sourceEnabled: 'rpl_semi_sync_source_enabled',
      waitPoint: 'rpl_semi_sync_source_wait_point',
      timeout: 'rpl_semi_sync_source_timeout',
      waitNoReplica: 'rpl_semi_sync_source_wait_no_replica',
      ackCount: 'rpl_semi_sync_source_wait_for_replica_count',
      replicaEnabled: 'rpl_semi_sync_replica_enabled',
      sourceStatus: 'Rpl_semi_sync_source_status',
      sourceClients: 'Rpl_semi_sync_source_clients',
      waitingSessions: 'Rpl_semi_sync_source_wait_sessions',
      replicaStatus: 'Rpl_semi_sync_replica_status',
    },
  },
  parseGtidSet: (text) => MysqlGtidSet.parse(text),
  autoPositioningIn: (value) => String(value) === '1',
  stopReplica: () => 'STOP REPLICA',
  stopReplicaIo: () => 'STOP REPLICA IO_THREAD',
  startReplica: () => 'START REPLICA',
  resetReplicaAll: () => 'RESET REPLICA ALL',
  changeSource: (source: ReplicationSource) => [
    [
      'CHANGE REPLICATION SOURCE TO',
      [
        `SOURCE_HOST=${sqlString(source.host)}`,
        `SOURCE_PORT=${sqlInteger(source.port)}`,
        `SOURCE_USER=${sqlString(source.user)}`,
        `SOURCE_PASSWORD=${sqlString(source.password)}`,
        'SOURCE_AUTO_POSITION=1',
        // The default of 60 s between reconnects would add a minute to every failover and restart.
        'SOURCE_CONNECT_RETRY=1',
        ...(source.heartbeatSeconds === undefined ? [] : [`SOURCE_HEARTBEAT_PERIOD=${sqlInteger(source.heartbeatSeconds)}`]),
        ...(source.caFile === undefined
          ? // caching_sha2_password over a plain connection needs the source's RSA key.
            ['GET_SOURCE_PUBLIC_KEY=1']
          : ['SOURCE_SSL=1', `SOURCE_SSL_CA=${sqlString(source.caFile)}`, 'SOURCE_SSL_VERIFY_SERVER_CERT=1']),
      ].join(', '),
    ].join(' '),
  ],
  waitForGtid: (set: GtidSet, timeoutSeconds: number) =>
    `SELECT WAIT_FOR_EXECUTED_GTID_SET(${sqlString(set.toString())}, ${sqlInteger(timeoutSeconds)}) = 0 AS reached`,
};

/**
 * The bytes the last (or running) clone has copied and expects to copy, from the recipient's
 * performance_schema.clone_progress (kept across the restart that ends a clone).
 */
export const CLONE_PROGRESS_QUERY = 'SELECT COALESCE(SUM(DATA), 0) AS copied, COALESCE(SUM(ESTIMATE), 0) AS estimated FROM performance_schema.clone_progress';

/** Where a clone copies from: `caFile` is a path on the recipient's filesystem, as for a replication source. */
export type CloneDonor = Endpoint & Credentials & { caFile?: string };

/**
 * Seeds an empty MySQL instance with the CLONE plugin (or, with `dataDirectory`, copies the donor
 * into that new directory of the recipient's, for a backup): the recipient replaces its data with the
 * donor's (and its gtid_executed), then restarts; after the restart it is repointed with
 * auto-positioning like any replica. The recipient's own account needs CLONE_ADMIN, the donor's
 * BACKUP_ADMIN.
 */
export function cloneInstanceStatements(donor: CloneDonor, options: { dataDirectory?: string } = {}): string[] {
  // Into a directory of the recipient's (a backup), instead of over its own data: no restart.
  const into = options.dataDirectory === undefined ? '' : ` DATA DIRECTORY = ${sqlString(options.dataDirectory)}`;
  return [
    // A pod's server starts super-read-only (my.cnf), and CLONE refuses to run so ("running with
    // the --super-read-only option"), seen under the chart on the real nodes. read_only stays on:
    // no application account can write into the empty instance meanwhile, and the restart after
    // the clone brings super_read_only back from my.cnf.
    'SET GLOBAL super_read_only = OFF',
    `SET GLOBAL clone_valid_donor_list = ${sqlString(`${donor.host}:${sqlInteger(donor.port)}`)}`,
    // With a CA the recipient verifies the donor's certificate; without one the copy is encrypted only.
    ...(donor.caFile === undefined ? [] : [`SET GLOBAL clone_ssl_ca = ${sqlString(donor.caFile)}`]),
    `CLONE INSTANCE FROM ${sqlString(donor.user)}@${sqlString(donor.host)}:${sqlInteger(donor.port)} IDENTIFIED BY ${sqlString(donor.password)}${into} REQUIRE SSL`,
  ];
}
