/**
 * The WebStack controller's wiring (kubebuilder's SetupWithManager): which informers feed which
 * work queue, what enqueues a stack, and the reconciler that handles a key. main.ts owns what
 * every controller shares (client, leader election, health and metrics); a second controller for
 * the same kind (the database loop) gets its own function like this one and its own queue.
 */
import type { Logger } from 'pino';
import { COMPONENT_LABEL, GROUP, KIND, OPTIONAL_API_NAMES, OPTIONAL_APIS, PLURAL, VERSION, type OptionalApis } from '../api/identity.js';
import type { WebStack } from '../api/types.js';
import type { ObjectApi } from '../kube/apply.js';
import type { KubeClient } from '../kube/client.js';
import { isConflict } from '../kube/errors.js';
import type { Discovery } from '../kube/discovery.js';
import { setupLogAgent } from '../agent/index.js';
import { kubeListWatch } from '../kube/listwatch.js';
import { DatabaseLoop } from '../database/loop.js';
import { Reconciler } from '../reconcile/reconciler.js';
import type { OperatorConfig } from '../runtime/config.js';
import { Informer, type ChangeEvent } from '../runtime/informer.js';
import { reconcileLogger } from '../runtime/logger.js';
import type { OperatorMetrics } from '../runtime/metrics.js';
import { WorkQueue } from '../runtime/queue.js';
import type { BackoffPolicy } from '../support/backoff.js';
import { ChildCaches } from './caches.js';
import { stackKeyOf } from './owner.js';

/** How often discovery is asked whether cert-manager / prometheus-operator appeared. */
const OPTIONAL_API_CHECK_MS = 30_000;

export interface WebStackControllerOptions {
  client: KubeClient;
  discovery: Pick<Discovery, 'hasResource'>;
  objects: ObjectApi;
  config: Pick<OperatorConfig, 'namespaces' | 'concurrency' | 'resyncPeriodMs' | 'images' | 'databaseFailoverDelayMs' | 'databaseController' | 'operatorPeer'>;
  agentNamespace: string;
  metrics: OperatorMetrics;
  logger: Logger;
}

export interface WebStackController {
  /** Starts the informers and resolves once they have synced. */
  start(): Promise<void>;
  /** Starts reconciling (the leader only). */
  startWorkers(): void;
  /** Queues every known stack. */
  enqueueAll(): void;
  /** Stops reconciling; resolves when the reconciles in flight are done. */
  stopWorkers(): Promise<void>;
  /** For readiness: every informer, by name. */
  informers(): { name: string; hasSynced(): boolean }[];
  stop(): Promise<void>;
}

/** Status writes (ours included) change neither generation, deletion nor finalizers: no need to reconcile again. */
function specOrLifecycleChanged(e: ChangeEvent<WebStack>): boolean {
  if (e.type !== 'update' || !e.old) return true;
  const [a, b] = [e.old.metadata, e.object.metadata];
  return a.generation !== b.generation || a.deletionTimestamp !== b.deletionTimestamp || String(a.finalizers) !== String(b.finalizers);
}

/**
 * The database loop's status says the cluster's state and whether commits wait for an ack, which
 * the object loop's DatabaseReady reports: its own writes of status do not wake the object loop,
 * these must.
 */
function databaseStatusChanged(e: ChangeEvent<WebStack>): boolean {
  const [before, after] = [e.old?.status?.database, e.object.status?.database];
  return e.type === 'update' && (before?.commitsWaitingForAck !== after?.commitsWaitingForAck || before?.state !== after?.state || before?.reason !== after?.reason);
}

const keyOf = (s: WebStack): string => `${s.metadata.namespace ?? ''}/${s.metadata.name}`;

/** One WebStack informer per watched namespace (one for all when none is configured), read as one. */
function watchStacks(client: KubeClient, namespaces: string[], logger: Logger) {
  const informers = (namespaces.length === 0 ? [undefined] : namespaces).map(
    (namespace) =>
      new Informer<WebStack>({
        source: kubeListWatch<WebStack>(client, { group: GROUP, version: VERSION, plural: PLURAL, kind: KIND, namespace }),
        name: namespace ? `webstacks/${namespace}` : 'webstacks',
        logger,
      }),
  );
  return {
    informers,
    get: (namespace: string, name: string) => informers.map((i) => i.get(namespace, name)).find((s) => s !== undefined),
    list: () => informers.flatMap((i) => i.list()),
    keys: () => informers.flatMap((i) => i.list()).map(keyOf),
  };
}

/**
 * A conflict (409) means another writer changed the object since this pass read it, a race the
 * compare-and-swap writes expect (e.g. a fresh stack's finalizer): the retry is routine, not a warning.
 */
function logRetry(logger: Logger, key: string, error: unknown, message: string): void {
  const fields = { webstack: key, err: error instanceof Error ? error.message : 'unknown error' };
  if (isConflict(error)) logger.debug(fields, message);
  else logger.warn(fields, message);
}

/** The object loop's queue. */
function objectQueue(o: WebStackControllerOptions, reconciler: Reconciler): WorkQueue {
  const { config, logger, metrics } = o;
  return new WorkQueue({
    concurrency: config.concurrency,
    handler: (key) => {
      const [namespace = '', name = ''] = key.split('/');
      return reconciler.reconcile(key, reconcileLogger(logger, { namespace, name }));
    },
    onDepth: (depth) => metrics.setQueueDepth(depth),
    onProcessed: (key, outcome, durationMs, error) => {
      metrics.observeReconcile(outcome, durationMs / 1000);
      if (error !== undefined) logRetry(logger, key, error, 'reconcile failed; retrying with backoff');
    },
  });
}

/**
 * A failed database step is retried within seconds, never minutes: during a failover every step
 * may fail for a while (a server that does not answer yet), and a long backoff would add itself to
 * the write outage. The object loop keeps the default backoff.
 */
const DATABASE_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 10_000 };

/** The database loop: its own queue, so a slow SQL round trip never delays object reconciles. */
function setupDatabaseQueue(o: WebStackControllerOptions, stacks: ReturnType<typeof watchStacks>, caches: ChildCaches): WorkQueue {
  const { config, logger, metrics } = o;
  const databaseLoop = new DatabaseLoop({
    stacks,
    caches,
    objects: o.objects,
    failoverDelayMs: config.databaseFailoverDelayMs,
    onRoleChange: (kind, stack) => metrics.countRoleChange(kind, stack.metadata.namespace ?? '', stack.metadata.name),
  });
  return new WorkQueue({
    concurrency: config.concurrency,
    backoff: DATABASE_BACKOFF,
    handler: (key) => {
      const [namespace = '', name = ''] = key.split('/');
      return databaseLoop.reconcile(key, reconcileLogger(logger.child({ loop: 'database' }), { namespace, name }));
    },
    onProcessed: (key, _outcome, _ms, error) => {
      if (error !== undefined) logRetry(logger, key, error, 'database step failed; retrying with backoff');
    },
  });
}

export function setupWebStackController(o: WebStackControllerOptions): WebStackController {
  const { config, logger, client } = o;
  const namespaces = config.namespaces.length === 0 ? [] : [...new Set([...config.namespaces, o.agentNamespace])];
  const stacks = watchStacks(client, config.namespaces, logger);
  const stackInformers = stacks.informers;
  const caches = new ChildCaches({ client, namespaces, logger });

  const apis: OptionalApis = { certManager: false, prometheusOperator: false };
  // The agent loop (all stacks -> one log agent) and what its pods say of delivery.
  const agent = setupLogAgent({
    client, caches, objects: o.objects, stacks: stacks.list, agentNamespace: o.agentNamespace, images: config.images, logger,
    enqueue: (key) => queue.add(key), enqueueAll: () => enqueueAll(),
  });
  const queue = objectQueue(o, new Reconciler({
    stacks,
    caches,
    objects: o.objects,
    optionalApis: () => Promise.resolve({ ...apis }),
    agentNamespace: o.agentNamespace,
    databaseController: config.databaseController,
    ...(config.operatorPeer ? { operatorPeer: config.operatorPeer } : {}),
    images: config.images,
    logDelivery: (namespace, name) => agent.delivery(namespace, name),
    logger,
  }));
  const databaseQueue = setupDatabaseQueue(o, stacks, caches);
  const queues = config.databaseController ? [queue, databaseQueue] : [queue];
  const enqueue = (key: string) => queues.forEach((q) => q.add(key));
  const enqueueAll = () => stacks.keys().forEach(enqueue);

  /** Starts watching an optional API's kinds once discovery finds it, then reconciles every stack with it. */
  const refreshOptionalApis = async (): Promise<void> => {
    for (const api of OPTIONAL_API_NAMES) {
      const { group, version, probeKind } = OPTIONAL_APIS[api];
      if ((await o.discovery.hasResource(group, version, probeKind)) && caches.enable(api)) {
        logger.info({ api }, 'optional API found; watching its kinds');
        await caches.waitForSync();
        apis[api] = true;
        enqueueAll();
      }
    }
  };

  for (const informer of stackInformers) {
    informer.onChange((e) => {
      const changed = specOrLifecycleChanged(e);
      if (changed || databaseStatusChanged(e)) enqueue(keyOf(e.object));
      if (changed) agent.stackChanged();
    });
  }
  caches.onChange((e) => {
    const key = stackKeyOf(e.object);
    agent.objectChanged(e.object, e.old);
    if (!key) return;
    queue.add(key);
    if (config.databaseController && e.object.kind === 'Pod' && e.object.metadata.labels?.[COMPONENT_LABEL] === 'database') databaseQueue.add(key);
  });

  const timers: NodeJS.Timeout[] = [];
  return {
    async start() {
      for (const informer of stackInformers) informer.start();
      caches.start();
      await refreshOptionalApis();
      await Promise.all([...stackInformers.map((i) => i.waitForSync()), caches.waitForSync()]);
      timers.push(
        setInterval(() => void refreshOptionalApis().catch((err: unknown) => logger.warn({ err: String(err) }, 'discovery failed')), OPTIONAL_API_CHECK_MS),
      );
      if (config.resyncPeriodMs > 0) timers.push(setInterval(enqueueAll, config.resyncPeriodMs));
      for (const t of timers) t.unref();
    },
    startWorkers() {
      for (const q of queues) q.start();
      agent.start();
    },
    enqueueAll,
    stopWorkers: () => Promise.all([agent.stop(), queue.shutdown(), databaseQueue.shutdown()]).then(() => undefined),
    informers: () => [...stackInformers.map((i) => ({ name: 'webstacks', hasSynced: () => i.hasSynced() })), ...caches.all()],
    async stop() {
      for (const t of timers) clearInterval(t);
      await Promise.all([agent.stop(), queue.shutdown(), databaseQueue.shutdown()]);
      await Promise.all([...stackInformers.map((i) => i.stop()), caches.stop()]);
    },
  };
}
