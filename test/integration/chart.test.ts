/**
 * The rendered chart is accepted by a real API server and its operator pods become Ready: server-
 * side apply into a fresh release namespace that enforces Pod Security `restricted`. KWOK runs the
 * pods (it never pulls the image), so this proves the objects, not the image.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { helmTemplateArgs } from '../../hack/gen-manifests.js';
import { helmPath, parseObjects, type K8sObject } from '../support/helm.js';
import { TEST_NAMESPACE_LABEL, deleteNamespace, eventually, getJson, kubectl, newNamespace, repoRoot, run } from '../support/cluster.js';

const RELEASE = 'webstack-operator';
const FIELD_MANAGER = 'webstack-chart-test';
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface DeploymentStatus {
  spec: { replicas: number };
  status: { readyReplicas?: number; availableReplicas?: number };
}
interface PodList {
  items: { spec: { nodeName?: string }; status: { conditions?: { type: string; status: string }[] } }[];
}

/**
 * Renders the chart into `namespace` with `args`, applies it server-side, and registers the removal
 * of what it created outside that namespace (cluster-scoped RBAC, the agent namespace).
 */
async function install(namespace: string, args: string[]): Promise<K8sObject[]> {
  // helmTemplateArgs targets the default namespace; the later --namespace wins.
  const { stdout } = await run(helmPath(), helmTemplateArgs(['--include-crds', '--namespace', namespace, ...args]));
  const objects = parseObjects(stdout);
  cleanups.push(async () => {
    // The CRD is shared with every other test: left in place.
    const owned = objects.filter((o) => o.kind !== 'CustomResourceDefinition');
    await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], { input: owned.map((o) => JSON.stringify(o)).join('\n') });
  });
  // --force-conflicts: the CRD may already be applied by other tests under their field manager.
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', FIELD_MANAGER, '-f', '-'], { input: stdout });
  return objects;
}

/** A per-test agent namespace, labelled so that global setup removes it if a run is cut short. */
function agentNamespace(name: string): string[] {
  return ['--set', `logAgent.namespace=${name}`, '--set-string', `logAgent.namespaceLabels.${TEST_NAMESPACE_LABEL.replaceAll('.', '\\.')}=true`];
}

async function expectReady(namespace: string, replicas: number): Promise<void> {
  await eventually(
    async () => {
      const d = await getJson<DeploymentStatus>(['deployment', RELEASE, '-n', namespace]);
      if (d.status.readyReplicas !== replicas) throw new Error(`${d.status.readyReplicas ?? 0}/${replicas} replicas ready`);
    },
    { description: `${replicas} Ready operator pods in ${namespace}`, timeoutMs: 90_000, intervalMs: 500 },
  );
  const pods = await getJson<PodList>(['pods', '-n', namespace, '-l', `app.kubernetes.io/instance=${RELEASE}`]);
  const ready = pods.items.filter((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  expect(ready).toHaveLength(replicas);
  // The topology spread puts the replicas on different nodes while there are enough of them (3).
  expect(new Set(ready.map((p) => p.spec.nodeName)).size).toBe(replicas);
}

describe('the Helm chart on a real API server', () => {
  it('installs with default values: 2 Ready replicas under Pod Security restricted', async () => {
    const ns = await newNamespace('chart', { restricted: true });
    cleanups.push(() => deleteNamespace(ns));
    const agents = `${ns}-agents`;
    const objects = await install(ns, agentNamespace(agents));
    expect(objects.map((o) => o.kind)).toContain('NetworkPolicy');
    await expectReady(ns, 2);
    const agentNs = await getJson<{ metadata: { labels: Record<string, string> } }>(['namespace', agents]);
    expect(agentNs.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    // The ServiceAccount may do what the operator needs and no more (spot checks; rbac.test.ts is the proof).
    const sa = `system:serviceaccount:${ns}:${RELEASE}`;
    const can = async (...args: string[]) => (await kubectl(['auth', 'can-i', '--as', sa, ...args], { allowFail: true })).stdout.trim();
    expect(await can('list', 'webstacks.webstack.dev', '--all-namespaces')).toBe('yes');
    expect(await can('update', 'leases.coordination.k8s.io', '-n', ns)).toBe('yes');
    expect(await can('update', 'leases.coordination.k8s.io', '-n', 'default')).toBe('no');
    expect(await can('update', 'secrets', '-n', 'default')).toBe('no');
    expect(await can('create', 'clusterrolebindings')).toBe('no');
  }, 180_000);

  it('installs with ci/custom-values.yaml: 3 replicas, Roles in the watched namespaces, a ServiceMonitor', async () => {
    const ns = await newNamespace('chart', { restricted: true });
    cleanups.push(() => deleteNamespace(ns));
    const watched = [await newNamespace('chart-w1'), await newNamespace('chart-w2')];
    for (const w of watched) cleanups.push(() => deleteNamespace(w));
    const agents = `${ns}-agents`;
    const objects = await install(ns, [
      '--values',
      `${repoRoot}/charts/webstack-operator/ci/custom-values.yaml`,
      '--set',
      `watchNamespaces={${watched.join(',')}}`,
      ...agentNamespace(agents),
    ]);
    expect(objects.map((o) => o.kind)).toContain('ServiceMonitor');
    await getJson(['servicemonitor', RELEASE, '-n', ns]);
    await expectReady(ns, 3);
    const sa = `system:serviceaccount:${ns}:${RELEASE}`;
    const can = async (...args: string[]) => (await kubectl(['auth', 'can-i', '--as', sa, ...args], { allowFail: true })).stdout.trim();
    expect(await can('list', 'webstacks.webstack.dev', '-n', watched[0] ?? '')).toBe('yes');
    expect(await can('list', 'webstacks.webstack.dev', '--all-namespaces')).toBe('no');
    expect(await can('list', 'webstacks.webstack.dev', '-n', 'default')).toBe('no');
  }, 180_000);
});
