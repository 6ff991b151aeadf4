/**
 * The SQL each engine adapter sends, statement by statement. MariaDB's also runs against real
 * servers (mariadb-engine.test.ts); MySQL 8.4's is checked here only: no MySQL server runs in
 * this project's tests.
 */
import { describe, expect, it } from '@jest/globals';
import { semiSyncAckCount } from '../../../operator/mysql/engine.js';
import { mariadb, setReplicaPosition } from '../../../operator/mysql/mariadb.js';
import { MariadbGtidSet } from '../../../operator/mysql/mariadb-gtid.js';
import { MysqlGtidSet } from '../../../operator/mysql/mysql-gtid.js';
import { cloneInstanceStatements, mysql84 } from '../../../operator/mysql/mysql84.js';
import { commitsWaitingForAckQuery, fenceStatements, killConnectionStatement, promoteStatements, repointStatements } from '../../../operator/mysql/operations.js';
import { sqlInteger, sqlString } from '../../../operator/mysql/sql-literal.js';

const source = { host: 'shop-mysql-1.shop-mysql.shop.svc', port: 3306, user: 'repl', password: "p'w\\d", caFile: '/etc/mysql/tls/ca.crt', heartbeatSeconds: 1 };

describe('MySQL statements', () => {
  it('promotes: replication off and forgotten, semi-sync source on (AFTER_SYNC, never degrading, acks by count), then writes on and applications in', () => {
    expect(promoteStatements(mysql84, { ackCount: 2 })).toEqual([
      'STOP REPLICA',
      'RESET REPLICA ALL',
      'SET GLOBAL rpl_semi_sync_replica_enabled = OFF',
      "SET GLOBAL rpl_semi_sync_source_wait_point = 'AFTER_SYNC'",
      'SET GLOBAL rpl_semi_sync_source_timeout = 4294967295',
      'SET GLOBAL rpl_semi_sync_source_wait_no_replica = ON',
      'SET GLOBAL rpl_semi_sync_source_wait_for_replica_count = 2',
      'SET GLOBAL rpl_semi_sync_source_enabled = ON',
      'SET GLOBAL super_read_only = OFF',
      'SET GLOBAL read_only = OFF',
      'SET GLOBAL offline_mode = OFF',
    ]);
  });

  it('promotes a single instance without semi-sync', () => {
    expect(promoteStatements(mysql84, { ackCount: 0 })).toContain('SET GLOBAL rpl_semi_sync_source_enabled = OFF');
  });

  it('repoints: read-only first, source half off, replica half on, auto-positioned TLS-verified source, applications in', () => {
    expect(repointStatements(mysql84, source, { semiSync: true })).toEqual([
      'SET GLOBAL super_read_only = ON',
      'STOP REPLICA',
      'SET GLOBAL rpl_semi_sync_source_enabled = OFF',
      'SET GLOBAL rpl_semi_sync_replica_enabled = ON',
      "CHANGE REPLICATION SOURCE TO SOURCE_HOST='shop-mysql-1.shop-mysql.shop.svc', SOURCE_PORT=3306, SOURCE_USER='repl', SOURCE_PASSWORD='p\\'w\\\\d', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, SOURCE_HEARTBEAT_PERIOD=1, SOURCE_SSL=1, SOURCE_SSL_CA='/etc/mysql/tls/ca.crt', SOURCE_SSL_VERIFY_SERVER_CERT=1",
      'START REPLICA',
      'SET GLOBAL offline_mode = OFF',
    ]);
  });

  it('asks for the source\'s public key only without TLS', () => {
    const { caFile: _caFile, ...plain } = source;
    expect(mysql84.changeSource(plain).join('\n')).toMatch(/GET_SOURCE_PUBLIC_KEY=1$/);
    expect(mysql84.changeSource(source).join('\n')).not.toMatch(/GET_SOURCE_PUBLIC_KEY/);
  });

  it('fences with super_read_only and a bounded lock wait, leaving semi-sync alone', () => {
    expect(fenceStatements(mysql84, { lockWaitSeconds: 3 })).toEqual(['SET SESSION lock_wait_timeout = 3', 'SET GLOBAL super_read_only = ON']);
  });

  it('waits for a GTID set with WAIT_FOR_EXECUTED_GTID_SET', () => {
    const set = MysqlGtidSet.parse('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5');
    expect(mysql84.waitForGtid(set, 30)).toBe("SELECT WAIT_FOR_EXECUTED_GTID_SET('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5', 30) = 0 AS reached");
  });

  it('clones an empty instance from a donor over TLS', () => {
    expect(cloneInstanceStatements({ host: 'shop-mysql-0.shop-mysql.shop.svc', port: 3306, user: 'clone', password: 's3cr3t' })).toEqual([
      // CLONE refuses to run on a super-read-only server, as a pod's starts.
      'SET GLOBAL super_read_only = OFF',
      "SET GLOBAL clone_valid_donor_list = 'shop-mysql-0.shop-mysql.shop.svc:3306'",
      "CLONE INSTANCE FROM 'clone'@'shop-mysql-0.shop-mysql.shop.svc':3306 IDENTIFIED BY 's3cr3t' REQUIRE SSL",
    ]);
  });
});

describe('MariaDB statements', () => {
  it('promotes with its own variable names and no ack count (it always waits for one)', () => {
    const statements = promoteStatements(mariadb, { ackCount: 2 });
    expect(statements).toEqual([
      'STOP SLAVE',
      'RESET SLAVE ALL',
      'SET GLOBAL rpl_semi_sync_slave_enabled = OFF',
      "SET GLOBAL rpl_semi_sync_master_wait_point = 'AFTER_SYNC'",
      'SET GLOBAL rpl_semi_sync_master_timeout = 4294967295',
      'SET GLOBAL rpl_semi_sync_master_wait_no_slave = ON',
      'SET GLOBAL rpl_semi_sync_master_enabled = ON',
      'SET GLOBAL read_only = OFF',
    ]);
  });

  it('repoints from the current position with MASTER_USE_GTID=slave_pos and a verified TLS source', () => {
    expect(repointStatements(mariadb, source, { semiSync: false })).toEqual([
      'SET GLOBAL read_only = ON',
      'STOP SLAVE',
      'SET GLOBAL rpl_semi_sync_master_enabled = OFF',
      'SET GLOBAL rpl_semi_sync_slave_enabled = OFF',
      'SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_current_pos',
      "CHANGE MASTER TO MASTER_HOST='shop-mysql-1.shop-mysql.shop.svc', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='p\\'w\\\\d', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1, MASTER_SSL=1, MASTER_SSL_CA='/etc/mysql/tls/ca.crt', MASTER_SSL_VERIFY_SERVER_CERT=1",
      'START SLAVE',
    ]);
  });

  it('waits for a position (one GTID per domain) with MASTER_GTID_WAIT, and sets a seeded position', () => {
    const state = MariadbGtidSet.parse('0-1-10,0-2-15,1-3-4');
    expect(mariadb.waitForGtid(state, 5)).toBe("SELECT MASTER_GTID_WAIT('0-2-15,1-3-4', 5) = 0 AS reached");
    expect(setReplicaPosition(state)).toBe("SET GLOBAL gtid_slave_pos = '0-2-15,1-3-4'");
  });

  it('refuses to wait for a MySQL set', () => {
    expect(() => mariadb.waitForGtid(MysqlGtidSet.parse('3e11fa47-71ca-11e1-9e33-c80aa9429562:1'), 5)).toThrow(/MariaDB cannot wait for a mysql GTID set/);
  });
});

describe('interrupting commits that wait for an ack', () => {
  it('finds them by the thread state both engines give them, and ends their connections', () => {
    expect(commitsWaitingForAckQuery()).toBe("SELECT ID AS id FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for semi-sync ACK from %'");
    expect(killConnectionStatement(42)).toBe('KILL CONNECTION 42');
  });
});

describe('semi-sync ack count', () => {
  it('waits for nobody alone, one ack on MariaDB, half the instances on MySQL', () => {
    expect([1, 2, 3, 4, 5].map((n) => semiSyncAckCount('mysql', n))).toEqual([0, 1, 1, 2, 2]);
    expect([1, 2, 3, 5].map((n) => semiSyncAckCount('mariadb', n))).toEqual([0, 1, 1, 1]);
  });
});

describe('SQL literals', () => {
  it('escapes every character that could end or bend a string literal', () => {
    expect(sqlString(`a'b"c\\d\n\r\t\b\0\x1ae`)).toBe(`'a\\'b\\"c\\\\d\\n\\r\\t\\b\\0\\Ze'`);
  });

  it('refuses numbers that are not non-negative integers', () => {
    expect(sqlInteger(3306)).toBe('3306');
    expect(() => sqlInteger(-1)).toThrow();
    expect(() => sqlInteger(1.5)).toThrow();
    expect(() => sqlInteger(Number.NaN)).toThrow();
  });
});
