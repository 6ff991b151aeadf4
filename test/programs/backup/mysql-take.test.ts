/**
 * The backup pod's two programs on real servers: the engine container's script (run here by sh
 * with MySQL 9.7's mysqld) and the agent (takeBaseBackup), which chooses a replica of a real
 * primary-and-replica pair, has it cloned, inspects the clone, and stores it in SeaweedFS; then a
 * point-in-time restore from that base backup and the primary's archived binary logs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { downloadBaseBackup, readManifest, type Sealing } from '../../../operator/backup/base-backup.js';
import { archiveBinlogs, replayBinlogs } from '../../../operator/backup/binlogs.js';
import { completeBackups } from '../../../operator/backup/catalog.js';
import { scratchServerScript, takeBaseBackup, verifyLatestBackup, type TakeOptions } from '../../../operator/backup/take.js';
import { Instance } from '../../../operator/mysql/instance.js';
import { mysql84 } from '../../../operator/mysql/mysql84.js';
import { OPERATOR, sidPrograms, startServers, type DatabaseServer, type DatabaseServers } from '../../support/mysql-servers.js';
import { startSealedStore } from '../../support/object-store.js';

let env: DatabaseServers;
let s3: Awaited<ReturnType<typeof startSealedStore>>;
let sealing: Sealing;
let primary: DatabaseServer;
let replica: DatabaseServer;
const engines: ChildProcess[] = [];
const folders: string[] = [];

beforeAll(async () => {
  [env, s3] = await Promise.all([startServers('mysql-9.7', 2), startSealedStore('team-a/shop/')]);
  [primary, replica] = env.servers as [DatabaseServer, DatabaseServer];
  sealing = s3.sealing;
  const follower = await Instance.connect(mysql84, replica.target());
  await follower.repoint(primary.asSource(), { semiSync: false });
  await follower.close();
  await primary.rootQuery('CREATE DATABASE shop');
  await primary.rootQuery('CREATE TABLE shop.orders (id INT PRIMARY KEY)');
  await primary.rootQuery(`INSERT INTO shop.orders VALUES ${Array.from({ length: 500 }, (_, i) => `(${i + 1})`).join(',')}`);
}, 120_000);

afterEach(() => {
  for (const e of engines.splice(0)) if (e.pid !== undefined && e.exitCode === null) process.kill(-e.pid, 'SIGKILL');
});

afterAll(async () => {
  await Promise.all([env.stop(), s3.remove()]);
  for (const f of folders) rmSync(f, { recursive: true, force: true });
}, 60_000);

/** A fresh shared folder with the engine container's script running on it, as in a new backup pod. */
function backupPod(mode: 'backup' | 'verify' = 'backup'): { work: string; engineLog: () => string } {
  const work = mkdtempSync(path.join(tmpdir(), 'webstack-backup-pod-'));
  folders.push(work);
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  const engine = spawn('sh', ['-c', scratchServerScript(mode, asRoot)], {
    env: { ...process.env, WEBSTACK_BACKUP_WORK: work, PATH: `${sidPrograms('mysql')}:${process.env.PATH ?? ''}` },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  engine.stdout.on('data', (c: Buffer) => (log += c.toString()));
  engine.stderr.on('data', (c: Buffer) => (log += c.toString()));
  engines.push(engine);
  return { work, engineLog: () => log };
}

const options = (work: string, instances: TakeOptions['instances']): TakeOptions => ({
  instances,
  donorCaFile: replica.asSource().caFile ?? '',
  work,
  sealing,
  retention: { keep: 1, abandonedAfterMs: 86_400_000 },
  timeoutMs: 60_000,
});
const both = (): TakeOptions['instances'] => [
  { name: 'shop-mysql-0', target: { ...primary.target(), ...OPERATOR } },
  { name: 'shop-mysql-1', target: { ...replica.target(), ...OPERATOR } },
];

describe('the backup pod (engine script and agent) on MySQL 9.7 and SeaweedFS', () => {
  it('backs up the replica, never the primary, with what it held; the next backup retires the first (keep 1)', async () => {
    await primary.rootQuery('INSERT INTO shop.orders VALUES (501)');
    const primaryExecuted = String((await primary.rootQuery('SELECT @@GLOBAL.gtid_executed AS g'))[0]?.g).replace(/\s+/g, '');
    const pod = backupPod();
    const first = await takeBaseBackup(options(pod.work, both())).catch((err: unknown) => {
      throw new Error(`${String(err)}\nengine container:\n${pod.engineLog()}`);
    });
    expect(first.manifest).toMatchObject({ source: 'shop-mysql-1', engine: 'mysql', method: 'clone', rowCounts: { 'shop.orders': 501 } });
    // The replica had caught up (no writes since): the backup holds what the primary had.
    expect(first.manifest.gtidExecuted).toBe(primaryExecuted);
    expect(await readManifest(sealing, first.manifest.id)).toEqual(first.manifest);
    console.log(`backup pod on MySQL 9.7: ${(first.manifest.sealedBytes / 1e6).toFixed(1)} MB sealed in ${((Date.parse(first.manifest.finishedAt) - Date.parse(first.manifest.startedAt)) / 1000).toFixed(1)} s`);

    await new Promise((resolve) => setTimeout(resolve, 1100)); // backup ids are per second
    await primary.rootQuery('INSERT INTO shop.orders VALUES (502)');
    const second = await takeBaseBackup(options(backupPod().work, both()));
    expect(second.manifest.rowCounts).toEqual({ 'shop.orders': 502 });
    expect(second.deleted.sort()).toEqual([`team-a/shop/base/${first.manifest.id}/data`, `team-a/shop/base/${first.manifest.id}/manifest.json`]);
    expect(completeBackups(sealing.prefix, await sealing.store.list(sealing.prefix)).map((b) => b.id)).toEqual([second.manifest.id]);
  }, 180_000);

  it('restores to a point in time: the base backup, then the archived binary logs up to just before a DROP TABLE', async () => {
    const base = await takeBaseBackup(options(backupPod().work, both()));
    await primary.root(async (c) => {
      for (let id = 10_001; id <= 10_050; id++) await c.query('INSERT INTO shop.orders VALUES (?)', [id]);
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const point = new Date(); // restore up to here (binary log times have one-second resolution)
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await primary.rootQuery('DROP TABLE shop.orders');

    const programs = sidPrograms('mysql');
    const tools = { engine: 'mysql' as const, reader: path.join(programs, 'mysqlbinlog'), client: path.join(programs, 'mysql') };
    const work = mkdtempSync(path.join(tmpdir(), 'webstack-pitr-'));
    folders.push(work);
    const logs = await primary.rootQuery('SHOW BINARY LOGS');
    const [uuid] = await primary.rootQuery('SELECT @@server_uuid AS u');
    const archived = await archiveBinlogs(
      sealing,
      { target: { ...primary.target(), ...OPERATOR }, caFile: primary.asSource().caFile ?? '', serverUuid: String(uuid?.u), files: logs.map((l) => String(l.Log_name)) },
      path.join(work, 'spool'),
      tools,
    );
    expect(archived.length).toBeGreaterThan(0);

    mkdirSync(path.join(work, 'data'));
    await downloadBaseBackup(sealing, base.manifest.id, path.join(work, 'data'));
    const restored = await env.serverOn(path.join(work, 'data'));
    const started = Date.now();
    await replayBinlogs(sealing, { socket: restored.socket, stopAt: point, work: path.join(work, 'replay'), tools });
    console.log(`point-in-time restore: ${archived.length} binary log(s) replayed on the base backup in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const [count] = await restored.rootQuery('SELECT COUNT(*) AS n, MAX(id) AS top FROM shop.orders');
    expect({ n: Number(count?.n), top: Number(count?.top) }).toEqual({ n: (base.manifest.rowCounts['shop.orders'] ?? 0) + 50, top: 10_050 });
  }, 180_000);

  it('verifies the newest backup by restoring and starting it, and fails the verification of a changed object', async () => {
    const newest = completeBackups(sealing.prefix, await sealing.store.list(sealing.prefix)).at(-1);
    if (!newest) throw new Error('the tests before this one leave a backup');
    const verified = await verifyLatestBackup({ sealing, work: backupPod('verify').work, timeoutMs: 60_000 });
    expect(verified).toMatchObject({ id: newest.id, passed: true });
    console.log(`verification of backup ${verified.id}: restored, started and checked in ${(verified.restoreMs / 1000).toFixed(1)} s`);

    const data = await sealing.store.getBuffer(newest.dataKey);
    data[data.length - 100] = (data[data.length - 100] ?? 0) ^ 0x01;
    await sealing.store.put(newest.dataKey, data);
    const failed = await verifyLatestBackup({ sealing, work: backupPod('verify').work, timeoutMs: 60_000 });
    expect(failed).toMatchObject({ id: newest.id, passed: false });
    expect(failed.reason).toMatch(/does not authenticate/);
  }, 120_000);

  it('refuses to back up when no replica replicates, naming what each instance is', async () => {
    const pod = backupPod();
    await expect(takeBaseBackup(options(pod.work, [{ name: 'shop-mysql-0', target: { ...primary.target(), ...OPERATOR } }]))).rejects.toThrow(
      /no replica to back up from \(shop-mysql-0: not a replica\): backups never read the primary/,
    );
  }, 60_000);
});
