/**
 * The structural-schema rules the API server enforces (and a few of our own), checked on every node,
 * so a schema change fails here in milliseconds rather than when the CRD is applied to a cluster.
 */
import { describe, expect, it } from '@jest/globals';
import { RULES, webStackSchema, type SchemaProps } from '../../../operator/api/schema.js';
import { validateAgainstSchema } from '../../../operator/api/validate.js';

const ALLOWED_KEYS = new Set([
  'type', 'description', 'format', 'default', 'enum', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum', 'minItems', 'maxItems', 'maxProperties', 'required', 'properties',
  'additionalProperties', 'items', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-validations',
]);
const KNOWN_RULES = new Set<string>(Object.values(RULES));

/** Every violation in the tree under `schema`, as "path: problem". */
// eslint-disable-next-line complexity -- a checklist: one independent rule per schema keyword
function violations(schema: SchemaProps, path = '', isProperty = true): string[] {
  const out: string[] = [];
  const bad = (problem: string) => out.push(`${path || '<root>'}: ${problem}`);
  for (const key of Object.keys(schema)) if (!ALLOWED_KEYS.has(key)) bad(`key "${key}" is not allowed (structural schema or unbounded)`);
  // metadata is the one subtree the API server forbids descriptions in.
  if (isProperty && !schema.description && !path.startsWith('.metadata')) bad('has no description');
  if (!schema.type) bad('has no type');
  if (schema.properties && schema.additionalProperties) bad('has both properties and additionalProperties');
  if (schema.type === 'array') {
    if (schema.maxItems === undefined) bad('array without maxItems');
    if (!schema.items) bad('array without items');
  }
  if (schema.type === 'string' && schema.maxLength === undefined && !schema.enum && schema.format !== 'date-time') {
    bad('string without maxLength or enum');
  }
  if (schema.additionalProperties && schema.maxProperties === undefined) bad('map without maxProperties');
  if (schema.type === 'object' && !schema.properties && !schema.additionalProperties && path !== '.metadata') {
    bad('object with neither properties nor additionalProperties');
  }
  for (const name of schema.required ?? []) if (!schema.properties?.[name]) bad(`requires undeclared "${name}"`);
  for (const key of schema['x-kubernetes-list-map-keys'] ?? []) {
    const item = schema.items;
    if (!item?.required?.includes(key) && item?.properties?.[key]?.default === undefined) bad(`list-map key "${key}" is neither required nor defaulted`);
  }
  for (const { rule, message, fieldPath } of schema['x-kubernetes-validations'] ?? []) {
    if (!KNOWN_RULES.has(rule)) bad(`CEL rule is not in RULES (validate.ts would not know it): ${rule}`);
    if (!/^(metadata\.name|spec\.)/.test(message)) bad(`CEL message does not name the field: ${message}`);
    if (fieldPath !== undefined && !/^(\.[A-Za-z]+)+$/.test(fieldPath)) bad(`fieldPath ${fieldPath} is not a .field path`);
  }
  if (schema.default !== undefined) {
    for (const e of validateAgainstSchema(schema, schema.default, path)) bad(`default is invalid: ${e.path}: ${e.message}`);
  }
  for (const [name, child] of Object.entries(schema.properties ?? {})) out.push(...violations(child, `${path}.${name}`));
  if (schema.items) out.push(...violations(schema.items, `${path}[]`, false));
  if (schema.additionalProperties) out.push(...violations(schema.additionalProperties, `${path}{}`, false));
  return out;
}

describe('the WebStack schema', () => {
  it('follows the structural schema rules, bounds everything and documents every field', () => {
    expect(violations(webStackSchema)).toEqual([]);
  });

  it('uses no construct the API server rejects or rewrites, anywhere', () => {
    const text = JSON.stringify(webStackSchema);
    for (const key of ['$ref', 'const', 'patternProperties', 'allOf', 'anyOf', 'oneOf', 'not', 'nullable']) {
      expect(text).not.toContain(`"${key}":`);
    }
  });

  it('covers spec and status', () => {
    expect(Object.keys(webStackSchema.properties ?? {})).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  });

  it('the checker above does find violations', () => {
    const broken: SchemaProps = {
      type: 'object',
      description: 'broken on purpose',
      properties: {
        undocumented: { type: 'string', maxLength: 3 },
        unbounded: { type: 'array', description: 'x', items: { type: 'string', maxLength: 3 } },
        longString: { type: 'string', description: 'x' },
        map: { type: 'object', description: 'x', additionalProperties: { type: 'string', maxLength: 3 } },
        badDefault: { type: 'integer', description: 'x', minimum: 2, default: 1 },
        ref: { $ref: '#/x', description: 'x', type: 'object', properties: {} } as SchemaProps,
      },
      required: ['missing'],
      'x-kubernetes-validations': [{ rule: 'true', message: 'whatever' }],
    };
    const found = violations(broken).join('\n');
    for (const expected of [
      '.undocumented: has no description',
      '.unbounded: array without maxItems',
      '.longString: string without maxLength',
      '.map: map without maxProperties',
      '.badDefault: default is invalid',
      '.ref: key "$ref" is not allowed',
      '<root>: requires undeclared "missing"',
      '<root>: CEL rule is not in RULES',
      '<root>: CEL message does not name the field',
    ]) {
      expect(found).toContain(expected);
    }
  });
});
