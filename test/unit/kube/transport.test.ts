import { RequestContext, ResponseContext, HttpMethod, wrapHttpLibrary, type HttpLibrary } from '@kubernetes/client-node';
import { describe, expect, it } from '@jest/globals';
import { KubeApiError } from '../../../operator/kube/errors.js';
import { describeRequest, instrumentedTransport, type RequestRecord } from '../../../operator/kube/transport.js';

describe('describeRequest', () => {
  const S = 'https://k8s.example:6443';
  it.each([
    ['GET', '/api/v1/namespaces/shop/configmaps/cfg', undefined, 'get', 'configmaps'],
    ['GET', '/api/v1/namespaces/shop/configmaps', undefined, 'list', 'configmaps'],
    ['GET', '/api/v1/configmaps?watch=true&resourceVersion=5', undefined, 'watch', 'configmaps'],
    ['GET', '/apis/apps/v1/namespaces/shop/deployments?labelSelector=a%3Db', undefined, 'list', 'deployments.apps'],
    ['PATCH', '/apis/apps/v1/namespaces/shop/deployments/web?fieldManager=x', 'application/apply-patch+yaml', 'apply', 'deployments.apps'],
    ['PATCH', '/apis/apps/v1/namespaces/shop/deployments/web', 'application/merge-patch+json', 'patch', 'deployments.apps'],
    ['PATCH', '/apis/webstack.dev/v1alpha1/namespaces/shop/webstacks/foo/status', 'application/apply-patch+yaml', 'apply', 'webstacks.webstack.dev/status'],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/ops/leases/op', 'application/json', 'update', 'leases.coordination.k8s.io'],
    ['POST', '/apis/coordination.k8s.io/v1/namespaces/ops/leases', 'application/json', 'create', 'leases.coordination.k8s.io'],
    ['DELETE', '/api/v1/namespaces/shop/secrets/s', undefined, 'delete', 'secrets'],
    ['DELETE', '/api/v1/namespaces/shop/secrets', undefined, 'deletecollection', 'secrets'],
    ['GET', '/api/v1/namespaces/shop', undefined, 'get', 'namespaces'],
    ['PUT', '/api/v1/namespaces/shop/finalize', undefined, 'update', 'namespaces/finalize'],
    ['GET', '/apis/cert-manager.io/v1', undefined, 'get', 'discovery'],
    ['GET', '/apis', undefined, 'get', 'discovery'],
    ['GET', '/version', undefined, 'get', 'discovery'],
    ['GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/admin', undefined, 'get', 'clusterroles.rbac.authorization.k8s.io'],
  ])('%s %s', (method, path, contentType, verb, resource) => {
    expect(describeRequest(method, S + path, contentType)).toEqual({ verb, resource });
  });
});

function respondWith(fn: (req: RequestContext) => Promise<ResponseContext>): HttpLibrary {
  return wrapHttpLibrary({ send: fn });
}

const ok = (code = 200) => new ResponseContext(code, {}, { text: () => Promise.resolve('{}'), binary: () => Promise.resolve(Buffer.from('{}')) });

function request(method: HttpMethod, path: string): RequestContext {
  return new RequestContext(`https://k8s.example${path}`, method);
}

describe('instrumentedTransport', () => {
  it('reports verb, resource and status code of every response', async () => {
    const records: RequestRecord[] = [];
    const transport = instrumentedTransport({ timeoutMs: 1_000, onRequest: (r) => records.push(r), inner: respondWith(() => Promise.resolve(ok(404))) });
    const res = await transport.send(request(HttpMethod.GET, '/api/v1/namespaces/a/secrets/b')).toPromise();
    expect(res.httpStatusCode).toBe(404);
    expect(records).toEqual([{ verb: 'get', resource: 'secrets', code: '404', durationSeconds: expect.any(Number) as unknown }]);
  });

  it('aborts a request that outlives the timeout, with a Timeout error, and counts it', async () => {
    const records: RequestRecord[] = [];
    let seenSignal: AbortSignal | undefined;
    const hanging = respondWith(
      (req) =>
        new Promise((_resolve, reject) => {
          seenSignal = req.getSignal();
          seenSignal?.addEventListener('abort', () => {
            reject(Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }));
          });
        }),
    );
    const transport = instrumentedTransport({ timeoutMs: 50, onRequest: (r) => records.push(r), inner: hanging });
    const started = Date.now();
    const err = await transport
      .send(request(HttpMethod.GET, '/api/v1/namespaces/a/configmaps'))
      .toPromise()
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ code: 0, reason: 'Timeout' });
    expect((err as Error).message).toMatch(/GET \/api\/v1\/namespaces\/a\/configmaps: no response within 50ms/);
    expect(seenSignal?.aborted).toBe(true);
    expect(records.map((r) => r.code)).toEqual(['timeout']);
  });

  it('keeps a caller abort distinct from the timeout', async () => {
    const records: RequestRecord[] = [];
    const hanging = respondWith(
      (req) =>
        new Promise((_resolve, reject) => {
          req.getSignal()?.addEventListener('abort', () => {
            reject(new Error('aborted by caller'));
          });
        }),
    );
    const transport = instrumentedTransport({ timeoutMs: 10_000, onRequest: (r) => records.push(r), inner: hanging });
    const caller = new AbortController();
    const req = request(HttpMethod.GET, '/api/v1/pods');
    req.setSignal(caller.signal);
    const pending = transport.send(req).toPromise();
    caller.abort();
    await expect(pending).rejects.toThrow('aborted by caller');
    expect(records.map((r) => r.code)).toEqual(['error']);
  });

  it('does not let a throwing observer fail the request', async () => {
    const transport = instrumentedTransport({
      timeoutMs: 1_000,
      onRequest: () => {
        throw new Error('metrics broke');
      },
      inner: respondWith(() => Promise.resolve(ok())),
    });
    await expect(transport.send(request(HttpMethod.GET, '/api/v1/pods')).toPromise()).resolves.toBeInstanceOf(ResponseContext);
  });
});
