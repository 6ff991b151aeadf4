/**
 * The engine-neutral face of a GTID set: what the decision logic needs to know about the
 * transactions an instance holds, without knowing how its engine writes them down.
 */
export type EngineName = 'mysql' | 'mariadb';

export interface GtidSet {
  readonly engine: EngineName;
  isEmpty(): boolean;
  /** Every transaction of `other` is in this set too (this ⊇ other). */
  includes(other: GtidSet): boolean;
  union(other: GtidSet): GtidSet;
  /** The engine's own notation, canonical (sorted, merged), so equal sets print equal. */
  toString(): string;
}

/** How two instances' transactions relate; `diverged` means each holds something the other lacks. */
export type GtidRelation = 'equal' | 'superset' | 'subset' | 'diverged';

export function compareGtidSets(a: GtidSet, b: GtidSet): GtidRelation {
  const aHasB = a.includes(b);
  const bHasA = b.includes(a);
  if (aHasB && bHasA) return 'equal';
  if (aHasB) return 'superset';
  if (bHasA) return 'subset';
  return 'diverged';
}

/**
 * An instance holds errant transactions when it has any transaction the reference (the primary)
 * lacks: it cannot replicate from that primary without diverging.
 */
export function holdsTransactionsMissingFrom(instance: GtidSet, reference: GtidSet): boolean {
  return !reference.includes(instance);
}

/** Throws when two sets of different engines meet: a programming error, never a data condition. */
export function assertSameEngine(a: GtidSet, b: GtidSet): void {
  if (a.engine !== b.engine) throw new Error(`cannot compare a ${a.engine} GTID set with a ${b.engine} one`);
}
