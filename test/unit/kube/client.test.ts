/**
 * KubeClient against a local HTTP server standing in for the API server: the real transport,
 * authentication hook, JSON handling and streaming, without a cluster.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { KubeClient, type WatchEvent } from '../../../operator/kube/client.js';
import { KubeApiError } from '../../../operator/kube/errors.js';
import type { RequestRecord } from '../../../operator/kube/transport.js';
import { testCertificates } from '../../support/configs.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Route = (req: Seen, res: http.ServerResponse) => void;

let server: http.Server;
let route: Route;
let seen: Seen[];
let records: RequestRecord[];
let client: KubeClient;
/** Same server, short timeout: for the timeout tests only, so a loaded machine cannot time out the others. */
let quickClient: KubeClient;

function kubeConfigFor(port: number): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // client-node only allows plain http together with skipTLSVerify.
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'ctx', cluster: 'fake', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

const json = (res: http.ServerResponse, code: number, body: unknown) => {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
};

beforeEach(async () => {
  seen = [];
  records = [];
  route = (_req, res) => {
    json(res, 404, { kind: 'Status', code: 404, reason: 'NotFound', message: 'no route' });
  };
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(s);
      route(s, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new KubeClient(kubeConfigFor(port), { requestTimeoutMs: 10_000, onRequest: (r) => records.push(r) });
  quickClient = new KubeClient(kubeConfigFor(port), { requestTimeoutMs: 300, onRequest: (r) => records.push(r) });
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('KubeClient.request', () => {
  it('sends JSON with the given content type, query and credentials, and parses the answer', async () => {
    route = (req, res) => {
      json(res, 200, { echoed: JSON.parse(req.body) as unknown });
    };
    const body = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { someFutureField: { x: 1 } } };
    const result = await client.request({
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/shop/deployments/web',
      query: { fieldManager: 'webstack-operator', force: true, dryRun: undefined },
      body,
      contentType: 'application/apply-patch+yaml',
    });
    expect(result).toEqual({ echoed: body }); // unknown fields travel untouched
    const req = seen[0];
    expect(req?.method).toBe('PATCH');
    expect(req?.url).toBe('/apis/apps/v1/namespaces/shop/deployments/web?fieldManager=webstack-operator&force=true');
    expect(req?.headers['content-type']).toBe('application/apply-patch+yaml');
    expect(req?.headers.authorization).toBe('Bearer secret-token');
    expect(records).toEqual([{ verb: 'apply', resource: 'deployments.apps', code: '200', durationSeconds: expect.any(Number) as unknown }]);
  });

  it('keeps timestamps as strings', async () => {
    route = (_req, res) => {
      json(res, 200, { metadata: { name: 'x', creationTimestamp: '2024-05-01T10:00:00Z' } });
    };
    const obj = (await client.request({ method: 'GET', path: '/api/v1/namespaces/a/configmaps/x' })) as { metadata: { creationTimestamp: unknown } };
    expect(obj.metadata.creationTimestamp).toBe('2024-05-01T10:00:00Z');
  });

  it('throws KubeApiError with the Status reason and message', async () => {
    route = (_req, res) => {
      json(res, 409, { kind: 'Status', code: 409, reason: 'Conflict', message: 'Apply failed with 1 conflict' });
    };
    const err = await client.request({ method: 'GET', path: '/api/v1/namespaces/a/configmaps/x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ code: 409, reason: 'Conflict', message: 'GET /api/v1/namespaces/a/configmaps/x: Apply failed with 1 conflict' });
  });

  it('times out a request that gets no answer', async () => {
    route = () => undefined; // never answers
    const started = Date.now();
    const err = await quickClient.request({ method: 'GET', path: '/api/v1/namespaces/a/configmaps' }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toMatchObject({ code: 0, reason: 'Timeout' });
    expect(records.map((r) => r.code)).toEqual(['timeout']);
  });

  it('times out a response whose body never completes', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"partial":');
    };
    const err = await quickClient.request({ method: 'GET', path: '/api/v1/namespaces/a/configmaps' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 0, reason: 'Timeout' });
  });

  it('reports a refused connection as NetworkError', async () => {
    const { port } = server.address() as AddressInfo;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    const err = await client.request({ method: 'GET', path: '/api' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 0, reason: 'NetworkError' });
    expect(records.map((r) => r.code)).toEqual(['error']);
    // restart so afterEach can close it
    server = http.createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  });

  it('gives generated API clients the same transport', async () => {
    route = (_req, res) => {
      json(res, 200, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    };
    const core = client.api(CoreV1Api);
    const ns = await core.readNamespace({ name: 'shop' });
    expect(ns.metadata?.name).toBe('shop');
    expect(records).toEqual([{ verb: 'get', resource: 'namespaces', code: '200', durationSeconds: expect.any(Number) as unknown }]);
  });
});

describe('KubeClient.watch', () => {
  const event = (type: string, name: string, rv: string) => `${JSON.stringify({ type, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, resourceVersion: rv } } })}\n`;

  it('streams events and resolves when the server ends the watch', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(event('ADDED', 'a', '1'));
      // An event split across chunks must still arrive whole.
      const second = event('MODIFIED', 'a', '2');
      res.write(second.slice(0, 10));
      setTimeout(() => {
        res.end(second.slice(10));
      }, 20);
    };
    const events: WatchEvent[] = [];
    await client.watch('/api/v1/namespaces/a/configmaps', { resourceVersion: '0', timeoutSeconds: 5 }, (e) => events.push(e), new AbortController().signal);
    expect(events.map((e) => `${e.type}:${e.object.metadata.resourceVersion ?? ''}`)).toEqual(['ADDED:1', 'MODIFIED:2']);
    expect(seen[0]?.url).toBe('/api/v1/namespaces/a/configmaps?watch=true&resourceVersion=0&timeoutSeconds=5');
    expect(seen[0]?.headers.authorization).toBe('Bearer secret-token');
    expect(records).toEqual([{ verb: 'watch', resource: 'configmaps', code: '200', durationSeconds: expect.any(Number) as unknown }]);
  });

  it('rejects with the Status when the server refuses the watch', async () => {
    route = (_req, res) => {
      json(res, 403, { kind: 'Status', code: 403, reason: 'Forbidden', message: 'configmaps is forbidden' });
    };
    await expect(client.watch('/api/v1/configmaps', {}, () => undefined, new AbortController().signal)).rejects.toMatchObject({
      code: 403,
      reason: 'Forbidden',
    });
  });

  it('can be aborted before the response headers arrive', async () => {
    route = () => undefined; // accepts the connection, never answers
    const controller = new AbortController();
    const pending = client.watch('/api/v1/configmaps', {}, () => undefined, controller.signal);
    setTimeout(() => {
      controller.abort();
    }, 50);
    await expect(pending).rejects.toMatchObject({ reason: 'Aborted' });
  });

  it('can be aborted mid-stream', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(event('ADDED', 'a', '1'));
    };
    const controller = new AbortController();
    const events: WatchEvent[] = [];
    const pending = client.watch('/api/v1/configmaps', {}, (e) => {
      events.push(e);
      controller.abort();
    }, controller.signal);
    await expect(pending).rejects.toMatchObject({ reason: 'Aborted' });
    expect(events).toHaveLength(1);
  });

  it('rejects when the connection drops mid-stream', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(event('ADDED', 'a', '1'));
      setTimeout(() => res.socket?.destroy(), 20);
    };
    await expect(client.watch('/api/v1/configmaps', {}, () => undefined, new AbortController().signal)).rejects.toBeInstanceOf(KubeApiError);
  });

  it('ends the watch with the error an event handler throws', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(event('ADDED', 'a', '1'));
    };
    const gone = new KubeApiError(410, 'Expired', 'too old');
    await expect(
      client.watch('/api/v1/configmaps', {}, () => {
        throw gone;
      }, new AbortController().signal),
    ).rejects.toBe(gone);
  });

  it('rejects a malformed event', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{not json\n');
    };
    await expect(client.watch('/api/v1/configmaps', {}, () => undefined, new AbortController().signal)).rejects.toMatchObject({ reason: 'InvalidResponse' });
  });
});

describe('KubeClient over TLS', () => {
  it('reuses one TLS connection for sequential requests instead of a handshake each', async () => {
    const certs = testCertificates();
    const tlsServer = https.createServer({ cert: certs.cert, key: certs.key }, (_req, res) => {
      json(res, 200, { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'x' } });
    });
    let handshakes = 0;
    tlsServer.on('secureConnection', () => handshakes++);
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = tlsServer.address() as AddressInfo;
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'tls', server: `https://127.0.0.1:${port}`, caData: Buffer.from(certs.ca).toString('base64'), tlsServerName: 'www.example.com', skipTLSVerify: false }],
        users: [{ name: 'u', token: 'secret-token' }],
        contexts: [{ name: 'ctx', cluster: 'tls', user: 'u' }],
        currentContext: 'ctx',
      });
      const tlsClient = new KubeClient(kc, { requestTimeoutMs: 10_000 });
      for (let i = 0; i < 5; i++) await expect(tlsClient.request({ method: 'GET', path: '/api/v1/namespaces/default/configmaps/x' })).resolves.toMatchObject({ kind: 'ConfigMap' });
      expect(handshakes).toBe(1);
    } finally {
      tlsServer.closeAllConnections();
      await new Promise((resolve) => tlsServer.close(resolve));
    }
  });
});
