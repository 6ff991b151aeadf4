/**
 * Many WebStacks at once, with the operator as a child process (compiled JavaScript, so its
 * memory is the operator's alone): time until every stack was reconciled once and until every one
 * is Ready, API requests per stack, peak RSS and CPU seconds; then the writes it makes in a
 * minute of idleness.
 */
import { randomBytes } from 'node:crypto';
import type { WebStack } from '../../operator/api/types.js';
import { kubectl } from '../support/cluster.js';
import { metricSeries, metricValue, startOperatorProcess, writeRequestsIn, type OperatorProcess } from '../support/process.js';
import { benchClient, cleanupNamespaces, clusterPrerequisites, createNamespace, createStack, example, log, now, round, sleep, waitNamespacesGone } from './lib.js';

export interface ScaleResult {
  stacks: number;
  namespaces: number;
  concurrency: number;
  capSeconds: number;
  /** Seconds from the first create until every stack had status.observedGeneration (all children applied once). */
  allReconciledSeconds: number | null;
  /** Seconds until every stack was Ready for its generation; null when the cap came first. */
  allReadySeconds: number | null;
  readyAtEnd: number;
  /** Seconds until every stack had Reconciling=False (every tier, logging included, settled); null after 5 more minutes. */
  allConvergedSeconds?: number | null;
  /** Why stacks were not Ready at the end: "condition=False reason" -> stacks. */
  notReadyBy: Record<string, number>;
  requestsPerStack: number;
  requestsPerStackByVerb: Record<string, number>;
  writesPerStack: number;
  reconciles: Record<string, number>;
  /** Longest event-loop stall seen (prom-client's lag gauge, scraped every 30 s). */
  maxEventLoopLagMs?: number;
  /** Node.js flags of the operator process (by default the Helm chart's nodeOptions). */
  nodeArgs?: string[];
  startupRssMiB: number;
  peakRssMiB: number;
  startupCpuSeconds: number;
  /** CPU seconds from the first create until the end of the run (startup excluded). */
  cpuSeconds: number;
  idle?: IdleResult;
}

export interface IdleResult {
  seconds: number;
  /** Seconds after Ready until the work queue was empty (the start of the count). */
  settleSeconds?: number;
  writes: number;
  /** The write series that moved, when any did. */
  writesBy: Record<string, number>;
}

interface StackStatus {
  metadata: { name: string; generation?: number };
  status?: WebStack['status'];
}

const CREATE_CONCURRENCY = 8;
const POLL_MS = 3_000;

/** KWOK's three nodes hold 500 pods and 64 CPUs each; 1,000 minimal stacks need about 13,000 pods and 2,300 CPUs. */
const BENCH_CAPACITY = { cpu: '4000', memory: '16Ti', pods: '6000' };
/**
 * A minimal stack has five ClusterIP Services. Clusters that hack/cluster created before it asked
 * for a /16 allocate from kube-apiserver's default 10.0.0.0/24 (254 addresses), where creates fail
 * with "range is full" past ~50 stacks; a second ServiceCIDR (networking.k8s.io/v1) adds room
 * while the benchmark runs, and does no harm on newer clusters.
 */
const BENCH_SERVICE_CIDR = { apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name: 'webstack-bench' }, spec: { cidrs: ['10.200.0.0/16'] } };

/** Makes room for hundreds of stacks on the local cluster; returns how to undo it. */
export async function makeRoom(): Promise<() => Promise<void>> {
  const { stdout } = await kubectl(['get', 'nodes', '-o', 'json']);
  const nodes = (JSON.parse(stdout) as { items: { metadata: { name: string }; status: { capacity: Record<string, string>; allocatable: Record<string, string> } }[] }).items;
  const patch = (name: string, status: unknown) =>
    kubectl(['patch', 'node', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
  for (const n of nodes) await patch(n.metadata.name, { capacity: BENCH_CAPACITY, allocatable: BENCH_CAPACITY });
  await kubectl(['apply', '--server-side', '--field-manager', 'webstack-bench', '-f', '-'], { input: JSON.stringify(BENCH_SERVICE_CIDR) });
  return async () => {
    for (const n of nodes) {
      const keys = Object.keys(BENCH_CAPACITY);
      const pick = (r: Record<string, string>) => Object.fromEntries(keys.map((k) => [k, r[k] ?? null]));
      await patch(n.metadata.name, { capacity: pick(n.status.capacity), allocatable: pick(n.status.allocatable) });
    }
    // Goes once no Service holds an address from it any more.
    await kubectl(['delete', 'servicecidr', BENCH_SERVICE_CIDR.metadata.name, '--wait=false', '--ignore-not-found']);
  };
}

async function listStacks(client: ReturnType<typeof benchClient>, namespaces: string[]): Promise<StackStatus[]> {
  const all: StackStatus[] = [];
  for (const ns of namespaces) {
    const body = (await client.request({ method: 'GET', path: `/apis/webstack.dev/v1alpha1/namespaces/${ns}/webstacks` })) as { items: StackStatus[] };
    all.push(...body.items);
  }
  return all;
}

const isReady = (s: StackStatus) =>
  s.status?.observedGeneration === s.metadata.generation && s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

function notReadyReasons(stacks: StackStatus[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of stacks.filter((x) => !isReady(x))) {
    const failing = (s.status?.conditions ?? []).filter((c) => c.type !== 'Ready' && c.type.endsWith('Ready') && c.status !== 'True');
    const key = failing.length === 0 ? 'no status yet' : failing.map((c) => `${c.type}=${c.status} ${c.reason}`).join(', ');
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** Runs `count` stacks; `entry` is the compiled operator (node_modules/.cache/webstack-bench/...). */
export async function runScale(opts: {
  count: number;
  namespaces: number;
  capMs: number;
  idleMs?: number;
  entryFile: string;
  concurrency?: number;
  nodeArgs?: string[];
}): Promise<ScaleResult> {
  const client = benchClient();
  await clusterPrerequisites();
  const run = randomBytes(2).toString('hex');
  const namespaces = Array.from({ length: opts.namespaces }, (_, i) => `bench-scale-${run}-${i}`);
  for (const ns of namespaces) await createNamespace(client, ns);
  const concurrency = opts.concurrency ?? 4;
  let operator: OperatorProcess | undefined;
  try {
    operator = await startOperatorProcess({
      entry: { kind: 'js', file: opts.entryFile },
      args: ['--namespaces', namespaces.join(','), '--leader-elect=false', '--log-level', 'warn', '--concurrency', String(concurrency)],
      nodeArgs: opts.nodeArgs ?? [],
    });
    const op = operator;
    const startup = op.stats();
    const baseline = await op.metrics();
    const requestsBefore = metricSeries(baseline, 'webstack_api_requests_total');
    log(`scale ${opts.count}: operator pid ${op.pid} up, RSS ${round(startup.rssBytes / 2 ** 20)} MiB; creating stacks`);

    const start = now();
    const stacks = Array.from({ length: opts.count }, (_, i) => example('minimal', namespaces[i % namespaces.length] ?? '', `s-${i}`));
    let next = 0;
    await Promise.all(
      Array.from({ length: CREATE_CONCURRENCY }, async () => {
        for (let i = next++; i < stacks.length; i = next++) {
          const stack = stacks[i];
          if (stack) await createStack(client, stack);
        }
      }),
    );
    log(`scale ${opts.count}: created in ${round((now() - start) / 1000, 1)} s`);

    let allReconciled: number | null = null;
    let allReady: number | null = null;
    let last: StackStatus[] = [];
    let lastReport = 0;
    let maxLagSeconds = 0;
    while (now() - start < opts.capMs) {
      if (!op.alive()) throw new Error(`the operator exited:\n${op.output()}`);
      last = await listStacks(client, namespaces);
      const elapsed = (now() - start) / 1000;
      const reconciled = last.filter((s) => s.status?.observedGeneration === s.metadata.generation).length;
      const ready = last.filter(isReady).length;
      if (allReconciled === null && reconciled === opts.count) allReconciled = elapsed;
      if (ready === opts.count) {
        allReady = elapsed;
        break;
      }
      if (elapsed - lastReport >= 30) {
        lastReport = elapsed;
        const s = op.stats();
        // prom-client's lag gauges cover the time since the previous scrape.
        const lag = metricValue(await op.metrics(), 'nodejs_eventloop_lag_max_seconds');
        maxLagSeconds = Math.max(maxLagSeconds, lag);
        log(`scale ${opts.count}: ${round(elapsed)} s: ${reconciled} reconciled, ${ready} Ready; RSS ${round(s.rssBytes / 2 ** 20)} MiB, CPU ${s.cpuSeconds} s, event loop lag max ${round(lag * 1000)} ms`);
      }
      await sleep(POLL_MS);
    }
    const end = op.stats();
    const metrics = await op.metrics();
    maxLagSeconds = Math.max(maxLagSeconds, metricValue(metrics, 'nodejs_eventloop_lag_max_seconds'));
    const requests = metricSeries(metrics, 'webstack_api_requests_total');
    const byVerb: Record<string, number> = {};
    for (const s of requests) {
      const before = requestsBefore.find((b) => JSON.stringify(b.labels) === JSON.stringify(s.labels))?.value ?? 0;
      const verb = s.labels.verb ?? '?';
      byVerb[verb] = (byVerb[verb] ?? 0) + s.value - before;
    }
    const total = Object.values(byVerb).reduce((a, b) => a + b, 0);
    const writes = writeRequestsIn(metrics) - writeRequestsIn(baseline);
    const reconciles = Object.fromEntries(metricSeries(metrics, 'webstack_reconcile_total').map((s) => [s.labels.result ?? '?', s.value]));

    const result: ScaleResult = {
      stacks: opts.count,
      namespaces: opts.namespaces,
      concurrency,
      capSeconds: opts.capMs / 1000,
      allReconciledSeconds: allReconciled === null ? null : round(allReconciled, 1),
      allReadySeconds: allReady === null ? null : round(allReady, 1),
      readyAtEnd: last.filter(isReady).length,
      notReadyBy: notReadyReasons(last),
      requestsPerStack: round(total / opts.count, 1),
      requestsPerStackByVerb: Object.fromEntries(Object.entries(byVerb).map(([k, v]) => [k, round(v / opts.count, 1)])),
      writesPerStack: round(writes / opts.count, 1),
      reconciles,
      nodeArgs: opts.nodeArgs ?? [],
      maxEventLoopLagMs: round(maxLagSeconds * 1000),
      startupRssMiB: round(startup.peakRssBytes / 2 ** 20),
      peakRssMiB: round(end.peakRssBytes / 2 ** 20),
      startupCpuSeconds: round(startup.cpuSeconds, 1),
      cpuSeconds: round(end.cpuSeconds - startup.cpuSeconds, 1),
    };
    log(`scale ${opts.count}: ${JSON.stringify(result)}`);

    if (opts.idleMs !== undefined) {
      // Ready does not wait for the log agents (logging degrades, it does not block), so their
      // pods may still be starting and their conditions still changing: wait for full convergence.
      result.allConvergedSeconds = await waitConverged(client, namespaces, start, opts.count);
      result.idle = await measureIdle(op, opts.idleMs);
    }
    return result;
  } finally {
    log(`scale ${opts.count}: cleaning up`);
    await cleanupNamespaces(namespaces, { waitMs: 300_000 }); // while the operator runs, to clear its finalizers
    if (operator) {
      operator.signal('SIGTERM');
      await Promise.race([operator.exited, sleep(10_000)]);
      await operator.kill();
    }
    const gone = await waitNamespacesGone(namespaces, 600_000);
    log(`scale ${opts.count}: namespaces ${gone ? 'deleted' : 'still terminating after 10 min'}`);
  }
}

async function waitConverged(client: ReturnType<typeof benchClient>, namespaces: string[], start: number, count: number): Promise<number | null> {
  const deadline = now() + SETTLE_CAP_MS;
  while (now() < deadline) {
    const stacks = await listStacks(client, namespaces);
    const settled = stacks.filter((s) => s.status?.conditions?.some((c) => c.type === 'Reconciling' && c.status === 'False')).length;
    if (settled === count) return round((now() - start) / 1000, 1);
    await sleep(POLL_MS);
  }
  return null;
}

/** How long the queue may take to drain before idleness is measured anyway. */
const SETTLE_CAP_MS = 5 * 60_000;

/**
 * Writes over `ms` once the operator has settled: its work queue empty on two scrapes in a row
 * (the events of the creation wave processed). A converged operator should then make none.
 */
export async function measureIdle(op: OperatorProcess, ms: number): Promise<IdleResult> {
  const start = now();
  let emptyScrapes = 0;
  while (emptyScrapes < 2 && now() - start < SETTLE_CAP_MS) {
    await sleep(2_000);
    emptyScrapes = metricValue(await op.metrics(), 'webstack_workqueue_depth') === 0 ? emptyScrapes + 1 : 0;
  }
  const settleSeconds = round((now() - start) / 1000, 1);
  const before = await op.metrics();
  await sleep(ms);
  const after = await op.metrics();
  const writesBy: Record<string, number> = {};
  const prior = metricSeries(before, 'webstack_api_requests_total');
  for (const s of metricSeries(after, 'webstack_api_requests_total')) {
    if (['get', 'list', 'watch'].includes(s.labels.verb ?? '')) continue;
    const d = s.value - (prior.find((p) => JSON.stringify(p.labels) === JSON.stringify(s.labels))?.value ?? 0);
    if (d > 0) writesBy[`${s.labels.verb ?? ''} ${s.labels.resource ?? ''} ${s.labels.code ?? ''}`] = d;
  }
  const writes = writeRequestsIn(after) - writeRequestsIn(before);
  log(`idle: queue drained after ${settleSeconds} s; then ${writes} writes in ${ms / 1000} s ${JSON.stringify(writesBy)}`);
  return { seconds: ms / 1000, settleSeconds, writes, writesBy };
}
