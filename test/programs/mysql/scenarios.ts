/**
 * The engine tier's scenarios that read the same on every engine: TLS and reachability, promote and
 * repoint, semi-sync and fencing, a switchover. Each engine's test file registers them with its
 * fixture and the few words its SQL differs in; what only one engine has (its GTID text, its seeding,
 * MySQL's acks release) stays in that file.
 */
import { describe, expect, it } from '@jest/globals';
import { decide } from '../../../operator/database/decide.js';
import type { EngineAdapter } from '../../../operator/mysql/engine.js';
import { compareGtidSets, holdsTransactionsMissingFrom } from '../../../operator/mysql/gtid.js';
import { Instance, observeInstance } from '../../../operator/mysql/instance.js';
import { openSession } from '../../../operator/mysql/session.js';
import { eventually, replicating, type EngineFixture } from './engine-fixture.js';

/** Where an engine's SQL differs in what these scenarios look at. */
export interface Dialect {
  /** The replica's status statement, and its columns saying TLS is used and the source's certificate checked. */
  replicaStatus: { statement: string; sslAllowed: string; sslVerified: string };
  /** Stopping and starting only the replica's applier. */
  sqlThread: { stop: string; start: string };
  /** What the read-only replica is called (MySQL's is super-read-only). */
  readOnly: string;
}

export function sharedScenarios(f: EngineFixture, adapter: EngineAdapter, dialect: Dialect): void {
  const { servers, otherCa, app, cluster, commitWaitingForAck, insertRows, rowCount, observe } = f;

  describe('reachability over verified TLS', () => {
    it('refuses a server whose certificate the given CA did not sign, and reports it unreachable', async () => {
      const [a] = servers();
      const wrongCa = { ...a.target(), tls: { ca: otherCa() } };
      await expect(Instance.connect(adapter, wrongCa)).rejects.toThrow(/certificate/i);
      expect((await observeInstance(adapter, wrongCa)).reachable).toBe(false);
      const closedPort = await observeInstance(adapter, { ...a.target(), port: 1 });
      expect(closedPort).toMatchObject({ reachable: false, error: expect.stringMatching(/ECONNREFUSED/) as unknown });
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
        const frozen = await observeInstance(adapter, a.target());
        expect(frozen).toMatchObject({ reachable: false, error: expect.stringMatching(/timeout|ETIMEDOUT/i) as unknown });
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        a.freeze(false);
      }
      expect((await observeInstance(adapter, a.target())).reachable).toBe(true);
    });
  });

  describe('promote and repoint', () => {
    it(`makes a semi-sync primary and a ${dialect.readOnly} replica that verifies the primary over TLS`, async () => {
      const [a, b] = servers();
      const { primary, replicas } = await cluster(a, b);
      const [replica] = replicas;
      if (!replica) throw new Error('no replica');
      await insertRows(a, 1, 5);

      const p = await primary.status();
      expect(p).toMatchObject({ readOnly: false, replication: undefined });
      expect(p.semiSync).toMatchObject({ sourceEnabled: true, sourceActive: true, sourceClients: 1, waitPoint: 'AFTER_SYNC', timeoutMs: 4294967295 });
      expect(await replica.waitForGtid(p.executed, 5000)).toBe(true);
      const r = await replica.status();
      expect(r).toMatchObject({ readOnly: true, replication: { sourceHost: '127.0.0.1', sourcePort: a.port, autoPositioning: true } });
      expect(r.semiSync).toMatchObject({ sourceEnabled: false, replicaEnabled: true, replicaActive: true });
      expect(compareGtidSets(p.executed, r.executed)).toBe('equal');
      expect(await rowCount(b)).toBe(5);

      const [channel] = await b.rootQuery(dialect.replicaStatus.statement);
      expect(channel).toMatchObject({ [dialect.replicaStatus.sslAllowed]: 'Yes', [dialect.replicaStatus.sslVerified]: 'Yes' });
      const readerOnReplica = await app(b);
      await expect(readerOnReplica.query('INSERT INTO shop.t VALUES (99, ?)', ['not here'])).rejects.toThrow(/read-only|READ.ONLY/i);
    });

    it('waits until the relay log is applied, and says so when the timeout passes first', async () => {
      const [a, b] = servers();
      const { replicas } = await cluster(a, b);
      const [replica] = replicas;
      if (!replica) throw new Error('no replica');
      await b.rootQuery(dialect.sqlThread.stop);
      await insertRows(a, 1, 3); // acked: the IO thread still receives
      const behind = await replica.status();
      expect(behind.received.includes(behind.executed)).toBe(true);
      expect(behind.executed.includes(behind.received)).toBe(false);
      expect(await replica.waitUntilApplied(1000)).toBe(false);
      await b.rootQuery(dialect.sqlThread.start);
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

      // read_only waits for commits in progress: fencing cannot complete while the commit waits,
      // and gives up after its lock wait instead of hanging or acknowledging the commit.
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
      expect((await primary.status()).semiSync.waitingSessions).toBe(0);
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
    it('fences a stray writer at once though a client holds an open transaction, and ends its clients', async () => {
      const [a, b] = servers();
      const { primary } = await cluster(a, b);
      // An application in the middle of a transaction, and one idle in its pool.
      const busy = await app(a);
      await busy.query('BEGIN');
      await busy.query('INSERT INTO shop.t VALUES (90, ?)', ['never committed']);
      const idle = await app(a);
      await idle.query('SELECT 1');
      const started = Date.now();
      await primary.fenceStrayWriter();
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await primary.status()).readOnly).toBe(true);
      await expect(busy.query('COMMIT')).rejects.toThrow();
      await expect(idle.query('SELECT 1')).rejects.toThrow();
      const [rows] = await (await app(a)).query('SELECT id FROM shop.t WHERE id = 90');
      expect(rows).toEqual([]);
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
}
