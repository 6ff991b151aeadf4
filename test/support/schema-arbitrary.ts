/**
 * Hostile WebStacks, derived from the CRD schema itself (operator/api/schema.ts): a valid stack of
 * the valid generator (test/support/arbitraries.ts) with up to two of its fields replaced (none, now
 * and then: the invariant is tested on valid stacks too). The
 * fields are found by walking the schema beside the stack, so every string, number and map key the
 * schema allows can be hit, set or not in the stack (inside lists, the items the stack has). A
 * string becomes one of the classes that break programs downstream: spaces anywhere, upper case, IP
 * literals, `$` and `${...}`, newlines, unicode, the empty string, lengths at 63/64/253/254, most of
 * them built from the field's valid value; a number goes to its bounds or one past them. The valid
 * rest keeps the CRD's cross-field rules out of the way, so what is refused is refused for the field
 * that was changed, and a fair share is admitted for the invariant to be tested on.
 *
 * `classify` tells the classes of a string apart, for the generator's statistics.
 */
import fc from 'fast-check';
import type { SchemaProps } from '../../operator/api/schema.js';
import type { WebStack } from '../../operator/api/types.js';
import { webStackArbitrary } from './arbitraries.js';

export const HOSTILE_CLASSES = ['space', 'upper-case', 'ip-literal', 'dollar', 'newline', 'unicode', 'empty', 'length-63', 'length-64', 'length-253', 'length-254'] as const;
export type HostileClass = (typeof HOSTILE_CLASSES)[number];

/** A generated stack and what was changed in it. */
export interface HostileStack {
  doc: WebStack;
  changed: { path: string; value: unknown; classes: HostileClass[] }[];
}

type Obj = Record<string, unknown>;

/** A place in the stack the schema allows a scalar (or a map key) at. */
interface Spot {
  path: string;
  schema: SchemaProps;
  current: unknown;
  key: boolean;
  set(value: unknown): void;
}

/** Every spot of `value` under `schema` (present or not), for strings that are not enums, numbers and map keys. */
function spots(value: Obj, schema: SchemaProps, path: string): Spot[] {
  const found: Spot[] = [];
  if (schema.additionalProperties) {
    for (const key of Object.keys(value)) {
      found.push({ path: `${path}{key}`, schema: { type: 'string' }, current: key, key: true, set: (k) => renameKey(value, key, String(k)) });
      found.push(...scalarSpot(value, key, schema.additionalProperties, `${path}.${key}`));
    }
    return found;
  }
  for (const [name, sub] of Object.entries(schema.properties ?? {})) {
    const child = value[name];
    if (sub.type === 'object' && isObj(child)) found.push(...spots(child, sub, `${path}.${name}`));
    else if (sub.type === 'array' && Array.isArray(child)) {
      child.forEach((item, i) => {
        if (isObj(item)) found.push(...spots(item, sub.items ?? {}, `${path}.${name}[${i}]`));
        else found.push(...scalarSpot(child as unknown as Obj, String(i), sub.items ?? {}, `${path}.${name}[${i}]`));
      });
    } else found.push(...scalarSpot(value, name, sub, `${path}.${name}`));
  }
  return found;
}

function scalarSpot(parent: Obj, name: string, schema: SchemaProps, path: string): Spot[] {
  const scalar = (schema.type === 'string' && schema.enum === undefined) || schema.type === 'integer' || schema.type === 'number';
  if (!scalar) return [];
  return [{ path, schema, current: parent[name], key: false, set: (v) => (parent[name] = v) }];
}

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function renameKey(map: Obj, from: string, to: string): void {
  const value = map[from];
  Reflect.deleteProperty(map, from);
  map[to] = value;
}

export function hostileWebStack(specSchema: SchemaProps): fc.Arbitrary<HostileStack> {
  return fc
    .tuple(webStackArbitrary, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...HOSTILE_CLASSES), fc.nat(), fc.nat()), { minLength: 0, maxLength: 2 }))
    .map(([base, picks]) => {
      const doc = structuredClone(base);
      const { namespace: _, ...metadata } = doc.metadata;
      doc.metadata = metadata;
      const changed: HostileStack['changed'] = [];
      for (const [pick, cls, position, variant] of picks) {
        const all = spots(doc.spec as unknown as Obj, specSchema, 'spec');
        const spot = all[pick % all.length];
        if (spot === undefined) continue;
        const value = spot.schema.type === 'string' ? hostileString(cls, seedOf(spot), position, variant) : hostileNumber(spot.schema, variant);
        spot.set(value);
        changed.push({ path: spot.path, value, classes: typeof value === 'string' ? classify(value) : [] });
      }
      return { doc, changed };
    });
}

/** The field's value when it has one; else something of the right shape for its name. */
function seedOf(spot: Spot): string {
  if (typeof spot.current === 'string' && spot.current !== '') return spot.current;
  const path = spot.path;
  if (/cidr|except|SourceRanges/.test(path)) return '10.0.0.0/8';
  if (path.endsWith("cpu")) return '100m';
  if (/memory$|size$/.test(path)) return '128Mi';
  if (path.endsWith("image")) return 'ghcr.io/acme/shop:1.0.0';
  if (path.endsWith("endpoint")) return 'https://sink.example:4318';
  if (path.endsWith("window")) return '1h';
  if (path.endsWith("Path")) return '/healthz';
  if (path.endsWith("group")) return 'cert-manager.io';
  return 'shop';
}

const IP_LITERALS = ['10.0.0.1', '192.0.2.1', '2001:db8::1', '[2001:db8::1]', '0.0.0.0/0', '::/0', '127.0.0.1:8080'];
const INSERTS: Record<'space' | 'dollar' | 'newline' | 'unicode', readonly string[]> = {
  space: [' ', '\t'],
  dollar: ['$', '${env:HOME}', '${file:/etc/hostname}', '$$'],
  newline: ['\n', '\r\n', '\nx: y'],
  unicode: ['é', 'ü', '\u200b', '例', '\u0130'],
};

/** A string of class `cls`, built from the valid `seed` where the class allows it. */
export function hostileString(cls: HostileClass, seed: string, position: number, variant: number): string {
  const pick = <T>(list: readonly T[]): T => list[variant % list.length] as T;
  const at = (insert: string) => {
    const i = position % (seed.length + 1);
    return seed.slice(0, i) + insert + seed.slice(i);
  };
  switch (cls) {
    case 'space':
    case 'dollar':
    case 'newline':
    case 'unicode':
      return at(pick(INSERTS[cls]));
    case 'upper-case':
      return seed.toUpperCase() === seed ? `X${seed}` : seed.toUpperCase();
    case 'ip-literal':
      return pick(IP_LITERALS);
    case 'empty':
      return '';
    case 'length-63':
      return ofLength(seed, 63);
    case 'length-64':
      return ofLength(seed, 64);
    case 'length-253':
      return ofLength(seed, 253);
    case 'length-254':
      return ofLength(seed, 254);
  }
}

/** A bound of the field or one past it. */
function hostileNumber(schema: SchemaProps, variant: number): number {
  const integer = schema.type === 'integer';
  const min = schema.minimum ?? (integer ? -(2 ** 31) : -1e6);
  const max = schema.maximum ?? (integer ? 2 ** 31 - 1 : 1e6);
  const edges = [min, max, min - 1, max + 1, ...(integer ? [] : [min + 0.5, max - 0.001])];
  return edges[variant % edges.length] ?? min;
}

/**
 * `seed` grown (or cut) to `n` characters in its own alphabet. A DNS name becomes one label up to 64
 * (63 is a label's limit) and labels of 63 beyond (253 is a name's limit); anything else repeats its
 * last character.
 */
export function ofLength(seed: string, n: number): string {
  const dnsName = /^[a-z0-9.-]+$/.test(seed) && seed.includes('.');
  if (dnsName) return n <= 64 ? 'a'.repeat(n) : Array.from({ length: 5 }, () => 'a'.repeat(63)).join('.').slice(0, n);
  const base = seed.length > 0 ? seed : 'a';
  return base.length >= n ? base.slice(0, n) : base + (base.at(-1) ?? 'a').repeat(n - base.length);
}

/** The hostile classes a string belongs to (none: it looks like a valid value). */
export function classify(s: string): HostileClass[] {
  const classes: HostileClass[] = [];
  if (/[ \t]/.test(s)) classes.push('space');
  if (/[A-Z]/.test(s)) classes.push('upper-case');
  if (IP_LITERALS.includes(s)) classes.push('ip-literal');
  if (s.includes('$')) classes.push('dollar');
  if (/[\r\n]/.test(s)) classes.push('newline');
  if (/[^ -~\t\r\n]/.test(s)) classes.push('unicode');
  if (s === '') classes.push('empty');
  for (const n of [63, 64, 253, 254] as const) if (s.length === n) classes.push(`length-${n}`);
  return classes;
}
