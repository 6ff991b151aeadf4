/**
 * The operator as a child process, for what an in-process operator cannot show: SIGKILL and
 * SIGTERM, two replicas electing a leader, and honest memory and CPU figures (/proc of its own
 * pid, with no test runner in the same heap).
 */
import { freePort } from './ports.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { withDefaults } from '../../operator/api/defaults.js';
import { OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL } from '../../operator/api/identity.js';
import { CHILD_KINDS } from '../../operator/api/kinds.js';
import type { Condition, WebStack } from '../../operator/api/types.js';
import type { KubeObject } from '../../operator/kube/types.js';
import { render } from '../../operator/render/index.js';
import { agentNames } from '../../operator/blueprint/agent.js';
import { names } from '../../operator/blueprint/names.js';
import { getJson, kubeconfigPath, kubectl, repoRoot } from './cluster.js';
import { AGENT_NAMESPACE, CLUSTER_FLAGS } from './operator.js';

/** How the operator is started: from TypeScript through tsx (tests), or compiled JavaScript (benchmarks). */
export type Entry = { kind: 'tsx'; file?: string } | { kind: 'js'; file: string };

/**
 * operator/cli/operator.ts through tsx, unless WEBSTACK_OPERATOR_ENTRY names another entry point
 * (e.g. dist/operator/cli/operator.js, or a patched copy of the sources to try a fix against the drills).
 */
function defaultEntry(): Entry {
  const file = process.env.WEBSTACK_OPERATOR_ENTRY;
  if (!file) return { kind: 'tsx' };
  return file.endsWith('.ts') ? { kind: 'tsx', file } : { kind: 'js', file };
}

export interface OperatorProcessOptions {
  /** Operator flags; --kubeconfig and --metrics-port are added unless given. */
  args: string[];
  entry?: Entry;
  env?: NodeJS.ProcessEnv;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** How long the operator may take to serve /healthz (caches synced). */
  startTimeoutMs?: number;
  /** Prefix of the lines copied to this process's stderr (undefined: keep them to ourselves). */
  echo?: string;
}

export interface ProcessStats {
  /** Resident set size now and at its peak (VmHWM), in bytes. */
  rssBytes: number;
  peakRssBytes: number;
  /** User + system CPU time, in seconds. */
  cpuSeconds: number;
}

export interface OperatorProcess {
  readonly pid: number;
  readonly port: number;
  readonly child: ChildProcess;
  /** Exit code or signal once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** The last lines it printed (JSON logs), to explain a failure. */
  output(): string;
  /** /metrics as text. */
  metrics(): Promise<string>;
  stats(): ProcessStats;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL unless it has exited; resolves once it has. Safe to call twice (afterAll). */
  kill(): Promise<void>;
}

const LOG_LINES_KEPT = 400;


async function httpGet(port: number, urlPath: string, timeoutMs = 2_000): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux, fixed by the kernel ABI for /proc.

/** Memory and CPU of a live process from /proc. */
export function processStats(pid: number): ProcessStats {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  // The command name (field 2) may contain spaces; fields are counted after its closing paren.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat, i.e. 12 and 13 after the command name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM'), cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND };
}

export async function startOperatorProcess(options: OperatorProcessOptions): Promise<OperatorProcess> {
  const port = await freePort();
  const args = [...options.args, ...CLUSTER_FLAGS];
  if (!args.some((a) => a.startsWith('--kubeconfig'))) args.push('--kubeconfig', kubeconfigPath());
  if (!args.some((a) => a.startsWith('--metrics-port'))) args.push('--metrics-port', String(port));
  const metricsPort = Number(/--metrics-port[= ](\d+)/.exec(args.join(' '))?.[1] ?? port);
  const entry = options.entry ?? defaultEntry();
  const script = entry.kind === 'tsx' ? ['--import', 'tsx', entry.file ?? path.join(repoRoot, 'operator/cli/operator.ts')] : [entry.file];
  // Node itself, not npx/tsx wrappers: signals must reach the operator, not a parent shell.
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...script, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the operator process did not start');

  const lines: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line === '') continue;
      lines.push(line);
      if (options.echo !== undefined) process.stderr.write(`${options.echo} ${line}\n`);
    }
    if (lines.length > LOG_LINES_KEPT) lines.splice(0, lines.length - LOG_LINES_KEPT);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });

  const proc: OperatorProcess = {
    pid,
    port: metricsPort,
    child,
    exited,
    alive: () => !done,
    output: () => lines.join('\n'),
    // A busy operator (hundreds of stacks on two shared cores) may answer slowly; that is measured, not a failure.
    metrics: async () => (await httpGet(metricsPort, '/metrics', 15_000)).body,
    stats: () => processStats(pid),
    signal: (sig) => {
      if (!done) child.kill(sig);
    },
    kill: async () => {
      if (!done) child.kill('SIGKILL');
      await exited;
    },
  };

  // /healthz answers once startOperator has synced its caches and bound the port.
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (!proc.alive()) throw new Error(`the operator exited during startup:\n${proc.output()}`);
    const ok = await httpGet(metricsPort, '/healthz', 500).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return proc;
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`the operator did not serve /healthz within ${options.startTimeoutMs ?? 60_000} ms:\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** The samples of one metric in Prometheus text, with their labels. */
export function metricSeries(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (m?.[1] !== name) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(LABEL)].map((l) => [l[1] ?? '', l[2] ?? '']));
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of a metric over the series whose labels include `match`, e.g. { result: 'error' }. */
export function metricValue(text: string, name: string, match: Record<string, string> = {}): number {
  return metricSeries(text, name)
    .filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

const READ_VERBS = new Set(['get', 'list', 'watch']);

/** Write requests in Prometheus text (leases excluded: renewals are not reconciles), as writeRequests() does in-process. */
export function writeRequestsIn(text: string): number {
  return metricSeries(text, 'webstack_api_requests_total')
    .filter((s) => !READ_VERBS.has(s.labels.verb ?? '') && !(s.labels.resource ?? '').startsWith('leases'))
    .reduce((sum, s) => sum + s.value, 0);
}

// ---- What the drills check after a fault: the children a stack should have, and its conditions. ----

/** Kinds the operator labels with its owner labels (pods only get the role label, so they are left out). */
const OWNED_KINDS = CHILD_KINDS.filter((k) => k.kind !== 'Pod').map((k) => (k.group ? `${k.plural}.${k.group}` : k.plural));

const childKey = (o: { kind: string; metadata: { namespace?: string; name: string } }) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Every object in the cluster carrying the stack's owner labels, as sorted "Kind/namespace/name" (duplicates kept). */
export async function childrenOf(namespace: string, name: string): Promise<string[]> {
  const selector = `${OWNER_NAMESPACE_LABEL}=${namespace},${OWNER_NAME_LABEL}=${name}`;
  const { items } = await getJson<{ items: KubeObject[] }>([OWNED_KINDS.join(','), '-A', '-l', selector]);
  return items.map(childKey).sort();
}

/**
 * What the operator should have made for the stack: the rendered objects (the cluster has
 * cert-manager and prometheus-operator CRDs), the generated database credentials and, when the
 * log sink has credentials, their copy beside the agent.
 */
export function expectedChildren(stack: WebStack): string[] {
  const defaulted = withDefaults(stack);
  const objects = render(defaulted, { certManager: true, prometheusOperator: true, agentNamespace: AGENT_NAMESPACE }).map(childKey);
  const ns = stack.metadata.namespace ?? '';
  objects.push(`Secret/${ns}/${names(stack.metadata.name).mysqlCredentials}`);
  if (defaulted.spec.logging.enabled && defaulted.spec.logging.sink.credentialsSecretRef) {
    objects.push(`Secret/${AGENT_NAMESPACE}/${agentNames(ns, stack.metadata.name).sinkSecret}`);
  }
  return objects.sort();
}

export async function conditionOf(namespace: string, name: string, type: string): Promise<Condition | undefined> {
  const ws = await getJson<WebStack>(['webstack', name, '-n', namespace]);
  return ws.status?.conditions?.find((c) => c.type === type);
}

/** Deletes a stack; when no operator clears its finalizer within the grace period, clears it so the test namespace can go. */
export async function removeStack(namespace: string, name: string, graceMs = 30_000): Promise<void> {
  const deleted = await kubectl(['delete', 'webstack', name, '-n', namespace, '--ignore-not-found', `--timeout=${Math.round(graceMs / 1000)}s`], { allowFail: true });
  if (deleted.code !== 0) {
    await kubectl(['patch', 'webstack', name, '-n', namespace, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], { allowFail: true });
  }
}
