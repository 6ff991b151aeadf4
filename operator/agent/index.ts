/**
 * The agent loop's wiring, for the WebStack controller: the loop itself (loop.ts), the delivery
 * monitor over its pods (delivery.ts), and which cache events concern them.
 */
import type { Logger } from 'pino';
import type { ImageCatalog } from '../api/images.js';
import type { WebStack } from '../api/types.js';
import type { ObjectApi } from '../kube/apply.js';
import type { KubeClient } from '../kube/client.js';
import type { Lookup } from '../kube/lookup.js';
import type { KubeObject } from '../kube/types.js';
import type { LogDelivery } from '../reconcile/status.js';
import { DeliveryMonitor } from './delivery.js';
import { isAgentObject, LogAgentLoop } from './loop.js';

export interface LogAgentOptions {
  client: Pick<KubeClient, 'request'>;
  caches: Lookup;
  objects: Pick<ObjectApi, 'applyObject' | 'deleteObject'>;
  stacks: () => WebStack[];
  agentNamespace: string;
  images: ImageCatalog;
  logger: Logger;
  /** Queues one stack's reconcile (its delivery verdict changed). */
  enqueue: (key: string) => void;
  /** Queues every stack (the shared DaemonSet changed: every LoggingReady reads it). */
  enqueueAll: () => void;
}

export interface LogAgent {
  /** A WebStack's spec or lifecycle changed. */
  stackChanged(): void;
  /** An object in the caches changed (`old`: before an update). */
  objectChanged(obj: KubeObject, old?: KubeObject): void;
  delivery(namespace: string, name: string): LogDelivery | undefined;
  start(): void;
  stop(): Promise<void>;
}

interface DaemonSetStatus {
  status?: { desiredNumberScheduled?: number; numberReady?: number };
}

/** What the stacks' LoggingReady reads of the shared DaemonSet. */
function agentSummary(obj: KubeObject | undefined): string {
  if (!obj) return 'absent';
  const s = (obj as DaemonSetStatus).status;
  return `${s?.desiredNumberScheduled ?? 0}/${(s?.numberReady ?? 0) > 0 ? 'ready' : 'none'}`;
}

export function setupLogAgent(o: LogAgentOptions): LogAgent {
  const loop = new LogAgentLoop(o);
  const monitor = new DeliveryMonitor({ client: o.client, agentNamespace: o.agentNamespace, stacks: () => loop.stacks(), onChange: o.enqueue, logger: o.logger });
  return {
    stackChanged: () => loop.trigger(),
    objectChanged(obj, old) {
      if (obj.metadata.namespace !== o.agentNamespace) return;
      // A Secret copy changed (a stack may join the agent), or the agent itself.
      if (obj.kind === 'Secret') loop.trigger();
      if (!isAgentObject(obj)) return;
      loop.trigger();
      // Every stack's LoggingReady reads the DaemonSet, but only whether it has ready pods and on
      // how many nodes (reconcile/status.ts): not every step of a rollout.
      if (obj.kind === 'DaemonSet' && agentSummary(old) !== agentSummary(obj)) o.enqueueAll();
    },
    delivery: (namespace, name) => monitor.verdict(namespace, name),
    start() {
      loop.start();
      monitor.start();
    },
    async stop() {
      monitor.stop();
      await loop.stop();
    },
  };
}
