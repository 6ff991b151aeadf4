/**
 * The database loop (database/loop.ts): gather over SQL -> decide -> one step -> role labels and
 * `status.database`, under its own field manager. Its own queue, so a slow SQL round trip never
 * delays an object reconcile; woken by the stack's spec and lifecycle and by its database pods.
 */
import type { Logger } from 'pino';
import { COMPONENT_LABEL, DATABASE_FIELD_MANAGER } from '../api/identity.js';
import { keyOf } from '../api/keys.js';
import { DatabaseLoop } from '../database/loop.js';
import type { ObjectApi } from '../kube/apply.js';
import type { KubeObject } from '../kube/types.js';
import { NONE, queuedController, specOrLifecycleChanged, type Controller, type Wake } from '../runtime/controller.js';
import type { ChangeEvent } from '../runtime/informer.js';
import type { OperatorMetrics } from '../runtime/metrics.js';
import type { BackoffPolicy } from '../support/backoff.js';
import type { Manager } from './manager.js';
import { wakeOwner } from './owner.js';

export const DATABASE = 'database';

/**
 * A failed database step is retried within seconds, never minutes: during a failover every step
 * may fail for a while (a server that does not answer yet), and a long backoff would add itself to
 * the write outage.
 */
const DATABASE_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 10_000 };

export interface DatabaseLoopOptions {
  objects: ObjectApi;
  failoverDelayMs: number;
  concurrency: number;
  metrics: OperatorMetrics;
  logger: Logger;
}

function databasePodChanged(e: ChangeEvent<KubeObject>): Wake {
  return e.object.kind === 'Pod' && e.object.metadata.labels?.[COMPONENT_LABEL] === 'database' ? wakeOwner(e.object) : NONE;
}

export function databaseLoop(manager: Manager, o: DatabaseLoopOptions): Controller {
  const loop = new DatabaseLoop({
    stacks: manager.stacks,
    caches: manager.caches,
    objects: o.objects,
    failoverDelayMs: o.failoverDelayMs,
    // One worker always left for the steps of other stacks (a failover) while seeds copy.
    seedSlots: Math.max(1, o.concurrency - 1),
    onRoleChange: (kind, stack) => o.metrics.countRoleChange(kind, stack.metadata.namespace ?? '', stack.metadata.name),
  });
  return queuedController({
    name: DATABASE,
    fieldManager: DATABASE_FIELD_MANAGER,
    concurrency: o.concurrency,
    backoff: DATABASE_BACKOFF,
    handler: (key, log) => loop.reconcile(key, log),
    onStack: (e) => (specOrLifecycleChanged(e) ? [keyOf(e.object)] : NONE),
    onObject: databasePodChanged,
    logger: o.logger,
  });
}
