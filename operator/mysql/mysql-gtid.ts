/**
 * MySQL GTID sets: `source_uuid[:tag]:interval[:interval...]` groups, comma separated, where an
 * interval is `n` or `n-m` (gtid_executed, Retrieved_Gtid_Set; MySQL 8.4 may add tags). Unlike
 * MariaDB's positions these are true sets, so inclusion is exact.
 */
import { assertSameEngine, type GtidSet } from './gtid.js';

/** Inclusive [first, last] transaction numbers. */
type Interval = readonly [bigint, bigint];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TAG = /^[a-z_][a-z0-9_]{0,31}$/;
const INTERVAL = /^(\d+)(?:-(\d+))?$/;

export class MysqlGtidSet implements GtidSet {
  readonly engine = 'mysql' as const;

  /** Key: `uuid` or `uuid:tag`; value: sorted, disjoint, non-adjacent intervals. */
  private constructor(private readonly groups: ReadonlyMap<string, readonly Interval[]>) {}

  static parse(text: string): MysqlGtidSet {
    const raw = new Map<string, Interval[]>();
    for (const group of text.split(',')) {
      const trimmed = group.trim().toLowerCase();
      if (trimmed === '') continue;
      const [uuid = '', ...rest] = trimmed.split(':');
      if (!UUID.test(uuid)) throw new Error(`not a MySQL GTID set: bad source UUID ${JSON.stringify(uuid)} in ${JSON.stringify(text)}`);
      if (rest.length === 0) throw new Error(`not a MySQL GTID set: ${JSON.stringify(trimmed)} has no interval`);
      let key = uuid;
      for (const part of rest) {
        const interval = INTERVAL.exec(part);
        if (interval) {
          const first = BigInt(interval[1] ?? '');
          const last = interval[2] === undefined ? first : BigInt(interval[2]);
          if (first < 1n || last < first) throw new Error(`not a MySQL GTID set: bad interval ${JSON.stringify(part)} in ${JSON.stringify(text)}`);
          const list = raw.get(key) ?? [];
          list.push([first, last]);
          raw.set(key, list);
        } else if (TAG.test(part)) {
          key = `${uuid}:${part}`;
        } else {
          throw new Error(`not a MySQL GTID set: ${JSON.stringify(part)} in ${JSON.stringify(text)}`);
        }
      }
    }
    return new MysqlGtidSet(new Map([...raw].map(([key, list]) => [key, normalize(list)])));
  }

  static empty(): MysqlGtidSet {
    return new MysqlGtidSet(new Map());
  }

  isEmpty(): boolean {
    return this.groups.size === 0;
  }

  includes(other: GtidSet): boolean {
    for (const [key, theirs] of asMysql(this, other).groups) {
      const mine = this.groups.get(key) ?? [];
      if (!theirs.every(([first, last]) => mine.some(([a, b]) => a <= first && last <= b))) return false;
    }
    return true;
  }

  union(other: GtidSet): MysqlGtidSet {
    const merged = new Map<string, readonly Interval[]>(this.groups);
    for (const [key, theirs] of asMysql(this, other).groups) {
      merged.set(key, normalize([...(merged.get(key) ?? []), ...theirs]));
    }
    return new MysqlGtidSet(merged);
  }

  toString(): string {
    return [...this.groups.keys()]
      .sort()
      .map((key) => {
        const intervals = this.groups.get(key) ?? [];
        return [key, ...intervals.map(([a, b]) => (a === b ? String(a) : `${String(a)}-${String(b)}`))].join(':');
      })
      .join(',');
  }
}

function asMysql(self: GtidSet, other: GtidSet): MysqlGtidSet {
  assertSameEngine(self, other);
  if (!(other instanceof MysqlGtidSet)) throw new Error('a MySQL GTID set can only be combined with another one');
  return other;
}

/** Sorted, overlapping and adjacent intervals merged (1-3 and 4-6 are 1-6). */
function normalize(list: readonly Interval[]): Interval[] {
  const sorted = [...list].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [first, last] of sorted) {
    const previous = out[out.length - 1];
    if (previous && first <= previous[1] + 1n) {
      if (last > previous[1]) previous[1] = last;
    } else {
      out.push([first, last]);
    }
  }
  return out;
}
