/**
 * config.yaml of the per-node log agent, an OpenTelemetry Collector (contrib 0.120): the stack's
 * container logs to the configured sink, and node CPU, memory, disk, network, filesystem and load.
 * Pure. Secrets only ever appear as `${env:...}` references (see LOG_AGENT in ./layout.ts).
 */
import { stringify } from 'yaml';
import type { LogSinkType } from '../../api/types.js';
import type { DefaultedWebStack } from '../../api/defaults.js';
import { names } from '../names.js';
import { LOG_AGENT, stackNamespace } from './layout.js';

const env = (name: string): string => `\${env:${name}}`;

/** The exporter a sink type uses; also the key of its pipeline entry. */
export const SINK_EXPORTERS: Record<LogSinkType, string> = {
  stdout: 'debug',
  sumologic: 'sumologic',
  loki: 'otlphttp/loki',
  elasticsearch: 'elasticsearch',
  otlp: 'otlphttp',
};

/** Sinks that store metrics too; Loki and (here) Elasticsearch take logs only. */
const METRIC_SINKS: ReadonlySet<LogSinkType> = new Set(['stdout', 'sumologic', 'otlp']);

function sinkExporter(stack: DefaultedWebStack): Record<string, unknown> {
  const sink = stack.spec.logging.sink;
  // The endpoint may live in the Secret (a Sumo Logic HTTP source URL embeds its token).
  const endpoint = (sink.endpoint ?? env(LOG_AGENT.env.sinkEndpoint)).replace(/\/+$/, '');
  const auth = sink.credentialsSecretRef ? { headers: { Authorization: env(LOG_AGENT.env.sinkAuthorization) } } : {};
  switch (sink.type) {
    case 'stdout':
      return { verbosity: 'normal' };
    case 'sumologic':
      return { endpoint };
    case 'loki':
      // Loki 3 ingests OTLP under /otlp; otlphttp appends /v1/logs.
      return { endpoint: `${endpoint}/otlp`, ...auth };
    case 'elasticsearch':
      return { endpoints: [endpoint], ...auth };
    case 'otlp':
      return { endpoint, ...auth };
  }
}

/**
 * Pod log files of the stack's tiers: /var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log.
 * One glob per tier prefix keeps other stacks of the namespace out (a stack's own log agent too).
 */
function podLogGlobs(stack: DefaultedWebStack): string[] {
  const n = names(stack.metadata.name);
  const ns = stackNamespace(stack);
  return [n.lb, n.web, n.app, n.mysql].map((prefix) => `${LOG_AGENT.podLogsDir}/${ns}_${prefix}-*/*/*.log`);
}

export function renderLogAgentConfig(stack: DefaultedWebStack): string {
  const sinkType = stack.spec.logging.sink.type;
  const sink = SINK_EXPORTERS[sinkType];
  const processors = ['memory_limiter', 'resource', 'batch'];
  const config = {
    extensions: {
      // Probes reach it on the pod IP, so it cannot listen on localhost only (the 0.120 default).
      health_check: { endpoint: `0.0.0.0:${LOG_AGENT.healthPort}` },
      // Read offsets survive container restarts: no lost or repeated lines.
      file_storage: { directory: LOG_AGENT.storageDir },
    },
    receivers: {
      filelog: {
        include: podLogGlobs(stack),
        start_at: 'end',
        include_file_path: true,
        include_file_name: false,
        storage: 'file_storage',
        // Parses the CRI/docker line format and adds k8s.namespace.name, k8s.pod.name,
        // k8s.container.name from the file path, without Kubernetes API access.
        operators: [{ type: 'container', id: 'container-parser' }],
      },
      hostmetrics: {
        collection_interval: '30s',
        // The node's root filesystem, mounted read-only: the scrapers read its /proc and /sys.
        root_path: LOG_AGENT.hostRoot,
        scrapers: {
          cpu: {},
          memory: {},
          load: {},
          disk: {},
          network: {},
          filesystem: {
            exclude_fs_types: {
              match_type: 'strict',
              fs_types: [
                'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devpts', 'devtmpfs',
                'fusectl', 'hugetlbfs', 'mqueue', 'nsfs', 'overlay', 'proc', 'procfs', 'pstore', 'rpc_pipefs',
                'securityfs', 'selinuxfs', 'squashfs', 'sysfs', 'tmpfs', 'tracefs',
              ],
            },
            exclude_mount_points: {
              match_type: 'regexp',
              mount_points: ['/dev/.*', '/proc/.*', '/sys/.*', '/run/.*', '/var/lib/docker/.*', '/var/lib/kubelet/.*', '/snap/.*'],
            },
          },
        },
      },
    },
    processors: {
      memory_limiter: { check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 25 },
      resource: {
        attributes: [
          { key: 'k8s.node.name', value: env(LOG_AGENT.env.nodeName), action: 'upsert' },
          { key: 'webstack.namespace', value: stackNamespace(stack), action: 'upsert' },
          { key: 'webstack.name', value: stack.metadata.name, action: 'upsert' },
        ],
      },
      batch: {},
    },
    exporters: {
      [sink]: sinkExporter(stack),
      // Node metrics are always scrapeable here, whatever the sink accepts.
      prometheus: { endpoint: `0.0.0.0:${LOG_AGENT.hostMetricsPort}` },
    },
    service: {
      extensions: ['health_check', 'file_storage'],
      pipelines: {
        logs: { receivers: ['filelog'], processors, exporters: [sink] },
        metrics: {
          receivers: ['hostmetrics'],
          processors,
          exporters: METRIC_SINKS.has(sinkType) ? ['prometheus', sink] : ['prometheus'],
        },
      },
    },
  };
  const header = `# Log agent for WebStack ${stackNamespace(stack)}/${stack.metadata.name} (sink ${sinkType})\n# Rendered by webstack-operator; edits are overwritten.\n`;
  // No YAML anchors for the shared processor list: plain YAML reads the same everywhere.
  return header + stringify(config, { lineWidth: 0, aliasDuplicateObjects: false });
}
