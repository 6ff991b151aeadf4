/**
 * The MySQL adapter against real mysqld 9.7 processes on 127.0.0.1 (MySQL 9.7 from Debian's sid
 * suite, see servers.ts): every operation the database loop uses, over TLS verified with the
 * test CA, and seeding by CLONE.
 */
import { Slots } from '../../../operator/support/slots.js';
import { describe, expect, it } from '@jest/globals';
import { act } from '../../../operator/database/act.js';
import { decide } from '../../../operator/database/decide.js';
import { compareGtidSets, holdsTransactionsMissingFrom } from '../../../operator/mysql/gtid.js';
import { Instance, observeInstance } from '../../../operator/mysql/instance.js';
import { mysql84 } from '../../../operator/mysql/mysql84.js';
import { seedByClone } from '../../../operator/mysql/seed-mysql.js';
import { openSession } from '../../../operator/mysql/session.js';
import { OPERATOR } from '../../support/mysql-servers.js';
import { engineFixture, eventually, replicating } from './engine-fixture.js';

const { servers, otherCa, connect, app, cluster, commitWaitingForAck, insertRows, rowCount, observe } = engineFixture('mysql-9.7', mysql84);

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

  it('refuses a server whose certificate the given CA did not sign, and reports it unreachable', async () => {
    const [a] = servers();
    const wrongCa = { ...a.target(), tls: { ca: otherCa() } };
    await expect(Instance.connect(mysql84, wrongCa)).rejects.toThrow(/certificate/i);
    expect((await observeInstance(mysql84, wrongCa)).reachable).toBe(false);
  });

  it('cuts a statement off at its deadline when the server stops answering mid-session, and closes at once', async () => {
    const [a] = servers();
    const session = await openSession(a.target());
    a.freeze(true);
    try {
      const started = Date.now();
      await expect(session.query('SELECT 1', { timeoutMs: 500 })).rejects.toThrow(/no answer .* within 500 ms: connection dropped/);
      await session.close();
      // Within the deadline and well inside close()'s own grace of 1 s: nothing waited on the server.
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      a.freeze(false);
    }
  });

  it('reports a frozen server unreachable within the connect timeout, and reachable once it runs again', async () => {
    const [a] = servers();
    a.freeze(true);
    try {
      const started = Date.now();
      const frozen = await observeInstance(mysql84, a.target());
      expect(frozen).toMatchObject({ reachable: false, error: expect.stringMatching(/timeout|ETIMEDOUT/i) as unknown });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      a.freeze(false);
    }
    expect((await observeInstance(mysql84, a.target())).reachable).toBe(true);
  });
});

describe('promote and repoint', () => {
  it('makes a semi-sync primary and a super-read-only replica that verifies the primary over TLS', async () => {
    const [a, b] = servers();
    const { primary, replicas } = await cluster(a, b);
    const [replica] = replicas;
    if (!replica) throw new Error('no replica');
    await insertRows(a, 1, 5);

    const p = await primary.status();
    expect(p).toMatchObject({ readOnly: false, replication: undefined });
    expect(p.semiSync).toMatchObject({ sourceEnabled: true, sourceActive: true, sourceClients: 1, waitPoint: 'AFTER_SYNC', timeoutMs: 4294967295, ackCount: 1 });
    expect(await replica.waitForGtid(p.executed, 5000)).toBe(true);
    const r = await replica.status();
    expect(r).toMatchObject({ readOnly: true, replication: { sourceHost: '127.0.0.1', sourcePort: a.port, autoPositioning: true } });
    expect(r.semiSync).toMatchObject({ sourceEnabled: false, replicaEnabled: true, replicaActive: true });
    expect(compareGtidSets(p.executed, r.executed)).toBe('equal');
    expect(await rowCount(b)).toBe(5);

    const [channel] = await b.rootQuery('SHOW REPLICA STATUS');
    expect(channel).toMatchObject({ Source_SSL_Allowed: 'Yes', Source_SSL_Verify_Server_Cert: 'Yes' });
    const readerOnReplica = await app(b);
    await expect(readerOnReplica.query('INSERT INTO shop.t VALUES (99, ?)', ['not here'])).rejects.toThrow(/read-only|READ.ONLY/i);
  });

  it('waits until the relay log is applied, and says so when the timeout passes first', async () => {
    const [a, b] = servers();
    const { replicas } = await cluster(a, b);
    const [replica] = replicas;
    if (!replica) throw new Error('no replica');
    await b.rootQuery('STOP REPLICA SQL_THREAD');
    await insertRows(a, 1, 3); // acked: the IO thread still receives
    const behind = await replica.status();
    expect(behind.received.includes(behind.executed)).toBe(true);
    expect(behind.executed.includes(behind.received)).toBe(false);
    expect(await replica.waitUntilApplied(1000)).toBe(false);
    await b.rootQuery('START REPLICA SQL_THREAD');
    expect(await replica.waitUntilApplied(10_000)).toBe(true);
    expect(await rowCount(b)).toBe(3);
  });
});

describe('semi-sync and fencing', () => {
  it('shows a commit waiting for an ack, and fencing never acknowledges it', async () => {
    const [a, b] = servers();
    const { primary, replica, pending, waiting } = await commitWaitingForAck('waits for an ack');
    let settled = false;
    void pending.finally(() => {
      settled = true;
    });
    expect(waiting.semiSync.sourceActive).toBe(true);

    const started = Date.now();
    await expect(primary.fence({ lockWaitSeconds: 1 })).rejects.toThrow(/lock wait timeout/i);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(settled).toBe(false);
    expect(await primary.status()).toMatchObject({ readOnly: false, semiSync: { sourceEnabled: true, waitingSessions: 1 } });

    await replica.startReplication();
    await pending;
    await primary.fence();
    expect((await primary.status()).readOnly).toBe(true);
    const second = await app(a);
    await expect(second.query('INSERT INTO shop.t VALUES (2, ?)', ['refused'])).rejects.toThrow(/read-only|READ.ONLY/i);
    expect(await rowCount(b)).toBe(1);
  }, 20_000);

  it('fences an old primary stuck on acks by interrupting its waiting commits: their clients get errors, and the commits are errant', async () => {
    const [a] = servers();
    // The replica's IO thread stopped, as the first step of a failover does.
    const { primary, replica, pending } = await commitWaitingForAck('never acknowledged');

    await primary.fence({ lockWaitSeconds: 1, interruptCommitsWaitingForAck: true });
    await expect(pending).rejects.toThrow(/connection|killed|interrupted/i);
    const fenced = await primary.status();
    expect(fenced).toMatchObject({ readOnly: true, semiSync: { waitingSessions: 0 } });
    expect(holdsTransactionsMissingFrom(fenced.executed, (await replica.status()).executed)).toBe(true);
    // Applications are let in again, to read only.
    const reader = await app(a);
    await expect(reader.query('SELECT COUNT(*) FROM shop.t')).resolves.toBeDefined();
    await expect(reader.query('INSERT INTO shop.t VALUES (2, ?)', ['refused'])).rejects.toThrow(/read-only|READ.ONLY/i);
  }, 20_000);
});

describe('switchover', () => {
  it('ends the clients of a fenced old primary, not the replica reading its binary log', async () => {
    const [a, b] = servers();
    const { primary, replicas } = await cluster(a, b);
    const [replica] = replicas;
    if (!replica) throw new Error('no replica');
    const pooled = await app(a);
    await pooled.query('SELECT 1');
    await primary.fence();
    expect(await primary.disconnectClients()).toBeGreaterThanOrEqual(1);
    await expect(pooled.query('SELECT 1')).rejects.toThrow();
    expect(replicating(await replica.status())).toBe(true);
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

  it('switches over on request and the old primary, holding nothing extra, rejoins as a replica', async () => {
    const [a, b] = servers();
    const { primary, replicas } = await cluster(a, b);
    const [replica] = replicas;
    if (!replica) throw new Error('no replica');
    await insertRows(a, 1, 3);
    expect(decide(await observe([a, b], 'db0'))).toMatchObject({ state: 'Healthy', action: { kind: 'none' } });
    expect(decide(await observe([a, b], 'db0', { switchover: 'node drain' })).action).toMatchObject({ kind: 'switchover', from: 'db0', candidate: 'db1' });

    await primary.fence();
    expect(await replica.waitForGtid((await primary.status()).executed, 5000)).toBe(true);
    await replica.promote({ ackCount: 1 });
    expect(decide(await observe([a, b], 'db1')).action).toMatchObject({ kind: 'repoint', instance: 'db0', source: 'db1' });
    await primary.repoint(b.asSource(), { semiSync: true });
    await eventually('old primary replicating', () => primary.status(), replicating);
    await insertRows(b, 4, 6);
    expect(await primary.waitForGtid((await replica.status()).executed, 5000)).toBe(true);
    expect(await rowCount(a)).toBe(6);
    expect(decide(await observe([a, b], 'db1'))).toMatchObject({ state: 'Healthy', action: { kind: 'none' } });
  }, 30_000);
});

describe('seeding by CLONE', () => {
  it("copies the primary's data and GTID set into an empty server, which after its restart replicates from the primary", async () => {
    const [a, b, c] = servers();
    const { primary } = await cluster(a, b);
    await insertRows(a, 1, 50);
    const target = await connect(c);
    expect((await target.status()).dataDirEmpty).toBe(true);

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
        takeSeedSlot: () => new Slots(1).take(),
      },
    );
    expect(included).toEqual([c.name]);
    expect(await c.exitedWithin(30_000)).toBe(true);
    await c.start();
    expect(await rowCount(c)).toBe(20);
  }, 90_000);
});
