/**
 * The fast reconcile tier: whole reconciles over an in-memory cluster (fake-cluster.ts), in
 * milliseconds. What a user of a real cluster would notice: what gets written, what rolls, what is
 * deleted and what is kept. The integration suite remains the proof against a real API server.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import {
  CONFIG_HASH_ANNOTATION,
  DB_ROLE_LABEL,
  FINALIZER,
  INSTANCE_LABEL,
  OWNER_NAME_LABEL,
  OWNER_NAMESPACE_LABEL,
} from '../../../operator/api/identity.js';
import { imageCatalog } from '../../../operator/api/images.js';
import type { WebStack } from '../../../operator/api/types.js';
import type { KubeObject } from '../../../operator/kube/types.js';
import { Reconciler } from '../../../operator/reconcile/reconciler.js';
import { agentNames } from '../../../operator/blueprint/agent.js';
import { names } from '../../../operator/blueprint/names.js';
import { example } from '../../support/render.js';
import { clone, FakeCluster, type Write } from '../../support/fake-cluster.js';

const AGENTS = 'webstack-system';
/** The operator's catalog as `--image-registry=mirror.test` makes it. */
const IMAGES = imageCatalog({}, 'mirror.test');
const log = pino({ level: 'silent' });
const n = names('foobar');

interface PodTemplated extends KubeObject {
  spec: { template: { metadata: { annotations: Record<string, string> } } };
}

let cluster: FakeCluster;
let reconciler: Reconciler;

/** The full example (logging to Loki with a credentials Secret, monitoring on), stored as the API server would. */
function createStack(edit: (s: WebStack) => void = () => undefined): WebStack {
  const { status: _status, ...stack } = example('full');
  const raw = clone(stack) as unknown as WebStack;
  edit(raw);
  return cluster.seed(raw);
}

const stack = (): WebStack => cluster.get('WebStack', 'shop', 'foobar') as WebStack;

function editStack(edit: (s: WebStack) => void): void {
  const raw = clone(stack());
  edit(raw);
  cluster.seed(raw);
}

async function reconcile(): Promise<Write[]> {
  await reconciler.reconcile('shop/foobar', log).catch(() => undefined);
  return cluster.takeWrites();
}

function live(kind: string, namespace: string, name: string): KubeObject {
  const found = cluster.get(kind, namespace, name);
  if (!found) throw new Error(`${kind} ${namespace}/${name} is not in the cluster`);
  return found;
}

const hashOf = (kind: string, name: string, namespace = 'shop'): string | undefined =>
  (cluster.get(kind, namespace, name) as PodTemplated | undefined)?.spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION];

const ofVerb = (writes: Write[], verb: Write['verb']) => writes.filter((w) => w.verb === verb).map((w) => `${w.kind}/${w.name}`);

beforeEach(() => {
  cluster = new FakeCluster();
  reconciler = new Reconciler({
    stacks: { get: (ns, name) => cluster.get('WebStack', ns, name) as WebStack | undefined },
    caches: cluster,
    objects: cluster,
    optionalApis: () => Promise.resolve({ certManager: true, prometheusOperator: true }),
    agentNamespace: AGENTS,
    images: IMAGES,
    logger: log,
    now: () => new Date('2026-01-01T00:00:00Z'),
  });
  cluster.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'loki-credentials', namespace: 'shop' }, data: { authorization: 'QmFzaWMgeA==' } } as KubeObject);
  cluster.seed({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt' } });
});

describe('a new stack', () => {
  it('is applied whole on the first reconcile, and the second writes nothing', async () => {
    createStack();
    const first = await reconcile();
    expect(ofVerb(first, 'patch')).toEqual(['WebStack/foobar']); // the finalizer
    expect(ofVerb(first, 'create')).toContain(`Secret/${n.mysqlCredentials}`);
    const applied = ofVerb(first, 'apply');
    for (const child of [`StatefulSet/${n.mysql}`, `Deployment/${n.web}`, `Certificate/${n.tlsSecret}`, `Secret/${agentNames('shop', 'foobar').sinkSecret}`]) {
      expect(applied).toContain(child);
    }
    // The log agent is the agent loop's (operator/agent/), shared by every stack: none of the stack's own.
    expect(applied.filter((a) => a.startsWith('DaemonSet/'))).toEqual([]);
    expect(ofVerb(first, 'applyStatus')).toEqual(['WebStack/foobar']);
    expect(stack().metadata.finalizers).toEqual([FINALIZER]);

    expect(await reconcile()).toEqual([]);
  });

  it('ties every child to the stack by the owner labels, and by an owner reference in its namespace', async () => {
    createStack();
    await reconcile();
    const children = [...cluster.list('Deployment'), ...cluster.list('Secret').filter((s) => s.metadata.name !== 'loki-credentials')];
    for (const child of children) {
      expect(child.metadata.labels).toMatchObject({ [OWNER_NAMESPACE_LABEL]: 'shop', [OWNER_NAME_LABEL]: 'foobar' });
    }
    const web = cluster.get('Deployment', 'shop', n.web);
    expect(web?.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'WebStack', name: 'foobar', controller: true });
    expect(live('Secret', AGENTS, agentNames('shop', 'foobar').sinkSecret).metadata.ownerReferences).toBeUndefined();
  });

  it('never labels database pods: roles are the database loop\'s alone', async () => {
    createStack();
    await reconcile();
    for (const i of [0, 1]) {
      cluster.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${n.mysql}-${i}`, namespace: 'shop', labels: { [INSTANCE_LABEL]: 'foobar' } } });
    }
    expect(ofVerb(await reconcile(), 'patch')).toEqual([]);
    expect(cluster.get('Pod', 'shop', `${n.mysql}-0`)?.metadata.labels?.[DB_ROLE_LABEL]).toBeUndefined();
  });
});

describe('certificates and pod rolls', () => {
  const issue = (revision: number) => {
    const cert = live('Certificate', 'shop', n.mysqlTlsSecret);
    cluster.seed({ ...cert, status: { revision, conditions: [{ type: 'Ready', status: 'True' }] } } as KubeObject);
  };

  it('does not roll the pods on the first issuance, and rolls them on every renewal', async () => {
    createStack();
    await reconcile();
    const initial = hashOf('StatefulSet', n.mysql);
    issue(1);
    await reconcile();
    expect(hashOf('StatefulSet', n.mysql)).toBe(initial);

    issue(2);
    const writes = await reconcile();
    expect(ofVerb(writes, 'apply')).toContain(`StatefulSet/${n.mysql}`);
    expect(hashOf('StatefulSet', n.mysql)).not.toBe(initial);
    // The web tier mounts no MySQL certificate: it stays as it was.
    expect(ofVerb(writes, 'apply')).not.toContain(`Deployment/${n.web}`);
  });

  it('copies changed sink credentials to the agent namespace (the agent loop rolls the agent on the copy)', async () => {
    createStack();
    await reconcile();
    const agent = agentNames('shop', 'foobar');
    const source = live('Secret', 'shop', 'loki-credentials');
    cluster.seed({ ...source, data: { authorization: 'QmFzaWMgeQ==' } } as KubeObject);
    expect(ofVerb(await reconcile(), 'apply')).toEqual([`Secret/${agent.sinkSecret}`]);
    const copy = cluster.get('Secret', AGENTS, agent.sinkSecret) as KubeObject & { data: Record<string, string> };
    expect(copy.data.authorization).toBe('QmFzaWMgeQ==');
  });
});

describe('a rollout past its progress deadline', () => {
  const condition = (type: string) => stack().status?.conditions?.find((c) => c.type === type);
  const TIMED_OUT = 'ReplicaSet "foobar-web-7d9f" has timed out progressing.';
  // The full example's issuer, so that nothing else stalls the stack.
  beforeEach(() => {
    cluster.seed({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt-prod' } });
  });

  /** The web Deployment's status as the Deployment controller writes it. */
  function progressing(status: 'True' | 'False', reason: string, message: string): void {
    const web = live('Deployment', 'shop', n.web);
    const conditions = [{ type: 'Progressing', status, reason, message }];
    cluster.seed({ ...web, status: { observedGeneration: web.metadata.generation ?? 0, replicas: 4, updatedReplicas: 1, readyReplicas: 2, conditions } } as KubeObject);
  }

  it('stalls the stack with the Deployment\'s reason, stops Reconciling, and records a Warning', async () => {
    createStack();
    await reconcile();
    progressing('True', 'ReplicaSetUpdated', 'ReplicaSet "foobar-web-7d9f" is progressing.');
    await reconcile();
    expect(condition('Stalled')?.status).toBe('False');
    expect(condition('WebReady')?.reason).toBe('RollingOut');

    progressing('False', 'ProgressDeadlineExceeded', TIMED_OUT);
    await expect(reconciler.reconcile('shop/foobar', log)).resolves.toEqual({ requeueAfterMs: 30_000 });
    expect(condition('Stalled')).toMatchObject({ status: 'True', reason: 'ProgressDeadlineExceeded', message: `WebReady: Nginx: Deployment ${n.web}: ${TIMED_OUT}` });
    expect(condition('Reconciling')?.status).toBe('False');
    expect(condition('Ready')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    const warnings = cluster.list('Event', 'shop').map((e) => e as KubeObject & { type: string; reason: string; message: string; involvedObject: { name: string } });
    expect(warnings.filter((e) => e.type === 'Warning')).toEqual([
      expect.objectContaining({ reason: 'ProgressDeadlineExceeded', message: expect.stringContaining(TIMED_OUT) as unknown, involvedObject: expect.objectContaining({ name: 'foobar' }) as unknown }),
    ]);
  });

  it('is no longer stalled once a new rollout makes progress', async () => {
    createStack();
    await reconcile();
    progressing('False', 'ProgressDeadlineExceeded', TIMED_OUT);
    await reconcile();
    progressing('True', 'ReplicaSetUpdated', 'ReplicaSet "foobar-web-5c8b" is progressing.');
    await reconcile();
    expect(condition('Stalled')?.status).toBe('False');
    expect(condition('Reconciling')).toMatchObject({ status: 'True' });
    expect(condition('WebReady')?.reason).toBe('RollingOut');
  });
});

describe('prune', () => {
  it('deletes what render no longer produces, and spares every Secret', async () => {
    createStack();
    await reconcile();
    editStack((s) => {
      s.spec.monitoring = { ...s.spec.monitoring, enabled: false };
      s.spec.logging = { ...s.spec.logging, enabled: false };
    });
    const deleted = ofVerb(await reconcile(), 'delete');
    expect(deleted).toEqual(expect.arrayContaining([`PrometheusRule/${n.rules}`]));
    expect(deleted.filter((d) => d.startsWith('Secret/'))).toEqual([]);
    expect(cluster.get('Secret', AGENTS, agentNames('shop', 'foobar').sinkSecret)).toBeDefined();
    expect(cluster.get('Secret', 'shop', n.mysqlCredentials)).toBeDefined();
  });
});

describe('deletion', () => {
  async function deleteStack(policy: 'Retain' | 'Delete'): Promise<string[]> {
    createStack((s) => (s.spec.database = { ...s.spec.database, deletionPolicy: policy }));
    await reconcile();
    editStack((s) => (s.metadata.deletionTimestamp = '2026-01-01T00:00:00Z'));
    return ofVerb(await reconcile(), 'delete');
  }

  it('with deletionPolicy Delete removes the credentials and the agent-namespace children, then the finalizer', async () => {
    const deleted = await deleteStack('Delete');
    expect(deleted).toContain(`Secret/${n.mysqlCredentials}`);
    expect(deleted).toContain(`Secret/${agentNames('shop', 'foobar').sinkSecret}`);
    // Namespaced children are the garbage collector's (owner references), not the finalizer's.
    expect(deleted).not.toContain(`Deployment/${n.web}`);
    expect(stack().metadata.finalizers).toEqual([]);
  });

  it('with deletionPolicy Retain keeps the credentials, so retained volumes keep their passwords', async () => {
    const deleted = await deleteStack('Retain');
    expect(deleted).not.toContain(`Secret/${n.mysqlCredentials}`);
    expect(deleted).toContain(`Secret/${agentNames('shop', 'foobar').sinkSecret}`);
    expect(stack().metadata.finalizers).toEqual([]);
  });
});

describe('the upgrade to the shared log agent (ADR 0010)', () => {
  it("deletes the stack's own agent objects of earlier releases, and keeps its Secret copy", async () => {
    createStack();
    await reconcile();
    // What the previous release rendered for the stack in the agent namespace, with its owner labels.
    const base = agentNames('shop', 'foobar').base;
    const labels = { [OWNER_NAMESPACE_LABEL]: 'shop', [OWNER_NAME_LABEL]: 'foobar', 'app.kubernetes.io/managed-by': 'webstack-operator' };
    const old = [
      { apiVersion: 'apps/v1', kind: 'DaemonSet', name: `${base}-log-agent` },
      { apiVersion: 'v1', kind: 'ConfigMap', name: `${base}-log-agent-config` },
      { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', name: `${base}-log-agent` },
      { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', name: `${base}-log-agent` },
    ];
    for (const o of old) cluster.seed({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.name, namespace: AGENTS, labels }, spec: {} });
    cluster.takeWrites();
    expect(ofVerb(await reconcile(), 'delete').sort()).toEqual(old.map((o) => `${o.kind}/${o.name}`).sort());
    expect(cluster.get('Secret', AGENTS, agentNames('shop', 'foobar').sinkSecret)).toBeDefined();
    expect(await reconcile()).toEqual([]);
  });
});

describe("the operator's image catalog", () => {
  it('reaches the pods of the stack', async () => {
    createStack();
    await reconcile();
    const web = live('Deployment', 'shop', n.web) as KubeObject & { spec: { template: { spec: { containers: { name: string; image: string }[] } } } };
    expect(web.spec.template.spec.containers.find((c) => c.name === 'exporter')?.image).toBe('mirror.test/nginx/nginx-prometheus-exporter:1.4.2');
  });
});
