/** gather(): the reads of a reconcile, and how often they reach the API server. */
import { describe, expect, it } from '@jest/globals';
import type { OptionalApis } from '../../../operator/api/identity.js';
import type { KubeObject, ObjectRef } from '../../../operator/kube/types.js';
import { gather, secretVersions, type GatherDeps } from '../../../operator/reconcile/gather.js';
import { example } from '../../support/render.js';
import { FakeCluster } from '../../support/fake-cluster.js';

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
  const certificate = (revision?: number, annotations: Record<string, string> = {}) =>
    ({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'minimal-tls', namespace: 'shop', labels: { 'app.kubernetes.io/instance': 'minimal' }, annotations },
      spec: { secretName: 'minimal-tls' },
      status: revision === undefined ? {} : { revision },
    }) as KubeObject;
  const versionWith = (...objects: KubeObject[]) => {
    const { cluster } = setup();
    for (const o of objects) cluster.seed(o);
    return secretVersions(cluster, stack)['minimal-tls'];
  };
  // cert-manager's temporary certificate: its certificate-name annotation, no issuer annotations.
  const temporarySecret = secret({ 'cert-manager.io/certificate-name': 'minimal-tls' });
  const issuedSecret = secret({ 'cert-manager.io/certificate-name': 'minimal-tls', 'cert-manager.io/issuer-name': 'letsencrypt' });

  it('rolls pods that started with the temporary certificate when the issued one arrives, and never back to the template before it', () => {
    const acme = (revision?: number) => certificate(revision, { 'cert-manager.io/issue-temporary-certificate': 'true' });
    // The states an ACME certificate goes through, in order, as the LB pods' template sees them.
    const states = [
      versionWith(acme()), // no Secret yet: the first pods wait for it
      versionWith(temporarySecret, acme()), // the temporary certificate: those pods start with it, no roll
      versionWith(issuedSecret, acme()), // issued, the Certificate's revision not written yet
      versionWith(issuedSecret, acme(1)),
      versionWith(issuedSecret, acme(2)), // renewed
    ];
    expect(states).toEqual([undefined, undefined, 'issued:1', 'issued:1', 'issued:2']);
    // Going back to the template of the pods that hold the temporary certificate would keep them
    // (a rollout under way ends on them): once issued, no state repeats the ones before.
    expect(states.slice(2).some((v) => v === undefined)).toBe(false);
  });

  it('does not roll pods for a certificate without a temporary phase until its first renewal', () => {
    expect([versionWith(certificate()), versionWith(issuedSecret, certificate(1)), versionWith(issuedSecret, certificate(2))]).toEqual([undefined, undefined, 'renewals:1']);
  });
});
