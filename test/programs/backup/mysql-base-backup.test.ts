/**
 * A MySQL 9.7 base backup through real programs: a scratch server CLONEs a replica into a folder,
 * the folder goes sealed into a real S3 store (SeaweedFS), manifest last; the restore downloads it
 * into an empty folder and a server starts on it, holding every row and GTID the backup recorded
 * and none written after. A byte changed in the store makes the restore fail, never load.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cloneToDirectory, downloadBaseBackup, inspectClone, uploadBaseBackup, type Sealing } from '../../../operator/backup/base-backup.js';
import { backupId, baseKeys, completeBackups } from '../../../operator/backup/catalog.js';
import { compareGtidSets } from '../../../operator/mysql/gtid.js';
import { MysqlGtidSet } from '../../../operator/mysql/mysql-gtid.js';
import { Instance } from '../../../operator/mysql/instance.js';
import { mysql84 } from '../../../operator/mysql/mysql84.js';
import { OPERATOR, startServers, type DatabaseServers } from '../../support/mysql-servers.js';
import { startSealedStore } from '../../support/object-store.js';

let env: DatabaseServers;
let s3: Awaited<ReturnType<typeof startSealedStore>>;
let sealing: Sealing;
let work: string;
const PREFIX = 'shop/';

beforeAll(async () => {
  [env, s3] = await Promise.all([startServers('mysql-9.7', 2), startSealedStore(PREFIX)]);
  sealing = s3.sealing;
  work = mkdtempSync(path.join(tmpdir(), 'webstack-base-backup-'));
}, 120_000);

afterAll(async () => {
  await Promise.all([env.stop(), s3.remove()]);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

const rows = async (server: DatabaseServers['servers'][number]) => Number((await server.rootQuery('SELECT COUNT(*) AS n FROM shop.orders'))[0]?.n);
const executed = async (server: DatabaseServers['servers'][number]) => MysqlGtidSet.parse(String((await server.rootQuery('SELECT @@GLOBAL.gtid_executed AS g'))[0]?.g));

describe('a MySQL base backup by CLONE, sealed in S3, restored and started', () => {
  it('restores exactly what the clone held, and refuses a changed object', async () => {
    const [donor, scratch] = env.servers;
    if (!donor || !scratch) throw new Error('two servers expected');
    await donor.rootQuery('CREATE DATABASE shop');
    await donor.rootQuery('CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(200))');
    await donor.root(async (c) => {
      for (let i = 1; i <= 2000; i += 100) {
        const values = Array.from({ length: 100 }, (_, j) => `(${i + j}, REPEAT('x', 150))`).join(',');
        await c.query(`INSERT INTO shop.orders VALUES ${values}`);
      }
    });
    const before = await executed(donor);

    // As the backup pod does: the scratch server clones the replica into a folder, a server started
    // on that folder reads its GTID set and checks and counts its tables, and stops cleanly.
    const scratchInstance = await Instance.connect(mysql84, scratch.target());
    const started = new Date();
    await cloneToDirectory(scratchInstance, { host: '127.0.0.1', port: donor.port, ...OPERATOR, caFile: donor.asSource().caFile ?? '' }, path.join(work, 'clone'), 60_000);
    await scratchInstance.close();
    const inspector = await env.serverOn(path.join(work, 'clone'));
    const inspecting = await Instance.connect(mysql84, inspector.target());
    const held = await inspectClone(inspecting);
    await inspecting.close();
    await inspector.rootQuery('SHUTDOWN');
    expect(await inspector.exitedWithin(30_000)).toBe(true);
    expect(compareGtidSets(MysqlGtidSet.parse(held.gtidExecuted), before)).toBe('equal');
    expect(held.rowCounts).toEqual({ 'shop.orders': 2000 });

    const id = backupId(started);
    const manifest = await uploadBaseBackup(sealing, inspector.dataDir, {
      version: 1,
      id,
      engine: 'mysql',
      method: 'clone',
      source: donor.name,
      startedAt: started.toISOString(),
      ...held,
    });
    expect(completeBackups(PREFIX, await sealing.store.list(PREFIX)).map((b) => b.id)).toEqual([id]);
    console.log(`MySQL 9.7 base backup of 2,000 rows: ${(manifest.sealedBytes / 1e6).toFixed(1)} MB sealed, ${((Date.parse(manifest.finishedAt) - started.getTime()) / 1000).toFixed(1)} s from the clone's start to the manifest`);
    // Writes after the backup: not in it.
    await donor.rootQuery('INSERT INTO shop.orders VALUES (5000, "after the backup")');

    const into = path.join(work, 'restored');
    rmSync(into, { recursive: true, force: true });
    mkdirSync(into);
    const restoredManifest = await downloadBaseBackup(sealing, id, into);
    expect(restoredManifest).toEqual(manifest);
    expect(readdirSync(into)).toContain('mysql.ibd');
    const restored = await env.serverOn(into);
    expect(await rows(restored)).toBe(2000);
    expect(compareGtidSets(await executed(restored), MysqlGtidSet.parse(manifest.gtidExecuted))).toBe('equal');
    expect((await restored.rootQuery('CHECK TABLE shop.orders'))[0]?.Msg_text).toBe('OK');
    expect((await restored.rootQuery('SELECT @@server_uuid AS u'))[0]?.u).not.toBe((await donor.rootQuery('SELECT @@server_uuid AS u'))[0]?.u);

    // One bit changed in the store: the restore fails, saying so, rather than start on bad data.
    const data = await sealing.store.getBuffer(baseKeys(PREFIX, id).data);
    const at = Math.floor(data.length / 2);
    data[at] = (data[at] ?? 0) ^ 0x10;
    await sealing.store.put(baseKeys(PREFIX, id).data, data);
    const again = path.join(work, 'again');
    mkdirSync(again);
    await expect(downloadBaseBackup(sealing, id, again)).rejects.toThrow(/does not authenticate/);
  }, 180_000);
});
