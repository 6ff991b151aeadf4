/**
 * A MariaDB 11.8 base backup through real programs: mariadb-backup copies a replica's files and
 * prepares them, a server started on the copy checks and counts its tables, the folder goes sealed
 * into a real S3 store (SeaweedFS); the restore downloads it and a server starts on it with every
 * row, at the GTID position the backup recorded; then a point-in-time restore with the primary's
 * binary logs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkedRowCounts, downloadBaseBackup, uploadBaseBackup, type Sealing } from '../../../operator/backup/base-backup.js';
import { archiveBinlogs, replayBinlogs } from '../../../operator/backup/binlogs.js';
import { backupId, type BaseBackupManifest } from '../../../operator/backup/catalog.js';
import { mariadbBackupToDirectory } from '../../../operator/backup/mariadb-backup.js';
import { Instance } from '../../../operator/mysql/instance.js';
import { mariadb } from '../../../operator/mysql/mariadb.js';
import { sidPrograms, startServers, type DatabaseServer, type DatabaseServers } from '../../support/mysql-servers.js';
import { startSealedStore } from '../../support/object-store.js';

let env: DatabaseServers;
let s3: Awaited<ReturnType<typeof startSealedStore>>;
let sealing: Sealing;
let work: string;
/** The first test's backup, which the second restores to a point in time. */
let base: BaseBackupManifest | undefined;

beforeAll(async () => {
  [env, s3] = await Promise.all([startServers('mariadb-11.8', 2), startSealedStore('shop/')]);
  sealing = s3.sealing;
  work = mkdtempSync(path.join(tmpdir(), 'webstack-mariadb-backup-'));
}, 120_000);

afterAll(async () => {
  await Promise.all([env.stop(), s3.remove()]);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

const position = async (s: DatabaseServer) => String((await s.rootQuery('SELECT @@GLOBAL.gtid_binlog_pos AS p'))[0]?.p);

describe('a MariaDB base backup by mariadb-backup, sealed in S3, restored and started', () => {
  it("backs up a replica's files at its GTID position, and restores every row", async () => {
    const [primary, replica] = env.servers as [DatabaseServer, DatabaseServer];
    const follower = await Instance.connect(mariadb, replica.target());
    await follower.repoint(primary.asSource(), { semiSync: false });
    await primary.rootQuery('CREATE DATABASE shop');
    await primary.rootQuery('CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(100))');
    await primary.rootQuery(`INSERT INTO shop.orders VALUES ${Array.from({ length: 1000 }, (_, i) => `(${i + 1}, 'order')`).join(',')}`);
    const done = await Instance.connect(mariadb, primary.target());
    expect(await follower.waitForGtid((await done.status()).executed, 10_000)).toBe(true);
    await Promise.all([follower.close(), done.close()]);

    const started = new Date();
    const taken = await mariadbBackupToDirectory({
      program: path.join(sidPrograms('mariadb'), 'mariadb-backup'),
      datadir: replica.dataDir,
      server: replica.target(),
      caFile: replica.asSource().caFile ?? '',
      directory: path.join(work, 'backup'),
    });
    expect(taken.gtidPosition).toBe(await position(replica));

    // As for MySQL: a server started on the copy checks and counts it before it is stored.
    const inspector = await env.serverOn(path.join(work, 'backup'));
    const inspecting = await Instance.connect(mariadb, inspector.target());
    const rowCounts = await checkedRowCounts(inspecting);
    await inspecting.close();
    await inspector.rootQuery('SHUTDOWN');
    expect(await inspector.exitedWithin(30_000)).toBe(true);
    expect(rowCounts).toEqual({ 'shop.orders': 1000 });

    const manifest = await uploadBaseBackup(sealing, inspector.dataDir, {
      version: 1,
      id: backupId(started),
      engine: 'mariadb',
      method: 'mariadb-backup',
      source: replica.name,
      startedAt: started.toISOString(),
      gtidExecuted: taken.gtidPosition,
      rowCounts,
    });
    console.log(`MariaDB 11.8 base backup of 1,000 rows: ${(manifest.sealedBytes / 1e6).toFixed(1)} MB sealed, ${((Date.parse(manifest.finishedAt) - started.getTime()) / 1000).toFixed(1)} s`);

    mkdirSync(path.join(work, 'restored'));
    await downloadBaseBackup(sealing, manifest.id, path.join(work, 'restored'));
    const restored = await env.serverOn(path.join(work, 'restored'));
    expect(Number((await restored.rootQuery('SELECT COUNT(*) AS n FROM shop.orders'))[0]?.n)).toBe(1000);
    expect((await restored.rootQuery('CHECK TABLE shop.orders'))[0]?.Msg_text).toBe('OK');
    base = manifest;
  }, 180_000);

  it("restores to a point in time: the base backup, then the primary's binary logs after its GTID position, up to just before a DROP TABLE", async () => {
    if (!base) throw new Error('the first test makes the base backup');
    const [primary] = env.servers as [DatabaseServer];
    await primary.root(async (c) => {
      for (let id = 10_001; id <= 10_030; id++) await c.query('INSERT INTO shop.orders VALUES (?, ?)', [id, 'after the backup']);
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const point = new Date();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await primary.rootQuery('DROP TABLE shop.orders');

    const programs = sidPrograms('mariadb');
    const tools = { engine: 'mariadb' as const, reader: path.join(programs, 'mariadb-binlog'), client: path.join(programs, 'mariadb') };
    const logs = await primary.rootQuery('SHOW BINARY LOGS');
    const [id] = await primary.rootQuery('SELECT @@server_id AS id');
    const archived = await archiveBinlogs(
      sealing,
      { target: primary.target(), caFile: primary.asSource().caFile ?? '', serverUuid: `server-${String(id?.id)}`, files: logs.map((l) => String(l.Log_name)) },
      path.join(work, 'spool'),
      tools,
    );
    expect(archived.length).toBeGreaterThan(0);
    mkdirSync(path.join(work, 'pitr'));
    await downloadBaseBackup(sealing, base.id, path.join(work, 'pitr'));
    const restored = await env.serverOn(path.join(work, 'pitr'));
    await replayBinlogs(sealing, { socket: restored.socket, stopAt: point, work: path.join(work, 'replay'), tools, basePosition: base.gtidExecuted });
    const [count] = await restored.rootQuery('SELECT COUNT(*) AS n, MAX(id) AS top FROM shop.orders');
    expect({ n: Number(count?.n), top: Number(count?.top) }).toEqual({ n: 1030, top: 10_030 });
  }, 180_000);
});
