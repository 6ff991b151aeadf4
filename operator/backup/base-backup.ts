/**
 * Base backups as folders (ADR 0015): taking MySQL's, inspecting one, storing and restoring any.
 * MySQL's is taken on a scratch server beside the upload: `CLONE INSTANCE FROM` a replica `DATA
 * DIRECTORY` a fresh folder gives a consistent physical copy without touching the primary or the
 * replica's volume (MariaDB's comes from mariadb-backup.ts). A server started on the copy reads
 * its GTID set and checks and counts its tables; the folder goes up as a tar stream, gzipped (level
 * 1: a data directory is mostly preallocated zeros) and sealed, and the manifest goes last. A
 * restore is the reverse into an empty folder, which a server then starts on.
 */
import { readdirSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { Instance } from '../mysql/instance.js';
import { cloneInstanceStatements, type CloneDonor } from '../mysql/mysql84.js';
import { baseKeys, type BaseBackupManifest } from './catalog.js';
import { started } from './program.js';
import type { ObjectStore } from './s3.js';
import { openBuffer, openStream, sealBuffer, sealStream } from './seal.js';

export interface Sealing {
  store: ObjectStore;
  /** The stack's folder in the bucket, ending in `/`. */
  prefix: string;
  key: Buffer;
}

/** Clones `donor` into `directory` (new, on the scratch server's filesystem); throws unless the clone completed. */
export async function cloneToDirectory(scratch: Instance, donor: CloneDonor, directory: string, timeoutMs: number): Promise<void> {
  if (scratch.adapter.engine !== 'mysql') throw new Error(`CLONE backs up MySQL instances, not ${scratch.adapter.engine}`);
  await scratch.run(cloneInstanceStatements(donor, { dataDirectory: directory }), { timeoutMs });
  const [status] = await scratch.query('SELECT STATE AS state, ERROR_NO AS errorNo, ERROR_MESSAGE AS message FROM performance_schema.clone_status');
  if (status?.state !== 'Completed') throw new Error(`the clone did not complete: ${String(status?.state)} (${String(status?.errorNo)}: ${String(status?.message)})`);
}

const SYSTEM_SCHEMAS = ['mysql', 'sys', 'information_schema', 'performance_schema'];

/**
 * What a MySQL clone holds, read from a server started on it (a clone into a directory reports no
 * GTID set of its own): its GTID set, and every application table checked and counted.
 */
export async function inspectClone(server: Instance): Promise<{ gtidExecuted: string; rowCounts: Record<string, number> }> {
  const [gtid] = await server.query('SELECT @@GLOBAL.gtid_executed AS g');
  return { gtidExecuted: typeof gtid?.g === 'string' ? gtid.g.replace(/\s+/g, '') : '', rowCounts: await checkedRowCounts(server) };
}

/**
 * Every application table of a server started on a backup, checked and counted. A backup no
 * server starts on, or with a table CHECK TABLE does not pass, is no backup: this throws.
 */
export async function checkedRowCounts(server: Instance): Promise<Record<string, number>> {
  const tables = await server.query(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN (${SYSTEM_SCHEMAS.map((n) => `'${n}'`).join(', ')}) ORDER BY 1, 2`,
  );
  const rowCounts: Record<string, number> = {};
  for (const { s, t } of tables) {
    const name = `\`${String(s).replace(/`/g, '``')}\`.\`${String(t).replace(/`/g, '``')}\``;
    const checks = await server.query(`CHECK TABLE ${name}`);
    const failed = checks.find((c) => c.Msg_type === 'error' || (c.Msg_type === 'status' && c.Msg_text !== 'OK'));
    if (failed) throw new Error(`CHECK TABLE ${String(s)}.${String(t)} on the backup: ${String(failed.Msg_text)}`);
    const [count] = await server.query(`SELECT COUNT(*) AS n FROM ${name}`);
    rowCounts[`${String(s)}.${String(t)}`] = Number(count?.n ?? 0);
  }
  return rowCounts;
}

/** `tar` of a folder's contents as a stream; a failing tar ends the stream with its error. */
function tarOf(directory: string): Readable {
  // auto.cnf holds the server_uuid of the server that inspected the clone: each restore makes its own.
  const tar = started('tar', ['-C', directory, '--exclude=./auto.cnf', '-cf', '-', '.'], ['ignore', 'pipe']);
  const out = new PassThrough();
  tar.child.stdout?.pipe(out, { end: false });
  // `done` settles after stdout ended: the stream ends whole, or with tar's error.
  tar.done.then(
    () => out.end(),
    (err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  return out;
}

/**
 * Uploads `directory` as base backup `manifest.id`, sealed, then its manifest: the backup exists
 * (is listed) only once both are there. Returns the manifest as written.
 */
export async function uploadBaseBackup(s: Sealing, directory: string, manifest: Omit<BaseBackupManifest, 'sealedBytes' | 'finishedAt'>): Promise<BaseBackupManifest> {
  const keys = baseKeys(s.prefix, manifest.id);
  const sealed = sealStream(s.key);
  // Either side failing stops the other; the upload's error says most (a tar failure reaches it too).
  const [piped, uploaded] = await Promise.allSettled([pipeline(tarOf(directory), createGzip({ level: 1 }), sealed), s.store.upload(keys.data, sealed)]);
  if (uploaded.status === 'rejected') throw uploaded.reason;
  if (piped.status === 'rejected') throw piped.reason;
  const sealedBytes = uploaded.value;
  const written: BaseBackupManifest = { ...manifest, sealedBytes, finishedAt: new Date().toISOString() };
  await s.store.put(keys.manifest, await sealBuffer(s.key, Buffer.from(JSON.stringify(written))));
  return written;
}

export async function readManifest(s: Sealing, id: string): Promise<BaseBackupManifest> {
  return JSON.parse((await openBuffer(s.key, await s.store.getBuffer(baseKeys(s.prefix, id).manifest))).toString('utf8')) as BaseBackupManifest;
}

/** Restores base backup `id` into the empty folder `into`; throws, leaving a partial folder, if any byte fails to open. */
export async function downloadBaseBackup(s: Sealing, id: string, into: string): Promise<BaseBackupManifest> {
  if (readdirSync(into).length > 0) throw new Error(`refusing to restore into ${into}: it is not empty`);
  const manifest = await readManifest(s, id);
  // --ignore-zeros: tar reads to the end of its input instead of stopping at the archive's end
  // marker, so the whole object is read, and its last record authenticated (and no pipe breaks).
  const tar = started('tar', ['-C', into, '--ignore-zeros', '-xf', '-'], ['pipe', 'ignore']);
  if (!tar.child.stdin) throw new Error('no stdin for tar');
  // The download's error (a record that does not authenticate) says more than tar's EOF after it.
  const [piped, untarred] = await Promise.allSettled([pipeline(await s.store.get(baseKeys(s.prefix, id).data), openStream(s.key), createGunzip(), tar.child.stdin), tar.done]);
  if (piped.status === 'rejected') throw piped.reason;
  if (untarred.status === 'rejected') throw untarred.reason;
  return manifest;
}
