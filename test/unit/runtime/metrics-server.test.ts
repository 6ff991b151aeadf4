import { afterEach, describe, expect, it } from '@jest/globals';
import { OperatorMetrics } from '../../../operator/runtime/metrics.js';
import { readinessOf, startHealthServer, type HealthServer } from '../../../operator/runtime/server.js';
import type { LeaderState } from '../../../operator/runtime/leader.js';

describe('OperatorMetrics', () => {
  it('records reconciles, queue depth, API requests and leadership', async () => {
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    metrics.observeReconcile('success', 0.2);
    metrics.observeReconcile('error', 1.5);
    metrics.observeReconcile('success', 0.1);
    metrics.setQueueDepth(7);
    metrics.observeRequest({ verb: 'apply', resource: 'deployments.apps', code: '200', durationSeconds: 0.01 });
    metrics.observeRequest({ verb: 'apply', resource: 'deployments.apps', code: '200', durationSeconds: 0.01 });
    metrics.observeRequest({ verb: 'get', resource: 'leases.coordination.k8s.io', code: 'timeout', durationSeconds: 30 });
    metrics.setLeader(true);
    const text = await metrics.registry.metrics();
    expect(text).toContain('webstack_reconcile_total{result="success"} 2');
    expect(text).toContain('webstack_reconcile_total{result="error"} 1');
    expect(text).toContain('webstack_reconcile_total{result="requeue"} 0');
    expect(text).toContain('webstack_reconcile_duration_seconds_count{result="success"} 2');
    expect(text).toContain('webstack_workqueue_depth 7');
    expect(text).toContain('webstack_api_requests_total{verb="apply",resource="deployments.apps",code="200"} 2');
    expect(text).toContain('webstack_api_requests_total{verb="get",resource="leases.coordination.k8s.io",code="timeout"} 1');
    expect(text).toContain('webstack_leader 1');
  });

  it('includes process metrics by default, and two instances do not collide', async () => {
    const a = new OperatorMetrics();
    const b = new OperatorMetrics();
    expect(await a.registry.metrics()).toContain('process_cpu_user_seconds_total');
    expect(await b.registry.metrics()).toContain('nodejs_eventloop_lag_seconds');
  });
});

describe('readinessOf', () => {
  const informer = (name: string, synced: boolean) => ({ name, hasSynced: () => synced });
  const elector = (state: LeaderState) => ({ state });

  it('is ready when all caches are synced and the elector runs, leading or not', () => {
    expect(readinessOf({ informers: [informer('webstacks', true)] })()).toEqual({ ready: true, reasons: [] });
    expect(readinessOf({ informers: [informer('webstacks', true)], elector: elector('standby') })().ready).toBe(true);
    expect(readinessOf({ informers: [informer('webstacks', true)], elector: elector('leading') })().ready).toBe(true);
  });

  it('names what is not ready', () => {
    expect(readinessOf({ informers: [informer('webstacks', false), informer('deployments', true)], elector: elector('stopped') })()).toEqual({
      ready: false,
      reasons: ['cache webstacks not synced', 'leader election not running'],
    });
  });
});

describe('health server', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    metrics.setQueueDepth(3);
    let synced = false;
    server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      registry: metrics.registry,
      readiness: readinessOf({ informers: [{ name: 'webstacks', hasSynced: () => synced }] }),
    });
    const base = `http://127.0.0.1:${server.port}`;

    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);

    const notReady = await fetch(`${base}/readyz`);
    expect([notReady.status, await notReady.text()]).toEqual([503, 'cache webstacks not synced\n']);
    synced = true;
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);

    const scrape = await fetch(`${base}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toContain('text/plain');
    expect(await scrape.text()).toContain('webstack_workqueue_depth 3');

    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('closes promptly even with a keep-alive connection open', async () => {
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    const s = await startHealthServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, readiness: () => ({ ready: true, reasons: [] }) });
    await (await fetch(`http://127.0.0.1:${s.port}/metrics`, { headers: { Connection: 'keep-alive' } })).text();
    const started = Date.now();
    await s.close(2_000);
    expect(Date.now() - started).toBeLessThan(1_500);
    await expect(fetch(`http://127.0.0.1:${s.port}/healthz`)).rejects.toThrow();
  });

  it('reports a port already in use', async () => {
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    server = await startHealthServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, readiness: () => ({ ready: true, reasons: [] }) });
    await expect(
      startHealthServer({ port: server.port, host: '127.0.0.1', registry: metrics.registry, readiness: () => ({ ready: true, reasons: [] }) }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
