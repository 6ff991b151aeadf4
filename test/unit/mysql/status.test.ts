/**
 * Reading an instance's status from what the server answers: MySQL 8.4 through a scripted
 * session (its column and variable names as the 8.4 manual gives them), MariaDB's silences
 * (no replica status, no semi-sync variables) the same way.
 */
import { describe, expect, it } from '@jest/globals';
import { Instance } from '../../../operator/mysql/instance.js';
import { mariadb } from '../../../operator/mysql/mariadb.js';
import { mysql84 } from '../../../operator/mysql/mysql84.js';
import { seedByClone } from '../../../operator/mysql/seed-mysql.js';
import type { Row, SqlSession } from '../../../operator/mysql/session.js';

const U1 = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const U2 = 'c9a2c4e0-1d4f-11ef-8f3a-0242ac120002';

/** Answers by statement prefix, and records every statement. */
function scripted(answers: Record<string, Row[]>): SqlSession & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    query(sql) {
      sent.push(sql);
      const key = Object.keys(answers).find((prefix) => sql.startsWith(prefix));
      return Promise.resolve(key === undefined ? [] : (answers[key] ?? []));
    },
    close: () => Promise.resolve(),
  };
}

const vars = (values: Record<string, string>): Row[] => Object.entries(values).map(([Variable_name, Value]) => ({ Variable_name, Value }));

describe('MySQL 8.4 status', () => {
  const replica = scripted({
    'SHOW GLOBAL VARIABLES': vars({
      super_read_only: 'ON',
      server_uuid: U2,
      gtid_executed: `${U1}:1-100,\n${U2}:1-3`,
      rpl_semi_sync_source_enabled: 'OFF',
      rpl_semi_sync_source_wait_point: 'AFTER_SYNC',
      rpl_semi_sync_source_timeout: '4294967295',
      rpl_semi_sync_source_wait_for_replica_count: '1',
      rpl_semi_sync_replica_enabled: 'ON',
    }),
    'SHOW GLOBAL STATUS': vars({ Rpl_semi_sync_replica_status: 'ON', Rpl_semi_sync_source_clients: '0', Rpl_semi_sync_source_wait_sessions: '0' }),
    'SHOW REPLICA STATUS': [
      {
        Replica_IO_Running: 'Yes',
        Replica_SQL_Running: 'Yes',
        Source_Host: 'shop-mysql-0.shop-mysql.shop.svc',
        Source_Port: 3306,
        Seconds_Behind_Source: '2',
        Retrieved_Gtid_Set: `${U1}:90-105`,
        Auto_Position: 1,
        Last_IO_Errno: 0,
        Last_IO_Error: '',
        Last_SQL_Errno: 0,
        Last_SQL_Error: '',
      },
    ],
    'SELECT COUNT(*)': [{ n: '4' }],
  });

  it('reads a replica: read-only, replicating with auto-position, received ahead of executed, semi-sync replica half on', async () => {
    const status = await new Instance(mysql84, replica).status();
    expect(status).toMatchObject({
      engine: 'mysql',
      serverId: U2,
      readOnly: true,
      applicationTables: 4,
      dataDirEmpty: false,
      replication: {
        sourceHost: 'shop-mysql-0.shop-mysql.shop.svc',
        sourcePort: 3306,
        ioThread: 'running',
        sqlThreadRunning: true,
        lagSeconds: 2,
        lastIoError: undefined,
        lastSqlError: undefined,
        autoPositioning: true,
      },
      semiSync: { sourceEnabled: false, replicaEnabled: true, replicaActive: true, ackCount: 1 },
    });
    expect(status.executed.toString()).toBe(`${U1}:1-100,${U2}:1-3`);
    expect(status.received.toString()).toBe(`${U1}:1-105,${U2}:1-3`);
    expect(replica.sent).toContain('SHOW REPLICA STATUS');
  });

  it('reads a primary waiting for acks, and a replica whose IO thread failed', async () => {
    const primary = await new Instance(
      mysql84,
      scripted({
        'SHOW GLOBAL VARIABLES': vars({ super_read_only: 'OFF', gtid_executed: '', rpl_semi_sync_source_enabled: 'ON', rpl_semi_sync_source_wait_for_replica_count: '2' }),
        'SHOW GLOBAL STATUS': vars({ Rpl_semi_sync_source_status: 'ON', Rpl_semi_sync_source_clients: '1', Rpl_semi_sync_source_wait_sessions: '3' }),
      }),
    ).status();
    expect(primary).toMatchObject({ readOnly: false, replication: undefined, dataDirEmpty: true, semiSync: { sourceActive: true, sourceClients: 1, waitingSessions: 3, ackCount: 2 } });

    const broken = await new Instance(
      mysql84,
      scripted({
        'SHOW REPLICA STATUS': [
          { Replica_IO_Running: 'Connecting', Replica_SQL_Running: 'Yes', Seconds_Behind_Source: null, Last_IO_Errno: '13114', Last_IO_Error: 'Got fatal error 1236 from source', Auto_Position: '1' },
        ],
      }),
    ).status();
    expect(broken.replication).toMatchObject({ ioThread: 'connecting', lagSeconds: undefined, lastIoError: { code: 13114, message: 'Got fatal error 1236 from source' } });
  });
});

describe('MariaDB status', () => {
  it('reads a server without replica status or semi-sync variables as a standalone, non-semi-sync instance', async () => {
    const status = await new Instance(mariadb, scripted({ 'SHOW GLOBAL VARIABLES': vars({ read_only: 'OFF', server_id: '3', gtid_binlog_state: '0-3-7', gtid_slave_pos: '0-1-5' }) })).status();
    expect(status).toMatchObject({ engine: 'mariadb', serverId: '3', readOnly: false, replication: undefined, semiSync: { sourceEnabled: false, ackCount: 1, timeoutMs: undefined } });
    expect(status.executed.toString()).toBe('0-1-5,0-3-7');
  });

  it('sends its operations as the shared sequences, in order', async () => {
    const session = scripted({});
    await new Instance(mariadb, session).fence({ lockWaitSeconds: 2 });
    expect(session.sent).toEqual(['SET SESSION lock_wait_timeout = 2', 'SET GLOBAL read_only = ON']);
  });
});

describe('MySQL seeding by CLONE', () => {
  const donor = { host: 'shop-mysql-0.shop-mysql.shop.svc', port: 3306, user: 'clone', password: 'pw' };
  const empty = { 'SHOW GLOBAL VARIABLES': vars({ super_read_only: 'ON', gtid_executed: '' }), 'SELECT COUNT(*)': [{ n: '0' }] };

  it('clones into an empty instance, and takes the restart that ends its session as success', async () => {
    const session = scripted(empty);
    const restarting: SqlSession = {
      ...session,
      query: async (sql) => {
        const rows = await session.query(sql);
        if (sql.startsWith('CLONE')) throw Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' });
        return rows;
      },
    };
    await seedByClone(new Instance(mysql84, restarting), donor, 60_000);
    expect(session.sent.slice(-2)).toEqual([
      "SET GLOBAL clone_valid_donor_list = 'shop-mysql-0.shop-mysql.shop.svc:3306'",
      "CLONE INSTANCE FROM 'clone'@'shop-mysql-0.shop-mysql.shop.svc':3306 IDENTIFIED BY 'pw' REQUIRE SSL",
    ]);
  });

  it('refuses an instance that holds data, and passes on a real clone error', async () => {
    const full = scripted({ 'SHOW GLOBAL VARIABLES': vars({ gtid_executed: `${U1}:1-9` }), 'SELECT COUNT(*)': [{ n: '2' }] });
    await expect(seedByClone(new Instance(mysql84, full), donor, 60_000)).rejects.toThrow(/refusing to clone into an instance with 2 application tables/);
    expect(full.sent.some((sql) => sql.startsWith('CLONE'))).toBe(false);

    const session = scripted(empty);
    const refused: SqlSession = {
      ...session,
      query: (sql) => (sql.startsWith('CLONE') ? Promise.reject(Object.assign(new Error('Access denied; you need the BACKUP_ADMIN privilege'), { errno: 1227 })) : session.query(sql)),
    };
    await expect(seedByClone(new Instance(mysql84, refused), donor, 60_000)).rejects.toThrow(/BACKUP_ADMIN/);
  });

  it('is for MySQL only', async () => {
    await expect(seedByClone(new Instance(mariadb, scripted(empty)), donor, 60_000)).rejects.toThrow(/CLONE seeds MySQL instances, not mariadb/);
  });
});
