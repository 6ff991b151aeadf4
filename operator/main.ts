/**
 * Wires the operator together: client, the loops on their manager (controller/index.ts), leader
 * election, health and metrics. Only the leader reconciles; a standby keeps warm caches and takes
 * over at once.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_VERSION } from './api/identity.js';
import { MANAGED_SELECTOR } from './api/kinds.js';
import { setupControllers } from './controller/index.js';
import { ObjectApi } from './kube/apply.js';
import { KubeClient } from './kube/client.js';
import { loadKubeConfig } from './kube/config.js';
import { Discovery } from './kube/discovery.js';
import { kubeLeaseStore } from './kube/lease.js';
import { DEFAULT_AGENT_NAMESPACE } from './blueprint/agent.js';
import type { OperatorConfig } from './runtime/config.js';
import { LeaderElector } from './runtime/leader.js';
import { createLogger } from './runtime/logger.js';
import { OperatorMetrics } from './runtime/metrics.js';
import { readinessOf, startHealthServer, type HealthServer } from './runtime/server.js';

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

export async function startOperator(options: StartOptions): Promise<RunningOperator> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const metrics = new OperatorMetrics();
  const kubeConfig = options.kubeConfig ?? loadKubeConfig({ path: config.kubeconfig }).kubeConfig;
  const client = new KubeClient(kubeConfig, { requestTimeoutMs: config.requestTimeoutMs, onRequest: (r) => metrics.observeRequest(r) });
  const discovery = new Discovery(client);
  const objects = new ObjectApi(client, discovery);
  const agentNamespace = options.agentNamespace ?? DEFAULT_AGENT_NAMESPACE;
  const controller = setupControllers({ client, discovery, objects, config, agentNamespace, metrics, logger });
  await controller.start();

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
        controller.startWorkers();
      },
      onStoppedLeading: () => {
        const wasLeading = leading;
        leading = false;
        metrics.setLeader(false);
        if (wasLeading && !stopping) {
          logger.warn({ identity: config.identity }, 'lost the lease; stopping work');
          void controller.stopWorkers();
          options.onLostLeadership?.();
        }
      },
    });
    elector.start();
  } else {
    metrics.setLeader(true);
    controller.startWorkers();
  }
  controller.enqueueAll();

  const server: HealthServer = await startHealthServer({
    port: config.metricsPort,
    registry: metrics.registry,
    readiness: readinessOf({ informers: controller.informers(), elector }),
  });
  logger.info({ port: server.port, namespaces: config.namespaces, leaderElection: config.leaderElection, apiVersion: API_VERSION, selector: MANAGED_SELECTOR }, 'operator started');

  return {
    metrics,
    port: server.port,
    isLeader: () => leading,
    async stop() {
      stopping = true;
      // Drain first, so no reconcile of ours overlaps the next leader's.
      await controller.stopWorkers();
      await elector?.stop({ release: true });
      await controller.stop();
      await server.close(1_000);
      logger.info('operator stopped');
    },
  };
}
