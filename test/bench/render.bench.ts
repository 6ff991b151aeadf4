/**
 * Benchmark of render() (not a test: nothing fails on timing). Prints the median and 95th
 * percentile wall time of rendering each example stack, and objects per stack.
 *
 *   npx tsx test/bench/render.bench.ts [runs=200]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { withDefaults } from '../../operator/api/defaults.js';
import type { WebStack } from '../../operator/api/types.js';
import { render, type RenderFacts } from '../../operator/render/index.js';

const runs = Number(process.argv[2] ?? 200);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer, not ${process.argv[2] ?? ''}`);

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../manifests/examples');
const facts: RenderFacts = { certManager: true, prometheusOperator: true };

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

for (const name of ['minimal', 'full']) {
  // The examples are valid by test (test/unit/render); parse them as the CLI would.
  const doc = parse(readFileSync(path.join(examples, `${name}.yaml`), 'utf8')) as WebStack;
  const stack = withDefaults({ ...doc, metadata: { ...doc.metadata, namespace: 'bench' } });
  // Warm-up: module loading and JIT are not what we measure.
  for (let i = 0; i < Math.min(20, runs); i++) render(stack, facts);
  const times: number[] = [];
  let objects = 0;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    objects = render(stack, facts).length;
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(8)} ${String(objects).padStart(3)} objects  median ${percentile(times, 50).toFixed(2)} ms  p95 ${percentile(times, 95).toFixed(2)} ms  (${runs} runs)`,
  );
}
