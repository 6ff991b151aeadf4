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
    ['operator/render/web.ts', '../reconcile/reconciler.js', 'render/ may import only api/, blueprint/, support/'],
    ['operator/render/config/nginx.ts', '../../kube/client.js', 'render/ may import only api/, blueprint/, support/'],
    ['operator/blueprint/names.ts', '../render/web.js', 'blueprint/ may import only api/, support/'],
    ['operator/blueprint/layout.ts', '../kube/client.js', 'blueprint/ may import only api/, support/'],
    ['operator/database/gather.ts', '../render/web.js', 'database/ may import only'],
    ['operator/agent/loop.ts', '../reconcile/plan.js', 'agent/ may import only'],
    ['operator/kube/events.ts', '../runtime/queue.js', 'kube/ may import only support/'],
    ['operator/api/identity.ts', '../blueprint/names.js', 'api/ may import only support/'],
    ['operator/support/clock.ts', '../api/identity.js', 'support/ may import only node and npm modules'],
    ['operator/reconcile/plan.ts', '../controller/manager.js', 'reconcile/ may import only'],
    ['operator/reconcile/plan.ts', '../cli/webstack.js', 'reconcile/ may import only'],
    ['operator/runtime/controller.ts', '../controller/manager.js', 'runtime/ may import only'],
    ['operator/controller/manager.ts', '../main.js', 'main.ts wires the operator'],
    ['operator/main.ts', './cli/operator.js', 'cli/ is the entry point'],
  ])('%s may not import %s', async (file, from, message) => {
    expect((await messages(file, importing(from), 'no-restricted-imports')).join('\n')).toContain(message);
  });

  it.each([
    ['operator/blueprint/names.ts', '../api/identity.js'],
    ['operator/render/web.ts', '../blueprint/layout.js'],
    ['operator/database/gather.ts', '../blueprint/plan.js'],
    ['operator/kube/events.ts', '../support/clock.js'],
    ['operator/reconcile/plan.ts', '../render/index.js'],
    ['operator/controller/objects.ts', '../reconcile/reconciler.js'],
  ])('%s may import %s', async (file, from) => {
    expect(await messages(file, importing(from), 'no-restricted-imports')).toEqual([]);
  });

  it('every folder of operator/ has a line in LAYERS and in the README\'s folder map', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const folders = readdirSync(path.join(root, 'operator'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    const config = readFileSync(path.join(root, 'eslint.config.js'), 'utf8');
    const layers = /const LAYERS = \{([^}]*)\}/.exec(config)?.[1] ?? '';
    const inLayers = [...layers.matchAll(/^\s*(\w+):/gm)].map((m) => m[1] ?? '');
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const inReadme = [...readme.matchAll(/^\| `operator\/(\w+)\/` \|/gm)].map((m) => m[1] ?? '');
    expect({ layers: [...inLayers, 'cli'].sort(), readme: [...inReadme].sort() }).toEqual({ layers: folders, readme: folders });
  });
});

describe('tests under the same rules', () => {
  it.each([
    ['test/unit/agent/loop.test.ts', '../render/render.test.js', 'a test imports only operator/, hack/ and test/support/'],
    ['test/integration/chart.test.ts', '../programs/chart/chart.test.js', 'a test imports only operator/, hack/ and test/support/'],
    ['test/support/cluster.ts', '../e2e/writer.js', 'test/support/ imports only operator/, hack/ and itself'],
  ])('%s may not import %s', async (file, from, message) => {
    expect((await messages(file, importing(from), 'no-restricted-imports')).join('\n')).toContain(message);
  });

  it.each([
    ['test/unit/agent/loop.test.ts', '../../support/fake-cluster.js'],
    ['test/unit/agent/loop.test.ts', '../../../operator/agent/loop.js'],
    ['test/programs/mysql/mysql-engine.test.ts', './engine-fixture.js'],
    ['test/support/cluster.ts', '../../hack/gen-manifests.js'],
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
