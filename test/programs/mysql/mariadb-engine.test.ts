/**
 * The MariaDB adapter against real mariadbd processes on 127.0.0.1 (tier "real programs, no
 * cluster"): every operation the database loop uses, over TLS verified with the test CA, on both
 * versions selectable in spec.database.version: 10.11 (this machine's) and 11.8 (from sid). The
 * scenarios every engine shares are in scenarios.ts; here, MariaDB's GTID text and its seeding.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { decide } from '../../../operator/database/decide.js';
import { compareGtidSets, holdsTransactionsMissingFrom } from '../../../operator/mysql/gtid.js';
import { mariadb } from '../../../operator/mysql/mariadb.js';
import { MariadbGtidSet } from '../../../operator/mysql/mariadb-gtid.js';
import { seedFromLogicalDump } from '../../../operator/mysql/seed-mariadb.js';
import { engineFixture, eventually, replicating } from './engine-fixture.js';
import { sharedScenarios } from './scenarios.js';

describe.each(['mariadb-10.11', 'mariadb-11.8'] as const)('MariaDB (%s)', (kind) => {
  const fixture = engineFixture(kind, mariadb);
  const { servers, connect, app, cluster, insertRows, rowCount, observe } = fixture;
  sharedScenarios(fixture, mariadb, {
    replicaStatus: { statement: 'SHOW SLAVE STATUS', sslAllowed: 'Master_SSL_Allowed', sslVerified: 'Master_SSL_Verify_Server_Cert' },
    sqlThread: { stop: 'STOP SLAVE SQL_THREAD', start: 'START SLAVE SQL_THREAD' },
    readOnly: 'read-only',
  });

  describe('status over verified TLS', () => {
    it('reads a fresh server as reachable, writable, empty and not replicating, then sees its first data', async () => {
      const [a] = servers();
      const instance = await connect(a);
      const fresh = await instance.status();
      expect(fresh).toMatchObject({ engine: 'mariadb', serverId: '1', readOnly: false, replication: undefined, applicationTables: 0, dataDirEmpty: true });
      expect(fresh.executed.isEmpty()).toBe(true);
      expect(fresh.semiSync).toMatchObject({ sourceEnabled: false, sourceActive: false, waitingSessions: 0, replicaEnabled: false });

      const writer = await app(a);
      await writer.query('CREATE TABLE shop.t (id INT PRIMARY KEY)');
      await writer.query('INSERT INTO shop.t VALUES (1)');
      const used = await instance.status();
      expect(used).toMatchObject({ applicationTables: 1, dataDirEmpty: false });
      expect(used.executed.toString()).toBe('0-1-2');
    });

  });

  describe('semi-sync halves', () => {
    it('switches the source half off and the replica half on when a primary is repointed', async () => {
      const [a, b] = servers();
      const { primary, replicas } = await cluster(a, b);
      const [replica] = replicas;
      if (!replica) throw new Error('no replica');
      await primary.fence();
      await replica.promote({ ackCount: 1 });
      await primary.repoint(b.asSource(), { semiSync: true });
      const old = await eventually('old primary replicating', () => primary.status(), replicating);
      expect(old).toMatchObject({ readOnly: true, replication: { sourcePort: b.port } });
      expect(old.semiSync).toMatchObject({ sourceEnabled: false, replicaEnabled: true, replicaActive: true });
      const promoted = await replica.status();
      expect(promoted.semiSync).toMatchObject({ sourceEnabled: true, sourceActive: true, sourceClients: 1, replicaEnabled: false });
      expect(promoted.replication).toBeUndefined();
    });
  });

  describe('failover, driven by decide()', () => {
    it('stops the IO threads, promotes the superset replica after it applied everything, repoints, then fences and excludes the errant old primary', async () => {
      const [a, b, c] = servers();
      const { replicas } = await cluster(a, b, c);
      const [rb, rc] = replicas;
      if (!rb || !rc) throw new Error('no replicas');
      await insertRows(a, 1, 10);
      await eventually('c caught up', () => rc.status(), (s) => s.executed.includes(MariadbGtidSet.parse('0-1-11')));
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
      const settled = decide(await observe([a, b, c], 'db1', { podsDown: ['db0'] }));
      expect(settled).toMatchObject({ state: 'Degraded', action: { kind: 'none' } });

      // The old primary restarts writable and takes a write no replica acknowledged.
      await a.start();
      const old = await connect(a);
      await insertRows(a, 100, 100);
      const [sa, newPrimary] = await Promise.all([old.status(), rb.status()]);
      // By sequence number alone a (0-1-17) looks behind b (0-2-21); its server-1 write is errant.
      expect([MariadbGtidSet.parse(sa.executed.toString()).position(), MariadbGtidSet.parse(newPrimary.executed.toString()).position()]).toEqual(['0-1-17', '0-2-21']);
      expect(holdsTransactionsMissingFrom(sa.executed, newPrimary.executed)).toBe(true);

      const fourth = decide(await observe([a, b, c], 'db1'));
      expect(fourth.action).toMatchObject({ kind: 'fence', instance: 'db0' });
      await old.fence();
      expect((await old.status()).readOnly).toBe(true);
      const fifth = decide(await observe([a, b, c], 'db1'));
      expect(fifth.action).toMatchObject({ kind: 'exclude', instance: 'db0', remedy: expect.stringContaining('PersistentVolumeClaim data-db0') as unknown });
    }, 30_000);

  });

  describe('seeding', () => {
    it('streams a consistent dump into an empty server, which then replicates from the primary', async () => {
      const [a, b, c] = servers();
      await cluster(a, b);
      await insertRows(a, 1, 50);
      const target = await connect(c);
      expect((await target.status()).dataDirEmpty).toBe(true);

      const copied: number[] = [];
      const { position } = await seedFromLogicalDump({ donor: a.target(), target: c.target(), source: a.asSource(), semiSync: true, deadlineMs: 60_000, onProgress: (bytes) => copied.push(bytes) });
      // The dump's bytes were counted, the last report at the end holding them all.
      expect(copied.at(-1)).toBeGreaterThan(1000);
      expect([...copied].sort((x, y) => x - y)).toEqual(copied);
      const primaryAfter = await (await connect(a)).status();
      expect(position.toString()).toBe(primaryAfter.executed.toString());
      const seeded = await eventually('seeded server replicating', () => target.status(), replicating);
      expect(seeded).toMatchObject({ readOnly: true, dataDirEmpty: false, applicationTables: 1 });
      expect(compareGtidSets(seeded.executed, primaryAfter.executed)).toBe('equal');
      expect(await rowCount(c)).toBe(50);
      await insertRows(a, 51, 55);
      expect(await target.waitForGtid((await (await connect(a)).status()).executed, 5000)).toBe(true);
      expect(await rowCount(c)).toBe(55);

      await expect(seedFromLogicalDump({ donor: a.target(), target: c.target(), source: a.asSource(), semiSync: true, deadlineMs: 60_000 })).rejects.toThrow(/refusing to seed/);
    }, 30_000);

    it("gives the seeded server the donor's whole history, so a server that wrote before the snapshot does not look errant against it", async () => {
      const [a, b, c] = servers();
      const { primary, replicas } = await cluster(a, b);
      const [replica] = replicas;
      if (!replica) throw new Error('no replica');
      await insertRows(a, 1, 5);
      expect(await replica.waitForGtid((await primary.status()).executed, 5000)).toBe(true);
      // b becomes the primary and writes: the history now holds the last GTIDs of two servers.
      await primary.fence();
      await replica.promote({ ackCount: 1 });
      await primary.repoint(b.asSource(), { semiSync: true });
      await eventually('old primary replicating', () => primary.status(), replicating);
      await insertRows(b, 6, 10);

      await seedFromLogicalDump({ donor: b.target(), target: c.target(), source: b.asSource(), semiSync: true, deadlineMs: 60_000 });
      const seeded = await eventually('seeded server replicating', () => connect(c).then((i) => i.status()), replicating);
      const old = await primary.status();
      // Server a's last GTID is older than the snapshot's position, yet it is in the seeded state.
      expect(old.executed.toString().split(',')).toHaveLength(2);
      expect(seeded.executed.includes(old.executed)).toBe(true);
      expect(holdsTransactionsMissingFrom(old.executed, seeded.executed)).toBe(false);
    }, 30_000);

    it('leaves the target as it was when the donor refuses the operator', async () => {
      const [a, , c] = servers();
      const donor = { ...a.target(), password: 'wrong' };
      await expect(seedFromLogicalDump({ donor, target: c.target(), source: a.asSource(), semiSync: false, deadlineMs: 60_000 })).rejects.toThrow(/Access denied/);
      expect(await (await connect(c)).status()).toMatchObject({ dataDirEmpty: true, readOnly: false, replication: undefined });
    });

    it('reports a load that failed and starts no replication on the half-seeded target', async () => {
      const [a, , c] = servers();
      await (await app(a)).query('CREATE TABLE shop.t (id INT PRIMARY KEY, note VARCHAR(40))');
      await insertRows(a, 1, 1);
      const failing = { dump: 'mariadb-dump', client: 'false' };
      await expect(seedFromLogicalDump({ donor: a.target(), target: c.target(), source: a.asSource(), semiSync: false, deadlineMs: 60_000, programs: failing })).rejects.toThrow(/false exited 1/);
      expect(await (await connect(c)).status()).toMatchObject({ readOnly: true, replication: undefined });
    });

    it('stops a seed that outlives its deadline, and leaves the target read-only and unpointed', async () => {
      const [a, , c] = servers();
      // A dump that never ends, as one stuck on a hung donor would.
      const hanging = path.join(mkdtempSync(path.join(tmpdir(), 'hanging-dump-')), 'dump');
      writeFileSync(hanging, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
      const started = Date.now();
      const seeding = seedFromLogicalDump({ donor: a.target(), target: c.target(), source: a.asSource(), semiSync: false, deadlineMs: 1_000, programs: { dump: hanging, client: 'mariadb' } });
      await expect(seeding).rejects.toThrow(/did not finish within 1 s/);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await (await connect(c)).status()).toMatchObject({ readOnly: true, replication: undefined });
    });
  });
});
