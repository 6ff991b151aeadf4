/**
 * operator/api/types.ts mirrors the schema by hand; this reads it with the TypeScript compiler and
 * compares, field by field, names, optional/required, scalar types, enums and nesting.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';
import { webStackSchema, type SchemaProps } from '../../../operator/api/schema.js';

const typesFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../operator/api/types.ts');
const options: ts.CompilerOptions = {
  strict: true,
  exactOptionalPropertyTypes: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  types: [],
};

/** A program over types.ts, or over `replacement` as its text (to prove the comparison can fail). */
function program(replacement?: string, oldProgram?: ts.Program): ts.Program {
  const host = ts.createCompilerHost(options);
  if (replacement !== undefined) {
    const original = host.getSourceFile.bind(host);
    host.getSourceFile = (file, language, ...rest) =>
      path.resolve(file) === typesFile ? ts.createSourceFile(file, replacement, language) : original(file, language, ...rest);
  }
  return ts.createProgram({ rootNames: [typesFile], options, host, ...(oldProgram ? { oldProgram } : {}) });
}

function interfaceType(p: ts.Program, name: string): ts.Type {
  const file = p.getSourceFile(typesFile);
  const decl = file?.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
  if (!decl) throw new Error(`interface ${name} not found in ${typesFile}`);
  return p.getTypeChecker().getTypeAtLocation(decl);
}

/** Differences between a TS type and a schema node, as "path: what differs". */
// eslint-disable-next-line complexity -- one branch per kind of schema node, each a few lines
function compare(checker: ts.TypeChecker, type: ts.Type, schema: SchemaProps, at: string): string[] {
  const t = checker.getNonNullableType(type);
  const diff = (what: string) => [`${at}: ${what}`];
  const literals = t.isUnion() ? t.types : [t];
  if (literals.every((l) => l.isStringLiteral())) {
    const values = literals.map((l) => l.value).sort();
    const expected = [...(schema.enum ?? [])].sort();
    if (schema.type !== 'string') return diff(`TS has string literals, schema has type ${schema.type ?? 'none'}`);
    return JSON.stringify(values) === JSON.stringify(expected) ? [] : diff(`TS allows ${values.join('|')}, schema enum is ${expected.join('|') || 'none'}`);
  }
  if (t.flags & ts.TypeFlags.String) return schema.type === 'string' ? [] : diff(`TS string, schema ${schema.type ?? 'none'}`);
  if (t.flags & ts.TypeFlags.Number) return schema.type === 'integer' || schema.type === 'number' ? [] : diff(`TS number, schema ${schema.type ?? 'none'}`);
  if (t.flags & ts.TypeFlags.BooleanLike) return schema.type === 'boolean' ? [] : diff(`TS boolean, schema ${schema.type ?? 'none'}`);
  if (checker.isArrayType(t)) {
    const [element] = checker.getTypeArguments(t as ts.TypeReference);
    if (schema.type !== 'array' || !schema.items || !element) return diff(`TS array, schema ${schema.type ?? 'none'}`);
    return compare(checker, element, schema.items, `${at}[]`);
  }
  const index = checker.getIndexInfoOfType(t, ts.IndexKind.String);
  const props = checker.getPropertiesOfType(t);
  if (index && props.length === 0) {
    if (!schema.additionalProperties) return diff('TS map, schema has no additionalProperties');
    return compare(checker, index.type, schema.additionalProperties, `${at}{}`);
  }
  if (schema.type !== 'object' || !schema.properties) return diff(`TS object, schema ${schema.type ?? 'none'}`);
  const out: string[] = [];
  const schemaProps = schema.properties;
  const required = new Set(schema.required ?? []);
  for (const prop of props) {
    const child = schemaProps[prop.name];
    const where = `${at}.${prop.name}`;
    if (!child) {
      out.push(`${where}: in TS, not in the schema`);
      continue;
    }
    const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
    if (optional === required.has(prop.name)) {
      out.push(`${where}: ${optional ? 'optional' : 'required'} in TS, ${optional ? 'required' : 'optional'} in the schema`);
    }
    out.push(...compare(checker, checker.getTypeOfSymbol(prop), child, where));
  }
  const tsNames = new Set(props.map((p) => p.name));
  for (const name of Object.keys(schemaProps)) if (!tsNames.has(name)) out.push(`${at}.${name}: in the schema, not in TS`);
  return out;
}

function differences(p: ts.Program, schema: SchemaProps = webStackSchema): string[] {
  const checker = p.getTypeChecker();
  const { spec, status } = schema.properties ?? {};
  if (!spec || !status) throw new Error('schema has no spec or status');
  return [
    ...compare(checker, interfaceType(p, 'WebStackSpec'), spec, 'spec'),
    ...compare(checker, interfaceType(p, 'WebStackStatus'), status, 'status'),
  ];
}

describe('operator/api/types.ts', () => {
  const real = program();

  it('matches the CRD schema', () => {
    const found = differences(real);
    if (found.length > 0) throw new Error(`types.ts and schema.ts differ:\n  ${found.join('\n  ')}`);
  });

  it('the comparison reports a schema that drifted', () => {
    const drifted = structuredClone(webStackSchema) as { properties: Record<string, SchemaProps> } & SchemaProps;
    const spec = drifted.properties.spec as { properties: Record<string, SchemaProps>; required: string[] };
    delete spec.properties.web;
    spec.required = [...spec.required, 'aliases'];
    const app = spec.properties.app as { properties: Record<string, SchemaProps> };
    app.properties.port = { type: 'string', description: 'x', maxLength: 5 };
    const tls = spec.properties.tls as { properties: Record<string, SchemaProps> };
    tls.properties.mode = { ...tls.properties.mode, enum: ['reencrypt', 'terminate'] };
    expect(differences(real, drifted)).toEqual(
      expect.arrayContaining([
        'spec.web: in TS, not in the schema',
        'spec.aliases: optional in TS, required in the schema',
        'spec.app.port: TS number, schema string',
        'spec.tls.mode: TS allows passthrough|reencrypt|terminate, schema enum is reencrypt|terminate',
      ]),
    );
  });

  it('the comparison reports types that drifted', () => {
    const source = ts.sys.readFile(typesFile) ?? '';
    const edited = source
      .replace('  domain: string;\n', '  domain?: string;\n  extraField: number;\n')
      .replace('export interface DatabaseSpec {\n', 'export interface DatabaseSpec {\n  replicaCount?: number;\n')
      .replace("  status: ConditionStatus;\n", '  status: boolean;\n');
    expect(edited).not.toBe(source);
    expect(differences(program(edited, real))).toEqual(
      expect.arrayContaining([
        'spec.domain: optional in TS, required in the schema',
        'spec.extraField: in TS, not in the schema',
        'spec.database.replicaCount: in TS, not in the schema',
        'status.conditions[].status: TS boolean, schema string',
      ]),
    );
  });
});
