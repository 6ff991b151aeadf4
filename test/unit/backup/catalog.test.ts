import { describe, expect, it } from '@jest/globals';
import { backupId, completeBackups, expiredKeys, type ListedObject } from '../../../operator/backup/catalog.js';

const P = 'stacks/shop/';
const HOUR = 3_600_000;
const now = new Date('2026-12-07T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * HOUR);

/** A base backup taken `h` hours ago; `complete: false` leaves its manifest out (interrupted). */
function backup(h: number, complete = true): ListedObject[] {
  const id = backupId(hoursAgo(h));
  const data = { key: `${P}base/${id}/data`, size: 1000, lastModified: hoursAgo(h) };
  return complete ? [data, { key: `${P}base/${id}/manifest.json`, size: 200, lastModified: hoursAgo(h) }] : [data];
}

describe('the backups in a bucket', () => {
  it('lists only backups whose manifest was written, oldest first', () => {
    const listing = [...backup(1), ...backup(3, false), ...backup(2), { key: `${P}base/notes.txt`, size: 1, lastModified: now }, ...backup(5).map((o) => ({ ...o, key: `other/${o.key}` }))];
    expect(completeBackups(P, listing).map((b) => b.id)).toEqual([backupId(hoursAgo(2)), backupId(hoursAgo(1))]);
    expect(completeBackups(P, listing)[0]?.takenAt).toEqual(hoursAgo(2));
  });

  it('a manifest without its data is no backup', () => {
    const listing = backup(1).filter((o) => o.key.endsWith('manifest.json'));
    expect(completeBackups(P, listing)).toEqual([]);
  });
});

describe('retention', () => {
  const listing = [...backup(1), ...backup(25), ...backup(49), ...backup(73)];
  const ids = (keys: string[]) => [...new Set(keys.map((k) => k.split('/')[3]))];

  it('keeps the newest `keep` and deletes both objects of the rest', () => {
    const keys = expiredKeys(P, listing, { keep: 2, abandonedAfterMs: 24 * HOUR }, now);
    expect(ids(keys)).toEqual([backupId(hoursAgo(49)), backupId(hoursAgo(73))]);
    expect(keys).toHaveLength(4);
  });

  it('deletes what is older than the age limit, but never the newest backup', () => {
    expect(ids(expiredKeys(P, listing, { keep: 10, maxAgeMs: 48 * HOUR, abandonedAfterMs: 24 * HOUR }, now))).toEqual([backupId(hoursAgo(49)), backupId(hoursAgo(73))]);
    const old = [...backup(100), ...backup(200)];
    expect(ids(expiredKeys(P, old, { keep: 10, maxAgeMs: HOUR, abandonedAfterMs: HOUR }, now))).toEqual([backupId(hoursAgo(200))]);
    expect(expiredKeys(P, old, { keep: 0, abandonedAfterMs: HOUR }, now)).toHaveLength(2);
  });

  it('sweeps data of an interrupted backup only once it is older than any backup could run', () => {
    const interrupted = [...backup(1), ...backup(2, false), ...backup(30, false)];
    expect(expiredKeys(P, interrupted, { keep: 5, abandonedAfterMs: 24 * HOUR }, now)).toEqual([`${P}base/${backupId(hoursAgo(30))}/data`]);
  });
});
