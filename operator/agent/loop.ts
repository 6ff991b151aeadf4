/**
 * The agent loop's pass: every WebStack -> one desired log agent (render/agent.ts) -> apply -> prune.
 * An aggregate loop, beside the per-stack object loop: its input is the list of all stacks, its
 * output the shared ConfigMap and DaemonSet in the agent namespace, written with a field manager
 * of its own (AGENT_FIELD_MANAGER). Its queue, debounce and retries are the controller's
 * (controller/log-agent.ts); a pass here is one run.
 *
 * A stack whose sink needs credentials joins the agent once the WebStack reconciler has copied
 * its Secret into the agent namespace (reconcile/desired.ts): the agent's environment references
 * the copy, and its version rolls the agent when the credentials change.
 */
import type { Logger } from 'pino';
import { withDefaults, type DefaultedWebStack } from '../api/defaults.js';
import { AGENT_FIELD_MANAGER } from '../api/identity.js';
import type { ImageCatalog } from '../api/images.js';
import type { WebStack } from '../api/types.js';
import type { ObjectApi } from '../kube/apply.js';
import type { Lookup } from '../kube/lookup.js';
import type { KubeObject } from '../kube/types.js';
import { satisfies } from '../kube/diff.js';
import { deleteSeen } from '../kube/delete.js';
import { renderLogAgent } from '../render/agent.js';
import { agentNames, SHARED_AGENT } from '../blueprint/agent.js';

const AGENT_KINDS = [
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
] as const;

export interface AgentInputs {
  stacks: DefaultedWebStack[];
  secretVersions: Record<string, string>;
}

/** The stacks the agent serves, and the versions of their Secret copies. Pure over the caches. */
export function agentInputs(all: readonly WebStack[], caches: Lookup, agentNamespace: string): AgentInputs {
  const stacks: DefaultedWebStack[] = [];
  const secretVersions: Record<string, string> = {};
  for (const raw of all) {
    if (raw.metadata.deletionTimestamp) continue;
    const stack = withDefaults(raw);
    if (!stack.spec.logging.enabled) continue;
    if (stack.spec.logging.sink.credentialsSecretRef) {
      const copyName = agentNames(raw.metadata.namespace ?? '', raw.metadata.name).sinkSecret;
      const copy = caches.get('Secret', agentNamespace, copyName);
      if (!copy) continue;
      secretVersions[copyName] = copy.metadata.resourceVersion ?? '';
    }
    stacks.push(stack);
  }
  return { stacks, secretVersions };
}

export interface LogAgentLoopDeps {
  stacks: () => WebStack[];
  caches: Lookup;
  objects: Pick<ObjectApi, 'applyObject' | 'deleteObject'>;
  agentNamespace: string;
  images: ImageCatalog;
  logger: Logger;
}

export class LogAgentLoop {
  private served: DefaultedWebStack[] = [];

  constructor(private readonly deps: LogAgentLoopDeps) {}

  /** The stacks the last pass rendered into the agent. */
  stacks(): DefaultedWebStack[] {
    return this.served;
  }

  /** One pass; a failure throws, and the controller's queue retries with backoff. */
  async pass(): Promise<void> {
    const { caches, agentNamespace, images } = this.deps;
    const inputs = agentInputs(this.deps.stacks(), caches, agentNamespace);
    this.served = inputs.stacks;
    const desired = renderLogAgent(inputs.stacks, { agentNamespace, images, secretVersions: inputs.secretVersions });
    await this.apply(desired);
    await this.prune(desired);
  }

  /** Writes only what differs from the cache, so a steady state makes no request. */
  private async apply(desired: KubeObject[]): Promise<void> {
    for (const obj of desired) {
      const live = this.deps.caches.get(obj.kind, obj.metadata.namespace, obj.metadata.name);
      if (live && satisfies(obj, live)) continue;
      await this.deps.objects.applyObject(obj, { fieldManager: AGENT_FIELD_MANAGER, force: true });
      this.deps.logger.info({ kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name }, 'log agent applied');
    }
  }

  /** The shared objects no longer rendered (no stack logs any more). */
  private async prune(desired: KubeObject[]): Promise<void> {
    const wanted = new Set(desired.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const { kind } of AGENT_KINDS) {
      for (const live of this.deps.caches.list(kind, this.deps.agentNamespace)) {
        if (live.metadata.labels?.[SHARED_AGENT.label] !== SHARED_AGENT.labelValue || wanted.has(`${kind}/${live.metadata.name}`)) continue;
        await deleteSeen(this.deps.objects, live, this.deps.logger, 'log agent removed (no stack ships logs)');
      }
    }
  }
}

/** Whether a cached object is one of the shared agent's. */
export const isAgentObject = (obj: KubeObject): boolean => obj.metadata.labels?.[SHARED_AGENT.label] === SHARED_AGENT.labelValue;
