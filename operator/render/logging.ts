/**
 * Logging tier: one OpenTelemetry Collector DaemonSet per WebStack, in the agent namespace
 * (docs/adr/0001-log-agent-topology.md). It reads the stack's container logs from /var/log/pods
 * and the node's metrics from /proc and /sys through hostPath volumes, which Pod Security
 * `restricted` (the stack namespace) forbids; the agent namespace is `privileged` instead.
 *
 * Objects in another namespace cannot have the WebStack as owner, so every one carries
 * OWNER_NAMESPACE_LABEL (here, and with OWNER_NAME_LABEL from the reconciler): the controller
 * deletes them by those labels when the WebStack goes, or when logging is disabled, and the
 * DaemonSet selects its pods by it, since a stack name alone is not unique across namespaces.
 */
import { createHash } from 'node:crypto';
import { k8s } from 'cdk8s-plus-27';
import { CONFIG_HASH_ANNOTATION, OWNER_NAMESPACE_LABEL } from '../api/identity.js';
import { LOG_AGENT } from './config/layout.js';
import { renderLogAgentConfig } from './config/log-agent.js';
import { DEFAULT_AGENT_NAMESPACE, id, type RenderContext } from './context.js';
import { renderLogAgentFirewall } from './firewall.js';
import { commonLabels, selectorLabels } from './names.js';
import { configMapVolume, httpProbe, mount, podConfigHash } from './pod.js';

/** Where each agent keeps its read offsets on the node, so a restarted agent neither loses nor repeats logs. */
export const AGENT_STATE_ROOT = '/var/lib/webstack-log-agent';

/**
 * Names in the shared agent namespace: `<namespace>-<stack>` is not unique (`a-b`/`c` and
 * `a`/`b-c`) and can exceed 63 characters, so it is cut to 37 and followed by a hash of the pair;
 * the longest name, `<base>-log-agent-config`, stays within 63.
 */
export function agentNames(namespace: string, stack: string) {
  const hash = createHash('sha256').update(`${namespace}/${stack}`).digest('hex').slice(0, 8);
  const base = `${`${namespace}-${stack}`.slice(0, 37).replace(/-+$/, '')}-${hash}`;
  return {
    daemonSet: `${base}-log-agent`,
    config: `${base}-log-agent-config`,
    /** The controller copies spec.logging.sink.credentialsSecretRef here: a pod can only read Secrets of its own namespace. */
    sinkSecret: `${base}-log-sink`,
    stateDir: `${AGENT_STATE_ROOT}/${base}`,
  };
}

// Fixed: the agent is not part of the spec. The config's memory_limiter keeps it below the limit.
const AGENT_RESOURCES: k8s.ResourceRequirements = {
  requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('128Mi') },
  limits: { memory: k8s.Quantity.fromString('256Mi') },
};

/**
 * The sink's credentials, as the agent config reads them (layout.LOG_AGENT): the Sumo Logic URL
 * when the spec has no endpoint, else an Authorization header value. Only keys the config uses are
 * referenced, since a missing key keeps the pod from starting.
 */
function sinkEnv(ctx: RenderContext, secretName: string): k8s.EnvVar[] {
  const sink = ctx.spec.logging.sink;
  if (sink.credentialsSecretRef === undefined) return [];
  const fromSecret = (name: string, key: string): k8s.EnvVar => ({ name, valueFrom: { secretKeyRef: { name: secretName, key } } });
  switch (sink.type) {
    case 'stdout':
      return [];
    case 'sumologic':
      return sink.endpoint === undefined ? [fromSecret(LOG_AGENT.env.sinkEndpoint, LOG_AGENT.secretKeys.sinkEndpoint)] : [];
    case 'loki':
    case 'elasticsearch':
    case 'otlp':
      return [fromSecret(LOG_AGENT.env.sinkAuthorization, LOG_AGENT.secretKeys.sinkAuthorization)];
  }
}

/** Where the stack's agent objects live and how they are labelled and selected. */
export function agentPlacement(ctx: RenderContext) {
  const ownerLabel = { [OWNER_NAMESPACE_LABEL]: ctx.namespace };
  return {
    namespace: ctx.facts.agentNamespace ?? DEFAULT_AGENT_NAMESPACE,
    names: agentNames(ctx.namespace, ctx.name),
    ownerLabel,
    selector: { ...selectorLabels(ctx.name, 'log-agent'), ...ownerLabel },
    labels: { ...commonLabels(ctx.name, 'log-agent'), ...ownerLabel },
  };
}

export function renderLogging(ctx: RenderContext): void {
  const { spec } = ctx;
  if (!spec.logging.enabled) return;
  const { namespace, names: an, ownerLabel, selector, labels } = agentPlacement(ctx);
  const metadata = (name: string) => ({ name, namespace, labels });
  const files = { [LOG_AGENT.configFile]: renderLogAgentConfig(ctx.stack) };

  renderLogAgentFirewall(ctx, { name: an.daemonSet, namespace, podSelector: selector, labels: ownerLabel });
  new k8s.KubeConfigMap(ctx.scope('config'), id('ConfigMap', `${namespace}/${an.config}`), {
    metadata: metadata(an.config),
    data: files,
  });

  const hostPath = (name: string, path: string, type: string): k8s.Volume => ({ name, hostPath: { path, type } });
  const agent: k8s.Container = {
    name: 'otel-collector',
    image: ctx.images.logAgent,
    imagePullPolicy: 'IfNotPresent',
    env: [
      { name: LOG_AGENT.env.nodeName, valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      ...sinkEnv(ctx, an.sinkSecret),
    ],
    ports: [
      { name: 'health', containerPort: LOG_AGENT.healthPort, protocol: 'TCP' },
      { name: 'metrics', containerPort: LOG_AGENT.hostMetricsPort, protocol: 'TCP' },
    ],
    readinessProbe: httpProbe('/', LOG_AGENT.healthPort, 'readiness'),
    livenessProbe: httpProbe('/', LOG_AGENT.healthPort, 'liveness'),
    resources: AGENT_RESOURCES,
    // Root, because kubelet writes pod logs 0640 root:root; yet no capability (root needs none to
    // read its own files), no privilege escalation, and a read-only root filesystem.
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      mount('config', LOG_AGENT.configDir),
      mount('pod-logs', LOG_AGENT.podLogsDir),
      { ...mount('host-root', LOG_AGENT.hostRoot), mountPropagation: 'HostToContainer' },
      mount('state', LOG_AGENT.storageDir, false),
    ],
  };

  const { nodeSelector } = spec.placement;
  const podSpec: k8s.PodSpec = {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
    // Only where the stack's pods can run, but on every such node whatever its taints.
    ...(Object.keys(nodeSelector).length > 0 ? { nodeSelector: { ...nodeSelector } } : {}),
    tolerations: [{ operator: 'Exists' }],
    containers: [agent],
    volumes: [
      configMapVolume('config', an.config),
      hostPath('pod-logs', LOG_AGENT.podLogsDir, 'Directory'),
      hostPath('host-root', '/', 'Directory'),
      hostPath('state', an.stateDir, 'DirectoryOrCreate'),
    ],
  };
  new k8s.KubeDaemonSet(ctx.scope('daemonsets'), id('DaemonSet', `${namespace}/${an.daemonSet}`), {
    metadata: metadata(an.daemonSet),
    spec: {
      selector: { matchLabels: selector },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) } },
      template: {
        metadata: {
          labels,
          annotations: { [CONFIG_HASH_ANNOTATION]: podConfigHash(ctx, podSpec, files) },
        },
        spec: podSpec,
      },
    },
  });
}
