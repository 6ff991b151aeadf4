/**
 * Convergence of one full WebStack against `kubectl apply --server-side` of the same objects, and
 * repair of a deleted child. The operator runs in this process, started before the first trial
 * (its startup is not measured), watching every bench namespace.
 *
 * - operator trial: time from the create request of the WebStack until every object that
 *   `webstack render` prints for it exists (seen by a watch in this process);
 * - kubectl trial: wall time of `kubectl apply --server-side -f` of exactly those objects, until
 *   the command exits (process start and discovery included: that is what a user waits for);
 * - warm client trial: the API server's own pace: this process's keep-alive client applies the
 *   same objects all at once by server-side apply, timed by the same watch as the operator's
 *   (from the first request until every object is seen).
 *
 * Trials take turns (the order rotates each round) in fresh namespaces; round 0 is a warm-up
 * (discovery caches, JIT) and is not counted.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningOperator } from '../../operator/main.js';
import { ObjectApi } from '../../operator/kube/apply.js';
import { Discovery } from '../../operator/kube/discovery.js';
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
  /** Absent in results recorded before the warm client was measured. */
  warmClientMs?: number[];
  medianOperatorMs: number;
  medianKubectlMs: number;
  medianWarmClientMs?: number;
  /** median(operator) / median(kubectl). */
  ratio: number;
  /** median(operator) / median(warm client): how far the operator is from the API server's own pace. */
  warmClientRatio?: number;
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
  const wcNs = Array.from({ length: rounds }, (_, i) => `bench-wc-${run}-${i}`);
  log(`convergence: creating ${rounds * 3} namespaces with the full example's Secrets`);
  for (const ns of [...opNs, ...kcNs, ...wcNs]) {
    await createNamespace(client, ns);
    await fullPrerequisites(client, ns);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'webstack-bench-'));
  const watch = new ChildWatch([...opNs, ...wcNs, AGENT_NAMESPACE]);
  const warm = new ObjectApi(client, new Discovery(client));
  let operator: RunningOperator | undefined;
  try {
    await watch.start();
    operator = await (opts.start ?? startTestOperator)(opNs.join(','));
    const op = operator;
    const operatorMs: number[] = [];
    const kubectlMs: number[] = [];
    const warmClientMs: number[] = [];
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
    const warmClientTrial = async (i: number) => {
      const objs = rendered(example('full', wcNs[i] ?? ''));
      const start = now();
      await Promise.all(objs.map((o) => warm.applyObject(o, { fieldManager: 'webstack-bench', force: true })));
      return (await watch.whenAll(objs.map(keyOf), 120_000)) - start;
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

    const trials = { operator: operatorTrial, kubectl: kubectlTrial, warm: warmClientTrial } as const;
    const kinds = Object.keys(trials) as (keyof typeof trials)[];
    for (let i = 0; i < rounds; i++) {
      // Each kind goes first, second and third in turn; every trial is followed by a pause (the operator's includes it).
      const took: Partial<Record<keyof typeof trials, number>> = {};
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(i + k) % kinds.length] ?? 'operator';
        took[kind] = await trials[kind](i);
        if (kind !== 'operator') await sleep(SETTLE_MS);
      }
      const { operator: o = 0, kubectl: k = 0, warm: w = 0 } = took;
      log(`convergence round ${i}${i === 0 ? ' (warm-up)' : ''}: operator ${round(o)} ms, kubectl ${round(k)} ms, warm client ${round(w)} ms`);
      if (i === 0) {
        requests.length = 0;
        continue;
      }
      operatorMs.push(o);
      kubectlMs.push(k);
      warmClientMs.push(w);
    }

    const requestKinds = [...new Set(requests.flatMap((r) => Object.keys(r)))].sort();
    const convergence: ConvergenceResult = {
      trials: opts.trials,
      objects,
      operatorMs: operatorMs.map((v) => round(v)),
      kubectlMs: kubectlMs.map((v) => round(v)),
      warmClientMs: warmClientMs.map((v) => round(v)),
      medianOperatorMs: round(median(operatorMs)),
      medianKubectlMs: round(median(kubectlMs)),
      medianWarmClientMs: round(median(warmClientMs)),
      ratio: round(median(operatorMs) / median(kubectlMs), 2),
      warmClientRatio: round(median(operatorMs) / median(warmClientMs), 2),
      operatorRequests: Object.fromEntries(requestKinds.map((k) => [k, median(requests.map((r) => r[k] ?? 0))])),
    };

    const drift = await runDrift(client, watch, opNs[rounds - 1] ?? '', opts.driftTrials);
    return { convergence, drift };
  } finally {
    log('convergence: cleaning up');
    await cleanupNamespaces(opNs); // while the operator runs, to clear its finalizers
    await operator?.stop();
    await watch.stop();
    await cleanupNamespaces([...kcNs, ...wcNs]);
    // The kubectl and warm client trials' log agents live in the agent namespace, which outlives the trial namespaces.
    for (const ns of kcNs) {
      const file = path.join(dir, `${ns}.json`);
      await kubectl(['delete', '-f', file, '--ignore-not-found', '--wait=false'], { allowFail: true });
    }
    for (const ns of wcNs) {
      const agents = rendered(example('full', ns)).filter((o) => o.metadata.namespace === AGENT_NAMESPACE);
      await Promise.all(agents.map((o) => warm.deleteObject({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: AGENT_NAMESPACE }).catch(() => undefined)));
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
