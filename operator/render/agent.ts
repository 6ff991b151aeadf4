/**
 * The log agent: one OpenTelemetry Collector DaemonSet for all WebStacks, in the agent namespace
 * (docs/adr/0010-one-shared-log-agent.md, which supersedes ADR 0001's DaemonSet per stack). Pure:
 * the list of stacks (and facts) in, the ConfigMap and the DaemonSet out; the operator's agent
 * loop (operator/agent/) renders it from every WebStack it sees and applies it with a field
 * manager of its own.
 *
 * It reads the stacks' container logs from /var/log/pods and the node's metrics from /proc and
 * /sys through hostPath volumes, and runs in the host's network namespace, so that the network
 * metrics are the node's (/proc/net follows the reader's network namespace). Pod Security
 * `restricted` (the stack namespaces) forbids all three; the agent namespace is `privileged`.
 *
 * The shared objects carry no owner labels: no stack owns them, and a stack's prune and finalizer
 * never touch them. The copies of the stacks' sink Secrets stay per stack (the WebStack reconciler
 * writes them, with owner labels); this DaemonSet reads each through environment variables.
 */
import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { DefaultedWebStack } from '../api/defaults.js';
import { CONFIG_HASH_ANNOTATION, MANAGED_BY, MANAGED_BY_LABEL } from '../api/identity.js';
import { AGENT_STATE_ROOT, agentNames, agentRoute, agentSelector, SHARED_AGENT, type AgentRoute } from '../blueprint/agent.js';
import { DEFAULT_IMAGES, type ImageCatalog } from '../api/images.js';
import { LOG_AGENT } from '../blueprint/layout.js';
import { agentEnv, renderLogAgentConfig } from './config/log-agent.js';
import { id, type KubeObject } from './context.js';
import { DEFAULT_AGENT_NAMESPACE } from '../blueprint/agent.js';
import { configHash, secretsReadBy } from './hash.js';
import { configMapVolume, httpProbe, mount } from './pod.js';

export interface AgentFacts {
  agentNamespace?: string;
  images?: ImageCatalog;
  /** Secret name -> version, for the stacks' Secret copies: the agent rolls when one changes. */
  secretVersions?: Readonly<Record<string, string>>;
}

const agentLabels = (): Record<string, string> => ({ ...agentSelector(), [MANAGED_BY_LABEL]: MANAGED_BY });

// Fixed: the agent is not part of any spec. The config's memory_limiter keeps it below the limit;
// the sending queues are on disk, not in memory.
const AGENT_RESOURCES: k8s.ResourceRequirements = {
  requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('128Mi') },
  limits: { memory: k8s.Quantity.fromString('512Mi') },
};

/**
 * A stack's credentials, from its Secret copy. Only keys its exporter uses are referenced; they are
 * optional, so a copy that is late or gone keeps that one stack's exporter from working, not the
 * pod from starting (the agent loop leaves out stacks whose copy it has not seen yet).
 */
function stackEnv(route: AgentRoute): k8s.EnvVar[] {
  const sink = route.stack.spec.logging.sink;
  if (sink.credentialsSecretRef === undefined) return [];
  const secret = agentNames(route.stack.metadata.namespace ?? '', route.stack.metadata.name).sinkSecret;
  const vars = agentEnv(route);
  const fromSecret = (name: string, key: string): k8s.EnvVar => ({ name, valueFrom: { secretKeyRef: { name: secret, key, optional: true } } });
  switch (sink.type) {
    case 'stdout':
      return [];
    case 'sumologic':
      return sink.endpoint === undefined ? [fromSecret(vars.sinkEndpoint, LOG_AGENT.secretKeys.sinkEndpoint)] : [];
    case 'loki':
    case 'elasticsearch':
    case 'otlp':
      return [fromSecret(vars.sinkAuthorization, LOG_AGENT.secretKeys.sinkAuthorization)];
  }
}

/**
 * Nodes where some stack can run: the union of the stacks' nodeSelectors (node affinity terms are
 * ORed), or every node when one stack has none.
 */
function nodeAffinity(routes: readonly AgentRoute[]): Pick<k8s.PodSpec, 'affinity'> {
  const selectors = routes.map((r) => r.stack.spec.placement.nodeSelector);
  if (selectors.some((s) => Object.keys(s).length === 0)) return {};
  const terms = selectors.map((s) => ({ matchExpressions: Object.entries(s).map(([key, value]) => ({ key, operator: 'In', values: [value] })) }));
  return { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } };
}

function agentContainer(routes: readonly AgentRoute[], image: string): k8s.Container {
  return {
    name: 'otel-collector',
    image,
    imagePullPolicy: 'IfNotPresent',
    args: [`--config=${LOG_AGENT.configDir}/${LOG_AGENT.configFile}`],
    env: [{ name: LOG_AGENT.env.nodeName, valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }, ...routes.flatMap(stackEnv)],
    ports: [
      { name: 'health', containerPort: LOG_AGENT.healthPort, protocol: 'TCP' },
      { name: 'metrics', containerPort: LOG_AGENT.hostMetricsPort, protocol: 'TCP' },
      { name: 'telemetry', containerPort: LOG_AGENT.telemetryPort, protocol: 'TCP' },
    ],
    readinessProbe: httpProbe('/', LOG_AGENT.healthPort, 'readiness'),
    livenessProbe: httpProbe('/', LOG_AGENT.healthPort, 'liveness'),
    resources: AGENT_RESOURCES,
    // Root, because kubelet writes pod logs 0640 root:root; yet no capability (root needs none to
    // read its own files, and the ports are above 1024), no privilege escalation, and a read-only
    // root filesystem.
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
      // No mount propagation: it needs the node's / to be a shared or slave mount, which not every
      // node has (containerd refuses the container otherwise), and the filesystems it would add
      // later are the pods' volumes, which the filesystem scraper leaves out anyway.
      mount('host-root', LOG_AGENT.hostRoot),
      mount('state', LOG_AGENT.storageDir, false),
    ],
  };
}

/**
 * The shared agent's objects, in apply order (config before the DaemonSet), for the stacks with
 * spec.logging.enabled among `stacks`; none when there is no such stack.
 */
export function renderLogAgent(stacks: readonly DefaultedWebStack[], facts: AgentFacts = {}): KubeObject[] {
  const routes = stacks.filter((s) => s.spec.logging.enabled).map(agentRoute).sort((a, b) => a.key.localeCompare(b.key));
  if (routes.length === 0) return [];
  const namespace = facts.agentNamespace ?? DEFAULT_AGENT_NAMESPACE;
  const chart = new Chart(new App(), 'log-agent', { namespace });
  const metadata = (name: string) => ({ name, namespace, labels: agentLabels() });
  const files = { [LOG_AGENT.configFile]: renderLogAgentConfig(routes) };
  new k8s.KubeConfigMap(chart, id('ConfigMap', SHARED_AGENT.config), { metadata: metadata(SHARED_AGENT.config), data: files });

  const hostPath = (name: string, path: string, type: string): k8s.Volume => ({ name, hostPath: { path, type } });
  const podSpec: k8s.PodSpec = {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    // The node's network namespace: node network metrics, and the ports on the node's address.
    hostNetwork: true,
    dnsPolicy: 'ClusterFirstWithHostNet',
    securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
    ...nodeAffinity(routes),
    // On every node a stack's pods can use, whatever its taints.
    tolerations: [{ operator: 'Exists' }],
    containers: [agentContainer(routes, (facts.images ?? DEFAULT_IMAGES).logAgent)],
    volumes: [
      configMapVolume('config', SHARED_AGENT.config),
      hostPath('pod-logs', LOG_AGENT.podLogsDir, 'Directory'),
      hostPath('host-root', '/', 'Directory'),
      hostPath('state', AGENT_STATE_ROOT, 'DirectoryOrCreate'),
    ],
  };
  const hash = configHash({ files, secrets: secretsReadBy(podSpec), secretVersions: facts.secretVersions });
  new k8s.KubeDaemonSet(chart, id('DaemonSet', SHARED_AGENT.daemonSet), {
    metadata: metadata(SHARED_AGENT.daemonSet),
    spec: {
      selector: { matchLabels: agentSelector() },
      // One node at a time: the new pod reads on from the old one's offsets, so no line is lost or repeated.
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) } },
      template: { metadata: { labels: agentLabels(), annotations: { [CONFIG_HASH_ANNOTATION]: hash } }, spec: podSpec },
    },
  });
  // toJson() is typed any[] by cdk8s; every element is an ApiObject's JSON, which KubeObject describes.
  return chart.toJson() as KubeObject[];
}
