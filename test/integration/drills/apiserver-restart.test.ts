/**
 * Drill: kube-apiserver dies (SIGKILL) and comes back while the operator runs. The operator's
 * informers notice, retry with backoff and resume, without the process restarting, and a change
 * made as soon as the server is back is reconciled.
 *
 * The local control plane is kwokctl's binary runtime: each component's pid is in
 * <cluster dir>/pids/<component>.pid, and `kwokctl start cluster` starts the components that are
 * not running. kube-controller-manager and kube-scheduler may exit meanwhile (their leader
 * election cannot renew without the server), so they are started again too, and afterAll leaves
 * every component running whatever happened. Other runs sharing the cluster see the outage.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { WebStack } from '../../../operator/api/types.js';
import { binDir, deleteNamespace, eventually, getJson, installCrds, kubeconfigPath, kubectl, newNamespace, repoRoot, run } from '../../support/cluster.js';
import { AGENT_NAMESPACE } from '../../support/operator.js';
import { removeStack, startOperatorProcess, type OperatorProcess } from '../../support/process.js';
import { loadExample } from '../../support/examples.js';

jest.setTimeout(180_000);

/** How long the API server stays down before it is started again. */
const DOWN_MS = 10_000;
const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok-controller'];

const clusterDir = () => path.dirname(kubeconfigPath());

/** A component's pid when its pid file names a live process running that component. */
function pidOf(component: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(clusterDir(), 'pids', `${component}.pid`), 'utf8').trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(component) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function apiserverReady(): Promise<boolean> {
  const { code } = await kubectl(['get', '--raw', '/readyz', '--request-timeout=5s'], { allowFail: true });
  return code === 0;
}

/** `kwokctl start cluster`: starts whichever components are not running (as hack/cluster does). */
async function startStoppedComponents(): Promise<void> {
  const dir = clusterDir();
  const env = { ...process.env, KWOK_WORKDIR: path.resolve(dir, '../..'), PATH: `${binDir()}:${process.env.PATH ?? ''}` };
  await run(path.join(binDir(), 'kwokctl'), ['start', 'cluster', '--name', path.basename(dir)], { env, timeoutMs: 150_000 });
}

async function waitForApiserver(timeoutMs: number): Promise<void> {
  await eventually(
    async () => {
      if (!(await apiserverReady())) throw new Error('kube-apiserver is not ready');
    },
    { description: 'kube-apiserver /readyz', timeoutMs, intervalMs: 500 },
  );
}

let ns: string | undefined;
let op: OperatorProcess | undefined;

beforeAll(async () => {
  await installCrds();
  await kubectl(['create', 'namespace', AGENT_NAMESPACE], { allowFail: true });
  const issuer = { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt' }, spec: { selfSigned: {} } };
  await kubectl(['apply', '--server-side', '--field-manager', 'platform-team', '-f', '-'], { input: JSON.stringify(issuer) });
  ns = await newNamespace('drill-apiserver', { restricted: true });
  op = await startOperatorProcess({ args: ['--namespaces', ns, '--leader-elect=false', '--resync-period', '0'] });
});

afterAll(async () => {
  // Whatever happened above, leave every component of the shared cluster running.
  if (!COMPONENTS.every((c) => pidOf(c) !== undefined) || !(await apiserverReady())) await startStoppedComponents().catch(() => undefined);
  await run(path.join(repoRoot, 'hack/cluster'), ['up'], { timeoutMs: 300_000 });
  if (ns) {
    await removeStack(ns, 'minimal');
    await deleteNamespace(ns);
  }
  await op?.kill();
}, 420_000);

describe('kube-apiserver restart', () => {
  it('the operator recovers without restarting and reconciles a change made right after', async () => {
    const namespace = ns ?? '';
    const stack = loadExample('minimal', namespace);
    const apply = () => kubectl(['apply', '--server-side', '--field-manager', 'platform-team', '-f', '-'], { input: JSON.stringify(stack) });
    await apply();
    await eventually(
      async () => {
        const ws = await getJson<WebStack>(['webstack', 'minimal', '-n', namespace]);
        if (ws.status?.observedGeneration !== ws.metadata.generation) throw new Error('not reconciled yet');
      },
      { description: 'the stack to be reconciled before the outage', timeoutMs: 60_000 },
    );

    const pid = pidOf('kube-apiserver');
    if (pid === undefined) throw new Error(`no kube-apiserver pid under ${clusterDir()}/pids`);
    process.kill(pid, 'SIGKILL');
    await eventually(
      async () => {
        if (await apiserverReady()) throw new Error('still serving');
      },
      { description: 'kube-apiserver to be down', timeoutMs: 10_000, intervalMs: 200 },
    );
    await new Promise((r) => setTimeout(r, DOWN_MS));
    await startStoppedComponents();
    await waitForApiserver(120_000);

    // The change lands the moment the server is back, while the operator's watches are still failing over.
    stack.spec.web = { replicas: 4 };
    stack.spec.app = { ...stack.spec.app, image: 'ghcr.io/acme/shop:1.4.3' };
    await apply();
    const generation = (await getJson<WebStack>(['webstack', 'minimal', '-n', namespace])).metadata.generation;
    await eventually(
      async () => {
        const web = await getJson<{ spec: { replicas: number } }>(['deployment', 'minimal-web', '-n', namespace]);
        if (web.spec.replicas !== 4) throw new Error(`web has ${web.spec.replicas} replicas`);
        const ws = await getJson<WebStack>(['webstack', 'minimal', '-n', namespace]);
        if (ws.status?.observedGeneration !== generation) throw new Error(`observedGeneration ${ws.status?.observedGeneration ?? 'none'} of ${generation ?? '?'}`);
      },
      // The informers' backoff after repeated failures is capped at 30 s.
      { description: 'the change made after the restart to be reconciled', timeoutMs: 90_000 },
    );
    expect(op?.alive()).toBe(true);
    // It did notice the outage: its watches failed and were restarted.
    expect(op?.output()).toContain('watch failed; restarting');

    // Controllers that lost their leader election during the outage are started again.
    await startStoppedComponents();
    expect(COMPONENTS.filter((c) => pidOf(c) === undefined)).toEqual([]);
  });
});
