import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import type { Condition } from '../../../operator/api/types.js';
import { KubeApiError } from '../../../operator/kube/errors.js';
import type { ObjectRef } from '../../../operator/kube/types.js';
import { computeStatus } from '../../../operator/reconcile/status.js';
import { claimsToGrow, databaseClaims, growVolumes, type Claim } from '../../../operator/reconcile/volumes.js';
import { FakeCluster } from '../../support/fake-cluster.js';
import { converged, stack } from '../../support/observations.js';

const log = pino({ level: 'silent' });
const NOW = '2026-12-02T00:00:00Z';
const cond = (conditions: Condition[] | undefined, type: string): Condition | undefined => conditions?.find((c) => c.type === type);

function claim(name: string, requested: string, options: { capacity?: string; phase?: string; instance?: string; fileSystemPending?: boolean } = {}): Claim {
  const phase = options.phase ?? 'Bound';
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'shop', labels: { 'app.kubernetes.io/instance': options.instance ?? 'foobar', 'app.kubernetes.io/component': 'database' } },
    spec: { resources: { requests: { storage: requested } } },
    status: {
      phase,
      ...(phase === 'Bound' ? { capacity: { storage: options.capacity ?? requested } } : {}),
      ...(options.fileSystemPending ? { conditions: [{ type: 'FileSystemResizePending', status: 'True' }] } : {}),
    },
  };
}

/** The default stack asks for 10Gi (api/defaults.ts). */
const SIZE = stack.spec.database.storage.size;

describe('database volumes', () => {
  it("finds the stack's data claims only, in ordinal order", () => {
    const cluster = new FakeCluster();
    for (const c of [claim('data-foobar-mysql-1', '10Gi'), claim('data-foobar-mysql-0', '10Gi'), claim('data-other-mysql-0', '10Gi', { instance: 'other' }), claim('scratch-foobar', '10Gi')]) {
      cluster.seed(c);
    }
    expect(databaseClaims(cluster, stack).map((c) => c.metadata.name)).toEqual(['data-foobar-mysql-0', 'data-foobar-mysql-1']);
  });

  it('grows only bound claims that ask for less, comparing quantities, not strings', () => {
    const claims = [claim('a', '1Gi'), claim('b', '10240Mi'), claim('c', '20Gi'), claim('d', '1Gi', { phase: 'Pending' })];
    expect(claimsToGrow(claims, SIZE).map((c) => c.metadata.name)).toEqual(['a']);
  });

  it('grows a claim by a merge patch of its request and reports what the API server returned', async () => {
    const cluster = new FakeCluster();
    const small = cluster.seed(claim('data-foobar-mysql-0', '1Gi'));
    const states = await growVolumes(cluster, stack, [small, cluster.seed(claim('data-foobar-mysql-1', '10Gi'))], log);
    expect(cluster.takeWrites()).toEqual([{ verb: 'patch', kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data-foobar-mysql-0' }]);
    expect((cluster.get('PersistentVolumeClaim', 'shop', 'data-foobar-mysql-0') as Claim).spec?.resources?.requests?.storage).toBe(SIZE);
    expect(states).toEqual([
      { name: 'data-foobar-mysql-0', requested: SIZE, capacity: '1Gi', bound: true, fileSystemPending: false },
      { name: 'data-foobar-mysql-1', requested: '10Gi', capacity: '10Gi', bound: true, fileSystemPending: false },
    ]);
  });

  it('makes no request when every claim is sized', async () => {
    const cluster = new FakeCluster();
    await growVolumes(cluster, stack, [cluster.seed(claim('data-foobar-mysql-0', '10Gi'))], log);
    expect(cluster.takeWrites()).toEqual([]);
  });

  it("keeps the API server's refusal for the status, and retries anything else", async () => {
    const message = 'persistentvolumeclaims "data-foobar-mysql-0" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize';
    const refusing = { mergePatch: (_ref: ObjectRef) => Promise.reject(new KubeApiError(403, 'Forbidden', message)) };
    const [state] = await growVolumes(refusing, stack, [claim('data-foobar-mysql-0', '1Gi')], log);
    expect(state).toMatchObject({ name: 'data-foobar-mysql-0', requested: '1Gi', refused: message });
    const down = { mergePatch: (_ref: ObjectRef) => Promise.reject(new KubeApiError(0, 'NetworkError', 'connect ECONNREFUSED')) };
    await expect(growVolumes(down, stack, [claim('data-foobar-mysql-0', '1Gi')], log)).rejects.toThrow('ECONNREFUSED');
  });
});

describe('StorageReady', () => {
  const withVolumes = (...volumes: ReturnType<typeof converged>['volumes']) => computeStatus(stack, { ...converged(), volumes }, undefined, NOW);

  it('is True when every volume has at least the spec size', () => {
    const status = withVolumes({ name: 'data-foobar-mysql-0', requested: '10Gi', capacity: '12Gi', bound: true, fileSystemPending: false });
    expect(cond(status.conditions, 'StorageReady')).toMatchObject({ status: 'True', reason: 'Sized', message: `1 volumes of at least ${SIZE}` });
    expect(cond(status.conditions, 'Reconciling')?.status).toBe('False');
  });

  it('says Resizing (in progress for kstatus) while a volume waits for its driver or its file system', () => {
    const status = withVolumes(
      { name: 'data-foobar-mysql-0', requested: '10Gi', capacity: '1Gi', bound: true, fileSystemPending: false },
      { name: 'data-foobar-mysql-1', requested: '10Gi', capacity: '1Gi', bound: true, fileSystemPending: true },
      { name: 'data-foobar-mysql-2', requested: '1Gi', bound: false, fileSystemPending: false },
    );
    const storage = cond(status.conditions, 'StorageReady');
    expect(storage).toMatchObject({ status: 'False', reason: 'Resizing' });
    expect(storage?.message).toContain('data-foobar-mysql-0 has 1Gi, waiting for the storage driver to resize it');
    expect(storage?.message).toContain('data-foobar-mysql-1 has 1Gi; its file system grows when its pod mounts it again');
    expect(storage?.message).toContain('data-foobar-mysql-2 asks for 1Gi and is grown once bound');
    expect(cond(status.conditions, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Resizing' });
    expect(cond(status.conditions, 'Stalled')?.status).toBe('False');
    // The site still serves: a resize is no outage.
    expect(cond(status.conditions, 'Ready')?.status).toBe('True');
  });

  it('is Stalled with the refusal when the StorageClass does not allow expansion', () => {
    const status = withVolumes({ name: 'data-foobar-mysql-0', requested: '1Gi', capacity: '1Gi', bound: true, fileSystemPending: false, refused: 'the storageclass must support resize' });
    expect(cond(status.conditions, 'StorageReady')).toMatchObject({
      status: 'False',
      reason: 'ExpansionRefused',
      message: `growing the volumes to ${SIZE} was refused: data-foobar-mysql-0: the storageclass must support resize`,
    });
    expect(cond(status.conditions, 'Stalled')).toMatchObject({ status: 'True', reason: 'ExpansionRefused' });
    expect(cond(status.conditions, 'Reconciling')?.status).toBe('False');
    expect(status.phase).toBe('Degraded');
  });
});
