/** gather(): the reads of a reconcile, and how often they reach the API server. */
import { describe, expect, it } from '@jest/globals';
import type { OptionalApis } from '../../../operator/api/identity.js';
import type { KubeObject, ObjectRef } from '../../../operator/kube/types.js';
import { gather, type GatherDeps } from '../../../operator/reconcile/gather.js';
import { example } from '../render/helpers.js';
import { FakeCluster } from './fake-cluster.js';

const stack = example('minimal');
const issuer = { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt' } } as KubeObject;

function setup(apis: OptionalApis = { certManager: true, prometheusOperator: false }) {
  const cluster = new FakeCluster();
  const reads: string[] = [];
  let now = 0;
  const deps: GatherDeps = {
    caches: cluster,
    objects: {
      getObject: <T extends KubeObject>(ref: ObjectRef) => {
        reads.push(`${ref.kind}/${ref.name}`);
        return cluster.getObject<T>(ref);
      },
    },
    optionalApis: () => Promise.resolve(apis),
    issuersFound: new Map(),
    now: () => new Date(now),
  };
  return { cluster, reads, deps, advance: (ms: number) => (now += ms) };
}

describe('the issuer check', () => {
  it('reads a found issuer again only after a minute', async () => {
    const { cluster, reads, deps, advance } = setup();
    cluster.seed(issuer);
    expect((await gather(deps, stack)).issuerFound).toBe(true);
    advance(59_000);
    expect((await gather(deps, stack)).issuerFound).toBe(true);
    expect(reads).toEqual(['ClusterIssuer/letsencrypt']);
    advance(2_000);
    await gather(deps, stack);
    expect(reads).toHaveLength(2);
  });

  it('reads a missing issuer on every reconcile, so a stalled stack sees it appear', async () => {
    const { cluster, reads, deps } = setup();
    expect((await gather(deps, stack)).issuerFound).toBe(false);
    cluster.seed(issuer);
    expect((await gather(deps, stack)).issuerFound).toBe(true);
    expect(reads).toHaveLength(2);
  });

  it('is not made without cert-manager, nor for an issuer of another group', async () => {
    const without = setup({ certManager: false, prometheusOperator: false });
    expect((await gather(without.deps, stack)).issuerFound).toBeUndefined();
    const external = setup();
    const other = { ...stack, spec: { ...stack.spec, tls: { ...stack.spec.tls, issuerRef: { ...stack.spec.tls.issuerRef, group: 'awspca.cert-manager.io' } } } };
    expect((await gather(external.deps, other)).issuerFound).toBeUndefined();
    expect([...without.reads, ...external.reads]).toEqual([]);
  });
});
