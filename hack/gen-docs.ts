// Rewrites the WebStack field reference in README.md from the CRD schema.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withFieldReference } from '../operator/api/reference.js';

const readme = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../README.md');
writeFileSync(readme, withFieldReference(readFileSync(readme, 'utf8')));
process.stdout.write(`wrote the field reference in ${readme}\n`);
