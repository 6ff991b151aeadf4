import { describe, expect, it } from '@jest/globals';
import { ObjectApi } from '../../../operator/kube/apply.js';
import type { RawRequest } from '../../../operator/kube/client.js';
import { Discovery } from '../../../operator/kube/discovery.js';
import { KubeApiError } from '../../../operator/kube/errors.js';
import { kubeLeaseStore, microTime } from '../../../operator/kube/lease.js';
import { kubeListWatch } from '../../../operator/kube/listwatch.js';
import { ManualClock } from '../../support/manual-clock.js';

type Responder = (req: RawRequest) => unknown;

/** Records requests and answers them from `respond` (throwing = error response). */
function fakeClient(respond: Responder) {
  const requests: RawRequest[] = [];
  return {
    requests,
    request(req: RawRequest): Promise<unknown> {
      requests.push(req);
      try {
        return Promise.resolve(respond(req));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
  };
}

const notFound = () => {
  throw new KubeApiError(404, 'NotFound', 'not found');
};

const DISCOVERY: Record<string, unknown> = {
  '/api/v1': {
    resources: [
      { name: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: ['get'] },
      { name: 'namespaces', kind: 'Namespace', namespaced: false, verbs: ['get'] },
      { name: 'namespaces/status', kind: 'Namespace', namespaced: false },
    ],
  },
  '/apis/apps/v1': {
    resources: [
      { name: 'deployments', kind: 'Deployment', namespaced: true, verbs: ['get', 'patch'] },
      { name: 'deployments/scale', kind: 'Scale', namespaced: true, verbs: ['get'] },
    ],
  },
  '/apis/webstack.dev/v1alpha1': { resources: [{ name: 'webstacks', kind: 'WebStack', namespaced: true, verbs: ['get'] }] },
};

function discoveryServer(extra: Record<string, unknown> = {}) {
  const table = { ...DISCOVERY, ...extra };
  return fakeClient((req) => (req.path in table ? table[req.path] : notFound()));
}

describe('Discovery', () => {
  it('detects group/versions and kinds, ignoring subresources', async () => {
    const d = new Discovery(discoveryServer());
    expect(await d.hasApiGroupVersion('apps', 'v1')).toBe(true);
    expect(await d.hasApiGroupVersion('cert-manager.io', 'v1')).toBe(false);
    expect(await d.hasResource('apps', 'v1', 'Deployment')).toBe(true);
    expect(await d.hasResource('apps', 'v1', 'Scale')).toBe(false);
    expect(await d.hasResource('monitoring.coreos.com', 'v1', 'ServiceMonitor')).toBe(false);
    expect(await d.resourceFor('v1', 'Namespace')).toEqual({ name: 'namespaces', kind: 'Namespace', namespaced: false, verbs: ['get'] });
  });

  it('caches answers, absent ones included, for the TTL', async () => {
    const clock = new ManualClock();
    const server = discoveryServer();
    const d = new Discovery(server, { ttlMs: 60_000, clock });
    await d.hasApiGroupVersion('cert-manager.io', 'v1');
    await d.hasApiGroupVersion('cert-manager.io', 'v1');
    await d.hasResource('apps', 'v1', 'Deployment');
    await d.hasResource('apps', 'v1', 'Deployment');
    expect(server.requests.map((r) => r.path)).toEqual(['/apis/cert-manager.io/v1', '/apis/apps/v1']);
    await clock.advance(60_000);
    await d.hasApiGroupVersion('cert-manager.io', 'v1');
    expect(server.requests).toHaveLength(3);
  });

  it('notices a CRD installed after a miss once the TTL passes', async () => {
    const clock = new ManualClock();
    const table: Record<string, unknown> = { ...DISCOVERY };
    const d = new Discovery(fakeClient((req) => (req.path in table ? table[req.path] : notFound())), { ttlMs: 30_000, clock });
    expect(await d.hasResource('cert-manager.io', 'v1', 'Certificate')).toBe(false);
    table['/apis/cert-manager.io/v1'] = { resources: [{ name: 'certificates', kind: 'Certificate', namespaced: true }] };
    expect(await d.hasResource('cert-manager.io', 'v1', 'Certificate')).toBe(false);
    await clock.advance(30_000);
    expect(await d.hasResource('cert-manager.io', 'v1', 'Certificate')).toBe(true);
  });

  it('re-checks once before saying a kind does not exist', async () => {
    const server = discoveryServer();
    const d = new Discovery(server);
    await expect(d.resourceFor('apps/v1', 'StatefulSet')).rejects.toMatchObject({ code: 404, message: 'the server has no resource for kind StatefulSet in apps/v1' });
    expect(server.requests).toHaveLength(2);
  });

  it('shares one request among concurrent questions', async () => {
    const server = discoveryServer();
    const d = new Discovery(server);
    await Promise.all([d.hasApiGroupVersion('apps', 'v1'), d.hasResource('apps', 'v1', 'Deployment'), d.resourceFor('apps/v1', 'Deployment')]);
    expect(server.requests).toHaveLength(1);
  });

  it('passes on errors other than NotFound without caching them', async () => {
    let fail = true;
    const d = new Discovery(
      fakeClient((req) => {
        if (fail) throw new KubeApiError(503, 'ServiceUnavailable', 'down');
        return DISCOVERY[req.path];
      }),
    );
    await expect(d.hasApiGroupVersion('apps', 'v1')).rejects.toMatchObject({ code: 503 });
    fail = false;
    expect(await d.hasApiGroupVersion('apps', 'v1')).toBe(true);
  });
});

describe('ObjectApi', () => {
  function setup(respond: Responder = (req) => req.body) {
    const server = fakeClient(respond);
    const api = new ObjectApi(server, new Discovery(discoveryServer()));
    return { server, api };
  }

  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { template: { spec: { topologySpreadConstraints: [{ maxSkew: 1 }], aFieldFromTheFuture: true } } },
  };

  it('applies with SSA: PATCH, apply content type, field manager, force, body untouched', async () => {
    const { server, api } = setup();
    const result = await api.applyObject(deployment, { fieldManager: 'webstack-operator', force: true });
    expect(result).toEqual(deployment);
    expect(server.requests).toEqual([
      {
        method: 'PATCH',
        path: '/apis/apps/v1/namespaces/shop/deployments/web',
        query: { fieldManager: 'webstack-operator', force: true, dryRun: undefined },
        body: deployment,
        contentType: 'application/apply-patch+yaml',
      },
    ]);
  });

  it('omits force unless asked, and supports dry-run', async () => {
    const { server, api } = setup();
    await api.applyObject(deployment, { fieldManager: 'm', dryRun: true });
    expect(server.requests[0]?.query).toEqual({ fieldManager: 'm', force: undefined, dryRun: 'All' });
  });

  it('uses cluster-scoped paths for cluster-scoped kinds', async () => {
    const { server, api } = setup();
    await api.applyObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', namespace: 'ignored' } }, { fieldManager: 'm' });
    expect(server.requests[0]?.path).toBe('/api/v1/namespaces/shop');
  });

  it('refuses a namespaced object without a namespace', async () => {
    const { api } = setup();
    await expect(api.applyObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, { fieldManager: 'm' })).rejects.toThrow(
      /ConfigMap c is namespaced but has no metadata.namespace/,
    );
  });

  it('applies status through the subresource with only identity and status', async () => {
    const { server, api } = setup();
    const stack = {
      apiVersion: 'webstack.dev/v1alpha1',
      kind: 'WebStack',
      metadata: { name: 'foobar', namespace: 'shop', resourceVersion: '5', labels: { a: 'b' } },
      spec: { domain: 'www.foobar.com' },
      status: { observedGeneration: 3 },
    };
    await api.applyStatus(stack, { fieldManager: 'webstack-operator', force: true });
    expect(server.requests[0]).toMatchObject({
      method: 'PATCH',
      path: '/apis/webstack.dev/v1alpha1/namespaces/shop/webstacks/foobar/status',
      contentType: 'application/apply-patch+yaml',
      body: { apiVersion: 'webstack.dev/v1alpha1', kind: 'WebStack', metadata: { name: 'foobar', namespace: 'shop' }, status: { observedGeneration: 3 } },
    });
  });

  it('gets an object, or undefined when absent', async () => {
    const { api } = setup((req) => (req.path.endsWith('/web') ? deployment : notFound()));
    expect(await api.getObject({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' })).toEqual(deployment);
    expect(await api.getObject({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'gone' })).toBeUndefined();
  });

  it('deletes with options, reporting whether anything was deleted', async () => {
    const { server, api } = setup((req) => (req.path.endsWith('/web') ? {} : notFound()));
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' };
    expect(await api.deleteObject(ref, { propagationPolicy: 'Foreground', preconditions: { uid: 'u1' } })).toBe(true);
    expect(server.requests[0]).toMatchObject({
      method: 'DELETE',
      path: '/apis/apps/v1/namespaces/shop/deployments/web',
      body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Foreground', preconditions: { uid: 'u1' } },
    });
    expect(await api.deleteObject({ ...ref, name: 'gone' })).toBe(false);
  });

  it('passes other errors on', async () => {
    const { api } = setup(() => {
      throw new KubeApiError(403, 'Forbidden', 'no');
    });
    await expect(api.getObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'a', name: 'b' })).rejects.toMatchObject({ code: 403 });
  });
});

describe('kubeLeaseStore', () => {
  it('reads, creates and replaces the Lease by raw JSON', async () => {
    const server = fakeClient((req) => (req.method === 'GET' ? notFound() : req.body));
    const store = kubeLeaseStore(server, 'ops', 'op');
    expect(await store.get()).toBeUndefined();
    await store.create({ holderIdentity: 'a' });
    await store.update({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'op', namespace: 'ops', resourceVersion: '7' }, spec: {} });
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /apis/coordination.k8s.io/v1/namespaces/ops/leases/op',
      'POST /apis/coordination.k8s.io/v1/namespaces/ops/leases',
      'PUT /apis/coordination.k8s.io/v1/namespaces/ops/leases/op',
    ]);
    expect(server.requests[1]?.body).toEqual({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'op', namespace: 'ops' }, spec: { holderIdentity: 'a' } });
  });

  it('formats MicroTime with exactly six fractional digits', () => {
    expect(microTime(Date.UTC(2024, 0, 2, 3, 4, 5, 678))).toBe('2024-01-02T03:04:05.678000Z');
  });
});

describe('kubeListWatch', () => {
  it('lists with selector and paging, restoring apiVersion/kind on items', async () => {
    const server = fakeClient(() => ({ metadata: { resourceVersion: '42', continue: '' }, items: [{ metadata: { name: 'a' } }] }));
    const source = kubeListWatch({ ...server, watch: () => Promise.resolve() }, { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespace: 'shop' });
    const page = await source.list({ labelSelector: 'x=y', limit: 10 });
    expect(page).toEqual({ items: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'a' } }], resourceVersion: '42', continue: undefined });
    expect(server.requests[0]).toEqual({ method: 'GET', path: '/apis/apps/v1/namespaces/shop/deployments', query: { labelSelector: 'x=y', limit: 10, continue: undefined } });
  });

  it('watches with selector, resourceVersion, timeout and bookmarks', async () => {
    const calls: unknown[][] = [];
    const source = kubeListWatch(
      {
        request: () => Promise.resolve({}),
        watch: (...args: unknown[]) => {
          calls.push(args.slice(0, 2));
          return Promise.resolve();
        },
      },
      { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' },
    );
    await source.watch({ resourceVersion: '7', labelSelector: 'a=b', timeoutSeconds: 30 }, () => undefined, new AbortController().signal);
    expect(calls).toEqual([['/api/v1/configmaps', { resourceVersion: '7', labelSelector: 'a=b', timeoutSeconds: 30, allowWatchBookmarks: true }]]);
  });
});
