/**
 * Test harness for integration and e2e tests: the local cluster from hack/cluster, a kubectl that
 * matches its version, per-test namespaces and a polling helper with a clear failure message.
 * Integration tests use the KWOK cluster; e2e tests (WEBSTACK_TEST_CLUSTER=real, set by
 * test/e2e/env.ts) the real-node cluster.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const hackCluster = path.join(repoRoot, 'hack/cluster');

let cachedEnv: { kubeconfig: string; binDir: string } | undefined;

/** Paths published by hack/cluster (global-setup has already brought the cluster up). */
function clusterEnv(): { kubeconfig: string; binDir: string } {
  if (!cachedEnv) {
    const real = process.env.WEBSTACK_TEST_CLUSTER === 'real';
    const line = execFileSync(hackCluster, real ? ['env', '--real'] : ['env'], { encoding: 'utf8' });
    const binDir = /PATH="([^:"]+):/.exec(line)?.[1];
    const kubeconfig = /KUBECONFIG="([^"]+)"/.exec(line)?.[1];
    if (!binDir || !kubeconfig) throw new Error(`unexpected output of hack/cluster env: ${line}`);
    cachedEnv = { kubeconfig, binDir };
  }
  return cachedEnv;
}

export function kubeconfigPath(): string {
  return clusterEnv().kubeconfig;
}

/** Directory of the binaries hack/build.sh built (kubectl, helm, ...). */
export function binDir(): string {
  return clusterEnv().binDir;
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a program, resolving with its output; rejects on a non-zero exit unless allowFail. */
export function run(
  file: string,
  args: string[],
  opts: { input?: string; allowFail?: boolean; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        if (code !== 0 && !opts.allowFail) {
          reject(new Error(`${path.basename(file)} ${args.join(' ')} exited ${code}:\n${stderr || stdout}`));
        } else {
          resolve({ stdout, stderr, code });
        }
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

/** kubectl built from the same Kubernetes version as the server, pointed at the local cluster. */
export function kubectl(args: string[], opts: { input?: string; allowFail?: boolean } = {}): Promise<RunResult> {
  return run(path.join(binDir(), 'kubectl'), ['--kubeconfig', kubeconfigPath(), ...args], opts);
}

/** kubectl get ... -o json, parsed. */
export async function getJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const { stdout } = await kubectl(['get', ...args, '-o', 'json']);
  return JSON.parse(stdout) as T;
}

export const TEST_NAMESPACE_LABEL = 'webstack.dev/test';

/**
 * Creates a fresh namespace. `restricted` makes Pod Security Admission enforce the restricted
 * profile there, as the operator's stack namespaces should.
 */
export async function newNamespace(prefix: string, opts: { restricted?: boolean } = {}): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const labels: Record<string, string> = { [TEST_NAMESPACE_LABEL]: 'true' };
  if (opts.restricted) {
    labels['pod-security.kubernetes.io/enforce'] = 'restricted';
    labels['pod-security.kubernetes.io/enforce-version'] = 'latest';
  }
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
  await kubectl(['create', '-f', '-'], { input: JSON.stringify(ns) });
  return name;
}

export async function deleteNamespace(name: string): Promise<void> {
  await kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
}

export interface EventuallyOptions {
  description: string;
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Calls `fn` until it resolves (a throw means "not yet"), and fails after the timeout with the
 * description and the last error, so a red test says what it was waiting for.
 */
export async function eventually<T>(fn: () => Promise<T>, opts: EventuallyOptions): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const last = lastError instanceof Error ? lastError.message : String(lastError);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.description}; last error: ${last}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
}

/** Installs (or updates) the project's CRDs from crds/ and waits until they are served. */
export async function installCrds(): Promise<void> {
  const dir = path.join(repoRoot, 'crds');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  for (const file of files) {
    await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', 'webstack-tests', '-f', path.join(dir, file)]);
  }
  await waitEstablished('crd/webstacks.webstack.dev');
}

/**
 * Waits until CRDs are Established. Right after a first apply a CRD may have no status yet, and
 * kubectl wait then fails at once ("<nil> is of the type <nil>") instead of waiting: ask again.
 */
export async function waitEstablished(...crds: string[]): Promise<void> {
  await eventually(() => kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crds]), { timeoutMs: 90_000, intervalMs: 1000, description: `${crds.join(', ')} Established` });
}
