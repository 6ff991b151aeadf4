/** plan(): what a reconcile writes, decided without I/O from the desired objects and the cache. */
import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../../../operator/kube/types.js';
import { plan } from '../../../operator/reconcile/plan.js';
import { FakeCluster } from '../../support/fake-cluster.js';

const obj = (kind: string, name: string, extra: Record<string, unknown> = {}, namespace = 'shop'): KubeObject =>
  ({ apiVersion: 'v1', kind, metadata: { name, namespace }, ...extra });

function planFor(desired: KubeObject[], live: KubeObject[], owned: KubeObject[] = live) {
  const cache = new FakeCluster();
  for (const o of live) cache.seed(o);
  return plan({ desired, live: cache, owned });
}

const names = (objects: KubeObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);

describe('plan', () => {
  it('applies what is missing or differs, in render order, and nothing that the cache already shows', () => {
    const cm = obj('ConfigMap', 'config', { data: { a: '1' } });
    const svc = obj('Service', 'web', { spec: { ports: [{ name: 'https', port: 443 }] } });
    const sts = obj('StatefulSet', 'db', { spec: { replicas: 3 } });
    const result = planFor([cm, svc, sts], [cm, { ...sts, spec: { replicas: 2 } } as KubeObject]);
    expect(names(result.apply)).toEqual(['Service/web', 'StatefulSet/db']);
    expect(planFor([cm], [cm]).apply).toEqual([]);
  });

  it('prunes owned children no longer desired, but never a Secret or a Pod', () => {
    const owned = [obj('ConfigMap', 'old'), obj('Secret', 'credentials'), obj('Pod', 'db-0'), obj('Service', 'web')];
    expect(names(planFor([obj('Service', 'web')], owned).prune)).toEqual(['ConfigMap/old']);
  });

  it('tells a child apart by namespace: the same name elsewhere is not the desired one', () => {
    const desired = obj('ConfigMap', 'config', {}, 'shop');
    expect(names(planFor([desired], [obj('ConfigMap', 'config', {}, 'agents')]).prune)).toEqual(['ConfigMap/config']);
  });

  it('applies a Deployment whose selector differs, deleting nothing (the server refuses it, loudly)', () => {
    const desired = obj('Deployment', 'web', { spec: { selector: { matchLabels: { a: '2' } } } });
    const result = planFor([desired], [obj('Deployment', 'web', { spec: { selector: { matchLabels: { a: '1' } } } })]);
    expect([names(result.apply), result.prune]).toEqual([['Deployment/web'], []]);
  });
});
