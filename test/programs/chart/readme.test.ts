/** The chart README's values table and values.yaml describe the same keys. */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_IMAGES, IMAGE_KEYS } from '../../../operator/api/images.js';
import { repoRoot } from '../../support/cluster.js';
import { CHART_DIR } from '../../support/helm.js';

const chart = path.join(repoRoot, CHART_DIR);
const values = parse(readFileSync(path.join(chart, 'values.yaml'), 'utf8')) as Record<string, unknown>;
const readme = readFileSync(path.join(chart, 'README.md'), 'utf8');

/** Keys in the first column of the values table: `| `a.b.c` | ... |`. */
const documented = [...readme.matchAll(/^\| `([A-Za-z0-9_.]+)` \|/gm)].map((m) => m[1] ?? '');

/** Whether `dotted` names a key of values.yaml (at any depth). */
function exists(dotted: string): boolean {
  let node: unknown = values;
  for (const part of dotted.split('.')) {
    if (typeof node !== 'object' || node === null || !(part in node)) return false;
    node = (node as Record<string, unknown>)[part];
  }
  return true;
}

describe(`${CHART_DIR}/README.md`, () => {
  it('documents every top-level value', () => {
    const missing = Object.keys(values).filter((key) => !documented.some((d) => d === key || d.startsWith(`${key}.`)));
    expect(missing).toEqual([]);
  });

  it('documents no value that values.yaml does not have', () => {
    expect(documented.length).toBeGreaterThan(0);
    expect(documented.filter((d) => !exists(d))).toEqual([]);
  });
});

describe(`${CHART_DIR}/README.md images`, () => {
  it("gives each catalog entry the operator's own default", () => {
    for (const key of IMAGE_KEYS) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`images.${key}\` |`));
      expect({ key, row }).toEqual({ key, row: expect.stringContaining(`(\`${DEFAULT_IMAGES[key]}\`)`) });
    }
  });
});
