/**
 * The API server defaults a WebStack from the schema's `default`s; the render CLI uses withDefaults().
 * Both must produce the same spec, or `webstack render` would show something the operator never does.
 */
import { loadExample } from '../../support/examples.js';
import { describe, expect, it } from '@jest/globals';
import { withDefaults } from '../../../operator/api/defaults.js';
import { webStackSchema } from '../../../operator/api/schema.js';
import type { WebStack } from '../../../operator/api/types.js';
import { applySchemaDefaults } from '../../../operator/api/validate.js';


/** withDefaults() also spells out empty lists and maps, which the schema leaves absent; both mean "none". */
function dropEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropEmpty);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value)
    .map(([k, v]) => [k, dropEmpty(v)] as const)
    .filter(([, v]) => !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && v !== null && Object.keys(v).length === 0));
  return Object.fromEntries(entries);
}

/** A stack naming only some fields of every defaulted object, so nested defaults are exercised too. */
function partial(): WebStack {
  const stack = loadExample('minimal');
  stack.spec.app.canary = { image: 'ghcr.io/acme/shop:1.5.0-rc.1' };
  stack.spec.loadBalancer = { replicas: 4 };
  stack.spec.database = { version: '8.0', storage: { storageClassName: 'fast' } };
  stack.spec.logging = { sink: { type: 'loki', endpoint: 'http://loki:3100' } };
  stack.spec.monitoring = { qps: { window: '2h' } };
  stack.spec.placement = { zoneSpread: 'Required' };
  return stack;
}

describe('schema defaults and withDefaults()', () => {
  const cases: [string, () => WebStack][] = [
    ['minimal example', () => loadExample('minimal')],
    ['full example', () => loadExample('full')],
    ['partly filled stack', partial],
  ];

  it.each(cases)('agree on the %s', (_name, make) => {
    const stack = make();
    const viaSchema = applySchemaDefaults(webStackSchema, stack) as WebStack;
    // The database version's default depends on the engine: the operator fills it, never the schema.
    const { version: _byOperator, ...database } = withDefaults(stack).spec.database;
    const expected = { ...withDefaults(stack).spec, database: { ...database, ...(stack.spec.database?.version ? { version: stack.spec.database.version } : {}) } };
    expect(dropEmpty(JSON.parse(JSON.stringify(viaSchema.spec)))).toEqual(dropEmpty(expected));
  });

  it.each(cases)('leave unset images unset on the %s, for the catalog to fill at render', (_name, make) => {
    const stack = make();
    const { loadBalancer, web, database } = withDefaults(stack).spec;
    expect([loadBalancer.image, web.image, database.image]).toEqual([stack.spec.loadBalancer?.image, stack.spec.web?.image, stack.spec.database?.image]);
  });

  it('leaves the full example, which sets every field, unchanged', () => {
    const full = loadExample('full');
    expect(applySchemaDefaults(webStackSchema, full)).toEqual(full);
  });

  it('does not modify its input', () => {
    const stack = loadExample('minimal');
    const before = structuredClone(stack);
    applySchemaDefaults(webStackSchema, stack);
    expect(stack).toEqual(before);
  });
});
