/**
 * Growing spec.database.storage.size on the real control plane: the operator grows the volume
 * claims the StatefulSet made (its claim template cannot change), hack/fake-cloud.ts resizes the
 * volumes of the `standard` class as a cloud driver would, and a class that does not allow
 * expansion is reported as the API server refuses it. A shrink is refused at admission.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Condition, WebStack } from '../../operator/api/types.js';
import type { RunningOperator } from '../../operator/main.js';
import { deleteNamespace, eventually, getJson, installCrds, kubectl, newNamespace } from '../support/cluster.js';
import { AGENT_NAMESPACE, startTestOperator } from '../support/operator.js';

jest.setTimeout(180_000);

interface Claim {
  metadata: { name: string };
  spec: { resources: { requests: { storage: string } }; volumeName?: string };
  status: { phase?: string; capacity?: { storage?: string } };
}

let ns: string;
let operator: RunningOperator;

function stack(name: string, storage: { size: string; storageClassName?: string }): WebStack {
  return {
    apiVersion: 'webstack.dev/v1alpha1',
    kind: 'WebStack',
    metadata: { name, namespace: ns },
    spec: {
      domain: `${name}.example.com`,
      tls: { issuerRef: { name: 'selfsigned', kind: 'Issuer' } },
      app: { image: 'ghcr.io/acme/shop:1.4.2', replicas: 1 },
      loadBalancer: { replicas: 1 },
      web: { replicas: 1 },
      database: { replicas: 2, storage, deletionPolicy: 'Delete' },
      logging: { enabled: false },
      monitoring: { enabled: false },
    },
  };
}

const apply = (obj: unknown) => kubectl(['apply', '--server-side', '--field-manager', 'platform-team', '-f', '-'], { input: JSON.stringify(obj) });
const claims = async (name: string): Promise<Claim[]> =>
  (await getJson<{ items: Claim[] }>(['pvc', '-n', ns, '-l', `app.kubernetes.io/instance=${name},app.kubernetes.io/component=database`])).items;
const conditionOf = async (name: string, type: string): Promise<Condition | undefined> =>
  (await getJson<WebStack>(['webstack', name, '-n', ns])).status?.conditions?.find((c) => c.type === type);

/** Two claims, both bound: what the StatefulSet made from its template and fake-cloud provisioned. */
async function boundClaims(name: string): Promise<Claim[]> {
  return eventually(
    async () => {
      const found = await claims(name);
      if (found.length !== 2 || !found.every((c) => c.status.phase === 'Bound')) throw new Error(found.map((c) => `${c.metadata.name} ${c.status.phase ?? '?'}`).join(', ') || 'no claims');
      return found;
    },
    { description: `2 bound claims of ${name}`, timeoutMs: 120_000 },
  );
}

async function grow(name: string, size: string): Promise<void> {
  await kubectl(['patch', 'webstack', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { database: { storage: { size } } } })]);
}

beforeAll(async () => {
  await installCrds();
  await kubectl(['create', 'namespace', AGENT_NAMESPACE], { allowFail: true });
  ns = await newNamespace('storage', { restricted: true });
  await apply({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'selfsigned', namespace: ns }, spec: { selfSigned: {} } });
  operator = await startTestOperator(ns);
});

afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

describe('spec.database.storage.size', () => {
  it('grows every volume of an expandable class, and says so once they have the new size', async () => {
    await apply(stack('grows', { size: '1Gi' }));
    const before = await boundClaims('grows');
    expect(before.map((c) => c.status.capacity?.storage)).toEqual(['1Gi', '1Gi']);
    expect((await conditionOf('grows', 'StorageReady'))?.status).toBe('True');

    const started = Date.now();
    await grow('grows', '3Gi');
    const after = await eventually(
      async () => {
        const found = await claims('grows');
        const sized = found.filter((c) => c.spec.resources.requests.storage === '3Gi' && c.status.capacity?.storage === '3Gi');
        if (sized.length !== 2) throw new Error(found.map((c) => `${c.metadata.name}: asks ${c.spec.resources.requests.storage}, has ${c.status.capacity?.storage ?? '?'}`).join('; '));
        return found;
      },
      { description: 'both claims asking for and holding 3Gi', timeoutMs: 60_000 },
    );
    const condition = await eventually(
      async () => {
        const c = await conditionOf('grows', 'StorageReady');
        if (c?.status !== 'True' || c.observedGeneration !== 2) throw new Error(`StorageReady ${c?.status ?? 'absent'} (${c?.message ?? ''})`);
        return c;
      },
      { description: 'StorageReady True for generation 2', timeoutMs: 30_000 },
    );
    console.log(`2 volumes grown from 1Gi to 3Gi and reported in ${Date.now() - started} ms`);
    expect(condition).toMatchObject({ reason: 'Sized', message: '2 volumes of at least 3Gi' });
    // The volumes behind the claims grew too, and the claims are still the ones first bound (no data moved).
    expect(after.map((c) => c.spec.volumeName)).toEqual(before.map((c) => c.spec.volumeName));
    for (const c of after) {
      const pv = await getJson<{ spec: { capacity: { storage: string } } }>(['pv', c.spec.volumeName ?? '']);
      expect(pv.spec.capacity.storage).toBe('3Gi');
    }
  });

  it('reports a class that does not allow expansion as Stalled, in the API server words, and changes no volume', async () => {
    await apply(stack('fixed', { size: '1Gi', storageClassName: 'fixed-size' }));
    await boundClaims('fixed');
    await grow('fixed', '2Gi');
    const storage = await eventually(
      async () => {
        const c = await conditionOf('fixed', 'StorageReady');
        if (c?.reason !== 'ExpansionRefused') throw new Error(`StorageReady ${c?.status ?? 'absent'} ${c?.reason ?? ''} (${c?.message ?? ''})`);
        return c;
      },
      { description: 'StorageReady ExpansionRefused', timeoutMs: 60_000 },
    );
    expect(storage.status).toBe('False');
    expect(storage.message).toContain('growing the volumes to 2Gi was refused: data-fixed-mysql-0:');
    expect(storage.message).toContain('storageclass that provisions the pvc must support resize');
    expect(await conditionOf('fixed', 'Stalled')).toMatchObject({ status: 'True', reason: 'ExpansionRefused' });
    expect((await claims('fixed')).map((c) => c.spec.resources.requests.storage)).toEqual(['1Gi', '1Gi']);
  });

  it('is refused at admission when it shrinks, naming the field', async () => {
    const r = await kubectl(['patch', 'webstack', 'grows', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { database: { storage: { size: '2Gi' } } } })], {
      allowFail: true,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.database.storage.size may not shrink');
  });
});
