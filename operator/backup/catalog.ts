/**
 * What a stack's backups look like in its bucket, and which of them count. Pure: the object
 * store's listing in, decisions out.
 *
 *     <prefix>base/<id>/data            the sealed base backup (seal.ts)
 *     <prefix>base/<id>/manifest.json   sealed too, written last
 *
 * A base backup exists only once its manifest does: the manifest is uploaded after the data has
 * been uploaded whole, so an interrupted backup (pod killed, store gone mid-way) is never listed
 * and never restored; its data object is left over and swept once it is older than any backup
 * could take. The manifest is sealed with the data's key, so it cannot be forged or edited by
 * anyone who can only write to the bucket.
 */

export interface BaseBackupManifest {
  version: 1;
  id: string;
  engine: 'mysql' | 'mariadb';
  /** How the data was taken (docs/adr/0015-backups.md). */
  method: 'clone' | 'mariadb-backup';
  /** The instance it was taken from. */
  source: string;
  startedAt: string;
  finishedAt: string;
  /** The GTID set the backup holds: binlog replay for a point-in-time restore starts after it. */
  gtidExecuted: string;
  /** Bytes of the sealed data object, as uploaded. */
  sealedBytes: number;
  /** Rows per table (schema.table) when the backup was taken, for the restore's verification. */
  rowCounts: Record<string, number>;
}

export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date;
}

/** A base backup whose manifest is there: complete. */
export interface CompleteBackup {
  id: string;
  dataKey: string;
  manifestKey: string;
  takenAt: Date;
}

const ID = /^(\d{8}T\d{6}Z)$/;

/** The id of a backup started at `at`: sortable, one per second at most. */
export function backupId(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function idTime(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(id);
  if (!m) return new Date(Number.NaN);
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

export const baseKeys = (prefix: string, id: string) => ({ data: `${prefix}base/${id}/data`, manifest: `${prefix}base/${id}/manifest.json` });

/** The complete base backups under `prefix`, oldest first. */
export function completeBackups(prefix: string, listing: ListedObject[]): CompleteBackup[] {
  const keys = new Set(listing.map((o) => o.key));
  const ids = new Set(listing.flatMap((o) => baseId(prefix, o.key) ?? []));
  return [...ids]
    .filter((id) => keys.has(baseKeys(prefix, id).manifest) && keys.has(baseKeys(prefix, id).data))
    .sort()
    .map((id) => ({ id, dataKey: baseKeys(prefix, id).data, manifestKey: baseKeys(prefix, id).manifest, takenAt: idTime(id) }));
}

function baseId(prefix: string, key: string): string | undefined {
  if (!key.startsWith(`${prefix}base/`)) return undefined;
  const id = key.slice(prefix.length + 'base/'.length).split('/')[0] ?? '';
  return ID.test(id) ? id : undefined;
}

export interface Retention {
  /** Complete base backups kept, newest first. At least 1. */
  keep: number;
  /** Backups older than this are deleted even among the newest `keep` (never the newest one). */
  maxAgeMs?: number;
  /** Data left by a backup that never finished is deleted once older than this. */
  abandonedAfterMs: number;
}

/**
 * The object keys retention deletes: base backups beyond the newest `keep` (and, with `maxAgeMs`,
 * any older than that but the newest), and the data of backups that never finished. The newest
 * complete backup is never deleted, whatever the settings say: a store is never left empty.
 */
export function expiredKeys(prefix: string, listing: ListedObject[], retention: Retention, now: Date): string[] {
  const complete = completeBackups(prefix, listing);
  const newestFirst = [...complete].reverse();
  const expired = new Set(
    newestFirst
      .filter((b, i) => i > 0 && (i >= Math.max(1, retention.keep) || (retention.maxAgeMs !== undefined && now.getTime() - b.takenAt.getTime() > retention.maxAgeMs)))
      .map((b) => b.id),
  );
  const completeIds = new Set(complete.map((b) => b.id));
  return listing
    .filter((o) => {
      const id = baseId(prefix, o.key);
      if (id === undefined) return false;
      if (expired.has(id)) return true;
      return !completeIds.has(id) && now.getTime() - o.lastModified.getTime() > retention.abandonedAfterMs;
    })
    .map((o) => o.key);
}
