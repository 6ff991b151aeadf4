/**
 * The operator's loops on one manager: the object loop, the database loop (when it runs) and the
 * agent loop. A new loop (backups, traffic) is one file like objects.ts and one line here.
 */
import type { Logger } from 'pino';
import type { ObjectApi } from '../kube/apply.js';
import type { KubeClient } from '../kube/client.js';
import type { Discovery } from '../kube/discovery.js';
import type { OperatorConfig } from '../runtime/config.js';
import type { OperatorMetrics } from '../runtime/metrics.js';
import { databaseLoop } from './database.js';
import { logAgentLoop } from './log-agent.js';
import { Manager } from './manager.js';
import { objectLoop } from './objects.js';

export interface ControllersOptions {
  client: KubeClient;
  discovery: Pick<Discovery, 'hasResource'>;
  objects: ObjectApi;
  config: Pick<OperatorConfig, 'namespaces' | 'concurrency' | 'resyncPeriodMs' | 'images' | 'databaseFailoverDelayMs' | 'databaseController' | 'logDeliveryCheck' | 'operatorPeer'>;
  agentNamespace: string;
  metrics: OperatorMetrics;
  logger: Logger;
}

export function setupControllers(o: ControllersOptions): Manager {
  const { client, config, logger, metrics, objects, agentNamespace } = o;
  const manager = new Manager({ client, discovery: o.discovery, namespaces: config.namespaces, agentNamespace, resyncPeriodMs: config.resyncPeriodMs, logger });
  const agent = logAgentLoop(manager, { client, objects, agentNamespace, images: config.images, deliveryCheck: config.logDeliveryCheck, logger });
  manager.register(
    objectLoop(manager, {
      objects,
      agentNamespace,
      images: config.images,
      databaseController: config.databaseController,
      ...(config.operatorPeer ? { operatorPeer: config.operatorPeer } : {}),
      concurrency: config.concurrency,
      logDelivery: (namespace, name) => agent.delivery(namespace, name),
      metrics,
      logger,
    }),
  );
  if (config.databaseController) manager.register(databaseLoop(manager, { objects, failoverDelayMs: config.databaseFailoverDelayMs, concurrency: config.concurrency, metrics, logger }));
  manager.register(agent);
  return manager;
}
