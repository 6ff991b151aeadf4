/**
 * The shared log agent's part of the stack's blueprint: where it runs, what its objects are called,
 * and how one stack's pipeline is keyed inside it. The renderer builds the agent from these; the
 * object loop (Secret copies), the agent loop (prune) and the delivery monitor (per-stack exporter
 * series) find it by them.
 */
import { createHash } from 'node:crypto';
import type { DefaultedWebStack } from '../api/defaults.js';
import { COMPONENT_LABEL, NAME_LABEL } from '../api/identity.js';
import type { LogSinkType } from '../api/types.js';

/** The namespace of the shared agent unless the operator is told another (it needs hostPath, so not a stack's). */
export const DEFAULT_AGENT_NAMESPACE = 'webstack-system';

/** Where the agent keeps, per stack, its read offsets and sending queue on the node. */
export const AGENT_STATE_ROOT = '/var/lib/webstack-log-agent';

/** The shared agent's objects in the agent namespace. */
export const SHARED_AGENT = {
  daemonSet: 'webstack-log-agent',
  config: 'webstack-log-agent-config',
  /** On the shared agent's objects and pods only (its selector): no per-stack object carries it. */
  label: 'webstack.dev/log-agent',
  labelValue: 'shared',
} as const;

/**
 * Per-stack names in the shared agent namespace: `<namespace>-<stack>` is not unique (`a-b`/`c`
 * and `a`/`b-c`) and can exceed 63 characters, so it is cut to 37 and followed by a hash of the
 * pair. `base` keys the stack's pipeline, its state folder and its Secret copy.
 */
export function agentNames(namespace: string, stack: string) {
  const hash = createHash('sha256').update(`${namespace}/${stack}`).digest('hex').slice(0, 8);
  const base = `${`${namespace}-${stack}`.slice(0, 37).replace(/-+$/, '')}-${hash}`;
  return {
    base,
    hash,
    /** The controller copies spec.logging.sink.credentialsSecretRef here: a pod can only read Secrets of its own namespace. */
    sinkSecret: `${base}-log-sink`,
  };
}

/** One stack as the agent sees it; `key` is unique and stable (render/agent.ts, agentNames). */
export interface AgentRoute {
  key: string;
  /** Upper-case hex, the suffix of the stack's environment variables. */
  envSuffix: string;
  stack: DefaultedWebStack;
}

export function agentRoute(stack: DefaultedWebStack): AgentRoute {
  const n = agentNames(stack.metadata.namespace ?? '', stack.metadata.name);
  return { key: n.base, envSuffix: n.hash.toUpperCase(), stack };
}

/** The exporter type a sink type uses; the stack's exporter is `<type>/<stack key>`. */
export const SINK_EXPORTERS: Record<LogSinkType, string> = {
  stdout: 'debug',
  sumologic: 'sumologic',
  loki: 'otlp_http',
  elasticsearch: 'elasticsearch',
  otlp: 'otlp_http',
};

/** Component ids of a stack's pipeline. */
export function routeIds(route: AgentRoute) {
  const type = route.stack.spec.logging.sink.type;
  return {
    receiver: `file_log/${route.key}`,
    processor: `resource/${route.key}`,
    exporter: `${SINK_EXPORTERS[type]}/${route.key}`,
    storage: `file_storage/${route.key}`,
    pipeline: `logs/${route.key}`,
  };
}

export const agentSelector = (): Record<string, string> => ({ [NAME_LABEL]: 'webstack', [COMPONENT_LABEL]: 'log-agent', [SHARED_AGENT.label]: SHARED_AGENT.labelValue });

/**
 * Delivery of one stack's logs, as the agent loop reads it from the agent pods' exporter metrics
 * and LoggingReady reports it: the sink accepts what is sent, or it does not, or the metrics that
 * would tell could not be read (never taken for either).
 */
export interface LogDelivery {
  state: 'accepted' | 'failing' | 'unread';
  /** Why, or what was delivered, in the agent's words. */
  message: string;
}
