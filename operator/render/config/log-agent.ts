/**
 * config.yaml of the shared per-node log agent, an OpenTelemetry Collector (contrib 0.165): one
 * logs pipeline per WebStack (its pod log files -> its sink, with its credentials), and the node's
 * CPU, memory, load, disk, filesystem and network once per node, to the node metrics endpoint and
 * to every sink that stores metrics. Pure. Secrets only ever appear as `${env:...}` references
 * (LOG_AGENT in blueprint/layout.ts; one variable per stack, see agentEnv).
 *
 * Isolation inside one process: each stack has its own receiver (its globs only), its own
 * resource processor (its stack attributes), its own exporter (its endpoint and credentials) and
 * its own file_storage extension, which keeps the receiver's read offsets and the exporter's
 * sending queue in a directory of its own. Adding or removing a stack adds or removes components
 * with their own keys; the other stacks' offsets and queues stay where they are.
 * (docs/adr/0010-one-shared-log-agent.md)
 */
import { stringify } from 'yaml';
import type { LogSinkType } from '../../api/types.js';
import { routeIds, type AgentRoute } from '../../blueprint/agent.js';
import { names } from '../../blueprint/names.js';
import { LOG_AGENT, stackNamespace } from '../../blueprint/layout.js';

const env = (name: string): string => `\${env:${name}}`;

/**
 * A user's string as the collector's literal: it expands `${env:...}` and `${file:...}` in every
 * value, and every stack's sink credentials are environment variables of the one agent, so an
 * endpoint such as `https://x/${env:WEBSTACK_SINK_AUTHORIZATION_<other stack>}` would send another
 * tenant's token away. `$$` is the collector's escape for a literal `$`.
 */
const literal = (value: string): string => value.replaceAll('$', '$$$$');

/** Sinks that store metrics too; Loki and (here) Elasticsearch take logs only. */
const METRIC_SINKS: ReadonlySet<LogSinkType> = new Set(['stdout', 'sumologic', 'otlp']);

/** The environment variables the stack's exporter reads (render/agent.ts sets them from its Secret copy). */
export function agentEnv(route: Pick<AgentRoute, 'envSuffix'>) {
  return {
    sinkEndpoint: `${LOG_AGENT.env.sinkEndpoint}_${route.envSuffix}`,
    sinkAuthorization: `${LOG_AGENT.env.sinkAuthorization}_${route.envSuffix}`,
  };
}

/**
 * Delivery that survives a sink outage: every batch waits in a queue on disk (the stack's
 * file_storage, so it also survives a restart) and is retried until the sink takes it. A queue that
 * fills up pushes back on the file receiver, which then stops reading (its offsets stay put)
 * instead of dropping lines.
 */
function reliable(route: AgentRoute) {
  return {
    sending_queue: { enabled: true, storage: routeIds(route).storage, queue_size: 10_000 },
    retry_on_failure: { enabled: true, initial_interval: '1s', max_interval: '30s', max_elapsed_time: 0 },
  };
}

function sinkExporter(route: AgentRoute): Record<string, unknown> {
  const sink = route.stack.spec.logging.sink;
  const vars = agentEnv(route);
  // The endpoint may live in the Secret (a Sumo Logic HTTP source URL embeds its token).
  const endpoint = (sink.endpoint === undefined ? env(vars.sinkEndpoint) : literal(sink.endpoint)).replace(/\/+$/, '');
  const auth = sink.credentialsSecretRef ? { headers: { Authorization: env(vars.sinkAuthorization) } } : {};
  switch (sink.type) {
    case 'stdout':
      return { verbosity: 'normal' };
    case 'sumologic':
      return { endpoint, ...reliable(route) };
    case 'loki':
      // Loki 3 ingests OTLP under /otlp; otlp_http appends /v1/logs.
      return { endpoint: `${endpoint}/otlp`, ...auth, ...reliable(route) };
    case 'elasticsearch':
      return { endpoints: [endpoint], ...auth, ...reliable(route) };
    case 'otlp':
      return { endpoint, ...auth, ...reliable(route) };
  }
}

function tierGlobs(namespace: string, stack: string): string[] {
  const n = names(stack);
  return [n.lb, n.web, n.app, n.mysql].map((prefix) => `${LOG_AGENT.podLogsDir}/${namespace}_${prefix}-*/*/*.log`);
}

/**
 * Pod log files of the stack's tiers: /var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log,
 * one glob per tier prefix. A stack named like another's tier prefix (`shop` and `shop-app` in one
 * namespace: `shop-app-*` matches the pods of both) has the other's globs excluded.
 */
function podLogFiles(route: AgentRoute, all: readonly AgentRoute[]): { include: string[]; exclude?: string[] } {
  const ns = stackNamespace(route.stack);
  const name = route.stack.metadata.name;
  const include = tierGlobs(ns, name);
  const exclude = all
    .filter((r) => r !== route && stackNamespace(r.stack) === ns && r.stack.metadata.name.startsWith(`${name}-`))
    .flatMap((r) => tierGlobs(ns, r.stack.metadata.name));
  return exclude.length > 0 ? { include, exclude } : { include };
}

function fileReceiver(route: AgentRoute, all: readonly AgentRoute[]): Record<string, unknown> {
  return {
    ...podLogFiles(route, all),
    // A stack's first run reads its files from the start: its pods may have logged before the
    // agent learnt of it. Afterwards the stored offsets decide.
    start_at: 'beginning',
    include_file_path: true,
    include_file_name: false,
    storage: routeIds(route).storage,
    // Parses the CRI/docker line format and adds k8s.namespace.name, k8s.pod.name, k8s.pod.uid
    // and k8s.container.name from the file path, without Kubernetes API access.
    operators: [{ type: 'container', id: 'container-parser' }],
    // When the pipeline refuses (a full sending queue), retry instead of dropping the entries.
    retry_on_failure: { enabled: true, initial_interval: '1s', max_interval: '30s', max_elapsed_time: 0 },
  };
}

const FS_TYPES_SKIPPED = [
  'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devpts', 'devtmpfs',
  'fusectl', 'hugetlbfs', 'mqueue', 'nsfs', 'overlay', 'proc', 'procfs', 'pstore', 'rpc_pipefs',
  'securityfs', 'selinuxfs', 'squashfs', 'sysfs', 'tmpfs', 'tracefs',
];

const HOST_METRICS = {
  collection_interval: '30s',
  // The node's root filesystem, mounted read-only: the scrapers read its /proc and /sys. The pod
  // runs in the host's network namespace, so /proc/net (which follows the reader's) is the node's.
  root_path: LOG_AGENT.hostRoot,
  scrapers: {
    cpu: {},
    memory: {},
    load: {},
    disk: {},
    network: {},
    filesystem: {
      exclude_fs_types: { match_type: 'strict', fs_types: FS_TYPES_SKIPPED },
      exclude_mount_points: {
        match_type: 'regexp',
        mount_points: ['/dev/.*', '/proc/.*', '/sys/.*', '/run/.*', '/var/lib/docker/.*', '/var/lib/kubelet/.*', '/snap/.*'],
      },
    },
  },
};

const NODE_ATTRIBUTE = { key: 'k8s.node.name', value: env(LOG_AGENT.env.nodeName), action: 'upsert' };

/**
 * The collector's own metrics (otelcol_exporter_sent_log_records, _send_failed_log_records,
 * _queue_size, per exporter, so per stack): the operator reads them for LoggingReady.
 */
const TELEMETRY = {
  metrics: {
    level: 'normal',
    readers: [{ pull: { exporter: { prometheus: { host: '0.0.0.0', port: LOG_AGENT.telemetryPort, without_units: true } } } }],
  },
};

export function renderLogAgentConfig(stacks: readonly AgentRoute[]): string {
  const routes = [...stacks].sort((a, b) => a.key.localeCompare(b.key));
  const processors = (resource: string) => ['memory_limiter', resource, 'batch'];
  const each = <T>(f: (r: AgentRoute) => [string, T]) => Object.fromEntries(routes.map(f));
  const metricSinks = routes.filter((r) => METRIC_SINKS.has(r.stack.spec.logging.sink.type)).map((r) => routeIds(r).exporter);
  const config = {
    extensions: {
      // Probes reach it on the node's address (host network), so it cannot listen on localhost only.
      health_check: { endpoint: `0.0.0.0:${LOG_AGENT.healthPort}` },
      ...each((r) => [routeIds(r).storage, { directory: `${LOG_AGENT.storageDir}/${r.key}`, create_directory: true }]),
    },
    receivers: {
      host_metrics: HOST_METRICS,
      ...each((r) => [routeIds(r).receiver, fileReceiver(r, routes)]),
    },
    processors: {
      memory_limiter: { check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 25 },
      batch: {},
      'resource/node': { attributes: [NODE_ATTRIBUTE] },
      ...each((r) => [
        routeIds(r).processor,
        {
          attributes: [
            NODE_ATTRIBUTE,
            { key: 'webstack.namespace', value: stackNamespace(r.stack), action: 'upsert' },
            { key: 'webstack.name', value: r.stack.metadata.name, action: 'upsert' },
          ],
        },
      ]),
    },
    exporters: {
      // Node metrics are always scrapeable here, whatever the sinks accept.
      prometheus: { endpoint: `0.0.0.0:${LOG_AGENT.hostMetricsPort}` },
      ...each((r) => [routeIds(r).exporter, sinkExporter(r)]),
    },
    service: {
      telemetry: TELEMETRY,
      extensions: ['health_check', ...routes.map((r) => routeIds(r).storage)],
      pipelines: {
        metrics: { receivers: ['host_metrics'], processors: processors('resource/node'), exporters: ['prometheus', ...metricSinks] },
        ...each((r) => [routeIds(r).pipeline, { receivers: [routeIds(r).receiver], processors: processors(routeIds(r).processor), exporters: [routeIds(r).exporter] }]),
      },
    },
  };
  const list = routes.map((r) => `#   ${stackNamespace(r.stack)}/${r.stack.metadata.name} (${r.stack.spec.logging.sink.type}): ${r.key}`).join('\n');
  const header = `# Shared log agent, one pipeline per WebStack:\n${list}\n# Rendered by webstack-operator; edits are overwritten.\n`;
  // No YAML anchors for the shared processor lists: plain YAML reads the same everywhere.
  return header + stringify(config, { lineWidth: 0, aliasDuplicateObjects: false });
}
