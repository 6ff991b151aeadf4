// Writes the WebStack CRD to crds/ from operator/api/schema.ts. Run with `npm run gen:crd`.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_FILE, webStackCrdYaml } from '../operator/api/crd.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(root, CRD_FILE), webStackCrdYaml());
console.log(`wrote ${CRD_FILE}`);
