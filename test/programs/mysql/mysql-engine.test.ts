/**
 * The MySQL adapter against real mysqld 9.7 processes on 127.0.0.1 (MySQL 9.7 from Debian's sid
 * suite, see support/mysql-servers.ts): every operation the database loop uses, over TLS verified
 * with the test CA. The scenarios every engine shares are in scenarios.ts; here, MySQL's GTID text,
 * the release of acks (durability Preferred) and seeding by CLONE.
 */
import { Slots } from '../../../operator/support/slots.js';
import { describe, expect, it } from '@jest/globals';
import { act } from '../../../operator/database/act.js';
import { decide } from '../../../operator/database/decide.js';
import { compareGtidSets, holdsTransactionsMissingFrom } from '../../../operator/mysql/gtid.js';
import { mysql84 } from '../../../operator/mysql/mysql84.js';
import { cloneProgress, seedByClone } from '../../../operator/mysql/seed-mysql.js';
import type { SeedProgress } from '../../../operator/api/types.js';
import { OPERATOR } from '../../support/mysql-servers.js';
import { engineFixture, eventually, replicating } from './engine-fixture.js';
import { sharedScenarios } from './scenarios.js';

const fixture = engineFixture('mysql-9.7', mysql84);
const { servers, connect, app, cluster, commitWaitingForAck, insertRows, rowCount, observe } = fixture;
sharedScenarios(fixture, mysql84, {
  replicaStatus: { statement: 'SHOW REPLICA STATUS', sslAllowed: 'Source_SSL_Allowed', sslVerified: 'Source_SSL_Verify_Server_Cert' },
  sqlThread: { stop: 'STOP REPLICA SQL_THREAD', start: 'START REPLICA SQL_THREAD' },
  readOnly: 'super-read-only',
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('status over verified TLS', () => {
  it('reads a fresh server as reachable, writable, empty and not replicating, then sees its first data', async () => {
    const [a] = servers();
    const instance = await connect(a);
    const [version] = await a.rootQuery('SELECT VERSION() AS v');
    expect(String(version?.v)).toMatch(/^9\.7\./);
    const fresh = await instance.status();
    expect(fresh).toMatchObject({ engine: 'mysql', readOnly: false, replication: undefined, applicationTables: 0, dataDirEmpty: true });
    expect(fresh.serverId).toMatch(UUID);
    expect(fresh.executed.isEmpty()).toBe(true);
    expect(fresh.semiSync).toMatchObject({ sourceEnabled: false, sourceActive: false, waitingSessions: 0, replicaEnabled: false });

    const writer = await app(a);
    await writer.query('CREATE TABLE shop.t (id INT PRIMARY KEY)');
    await writer.query('INSERT INTO shop.t VALUES (1)');
    const used = await instance.status();
    expect(used).toMatchObject({ applicationTables: 1, dataDirEmpty: false });
    expect(used.executed.toString()).toBe(`${fresh.serverId}:1-2`);
  });

});

describe('durability Preferred: the steps on a real server', () => {
  it('releasing acks lets the waiting commit and the next ones complete; requiring them again makes commits wait for the replica', async () => {
    const [a, b] = servers();
    // The replica is gone.
    const { primary, replica, pending } = await commitWaitingForAck('waited for an ack');

    await primary.disableSemiSyncSource();
    await pending;
    await insertRows(a, 2, 3);
    expect(await primary.status()).toMatchObject({ readOnly: false, semiSync: { sourceEnabled: false, waitingSessions: 0 } });

    await replica.startReplication();
    expect(await replica.waitForGtid((await primary.status()).executed, 5000)).toBe(true);
    await primary.enableSemiSyncSource(1);
    await insertRows(a, 4, 4);
    expect(await primary.status()).toMatchObject({ semiSync: { sourceEnabled: true, sourceActive: true, sourceClients: 1 } });
    expect(await rowCount(b)).toBe(4);
  }, 20_000);
});

describe('failover and switchover, driven by decide()', () => {
  it('stops the IO threads, promotes the superset replica after it applied everything, repoints, then fences and excludes the errant old primary', async () => {
    const [a, b, c] = servers();
    const { primary, replicas } = await cluster(a, b, c);
    const [rb, rc] = replicas;
    if (!rb || !rc) throw new Error('no replicas');
    await insertRows(a, 1, 10);
    const ten = (await primary.status()).executed;
    await eventually('c caught up', () => rc.status(), (s) => s.executed.includes(ten));
    await rc.stopReplicationIo(); // c misses what follows; b still acks
    await insertRows(a, 11, 15);
    await a.kill();

    const first = decide(await observe([a, b, c], 'db0', { podsDown: ['db0'] }));
    expect(first).toMatchObject({ state: 'Failed', action: { kind: 'stopReplicationIo', instances: ['db1'] } });
    await rb.stopReplicationIo();
    const [sb, sc] = await Promise.all([rb.status(), rc.status()]);
    expect(compareGtidSets(sb.received, sc.received)).toBe('superset');

    const second = decide(await observe([a, b, c], 'db0', { podsDown: ['db0'] }));
    expect(second.action).toMatchObject({ kind: 'failover', from: 'db0', candidate: 'db1' });
    expect(await rb.waitUntilApplied(5000)).toBe(true);
    await rb.promote({ ackCount: 1 });

    const third = decide(await observe([a, b, c], 'db1', { podsDown: ['db0'] }));
    expect(third.action).toMatchObject({ kind: 'repoint', instance: 'db2', source: 'db1' });
    await rc.repoint(b.asSource(), { semiSync: true });
    await eventually('c replicating from b', () => rc.status(), replicating);
    await insertRows(b, 16, 20);
    expect(await rc.waitForGtid((await rb.status()).executed, 5000)).toBe(true);
    expect(await rowCount(c)).toBe(20);
    expect(decide(await observe([a, b, c], 'db1', { podsDown: ['db0'] }))).toMatchObject({ state: 'Degraded', action: { kind: 'none' } });

    // The old primary restarts writable and takes a write no replica acknowledged.
    await a.start();
    const old = await connect(a);
    await insertRows(a, 100, 100);
    expect(holdsTransactionsMissingFrom((await old.status()).executed, (await rb.status()).executed)).toBe(true);

    expect(decide(await observe([a, b, c], 'db1')).action).toMatchObject({ kind: 'fence', instance: 'db0' });
    await old.fence();
    expect((await old.status()).readOnly).toBe(true);
    expect(decide(await observe([a, b, c], 'db1')).action).toMatchObject({ kind: 'exclude', instance: 'db0' });
  }, 30_000);

});

describe('seeding by CLONE', () => {
  it("copies the primary's data and GTID set into an empty server, which after its restart replicates from the primary", async () => {
    const [a, b, c] = servers();
    const { primary } = await cluster(a, b);
    await insertRows(a, 1, 50);
    const target = await connect(c);
    expect((await target.status()).dataDirEmpty).toBe(true);
    // As in a pod: the rendered my.cnf starts every server super-read-only.
    await c.rootQuery('SET GLOBAL super_read_only = ON');

    await seedByClone(target, { host: a.asSource().host, port: a.port, ...OPERATOR, caFile: a.asSource().caFile ?? "" }, 120_000);
    // Not under a supervisor, mysqld ends after the clone; in a pod the kubelet starts it again.
    expect(await c.exitedWithin(30_000)).toBe(true);
    await c.start();
    const restarted = await connect(c);
    const cloned = await restarted.status();
    const donor = await primary.status();
    expect(cloned).toMatchObject({ dataDirEmpty: false, applicationTables: 1, replication: undefined });
    expect(compareGtidSets(cloned.executed, donor.executed)).toBe('equal');
    expect(await rowCount(c)).toBe(50);

    await restarted.repoint(a.asSource(), { semiSync: true });
    await eventually('seeded server replicating', () => restarted.status(), replicating);
    await insertRows(a, 51, 55);
    expect(await restarted.waitForGtid((await primary.status()).executed, 5000)).toBe(true);
    expect(await rowCount(c)).toBe(55);

    await expect(seedByClone(restarted, { host: '127.0.0.1', port: a.port, ...OPERATOR }, 120_000)).rejects.toThrow(/refusing to clone/);
  }, 90_000);

  it('an old primary back after a failover with a transaction no replica acknowledged: re-seeded in place by CLONE, the transaction discarded, then it replicates', async () => {
    const [a, b] = servers();
    // A commit on a waits for b's ack, which never comes; a's power goes (its binlog already holds the commit).
    const { replica, pending } = await commitWaitingForAck('never acknowledged');
    const acknowledged = (await replica.status()).executed;
    await a.kill();
    await expect(pending).rejects.toThrow();
    await replica.promote({ ackCount: 0 });
    await insertRows(b, 10, 12);
    // Waiting for an ack again, as the loop has it once a replica could ack.
    await replica.promote({ ackCount: 1 });
    // a starts again, super-read-only as in a pod, holding the unacknowledged commit.
    await a.start();
    await a.rootQuery('SET GLOBAL super_read_only = ON');
    const old = await connect(a);
    expect(holdsTransactionsMissingFrom((await old.status()).executed, acknowledged)).toBe(true);

    const facts = { ...(await observe([a, b], 'db1')), failedOverFrom: { name: 'db0', agoMs: 30_000 } };
    const decision = decide(facts);
    expect(decision.action).toMatchObject({ kind: 'seed', instance: 'db0', donor: 'db1', discarding: (await old.status()).executed.toString() });
    // Without the failover record, the same instance is excluded, as any errant one.
    expect(decide(await observe([a, b], 'db1')).action).toMatchObject({ kind: 'exclude', instance: 'db0' });

    const warned: string[] = [];
    const unexpected = () => Promise.reject(new Error('not part of a seed'));
    const server = (name: string) => (name === a.name ? a : b);
    await act(decision.action, {
      wiring: { adapter: mysql84, target: (name) => server(name).target(), source: (name) => server(name).asSource() },
      ackCount: 0,
      include: () => Promise.resolve(),
      record: unexpected,
      exclude: unexpected,
      deletePod: unexpected,
      recordAcksReleased: unexpected,
      movePrimaryLabel: unexpected,
      warn: (reason, message) => Promise.resolve(void warned.push(`${reason}: ${message}`)),
      takeSeedSlot: () => new Slots(1).take(),
      seedProgress: () => Promise.resolve(),
    });
    expect(warned).toEqual([expect.stringMatching(/^UnacknowledgedDiscarded: db0, the primary before the failover, holds transactions db1 does not have/)]);
    expect(await a.exitedWithin(30_000)).toBe(true);
    await a.start();
    const reseeded = await connect(a);
    expect(compareGtidSets((await reseeded.status()).executed, (await replica.status()).executed)).toBe('equal');
    await reseeded.repoint(b.asSource(), { semiSync: true });
    await eventually('the old primary replicating from the new one', () => reseeded.status(), replicating);
    await insertRows(b, 13, 13); // acknowledged by the re-seeded old primary
    expect(await reseeded.waitForGtid((await replica.status()).executed, 5000)).toBe(true);
    expect(await rowCount(a)).toBe(await rowCount(b));
  }, 120_000);

  it("the loop's seed step: an excluded instance that came back empty leaves the excluded list, then is cloned from the primary (clone_ssl_ca set to the stack's CA)", async () => {
    const [a, b, c] = servers();
    await cluster(a, b);
    await insertRows(a, 1, 20);
    const byName = new Map([a, b, c].map((s) => [s.name, s]));
    const server = (name: string) => {
      const found = byName.get(name);
      if (!found) throw new Error(`no server ${name}`);
      return found;
    };
    const included: string[] = [];
    const shown: (SeedProgress | undefined)[] = [];
    const unexpected = () => Promise.reject(new Error('not part of a seed'));
    await act(
      { kind: 'seed', instance: c.name, donor: a.name, reason: `${c.name} has an empty data directory` },
      {
        wiring: { adapter: mysql84, target: (name) => server(name).target(), source: (name) => server(name).asSource() },
        ackCount: 1,
        include: (name) => Promise.resolve(void included.push(name)),
        record: unexpected,
        exclude: unexpected,
        deletePod: unexpected,
        recordAcksReleased: unexpected,
        movePrimaryLabel: unexpected,
        warn: unexpected,
        takeSeedSlot: () => new Slots(1).take(),
        seedProgress: (progress) => Promise.resolve(void shown.push(progress)),
      },
    );
    expect(included).toEqual([c.name]);
    // Status showed the seed while it ran, and nothing once it ended.
    expect(shown[0]).toMatchObject({ instance: c.name, donor: a.name, method: 'clone' });
    expect(shown.at(-1)).toBeUndefined();
    expect(await c.exitedWithin(30_000)).toBe(true);
    await c.start();
    expect(await rowCount(c)).toBe(20);
    // What the progress reads during a clone, kept by the recipient across its restart.
    const progress = await cloneProgress(await connect(c));
    expect(progress.copiedBytes).toBeGreaterThan(0);
    expect(progress.estimatedBytes).toBeGreaterThanOrEqual(progress.copiedBytes);
  }, 90_000);
});
