import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../../../operator/kube/types.js';
import { observe } from '../../../operator/reconcile/observe.js';
import { names } from '../../../operator/blueprint/names.js';
import { FakeCluster } from '../../support/fake-cluster.js';
import { stack } from '../../support/observations.js';

const n = names('foobar');
const facts = { certManager: true, prometheusOperator: true, agentNamespace: 'webstack-system' };

function deployment(name: string, generation: number, status: Record<string, unknown>): KubeObject {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'shop', generation }, spec: { replicas: 3 }, status } as KubeObject;
}

const progressing = (status: string, reason: string, message: string) => ({
  observedGeneration: 2,
  replicas: 4,
  updatedReplicas: 1,
  readyReplicas: 2,
  conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }, { type: 'Progressing', status, reason, message }],
});

function workloads(...children: KubeObject[]) {
  const cluster = new FakeCluster();
  for (const child of children) cluster.seed(child);
  return observe(cluster, stack, facts, { applyErrors: {}, volumes: [] }).workloads;
}

describe('observe', () => {
  it("names a database pod whose init container cannot pull the database image, and not one that merely starts", () => {
    const pod = (name: string, waiting: { reason: string; message?: string }, restartCount = 0): KubeObject =>
      ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'shop' },
        status: { initContainerStatuses: [{ name: 'init-config', restartCount, state: { waiting } }] },
      }) as KubeObject;
    const databaseOf = (...pods: KubeObject[]) => {
      const cluster = new FakeCluster();
      for (const p of pods) cluster.seed(p);
      return observe(cluster, stack, facts, { applyErrors: {}, volumes: [] }).database;
    };
    expect(databaseOf(pod(`${n.mysql}-1`, { reason: 'ImagePullBackOff', message: 'Back-off pulling image "mysql:9.7-typo"' })).failing).toEqual({
      pod: `${n.mysql}-1`,
      reason: 'ImagePullBackOff',
      message: 'container init-config: Back-off pulling image "mysql:9.7-typo"',
    });
    expect(databaseOf(pod(`${n.mysql}-1`, { reason: 'PodInitializing' })).failing).toBeUndefined();
    expect(databaseOf(pod(`${n.mysql}-1`, { reason: 'CrashLoopBackOff' }, 2)).failing).toBeUndefined();
    expect(databaseOf(pod(`${n.mysql}-1`, { reason: 'CrashLoopBackOff' }, 5)).failing).toMatchObject({ reason: 'CrashLoopBackOff' });
  });

  it('reads a Deployment past its progress deadline as a failed rollout, naming it and quoting its controller', () => {
    const web = workloads(deployment(n.web, 2, progressing('False', 'ProgressDeadlineExceeded', 'ReplicaSet "foobar-web-7d9f" has timed out progressing.'))).web;
    expect(web).toEqual({
      desired: 3, ready: 2, updated: 1, current: 4, observed: true,
      failure: { reason: 'ProgressDeadlineExceeded', message: `Deployment ${n.web}: ReplicaSet "foobar-web-7d9f" has timed out progressing.` },
    });
  });

  it('leaves a rollout that progresses, or may recover by itself, without a failure', () => {
    const { web, loadBalancer } = workloads(
      deployment(n.web, 2, progressing('True', 'ReplicaSetUpdated', 'ReplicaSet "foobar-web-7d9f" is progressing.')),
      deployment(n.lb, 2, progressing('False', 'ReplicaSetCreateError', 'exceeded quota')),
    );
    expect(web?.failure).toBeUndefined();
    expect(loadBalancer?.failure).toBeUndefined();
  });

  it('fails the app tier when only the canary is past its deadline', () => {
    const app = workloads(
      deployment(n.app, 2, { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3 }),
      deployment(n.appCanary, 2, progressing('False', 'ProgressDeadlineExceeded', 'timed out')),
    ).app;
    expect(app).toMatchObject({ desired: 6, ready: 5, failure: { reason: 'ProgressDeadlineExceeded', message: `Deployment ${n.appCanary}: timed out` } });
  });

  it("does not count cert-manager's temporary certificate as issued, but a renewal keeps the issued one ready", () => {
    const certificate = (conditions: object[]): KubeObject =>
      ({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: n.tlsSecret, namespace: 'shop', labels: { 'app.kubernetes.io/instance': 'foobar' } }, status: { conditions } }) as KubeObject;
    const ready = { type: 'Ready', status: 'True', reason: 'Ready', message: 'Certificate is up to date and has not expired' };
    const observed = (conditions: object[]) => {
      const cluster = new FakeCluster();
      cluster.seed(certificate(conditions));
      return observe(cluster, stack, facts, { applyErrors: {}, volumes: [] }).certificates[n.tlsSecret];
    };
    // What cert-manager v1.20 reports while the temporary certificate waits for the ACME order.
    expect(observed([{ type: 'Issuing', status: 'True', reason: 'DoesNotExist', message: 'Issuing certificate as Secret does not exist' }, ready])).toEqual({
      ready: false,
      message: 'the Secret holds a temporary certificate until the first issuance completes',
    });
    expect(observed([{ type: 'Issuing', status: 'True', reason: 'Renewing' }, ready])?.ready).toBe(true);
    expect(observed([ready])?.ready).toBe(true);
  });
});
