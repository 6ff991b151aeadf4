/**
 * Wires the operator together: client, caches, work queue, reconciler, leader election, health
 * and metrics. Only the leader reconciles; a standby keeps warm caches and takes over at once.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { WebStack } from './api/types.js';
import { ChildCaches } from './controller/caches.js';
import { stackKeyOf } from './controller/owner.js';
import { ObjectApi } from './kube/apply.js';
import { KubeClient } from './kube/client.js';
import { loadKubeConfig } from './kube/config.js';
import { Discovery } from './kube/discovery.js';
import { kubeLeaseStore } from './kube/lease.js';
import { kubeListWatch } from './kube/listwatch.js';
import { Reconciler } from './reconcile/reconciler.js';
import { DEFAULT_AGENT_NAMESPACE } from './render/index.js';
import type { OperatorConfig } from './runtime/config.js';
import { Informer, type ChangeEvent } from './runtime/informer.js';
import { LeaderElector } from './runtime/leader.js';
import { createLogger, reconcileLogger } from './runtime/logger.js';
import { OperatorMetrics } from './runtime/metrics.js';
import { WorkQueue } from './runtime/queue.js';
import { readinessOf, startHealthServer, type HealthServer } from './runtime/server.js';
import { API_VERSION, GROUP, OPTIONAL_API_NAMES, OPTIONAL_APIS, PLURAL, VERSION, type OptionalApis } from './api/identity.js';
import { MANAGED_SELECTOR } from './api/kinds.js';

/** How often discovery is asked whether cert-manager / prometheus-operator appeared. */
const OPTIONAL_API_CHECK_MS = 30_000;

export interface StartOptions {
  config: OperatorConfig;
  /** Use these credentials instead of loading them as config.kubeconfig says (tests, embedding). */
  kubeConfig?: KubeConfig;
  /** Namespace of the per-stack log agents; default webstack-system. */
  agentNamespace?: string;
  logger?: Logger;
  /** Resolves when this replica loses the lease after having held it: the caller should exit. */
  onLostLeadership?: () => void;
}

export interface RunningOperator {
  readonly metrics: OperatorMetrics;
  readonly port: number;
  isLeader(): boolean;
  /** Releases the lease (so a follower takes over at once), drains the queue and closes everything. */
  stop(): Promise<void>;
}

/** Status writes (ours included) change neither generation, deletion nor finalizers: no need to reconcile again. */
function specOrLifecycleChanged(e: ChangeEvent<WebStack>): boolean {
  if (e.type !== 'update' || !e.old) return true;
  const [a, b] = [e.old.metadata, e.object.metadata];
  return a.generation !== b.generation || a.deletionTimestamp !== b.deletionTimestamp || String(a.finalizers) !== String(b.finalizers);
}

export async function startOperator(options: StartOptions): Promise<RunningOperator> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const metrics = new OperatorMetrics();
  const kubeConfig = options.kubeConfig ?? loadKubeConfig({ path: config.kubeconfig }).kubeConfig;
  const client = new KubeClient(kubeConfig, { requestTimeoutMs: config.requestTimeoutMs, onRequest: (r) => metrics.observeRequest(r) });
  const discovery = new Discovery(client);
  const objects = new ObjectApi(client, discovery);
  const agentNamespace = options.agentNamespace ?? DEFAULT_AGENT_NAMESPACE;
  const namespaces = config.namespaces.length === 0 ? [] : [...new Set([...config.namespaces, agentNamespace])];

  const stackInformers = (config.namespaces.length === 0 ? [undefined] : config.namespaces).map(
    (namespace) =>
      new Informer<WebStack>({
        source: kubeListWatch<WebStack>(client, { group: GROUP, version: VERSION, plural: PLURAL, kind: 'WebStack', namespace }),
        name: namespace ? `webstacks/${namespace}` : 'webstacks',
        logger,
      }),
  );
  const stacks = {
    get: (namespace: string, name: string) => stackInformers.map((i) => i.get(namespace, name)).find((s) => s !== undefined),
    keys: () => stackInformers.flatMap((i) => i.list()).map((s) => `${s.metadata.namespace ?? ''}/${s.metadata.name}`),
  };
  const caches = new ChildCaches({ client, namespaces, logger });

  const apis: OptionalApis = { certManager: false, prometheusOperator: false };
  const refreshOptionalApis = async (): Promise<void> => {
    for (const api of OPTIONAL_API_NAMES) {
      const { group, version, probeKind } = OPTIONAL_APIS[api];
      if ((await discovery.hasResource(group, version, probeKind)) && caches.enable(api)) {
        logger.info({ api }, 'optional API found; watching its kinds');
        await caches.waitForSync();
        apis[api] = true;
        for (const key of stacks.keys()) queue.add(key);
      }
    }
  };

  const reconciler = new Reconciler({
    stacks,
    caches,
    objects,
    optionalApis: () => Promise.resolve({ ...apis }),
    agentNamespace,
    logger,
  });
  const queue = new WorkQueue({
    concurrency: config.concurrency,
    handler: (key) => {
      const [namespace = '', name = ''] = key.split('/');
      return reconciler.reconcile(key, reconcileLogger(logger, { namespace, name }));
    },
    onDepth: (depth) => metrics.setQueueDepth(depth),
    onProcessed: (key, outcome, durationMs, error) => {
      metrics.observeReconcile(outcome, durationMs / 1000);
      if (error !== undefined) logger.warn({ webstack: key, err: error instanceof Error ? error.message : 'unknown error' }, 'reconcile failed; retrying with backoff');
    },
  });

  for (const informer of stackInformers) {
    informer.onChange((e) => {
      if (specOrLifecycleChanged(e)) queue.add(`${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}`);
    });
  }
  caches.onChange((e) => {
    const key = stackKeyOf(e.object);
    if (key) queue.add(key);
  });

  for (const informer of stackInformers) informer.start();
  caches.start();
  await refreshOptionalApis();
  await Promise.all([...stackInformers.map((i) => i.waitForSync()), caches.waitForSync()]);

  const timers = [
    setInterval(() => void refreshOptionalApis().catch((err: unknown) => logger.warn({ err: String(err) }, 'discovery failed')), OPTIONAL_API_CHECK_MS),
  ];
  if (config.resyncPeriodMs > 0) timers.push(setInterval(() => stacks.keys().forEach((k) => queue.add(k)), config.resyncPeriodMs));
  for (const t of timers) t.unref();

  let elector: LeaderElector | undefined;
  let leading = !config.leaderElection;
  // Set by stop(): giving the lease up on purpose is not losing it, so the caller must not exit
  // before the lease is released.
  let stopping = false;
  if (config.leaderElection) {
    elector = new LeaderElector({
      store: kubeLeaseStore(client, config.leaseNamespace, config.leaseName),
      identity: config.identity,
      leaseDurationMs: config.leaseDurationMs,
      renewDeadlineMs: config.renewDeadlineMs,
      retryPeriodMs: config.retryPeriodMs,
      logger,
      onStartedLeading: () => {
        leading = true;
        metrics.setLeader(true);
        logger.info({ identity: config.identity }, 'started leading');
        queue.start();
      },
      onStoppedLeading: () => {
        const wasLeading = leading;
        leading = false;
        metrics.setLeader(false);
        if (wasLeading && !stopping) {
          logger.warn({ identity: config.identity }, 'lost the lease; stopping work');
          void queue.shutdown();
          options.onLostLeadership?.();
        }
      },
    });
    elector.start();
  } else {
    metrics.setLeader(true);
    queue.start();
  }
  for (const key of stacks.keys()) queue.add(key);

  const server: HealthServer = await startHealthServer({
    port: config.metricsPort,
    registry: metrics.registry,
    readiness: readinessOf({ informers: [...stackInformers.map((i) => ({ name: 'webstacks', hasSynced: () => i.hasSynced() })), ...caches.all()], elector }),
  });
  logger.info({ port: server.port, namespaces: config.namespaces, leaderElection: config.leaderElection, apiVersion: API_VERSION, selector: MANAGED_SELECTOR }, 'operator started');

  return {
    metrics,
    port: server.port,
    isLeader: () => leading,
    async stop() {
      stopping = true;
      for (const t of timers) clearInterval(t);
      // Drain first, so no reconcile of ours overlaps the next leader's.
      await queue.shutdown();
      await elector?.stop({ release: true });
      await Promise.all([...stackInformers.map((i) => i.stop()), caches.stop()]);
      await server.close(1_000);
      logger.info('operator stopped');
    },
  };
}
