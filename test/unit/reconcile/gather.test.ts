/** gather(): the reads of a reconcile, and how often they reach the API server. */
import { describe, expect, it } from '@jest/globals';
import type { OptionalApis } from '../../../operator/api/identity.js';
import type { KubeObject, ObjectRef } from '../../../operator/kube/types.js';
import { gather, secretVersions, type GatherDeps } from '../../../operator/reconcile/gather.js';
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

describe('secret versions of certificates', () => {
  const secret = (annotations: Record<string, string>) =>
    ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'minimal-tls', namespace: 'shop', resourceVersion: '7', labels: { 'app.kubernetes.io/instance': 'minimal' }, annotations } }) as KubeObject;
  const certificate = (revision?: number) =>
    ({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'minimal-tls', namespace: 'shop', labels: { 'app.kubernetes.io/instance': 'minimal' } }, spec: { secretName: 'minimal-tls' }, status: revision === undefined ? {} : { revision } }) as KubeObject;
  const versionWith = (...objects: KubeObject[]) => {
    const { cluster } = setup();
    for (const o of objects) cluster.seed(o);
    return secretVersions(cluster, stack)['minimal-tls'];
  };

  it('rolls the pods that started with the temporary certificate once the issued one replaces it, and on renewals only after that', () => {
    // cert-manager's temporary certificate: its certificate-name annotation, no issuer annotations.
    const temporary = versionWith(secret({ 'cert-manager.io/certificate-name': 'minimal-tls' }), certificate());
    const issued = versionWith(secret({ 'cert-manager.io/certificate-name': 'minimal-tls', 'cert-manager.io/issuer-name': 'letsencrypt' }), certificate(1));
    const renewed = versionWith(secret({ 'cert-manager.io/certificate-name': 'minimal-tls', 'cert-manager.io/issuer-name': 'letsencrypt' }), certificate(2));
    expect(temporary).toBe('temporary');
    // The first issued certificate counts like no certificate: pods that waited for it do not roll.
    expect([issued, versionWith(certificate())]).toEqual([undefined, undefined]);
    expect(renewed).toBe('renewals:1');
  });
});
