/** The manifests of manifests/examples, read one way by every test. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { WebStack } from '../../operator/api/types.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type ExampleName = 'minimal' | 'full';

/** manifests/examples/<name>.yaml as written (no namespace unless `namespace` is given). */
export function loadExample(name: ExampleName, namespace?: string): WebStack {
  const stack = parse(readFileSync(path.join(repoRoot, 'manifests/examples', `${name}.yaml`), 'utf8')) as WebStack;
  if (namespace !== undefined) stack.metadata.namespace = namespace;
  return stack;
}
