/**
 * The agent loop: all stacks -> the one shared log agent (agent/loop.ts), and the delivery monitor
 * over its pods (agent/delivery.ts). One queue with two keys: PASS, debounced so a burst (a hundred
 * stacks created at once) makes one pass, and SAMPLE, which runs every SAMPLE_MS. A changed
 * delivery verdict wakes that stack in the object loop (its LoggingReady).
 */
import type { Logger } from 'pino';
import { AGENT_FIELD_MANAGER } from '../api/identity.js';
import type { ImageCatalog } from '../api/images.js';
import { DeliveryMonitor, SAMPLE_MS } from '../agent/delivery.js';
import { isAgentObject, LogAgentLoop } from '../agent/loop.js';
import type { ObjectApi } from '../kube/apply.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/types.js';
import type { LogDelivery } from '../blueprint/agent.js';
import { NONE, queuedController, specOrLifecycleChanged, type Controller, type Wake } from '../runtime/controller.js';
import type { ChangeEvent } from '../runtime/informer.js';
import type { BackoffPolicy } from '../support/backoff.js';
import type { Manager } from './manager.js';
import { OBJECTS } from './objects.js';

export const LOG_AGENT = 'log-agent';
const PASS = 'pass';
const SAMPLE = 'sample';
/** Coalesces bursts into one pass. */
const DEBOUNCE_MS = 2_000;
const AGENT_BACKOFF: BackoffPolicy = { baseMs: 2_000, maxMs: 60_000 };

export interface LogAgentLoopOptions {
  client: Pick<KubeClient, 'request'>;
  objects: ObjectApi;
  agentNamespace: string;
  images: ImageCatalog;
  /** Sample the agent pods' metrics for each stack's delivery (--log-delivery-check). */
  deliveryCheck: boolean;
  logger: Logger;
}

export interface LogAgentController extends Controller {
  /** The stack's delivery verdict, once sampled. */
  delivery(namespace: string, name: string): LogDelivery | undefined;
}

const NOT_CHECKED: LogDelivery = { state: 'unread', message: 'the operator does not read it (--log-delivery-check=false)' };

export function logAgentLoop(manager: Manager, o: LogAgentLoopOptions): LogAgentController {
  const loop = new LogAgentLoop({ stacks: () => manager.stacks.list(), caches: manager.caches, objects: o.objects, agentNamespace: o.agentNamespace, images: o.images, logger: o.logger });
  const monitor = new DeliveryMonitor({ client: o.client, agentNamespace: o.agentNamespace, stacks: () => loop.stacks(), onChange: (key) => manager.wake(OBJECTS, [key]) });
  const sample = async () => {
    if (!o.deliveryCheck) return undefined;
    await monitor.sample().catch((err: unknown) => o.logger.warn({ err: String(err) }, "reading the log agents' metrics failed"));
    return { requeueAfterMs: SAMPLE_MS };
  };
  /** A Secret copy in the agent namespace (a stack may join the agent), or the agent's own objects. */
  const agentInputChanged = (e: ChangeEvent<KubeObject>): Wake =>
    e.object.metadata.namespace === o.agentNamespace && (e.object.kind === 'Secret' || isAgentObject(e.object)) ? [PASS] : NONE;
  const controller = queuedController({
    name: LOG_AGENT,
    fieldManager: AGENT_FIELD_MANAGER,
    concurrency: 2,
    backoff: AGENT_BACKOFF,
    debounceMs: DEBOUNCE_MS,
    queueKey: (key) => (key === SAMPLE ? SAMPLE : PASS),
    handler: (key) => (key === SAMPLE ? sample() : loop.pass().then(() => undefined)),
    onStack: (e) => (specOrLifecycleChanged(e) ? [PASS] : NONE),
    onObject: agentInputChanged,
    logger: o.logger,
  });
  return {
    ...controller,
    start() {
      controller.start();
      controller.enqueue(PASS);
      controller.enqueue(SAMPLE);
    },
    delivery: (namespace, name) => (o.deliveryCheck ? monitor.verdict(namespace, name) : NOT_CHECKED),
  };
}
