/**
 * Proves the local control plane is real: scheduling across three nodes, volumes that bind,
 * garbage collection by kube-controller-manager, and Pod Security Admission.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { deleteNamespace, eventually, getJson, kubectl, newNamespace } from '../support/cluster.js';

interface PodList {
  items: {
    metadata: { name: string };
    spec: { nodeName?: string };
    status: { conditions?: { type: string; status: string }[] };
  }[];
}

const isReady = (pod: PodList['items'][number]): boolean =>
  pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

const restrictedContainer = {
  name: 'main',
  image: 'registry.example/smoke:1',
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 1000,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
};

let ns: string;

beforeAll(async () => {
  ns = await newNamespace('smoke', { restricted: true });
});

afterAll(async () => {
  await deleteNamespace(ns);
});

describe('local control plane', () => {
  it('has three Ready nodes in three zones', async () => {
    const nodes = await getJson<{ items: { metadata: { labels: Record<string, string> } }[] }>(['nodes']);
    const zones = new Set(nodes.items.map((n) => n.metadata.labels['topology.kubernetes.io/zone']));
    expect(nodes.items).toHaveLength(3);
    expect(zones.size).toBe(3);
  });

  it('spreads a 3-replica Deployment over 3 distinct nodes, all Ready', async () => {
    const labels = { app: 'spread' };
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'spread', namespace: ns },
      spec: {
        replicas: 3,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            topologySpreadConstraints: [
              { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: labels } },
            ],
            containers: [restrictedContainer],
          },
        },
      },
    };
    await kubectl(['apply', '-f', '-'], { input: JSON.stringify(deployment) });
    const pods = await eventually(
      async () => {
        const list = await getJson<PodList>(['pods', '-n', ns, '-l', 'app=spread']);
        if (list.items.length !== 3 || !list.items.every(isReady)) throw new Error(`${list.items.length} pods, not all Ready`);
        return list.items;
      },
      { description: '3 Ready pods of Deployment spread', timeoutMs: 60_000 },
    );
    expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(3);
  });

  it('binds StatefulSet volume claims and runs its pods', async () => {
    const labels = { app: 'db' };
    const statefulSet = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: ns },
      spec: {
        replicas: 2,
        serviceName: 'db',
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ ...restrictedContainer, volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } },
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
        ],
      },
    };
    await kubectl(['apply', '-f', '-'], { input: JSON.stringify(statefulSet) });
    await eventually(
      async () => {
        const claims = await getJson<{ items: { status: { phase?: string } }[] }>(['pvc', '-n', ns]);
        const pods = await getJson<PodList>(['pods', '-n', ns, '-l', 'app=db']);
        if (claims.items.length !== 2 || claims.items.some((c) => c.status.phase !== 'Bound')) throw new Error('claims not Bound');
        if (pods.items.length !== 2 || !pods.items.every(isReady)) throw new Error('pods not Ready');
      },
      { description: '2 Bound PVCs and 2 Ready pods of StatefulSet db', timeoutMs: 90_000 },
    );
  });

  it('garbage-collects dependents when their owner is deleted', async () => {
    await kubectl(['create', 'configmap', 'owner', '-n', ns]);
    const owner = await getJson<{ metadata: { uid: string } }>(['configmap', 'owner', '-n', ns]);
    const dependent = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'dependent',
        namespace: ns,
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid }],
      },
    };
    await kubectl(['create', '-f', '-'], { input: JSON.stringify(dependent) });
    await kubectl(['delete', 'configmap', 'owner', '-n', ns]);
    await eventually(
      async () => {
        const { code } = await kubectl(['get', 'configmap', 'dependent', '-n', ns], { allowFail: true });
        if (code === 0) throw new Error('dependent still exists');
      },
      { description: 'the garbage collector to delete configmap/dependent', timeoutMs: 60_000 },
    );
  });

  it('refuses a privileged pod in a namespace that enforces restricted', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'privileged', namespace: ns },
      spec: { containers: [{ name: 'main', image: 'registry.example/smoke:1', securityContext: { privileged: true } }] },
    };
    const result = await kubectl(['create', '-f', '-'], { input: JSON.stringify(pod), allowFail: true });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/violates PodSecurity "restricted:latest".*privileged/);
  });
});
