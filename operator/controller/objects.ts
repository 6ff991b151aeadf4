/**
 * The object loop: one WebStack -> its desired children -> server-side apply -> prune -> status
 * (reconcile/reconciler.ts). Woken by the stack's spec and lifecycle, by any child labelled as the
 * stack's, and by two other loops' writes, declared here: the database loop's `status.database`
 * (DatabaseReady reads it) and the shared agent's DaemonSet readiness (every LoggingReady reads it).
 * The agent loop also wakes a stack here when its delivery verdict changes (controller/log-agent.ts).
 */
import type { Logger } from 'pino';
import { FIELD_MANAGER } from '../api/identity.js';
import { keyOf } from '../api/keys.js';
import type { ImageCatalog } from '../api/images.js';
import type { Peer, WebStack } from '../api/types.js';
import { isAgentObject } from '../agent/loop.js';
import type { ObjectApi } from '../kube/apply.js';
import type { KubeObject } from '../kube/types.js';
import { Reconciler } from '../reconcile/reconciler.js';
import type { LogDelivery } from '../blueprint/agent.js';
import { NONE, queuedController, specOrLifecycleChanged, type Controller, type Wake } from '../runtime/controller.js';
import type { ChangeEvent } from '../runtime/informer.js';
import type { OperatorMetrics } from '../runtime/metrics.js';
import type { Manager } from './manager.js';
import { wakeOwner } from './owner.js';

export const OBJECTS = 'objects';

export interface ObjectLoopOptions {
  objects: ObjectApi;
  agentNamespace: string;
  images: ImageCatalog;
  databaseController: boolean;
  operatorPeer?: Peer;
  concurrency: number;
  /** What the agent loop reports of a stack's log delivery. */
  logDelivery: (namespace: string, name: string) => LogDelivery | undefined;
  metrics: OperatorMetrics;
  logger: Logger;
}

/** The database loop's status says the cluster's state and whether commits wait for an ack: DatabaseReady reports them. */
function databaseStatusChanged(e: ChangeEvent<WebStack>): boolean {
  const [before, after] = [e.old?.status?.database, e.object.status?.database];
  return e.type === 'update' && (before?.commitsWaitingForAck !== after?.commitsWaitingForAck || before?.state !== after?.state || before?.reason !== after?.reason);
}

interface DaemonSetStatus {
  status?: { desiredNumberScheduled?: number; numberReady?: number };
}

/** What the stacks' LoggingReady reads of the shared DaemonSet: whether it has ready pods and on how many nodes, not every step of a rollout. */
function agentSummary(obj: KubeObject | undefined): string {
  if (!obj) return 'absent';
  const s = (obj as DaemonSetStatus).status;
  return `${s?.desiredNumberScheduled ?? 0}/${(s?.numberReady ?? 0) > 0 ? 'ready' : 'none'}`;
}

function objectsWoken(e: ChangeEvent<KubeObject>): Wake {
  if (e.object.kind === 'DaemonSet' && isAgentObject(e.object)) return agentSummary(e.old) === agentSummary(e.object) ? NONE : 'all';
  return wakeOwner(e.object);
}

export function objectLoop(manager: Manager, o: ObjectLoopOptions): Controller {
  const reconciler = new Reconciler({
    stacks: manager.stacks,
    caches: manager.caches,
    objects: o.objects,
    optionalApis: () => Promise.resolve(manager.optionalApis()),
    agentNamespace: o.agentNamespace,
    databaseController: o.databaseController,
    ...(o.operatorPeer ? { operatorPeer: o.operatorPeer } : {}),
    images: o.images,
    logDelivery: o.logDelivery,
    logger: o.logger,
  });
  return queuedController({
    name: OBJECTS,
    fieldManager: FIELD_MANAGER,
    concurrency: o.concurrency,
    handler: (key, log) => reconciler.reconcile(key, log),
    onStack: (e) => (specOrLifecycleChanged(e) || databaseStatusChanged(e) ? [keyOf(e.object)] : NONE),
    onObject: objectsWoken,
    logger: o.logger,
    onDepth: (depth) => o.metrics.setQueueDepth(depth),
    onProcessed: (outcome, durationMs) => o.metrics.observeReconcile(outcome, durationMs / 1000),
  });
}
