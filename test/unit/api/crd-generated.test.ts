import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { CRD_FILE, webStackCrd, webStackCrdYaml } from '../../../operator/api/crd.js';
import { MAX_STACK_NAME_LENGTH } from '../../../operator/api/identity.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('the generated CRD', () => {
  it(`${CRD_FILE} is up to date with operator/api/schema.ts`, () => {
    const onDisk = readFileSync(path.join(root, CRD_FILE), 'utf8');
    if (onDisk !== webStackCrdYaml()) {
      throw new Error(`${CRD_FILE} is out of date with operator/api/schema.ts: run \`npm run gen:crd\` and commit the result`);
    }
  });

  it('reads back as exactly the object it was written from', () => {
    // Guards against YAML quirks (aliases, type coercion of strings like "8.4" or "Exists").
    expect(parse(webStackCrdYaml())).toEqual(webStackCrd());
  });

  it('names the resource as kubectl users expect', () => {
    const crd = webStackCrd();
    expect(crd.metadata.name).toBe('webstacks.webstack.dev');
    expect(crd.spec.names).toMatchObject({ kind: 'WebStack', plural: 'webstacks', shortNames: ['ws'] });
    const [version] = crd.spec.versions;
    expect(version?.subresources).toEqual({ status: {} });
    const columns = version?.additionalPrinterColumns ?? [];
    expect(columns.filter((c) => c.priority === undefined).map((c) => c.name)).toEqual(['Domain', 'Ready', 'LB', 'Web', 'App', 'DB', 'Primary', 'Durability', 'Address', 'Age']);
    expect(columns.filter((c) => c.priority === 1).map((c) => c.name)).toEqual(['Phase', 'TLS', 'Reason']);
  });

  it('limits metadata.name with the constant the renderers use', () => {
    const rules = webStackCrd().spec.versions[0]?.schema.openAPIV3Schema['x-kubernetes-validations'] ?? [];
    expect(rules.map((r) => r.rule)).toContain(`self.metadata.name.size() <= ${MAX_STACK_NAME_LENGTH}`);
  });
});
