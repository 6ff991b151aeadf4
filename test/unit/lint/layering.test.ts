/**
 * The layering and size rules of eslint.config.js, proven to fail: each snippet is linted with the
 * project's real configuration as if it were the source of a file in that folder.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const eslint = new ESLint({ cwd: root });

/** The messages of `rule` for `code` linted as the file at `file` (an existing source file, so the type-aware rules can run). */
async function messages(file: string, code: string, rule: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === rule).map((m) => m.message);
}

const importing = (from: string) => `import * as m from '${from}';\nexport const used = Object.keys(m);\n`;

describe('layering', () => {
  it.each([
    ['operator/render/names.ts', '../reconcile/reconciler.js', 'render/ may import only api/, support/'],
    ['operator/render/config/layout.ts', '../../kube/client.js', 'render/ may import only api/, support/'],
    ['operator/kube/events.ts', '../runtime/queue.js', 'kube/ may import only support/'],
    ['operator/api/identity.ts', '../render/names.js', 'api/ may import only support/'],
    ['operator/support/clock.ts', '../api/identity.js', 'support/ may import only node and npm modules'],
    ['operator/reconcile/plan.ts', '../controller/webstack.js', 'reconcile/ may import only'],
    ['operator/reconcile/plan.ts', '../cli/webstack.js', 'reconcile/ may import only'],
    ['operator/controller/webstack.ts', '../main.js', 'main.ts wires the operator'],
    ['operator/main.ts', './cli/start.js', 'cli/ is the entry point'],
  ])('%s may not import %s', async (file, from, message) => {
    expect((await messages(file, importing(from), 'no-restricted-imports')).join('\n')).toContain(message);
  });

  it.each([
    ['operator/render/names.ts', '../api/identity.js'],
    ['operator/kube/events.ts', '../support/clock.js'],
    ['operator/reconcile/plan.ts', '../render/index.js'],
    ['operator/controller/webstack.ts', '../reconcile/reconciler.js'],
  ])('%s may import %s', async (file, from) => {
    expect(await messages(file, importing(from), 'no-restricted-imports')).toEqual([]);
  });
});

describe('size budget', () => {
  const branches = (n: number) =>
    `export function decide(x: number): number {\n${Array.from({ length: n }, (_, i) => `  if (x === ${i}) return ${i};`).join('\n')}\n  return -1;\n}\n`;

  it('refuses a logic function with more than 15 paths, and allows one with 15', async () => {
    expect(await messages('operator/reconcile/plan.ts', branches(15), 'complexity')).toHaveLength(1);
    expect(await messages('operator/reconcile/plan.ts', branches(14), 'complexity')).toEqual([]);
  });

  it('exempts the text templates of render/config/', async () => {
    expect(await messages('operator/render/config/nginx.ts', branches(20), 'complexity')).toEqual([]);
  });
});

describe('import graph', () => {
  it('has no cycles in operator/', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const files = readdirSync(path.join(root, 'operator'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const edges = new Map<string, string[]>();
    for (const file of files) {
      const text = readFileSync(path.join(root, 'operator', file), 'utf8');
      const targets = [...text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)].map((m) => path.join(path.dirname(file), `${m[1] ?? ''}.ts`));
      edges.set(path.normalize(file), targets);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const next of edges.get(file) ?? []) visit(next, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of edges.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
