/**
 * Shared pieces of the cluster benchmarks: statistics, the machine description, an API client,
 * the example stacks, a watch on the operator's children, and cleanup.
 */
import { hackSettings } from '../../hack/settings.js';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type { WebStack } from '../../operator/api/types.js';
import { ChildCaches } from '../../operator/controller/caches.js';
import { KubeClient } from '../../operator/kube/client.js';
import { objectKey, resourcePath } from '../../operator/kube/types.js';
import { main, type CliIO } from '../../operator/cli/webstack.js';
import type { KubeObject } from '../../operator/render/index.js';
import { deleteNamespace, installCrds, kubeConfig, kubectl, TEST_NAMESPACE_LABEL } from '../support/cluster.js';
import { AGENT_NAMESPACE } from '../support/operator.js';
import { loadExample, type ExampleName } from '../support/examples.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const now = () => performance.now();

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  // Nearest rank: p99 of 50 samples is the largest, as it should be with so few.
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? NaN;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}
export const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits;

export const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kubernetes: string;
  etcd: string;
  kwok: string;
  loadAverage: string;
}

export function machine(): Machine {
  const versions = hackSettings(['KUBERNETES_VERSION', 'ETCD_VERSION', 'KWOK_VERSION']);
  return {
    cpus: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    kubernetes: versions.KUBERNETES_VERSION,
    etcd: versions.ETCD_VERSION,
    kwok: versions.KWOK_VERSION,
    loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
}

/** A client of our own for the benchmark's requests (not counted in the operator's metrics). */
export function benchClient(): KubeClient {
  return new KubeClient(kubeConfig(), { requestTimeoutMs: 60_000 });
}

export function example(file: ExampleName, namespace: string, name?: string): WebStack {
  const stack = loadExample(file, namespace);
  if (name !== undefined) stack.metadata.name = name;
  return stack;
}

/** What `webstack render -o json` prints for the stack (the CLI's own code, run in this process). */
export function rendered(stack: WebStack): KubeObject[] {
  let out = '';
  let err = '';
  const io: CliIO = { readFile: () => JSON.stringify(stack), stdout: (t) => (out += t), stderr: (t) => (err += t) };
  const code = main(['render', '-f', 'stack.json', '-o', 'json', '--agent-namespace', AGENT_NAMESPACE], io);
  if (code !== 0) throw new Error(`webstack render failed: ${err}`);
  return (JSON.parse(out) as { items: KubeObject[] }).items;
}

export const keyOf = (o: { kind: string; metadata: { namespace?: string | undefined; name: string } }) => `${o.kind}/${objectKey(o.metadata.namespace, o.metadata.name)}`;

export async function createStack(client: KubeClient, stack: WebStack): Promise<void> {
  await client.request({
    method: 'POST',
    path: resourcePath({ group: 'webstack.dev', version: 'v1alpha1' }, 'webstacks', { namespace: stack.metadata.namespace }),
    body: stack,
  });
}

/**
 * A watch on every object the operator manages in the given namespaces (the operator's own cache
 * code, in this process): when each one first appeared, and waiters for a set of them.
 */
export class ChildWatch {
  private readonly caches: ChildCaches;
  private readonly seen = new Map<string, { at: number; uid: string }>();
  private waiters: { keys: string[]; except: Record<string, string>; resolve: (at: number) => void }[] = [];

  constructor(namespaces: string[]) {
    this.caches = new ChildCaches({ client: benchClient(), namespaces, logger: pino({ level: 'warn' }, pino.destination(2)) });
    this.caches.enable('certManager');
    this.caches.enable('prometheusOperator');
    this.caches.onChange((e) => {
      const key = keyOf(e.object);
      if (e.type === 'delete') this.seen.delete(key);
      else if (this.seen.get(key)?.uid !== e.object.metadata.uid) this.seen.set(key, { at: now(), uid: e.object.metadata.uid ?? '' });
      this.check();
    });
  }

  async start(): Promise<void> {
    this.caches.start();
    await this.caches.waitForSync();
  }

  stop(): Promise<void> {
    return this.caches.stop();
  }

  uid(key: string): string | undefined {
    return this.seen.get(key)?.uid;
  }

  /** Resolves with the time the last of `keys` appeared (with a uid other than the one in `except`). */
  whenAll(keys: string[], timeoutMs: number, except: Record<string, string> = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      const waiter = {
        keys,
        except,
        resolve: (at: number) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const missing = keys.filter((k) => !this.present(k, except));
        reject(new Error(`timed out after ${timeoutMs} ms; missing ${missing.length}: ${missing.slice(0, 5).join(', ')}`));
      }, timeoutMs);
      this.waiters.push(waiter);
      this.check();
    });
  }

  private present(key: string, except: Record<string, string>): boolean {
    const s = this.seen.get(key);
    return s !== undefined && s.uid !== except[key];
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.keys.every((k) => this.present(k, w.except))) return true;
      w.resolve(Math.max(...w.keys.map((k) => this.seen.get(k)?.at ?? 0)));
      return false;
    });
  }
}

/**
 * Removes bench namespaces: their WebStacks first, while an operator still runs to clear its
 * finalizer (otherwise the namespace would wait for it forever), then the namespaces.
 */
export async function cleanupNamespaces(namespaces: string[], opts: { waitMs?: number } = {}): Promise<void> {
  if (namespaces.length === 0) return;
  for (const ns of namespaces) {
    await kubectl(['delete', 'webstacks', '--all', '-n', ns, '--wait=false'], { allowFail: true });
  }
  const deadline = Date.now() + (opts.waitMs ?? 120_000);
  for (const ns of namespaces) {
    for (;;) {
      const left = await kubectl(['get', 'webstacks', '-n', ns, '-o', 'name'], { allowFail: true });
      if (left.stdout.trim() === '' || Date.now() > deadline) break;
      await sleep(1_000);
    }
    if (Date.now() > deadline) {
      // No operator cleared the finalizer in time: drop it so the namespace can go.
      const left = (await kubectl(['get', 'webstacks', '-n', ns, '-o', 'name'], { allowFail: true })).stdout.split('\n').filter(Boolean);
      for (const ws of left) {
        await kubectl(['patch', ws, '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], { allowFail: true });
      }
    }
    await deleteNamespace(ns);
  }
}

/** Waits (bounded) until the namespaces are gone, so their garbage collection does not load the next measurement. */
export async function waitNamespacesGone(namespaces: string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const all = (await kubectl(['get', 'namespaces', '-o', 'jsonpath={.items[*].metadata.name}'], { allowFail: true })).stdout.split(' ');
    if (!namespaces.some((n) => all.includes(n))) return true;
    await sleep(2_000);
  }
  return false;
}

/** POSTs an object to its collection (namespaced or cluster-scoped). */
interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export async function createObject(client: KubeClient, apiVersion: string, plural: string, body: Manifest): Promise<void> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  await client.request({
    method: 'POST',
    path: resourcePath({ group: group ?? '', version: version ?? '' }, plural, { namespace: body.metadata.namespace }),
    body: { apiVersion, ...body },
  });
}

/** A namespace like newNamespace() makes (test label, restricted Pod Security), through our client: many are needed. */
export async function createNamespace(client: KubeClient, name: string): Promise<string> {
  const labels = {
    [TEST_NAMESPACE_LABEL]: 'true',
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/enforce-version': 'latest',
  };
  await createObject(client, 'v1', 'namespaces', { kind: 'Namespace', metadata: { name, labels } });
  return name;
}

/** The Secrets manifests/examples/full.yaml refers to. */
export async function fullPrerequisites(client: KubeClient, namespace: string): Promise<void> {
  const secrets: Record<string, Record<string, string>> = {
    stripe: { 'api-key': 'test' },
    'shop-settings': { 'api-key': 'test' },
    'ghcr-foobar': { 'api-key': 'test' },
    'loki-credentials': { authorization: 'Basic dGVzdDp0ZXN0' },
  };
  for (const [name, stringData] of Object.entries(secrets)) {
    await createObject(client, 'v1', 'secrets', { kind: 'Secret', metadata: { name, namespace }, stringData });
  }
}

/** Cluster-wide objects the examples need: their ClusterIssuers and the log agents' namespace. */
export async function clusterPrerequisites(): Promise<void> {
  // A fresh `hack/cluster up` has no WebStack CRD (the tests install it): without it the operator never syncs.
  await installCrds();
  for (const name of ['letsencrypt', 'letsencrypt-prod']) {
    const issuer = { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name }, spec: { selfSigned: {} } };
    await kubectl(['apply', '--server-side', '--field-manager', 'webstack-bench', '-f', '-'], { input: JSON.stringify(issuer) });
  }
  await kubectl(['create', 'namespace', AGENT_NAMESPACE], { allowFail: true });
}
