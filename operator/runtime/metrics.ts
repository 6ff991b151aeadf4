/**
 * The operator's Prometheus metrics, in a registry of their own (not prom-client's global one, so
 * tests and embedded uses can create as many as they like). The recording methods match the
 * hooks of the other runtime modules: WorkQueue.onProcessed / onDepth, KubeClient's
 * onRequest, and the leader elector's callbacks.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestRecord } from '../kube/transport.js';
import type { Outcome } from './queue.js';

export interface MetricsOptions {
  /** Process metrics (CPU, memory, event loop lag, GC, handles); on by default. */
  defaultMetrics?: boolean;
}

export class OperatorMetrics {
  readonly registry = new Registry();
  private readonly reconcileTotal: Counter<'result'>;
  private readonly reconcileDuration: Histogram<'result'>;
  private readonly queueDepth: Gauge;
  private readonly apiRequests: Counter<'verb' | 'resource' | 'code'>;
  private readonly leader: Gauge;
  private readonly roleChanges: Record<'failover' | 'switchover', Counter<'namespace' | 'name'>>;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.reconcileTotal = new Counter({
      name: 'webstack_reconcile_total',
      help: 'Reconciles of WebStacks by result: success, error, or requeue (succeeded and asked to be checked again later).',
      labelNames: ['result'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'webstack_reconcile_duration_seconds',
      help: 'Time one reconcile of a WebStack took, by result.',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'webstack_workqueue_depth',
      help: 'WebStack keys waiting in the work queue (not counting keys being processed or waiting out a delay).',
      registers,
    });
    this.apiRequests = new Counter({
      name: 'webstack_api_requests_total',
      help: 'Requests to the Kubernetes API by verb, resource and HTTP status code (timeout/error when no response arrived).',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    });
    this.leader = new Gauge({
      name: 'webstack_leader',
      help: '1 while this replica holds the leader election lease (or leader election is off), else 0.',
      registers,
    });
    // Initialise result series at 0, so rate() works from the first scrape.
    for (const result of ['success', 'error', 'requeue'] as const) this.reconcileTotal.inc({ result }, 0);
    this.roleChanges = {
      failover: new Counter({ name: 'webstack_database_failovers_total', help: 'Failovers: the primary did not answer and a replica was promoted.', labelNames: ['namespace', 'name'], registers }),
      switchover: new Counter({ name: 'webstack_database_switchovers_total', help: 'Switchovers: planned moves of the primary.', labelNames: ['namespace', 'name'], registers }),
    };
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  observeReconcile(outcome: Outcome, seconds: number): void {
    this.reconcileTotal.inc({ result: outcome });
    this.reconcileDuration.observe({ result: outcome }, seconds);
  }

  setQueueDepth(depth: number): void {
    this.queueDepth.set(depth);
  }

  observeRequest(record: RequestRecord): void {
    this.apiRequests.inc({ verb: record.verb, resource: record.resource, code: record.code });
  }

  countRoleChange(kind: 'failover' | 'switchover', namespace: string, name: string): void {
    this.roleChanges[kind].inc({ namespace, name });
  }

  setLeader(leading: boolean): void {
    this.leader.set(leading ? 1 : 0);
  }
}
