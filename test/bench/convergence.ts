/**
 * Convergence of one full WebStack against `kubectl apply --server-side` of the same objects, and
 * repair of a deleted child. The operator runs in this process, started before the first trial
 * (its startup is not measured), watching every bench namespace.
 *
 * - operator trial: time from the create request of the WebStack until every object that
 *   `webstack render` prints for it exists (seen by a watch in this process);
 * - kubectl trial: wall time of `kubectl apply --server-side -f` of exactly those objects, until
 *   the command exits (process start and discovery included: that is what a user waits for).
 *
 * Trials alternate (the order flips each round) in fresh namespaces; round 0 is a warm-up
 * (discovery caches, JIT) and is not counted.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningOperator } from '../../operator/main.js';
import { kubectl } from '../support/cluster.js';
import { AGENT_NAMESPACE, requestsByKind, startTestOperator } from '../support/operator.js';
import {
  benchClient,
  ChildWatch,
  cleanupNamespaces,
  clusterPrerequisites,
  createNamespace,
  createStack,
  example,
  fullPrerequisites,
  keyOf,
  log,
  median,
  now,
  percentile,
  rendered,
  round,
  sleep,
} from './lib.js';

export interface ConvergenceResult {
  trials: number;
  objects: number;
  operatorMs: number[];
  kubectlMs: number[];
  medianOperatorMs: number;
  medianKubectlMs: number;
  /** median(operator) / median(kubectl). */
  ratio: number;
  /** Requests the operator made per trial, by "verb resource", median over trials. */
  operatorRequests: Record<string, number>;
}

export interface DriftResult {
  trials: number;
  ms: number[];
  p50Ms: number;
  p99Ms: number;
  byTarget: Record<string, { p50Ms: number; p99Ms: number; trials: number }>;
}

/** Pause after each trial so the controllers' follow-up work (pods, status) does not load the next. */
const SETTLE_MS = 5_000;

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    // Per kind of request, code dropped: "apply services 200" and "apply services 201" are one line.
    const key = k.replace(/ \S+$/, '');
    if (d > 0) out[key] = (out[key] ?? 0) + d;
  }
  return out;
}

export interface ConvergenceOptions {
  trials: number;
  driftTrials: number;
  /** Starts the operator on the comma-separated namespaces; default startTestOperator (this checkout). */
  start?: (namespaces: string) => Promise<RunningOperator>;
}

export async function runConvergence(opts: ConvergenceOptions): Promise<{ convergence: ConvergenceResult; drift: DriftResult }> {
  const client = benchClient();
  await clusterPrerequisites();
  const run = randomBytes(2).toString('hex');
  const rounds = opts.trials + 1; // + warm-up
  const opNs = Array.from({ length: rounds }, (_, i) => `bench-op-${run}-${i}`);
  const kcNs = Array.from({ length: rounds }, (_, i) => `bench-kc-${run}-${i}`);
  log(`convergence: creating ${rounds * 2} namespaces with the full example's Secrets`);
  for (const ns of [...opNs, ...kcNs]) {
    await createNamespace(client, ns);
    await fullPrerequisites(client, ns);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'webstack-bench-'));
  const watch = new ChildWatch([...opNs, AGENT_NAMESPACE]);
  let operator: RunningOperator | undefined;
  try {
    await watch.start();
    operator = await (opts.start ?? startTestOperator)(opNs.join(','));
    const op = operator;
    const operatorMs: number[] = [];
    const kubectlMs: number[] = [];
    const requests: Record<string, number>[] = [];
    let objects = 0;

    const kubectlTrial = async (i: number) => {
      const ns = kcNs[i] ?? '';
      const file = path.join(dir, `${ns}.json`);
      writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rendered(example('full', ns)) }));
      const start = now();
      await kubectl(['apply', '--server-side', '--field-manager', 'webstack-bench', '-f', file]);
      return now() - start;
    };
    const operatorTrial = async (i: number) => {
      const stack = example('full', opNs[i] ?? '');
      const keys = rendered(stack).map(keyOf);
      objects = keys.length;
      const before = await requestsByKind(op);
      const start = now();
      await createStack(client, stack);
      const done = await watch.whenAll(keys, 120_000);
      await sleep(SETTLE_MS);
      requests.push(delta(await requestsByKind(op), before));
      return done - start;
    };

    for (let i = 0; i < rounds; i++) {
      const kubectlFirst = i % 2 === 0;
      const first = kubectlFirst ? await kubectlTrial(i) : await operatorTrial(i);
      if (kubectlFirst) await sleep(SETTLE_MS);
      const second = kubectlFirst ? await operatorTrial(i) : await kubectlTrial(i);
      if (!kubectlFirst) await sleep(SETTLE_MS);
      const [k, o] = kubectlFirst ? [first, second] : [second, first];
      log(`convergence round ${i}${i === 0 ? ' (warm-up)' : ''}: operator ${round(o)} ms, kubectl ${round(k)} ms`);
      if (i === 0) {
        requests.length = 0;
        continue;
      }
      operatorMs.push(o);
      kubectlMs.push(k);
    }

    const requestKinds = [...new Set(requests.flatMap((r) => Object.keys(r)))].sort();
    const convergence: ConvergenceResult = {
      trials: opts.trials,
      objects,
      operatorMs: operatorMs.map((v) => round(v)),
      kubectlMs: kubectlMs.map((v) => round(v)),
      medianOperatorMs: round(median(operatorMs)),
      medianKubectlMs: round(median(kubectlMs)),
      ratio: round(median(operatorMs) / median(kubectlMs), 2),
      operatorRequests: Object.fromEntries(requestKinds.map((k) => [k, median(requests.map((r) => r[k] ?? 0))])),
    };

    const drift = await runDrift(client, watch, opNs[rounds - 1] ?? '', opts.driftTrials);
    return { convergence, drift };
  } finally {
    log('convergence: cleaning up');
    await cleanupNamespaces(opNs); // while the operator runs, to clear its finalizers
    await operator?.stop();
    await watch.stop();
    await cleanupNamespaces(kcNs);
    // The kubectl trials' log agents live in the agent namespace, which outlives the trial namespaces.
    for (const ns of kcNs) {
      const file = path.join(dir, `${ns}.json`);
      await kubectl(['delete', '-f', file, '--ignore-not-found', '--wait=false'], { allowFail: true });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Deletes a child (alternately the web Service and the web ConfigMap) and times until it is back. */
async function runDrift(client: ReturnType<typeof benchClient>, watch: ChildWatch, ns: string, trials: number): Promise<DriftResult> {
  const targets = [
    { name: 'Service', key: `Service/${ns}/foobar-web`, path: `/api/v1/namespaces/${ns}/services/foobar-web` },
    { name: 'ConfigMap', key: `ConfigMap/${ns}/foobar-web-config`, path: `/api/v1/namespaces/${ns}/configmaps/foobar-web-config` },
  ];
  const ms: number[] = [];
  const byTarget: Record<string, number[]> = {};
  for (let i = 0; i < trials; i++) {
    const target = targets[i % targets.length] ?? targets[0];
    if (!target) break;
    const uid = watch.uid(target.key);
    if (uid === undefined) throw new Error(`${target.key} does not exist before drift trial ${i}`);
    const start = now();
    await client.request({ method: 'DELETE', path: target.path });
    const back = await watch.whenAll([target.key], 30_000, { [target.key]: uid });
    ms.push(back - start);
    (byTarget[target.name] ??= []).push(back - start);
    // Let the follow-up reconcile (the recreate's own event) finish before the next deletion.
    await sleep(500);
  }
  log(`drift: p50 ${round(median(ms))} ms, p99 ${round(percentile(ms, 99))} ms over ${trials} trials`);
  return {
    trials,
    ms: ms.map((v) => round(v, 1)),
    p50Ms: round(median(ms), 1),
    p99Ms: round(percentile(ms, 99), 1),
    byTarget: Object.fromEntries(
      Object.entries(byTarget).map(([k, v]) => [k, { p50Ms: round(median(v), 1), p99Ms: round(percentile(v, 99), 1), trials: v.length }]),
    ),
  };
}
