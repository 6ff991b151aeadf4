/**
 * Property: random valid WebStacks (the generators of test/unit/render/properties.test.ts, where
 * render is shown never to throw on them) made invalid by one mutation (a value outside an enum,
 * a number out of range, a malformed CIDR, a bad domain) are refused with a message naming the
 * mutated field: by the offline validator on every run, and by the real API server (server-side
 * dry run) on a sample.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import type { WebStack } from '../../../operator/api/types.js';
import { webStackSchema, type SchemaProps } from '../../../operator/api/schema.js';
import { validateWebStack } from '../../../operator/api/validate.js';
import { deleteNamespace, installCrds, kubectl, newNamespace } from '../../support/cluster.js';
import { webStackArbitrary } from '../../support/arbitraries.js';

jest.setTimeout(120_000);

type Spec = Record<string, unknown>;

interface Mutation {
  /** Sets the invalid value on a copy of the spec; returns the field as the API server names it, e.g. spec.domain. */
  apply: (spec: Spec) => string;
  /** For the failure message. */
  what: string;
}

/** Sets spec[a][b]... = value, creating the objects on the way; returns the path `spec.a.b`. */
function setIn(spec: Spec, keys: readonly string[], value: unknown): string {
  let node = spec;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Spec;
  node[keys[keys.length - 1] ?? ''] = value;
  return `spec.${keys.join('.')}`;
}

function schemaAt(keys: readonly string[]): SchemaProps {
  let node: SchemaProps = webStackSchema;
  for (const key of keys) {
    const child = node.properties?.[key];
    if (!child) throw new Error(`no ${keys.join('.')} in the schema`);
    node = child;
  }
  return node;
}

const word = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,11}$/);

const badEnum: fc.Arbitrary<Mutation> = fc
  .constantFrom(['tls', 'mode'], ['loadBalancer', 'serviceType'], ['database', 'deletionPolicy'], ['logging', 'sink', 'type'], ['placement', 'hostnameSpread'])
  .chain((keys) => {
    const allowed = (schemaAt(['spec', ...keys]).enum ?? []).map(String);
    return word.filter((w) => !allowed.includes(w)).map((value) => ({ apply: (s: Spec) => setIn(s, keys, value), what: `${keys.join('.')}=${value}` }));
  });

const outOfRange: fc.Arbitrary<Mutation> = fc
  .constantFrom(['app', 'port'], ['web', 'replicas'], ['app', 'replicas'], ['database', 'replicas'], ['loadBalancer', 'replicas'])
  .chain((keys) => {
    const { minimum = 0, maximum = 2 ** 31 - 1 } = schemaAt(['spec', ...keys]);
    const value = fc.oneof(fc.integer({ min: minimum - 1000, max: minimum - 1 }), fc.integer({ min: maximum + 1, max: maximum + 100_000 }));
    return value.map((v) => ({ apply: (s: Spec) => setIn(s, keys, v), what: `${keys.join('.')}=${v}` }));
  });

const badCidr: fc.Arbitrary<Mutation> = fc
  .tuple(
    fc.oneof(
      fc.constant('10.0.0.1/8'), // host bits set
      fc.integer({ min: 256, max: 999 }).map((o) => `10.${o}.0.0/16`),
      fc.integer({ min: 33, max: 99 }).map((p) => `192.0.2.0/${p}`),
      fc.constant('2001:db8::1/32'),
      word.map((w) => `${w}/24`),
    ),
    fc.nat({ max: 2 }),
  )
  .map(([bad, at]) => ({
    what: `allowedSourceRanges gets ${bad}`,
    apply: (s: Spec) => {
      const lb = (s.loadBalancer ??= {}) as Spec;
      const ranges = [...((lb.allowedSourceRanges as string[] | undefined) ?? ['0.0.0.0/0'])];
      const index = Math.min(at, ranges.length);
      ranges.splice(index, 0, bad);
      lb.allowedSourceRanges = ranges;
      return `spec.loadBalancer.allowedSourceRanges[${index}]`;
    },
  }));

const badDomain: fc.Arbitrary<Mutation> = fc
  .oneof(
    fc.constant('WWW.Example.com'),
    fc.constant('www..example.com'),
    fc.constant('-www.example.com'),
    fc.constant('www_shop.example.com'),
    fc.constant(`${'a'.repeat(64)}.example.com`),
    word.map((w) => `${w.toUpperCase()}.example.com`),
    word.map((w) => `${w.toLowerCase()}.example.com.`),
  )
  .map((domain) => ({ apply: (s: Spec) => setIn(s, ['domain'], domain), what: `domain=${domain}` }));

const mutation = fc.oneof(badEnum, outOfRange, badCidr, badDomain);

/** The valid stack with the mutation applied, and the path the refusal must name. */
function mutate(stack: WebStack, m: Mutation): { invalid: WebStack; path: string } {
  const spec = structuredClone(stack.spec) as unknown as Spec;
  const path = m.apply(spec);
  return { invalid: { ...stack, spec: spec as unknown as WebStack['spec'] }, path };
}

const invalidStacks = fc.tuple(webStackArbitrary, mutation).map(([stack, m]) => ({ ...mutate(stack, m), what: m.what }));

let ns: string;

beforeAll(async () => {
  await installCrds();
  ns = await newNamespace('drill-invalid');
});

afterAll(async () => {
  await deleteNamespace(ns);
});

describe('random invalid specs', () => {
  it('are refused by the offline validator with an error naming the field', () => {
    fc.assert(
      fc.property(invalidStacks, ({ invalid, path, what }) => {
        const errors = validateWebStack(invalid);
        const named = errors.filter((e) => e.path === path || e.path.startsWith(`${path}.`) || e.path.startsWith(`${path}[`));
        if (named.length === 0 || named.some((e) => e.message.trim() === '')) {
          throw new Error(`${what}: expected an error at ${path}, got ${JSON.stringify(errors)}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('are refused by the API server with a message naming the field (a sample of 20)', async () => {
    const sample = fc.sample(invalidStacks, { numRuns: 20, seed: Date.now() % 2 ** 31 });
    const failures: string[] = [];
    for (const { invalid, path, what } of sample) {
      const body = { ...invalid, metadata: { ...invalid.metadata, namespace: ns } };
      const { code, stderr } = await kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(body), allowFail: true });
      if (code === 0 || !stderr.includes(path)) failures.push(`${what}: expected a refusal naming ${path}, got exit ${code}: ${stderr.trim()}`);
    }
    expect(failures).toEqual([]);
  });
});
