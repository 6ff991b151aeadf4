/**
 * MariaDB GTIDs: `domain-server-seq` triples, comma separated (gtid_binlog_state, gtid_slave_pos,
 * Gtid_IO_Pos, ...).
 *
 * A set is kept as the highest sequence number seen per (domain, server) pair. With
 * gtid_strict_mode every domain's sequence numbers only grow, so "server S wrote up to seq N in
 * domain D" stands for that server's whole history in the domain. Keying by server as well as
 * domain is what makes errant transactions visible: an old primary that wrote 0-1-11 after the
 * failover to a replica now at 0-2-15 looks "behind" by sequence number alone, but its state
 * holds a transaction of server 1 that the new primary's state (0-1-10,0-2-15) does not.
 * Compare gtid_binlog_state values (with log_slave_updates on, every applied transaction is in
 * it); a position (one triple per domain) is a valid but coarser input.
 */
import { assertSameEngine, type GtidSet } from './gtid.js';

const TRIPLE = /^(\d+)-(\d+)-(\d+)$/;

export class MariadbGtidSet implements GtidSet {
  readonly engine = 'mariadb' as const;

  private constructor(private readonly highest: ReadonlyMap<string, bigint>) {}

  static parse(text: string): MariadbGtidSet {
    const highest = new Map<string, bigint>();
    for (const part of text.split(',')) {
      const trimmed = part.trim();
      if (trimmed === '') continue;
      const match = TRIPLE.exec(trimmed);
      if (!match) throw new Error(`not a MariaDB GTID: ${JSON.stringify(trimmed)} in ${JSON.stringify(text)}`);
      const key = `${String(BigInt(match[1] ?? ''))}-${String(BigInt(match[2] ?? ''))}`;
      const seq = BigInt(match[3] ?? '');
      const seen = highest.get(key);
      if (seen === undefined || seq > seen) highest.set(key, seq);
    }
    return new MariadbGtidSet(highest);
  }

  static empty(): MariadbGtidSet {
    return new MariadbGtidSet(new Map());
  }

  isEmpty(): boolean {
    return this.highest.size === 0;
  }

  includes(other: GtidSet): boolean {
    const theirs = asMariadb(this, other);
    for (const [key, seq] of theirs.highest) {
      const mine = this.highest.get(key);
      if (mine === undefined || mine < seq) return false;
    }
    return true;
  }

  union(other: GtidSet): MariadbGtidSet {
    const merged = new Map(this.highest);
    for (const [key, seq] of asMariadb(this, other).highest) {
      const mine = merged.get(key);
      if (mine === undefined || mine < seq) merged.set(key, seq);
    }
    return new MariadbGtidSet(merged);
  }

  /**
   * One triple per domain, the highest sequence number of the domain: the form that
   * MASTER_GTID_WAIT and gtid_slave_pos take (they refuse two GTIDs of one domain).
   */
  position(): string {
    const perDomain = new Map<string, { server: string; seq: bigint }>();
    for (const [key, seq] of this.highest) {
      const [domain = '', server = ''] = key.split('-');
      const seen = perDomain.get(domain);
      if (seen === undefined || seq > seen.seq) perDomain.set(domain, { server, seq });
    }
    return [...perDomain]
      .sort(([a], [b]) => compareNumeric(a, b))
      .map(([domain, { server, seq }]) => `${domain}-${server}-${String(seq)}`)
      .join(',');
  }

  toString(): string {
    return [...this.highest]
      .sort(([a], [b]) => compareKeys(a, b))
      .map(([key, seq]) => `${key}-${String(seq)}`)
      .join(',');
  }
}

function asMariadb(self: GtidSet, other: GtidSet): MariadbGtidSet {
  assertSameEngine(self, other);
  if (!(other instanceof MariadbGtidSet)) throw new Error('a MariaDB GTID set can only be combined with another one');
  return other;
}

function compareNumeric(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareKeys(a: string, b: string): number {
  const [ad = '', as = ''] = a.split('-');
  const [bd = '', bs = ''] = b.split('-');
  return compareNumeric(ad, bd) || compareNumeric(as, bs);
}
