import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { fieldReference, withFieldReference } from '../../../operator/api/reference.js';

const readme = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../README.md'), 'utf8');

describe('README field reference', () => {
  it('documents every field of the schema, with defaults', () => {
    const table = fieldReference();
    expect(table).toContain('| `spec.database.replicas` | integer | `2` |');
    expect(table).toContain('`spec.app.image`');
    expect(table).toContain('`spec.firewall.extraIngress[].from.cidr`');
  });

  it('is up to date in README.md (run `npm run gen:docs` to regenerate)', () => {
    expect(withFieldReference(readme) === readme).toBe(true);
  });
});
