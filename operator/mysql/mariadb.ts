/**
 * MariaDB (10.11 LTS and later): GTIDs as domain-server-seq positions, CHANGE MASTER TO with
 * MASTER_USE_GTID=slave_pos, built-in semi-sync (rpl_semi_sync_master_* / _slave_*) that always
 * waits for a single ack, and read_only.
 */
import type { EngineAdapter } from './engine.js';
import type { GtidSet } from './gtid.js';
import { MariadbGtidSet } from './mariadb-gtid.js';
import { sqlInteger, sqlString } from './sql-literal.js';
import type { ReplicationSource } from './types.js';

export const mariadb: EngineAdapter = {
  engine: 'mariadb',
  vocabulary: {
    readOnlyVariable: 'read_only',
    serverIdVariable: 'server_id',
    offlineModeVariable: undefined,
    // The binlog state names every (domain, server) pair that wrote; the slave position covers
    // what was applied when log_slave_updates is off.
    executedVariables: ['gtid_binlog_state', 'gtid_slave_pos'],
    replicaStatusQuery: 'SHOW SLAVE STATUS',
    columns: {
      ioRunning: 'Slave_IO_Running',
      sqlRunning: 'Slave_SQL_Running',
      sourceHost: 'Master_Host',
      sourcePort: 'Master_Port',
      lag: 'Seconds_Behind_Master',
      received: 'Gtid_IO_Pos',
      autoPosition: 'Using_Gtid',
    },
    semiSync: {
      sourceEnabled: 'rpl_semi_sync_master_enabled',
      waitPoint: 'rpl_semi_sync_master_wait_point',
      timeout: 'rpl_semi_sync_master_timeout',
      waitNoReplica: 'rpl_semi_sync_master_wait_no_slave',
      ackCount: undefined,
      replicaEnabled: 'rpl_semi_sync_slave_enabled',
      sourceStatus: 'Rpl_semi_sync_master_status',
      sourceClients: 'Rpl_semi_sync_master_clients',
      waitingSessions: 'Rpl_semi_sync_master_wait_sessions',
      replicaStatus: 'Rpl_semi_sync_slave_status',
    },
  },
  parseGtidSet: (text) => MariadbGtidSet.parse(text),
  autoPositioningIn: (value) => typeof value === 'string' && value !== '' && value !== 'No',
  stopReplica: () => 'STOP SLAVE',
  stopReplicaIo: () => 'STOP SLAVE IO_THREAD',
  startReplica: () => 'START SLAVE',
  resetReplicaAll: () => 'RESET SLAVE ALL',
  changeSource: (source: ReplicationSource) => [
    // MASTER_USE_GTID=slave_pos starts from gtid_slave_pos, which on a former primary misses its
    // own writes. gtid_current_pos is the latest of both; the errant check before any repoint
    // ensures those writes are also on the new source.
    'SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_current_pos',
    [
      'CHANGE MASTER TO',
      [
        `MASTER_HOST=${sqlString(source.host)}`,
        `MASTER_PORT=${sqlInteger(source.port)}`,
        `MASTER_USER=${sqlString(source.user)}`,
        `MASTER_PASSWORD=${sqlString(source.password)}`,
        'MASTER_USE_GTID=slave_pos',
        // The default of 60 s between reconnects would add a minute to every failover and restart.
        'MASTER_CONNECT_RETRY=1',
        ...(source.heartbeatSeconds === undefined ? [] : [`MASTER_HEARTBEAT_PERIOD=${sqlInteger(source.heartbeatSeconds)}`]),
        ...(source.caFile === undefined
          ? []
          : ['MASTER_SSL=1', `MASTER_SSL_CA=${sqlString(source.caFile)}`, 'MASTER_SSL_VERIFY_SERVER_CERT=1']),
      ].join(', '),
    ].join(' '),
  ],
  waitForGtid: (set: GtidSet, timeoutSeconds: number) =>
    `SELECT MASTER_GTID_WAIT(${sqlString(asMariadb(set).position())}, ${sqlInteger(timeoutSeconds)}) = 0 AS reached`,
};

/** The statement a seeded instance needs before it starts replicating: where the dump ends. */
export function setReplicaPosition(position: MariadbGtidSet): string {
  return `SET GLOBAL gtid_slave_pos = ${sqlString(position.position())}`;
}

function asMariadb(set: GtidSet): MariadbGtidSet {
  if (!(set instanceof MariadbGtidSet)) throw new Error(`MariaDB cannot wait for a ${set.engine} GTID set`);
  return set;
}
