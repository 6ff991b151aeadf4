import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compareGtidSets, holdsTransactionsMissingFrom, type GtidSet } from '../../../operator/mysql/gtid.js';
import { MariadbGtidSet } from '../../../operator/mysql/mariadb-gtid.js';
import { MysqlGtidSet } from '../../../operator/mysql/mysql-gtid.js';

const U1 = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const U2 = 'c9a2c4e0-1d4f-11ef-8f3a-0242ac120002';
const maria = (text: string) => MariadbGtidSet.parse(text);
const my = (text: string) => MysqlGtidSet.parse(text);

describe('MariaDB GTID sets', () => {
  it('parses positions and states into a canonical form, keeping the highest sequence per domain and server', () => {
    expect(maria(' 1-2-3 , 0-1-5,0-1-4 ').toString()).toBe('0-1-5,1-2-3');
    expect(maria('').isEmpty()).toBe(true);
    expect(() => maria('0-1')).toThrow(/not a MariaDB GTID/);
    expect(() => maria('0-1-x')).toThrow(/not a MariaDB GTID/);
  });

  it('includes another set when it has at least the same sequence for every domain and server', () => {
    expect(maria('0-1-10,0-2-15').includes(maria('0-1-9'))).toBe(true);
    expect(maria('0-1-10').includes(maria('0-1-10,1-1-1'))).toBe(false);
    expect(compareGtidSets(maria('0-1-10,0-2-15'), maria('0-1-10,0-2-15'))).toBe('equal');
    expect(compareGtidSets(maria('0-1-10,0-2-15'), maria('0-1-10'))).toBe('superset');
  });

  it('sees an old primary\'s write after a failover as errant, though its sequence number is lower', () => {
    const oldPrimary = maria('0-1-11');
    const newPrimary = maria('0-1-10,0-2-15');
    expect(holdsTransactionsMissingFrom(oldPrimary, newPrimary)).toBe(true);
    expect(compareGtidSets(oldPrimary, newPrimary)).toBe('diverged');
  });

  it('gives one GTID per domain, the latest, as the position MASTER_GTID_WAIT and gtid_slave_pos take', () => {
    expect(maria('0-1-10,0-2-15,3-7-2').position()).toBe('0-2-15,3-7-2');
    expect(maria('').position()).toBe('');
  });

  it('unions by the highest sequence', () => {
    expect(maria('0-1-4,1-1-9').union(maria('0-1-6,2-3-1')).toString()).toBe('0-1-6,1-1-9,2-3-1');
  });
});

describe('MySQL GTID sets', () => {
  it('parses gtid_executed as the server prints it, merging adjacent intervals', () => {
    expect(my(`${U2.toUpperCase()}:5-9,\n${U1}:1-3:4-6:8`).toString()).toBe(`${U1}:1-6:8,${U2}:5-9`);
    expect(my('').isEmpty()).toBe(true);
  });

  it('keeps tagged transactions (8.4) apart from untagged ones of the same source', () => {
    const set = my(`${U1}:1-5:maint:1-2`);
    expect(set.toString()).toBe(`${U1}:1-5,${U1}:maint:1-2`);
    expect(set.includes(my(`${U1}:maint:2`))).toBe(true);
    expect(my(`${U1}:1-5`).includes(my(`${U1}:maint:1`))).toBe(false);
  });

  it('refuses text that is not a GTID set', () => {
    expect(() => my('not-a-uuid:1-3')).toThrow(/bad source UUID/);
    expect(() => my(U1)).toThrow(/no interval/);
    expect(() => my(`${U1}:5-3`)).toThrow(/bad interval/);
    expect(() => my(`${U1}:0`)).toThrow(/bad interval/);
  });

  it('compares exactly, interval by interval', () => {
    expect(compareGtidSets(my(`${U1}:1-10`), my(`${U1}:2-4:7`))).toBe('superset');
    expect(compareGtidSets(my(`${U1}:1-5`), my(`${U1}:1-3:5`))).toBe('superset');
    expect(compareGtidSets(my(`${U1}:1-5`), my(`${U1}:1-6`))).toBe('subset');
    expect(compareGtidSets(my(`${U1}:1-5,${U2}:1`), my(`${U1}:1-6`))).toBe('diverged');
    expect(holdsTransactionsMissingFrom(my(`${U1}:1-5,${U2}:1`), my(`${U1}:1-9`))).toBe(true);
  });

  it('refuses to compare with a MariaDB set', () => {
    expect(() => my(`${U1}:1`).includes(maria('0-1-1'))).toThrow(/cannot compare a mysql GTID set with a mariadb one/);
  });
});

describe('MySQL GTID inclusion against a model that lists every transaction', () => {
  const intervals = fc.array(fc.tuple(fc.constantFrom(U1, U2), fc.integer({ min: 1, max: 20 }), fc.nat({ max: 6 })), { maxLength: 5 });
  const text = (parts: [string, number, number][]): string => parts.map(([u, f, l]) => `${u}:${String(f)}-${String(f + l)}`).join(',');
  const listed = (parts: [string, number, number][]): Set<string> =>
    new Set(parts.flatMap(([u, f, l]) => Array.from({ length: l + 1 }, (_, i) => `${u}:${String(f + i)}`)));

  it('agrees with the model on every pair', () => {
    fc.assert(
      fc.property(intervals, intervals, (a, b) => {
        const inModel = [...listed(b)].every((gtid) => listed(a).has(gtid));
        return my(text(a)).includes(my(text(b))) === inModel;
      }),
      { numRuns: 2000 },
    );
  });
});

/** Random sets of both engines, from small ranges so overlaps are common. */
const mysqlSets = fc
  .array(fc.tuple(fc.constantFrom(U1, U2), fc.integer({ min: 1, max: 30 }), fc.nat({ max: 5 })), { maxLength: 6 })
  .map((parts) => my(parts.map(([uuid, first, length]) => `${uuid}:${String(first)}-${String(first + length)}`).join(',')));
const mariadbSets = fc
  .array(fc.tuple(fc.nat({ max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 30 })), { maxLength: 6 })
  .map((parts) => maria(parts.map(([d, s, n]) => `${String(d)}-${String(s)}-${String(n)}`).join(',')));

describe.each([
  ['MySQL', mysqlSets, (t: string): GtidSet => my(t)],
  ['MariaDB', mariadbSets, (t: string): GtidSet => maria(t)],
] as const)('%s GTID set laws', (_engine, sets, parse) => {
  it('reads back what it prints', () => {
    fc.assert(fc.property(sets, (a) => compareGtidSets(parse(a.toString()), a) === 'equal'));
  });

  it('includes itself, and a union includes both sides', () => {
    fc.assert(fc.property(sets, sets, (a, b) => a.includes(a) && a.union(b).includes(a) && a.union(b).includes(b)));
  });

  it('includes another set exactly when adding it changes nothing', () => {
    fc.assert(fc.property(sets, sets, (a, b) => a.includes(b) === (compareGtidSets(a.union(b), a) === 'equal')));
  });

  it('is transitive', () => {
    fc.assert(fc.property(sets, sets, sets, (a, b, c) => !(a.includes(b) && b.includes(c)) || a.includes(c)));
  });
});
