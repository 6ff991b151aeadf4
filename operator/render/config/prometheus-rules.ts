/**
 * Prometheus recording and alerting rules of one WebStack, for its PrometheusRule. Pure.
 *
 * Every expression selects the stack's series by `namespace` and pod name, the two labels that a
 * PodMonitor or ServiceMonitor always attaches. Deployment pods are named `<deployment>-<hash>-<hash>`
 * and StatefulSet pods `<statefulset>-<ordinal>`; PromQL regexes are anchored, so stack `foo`
 * does not pick up the pods of a stack called `foo-lb`.
 */
import type { DefaultedWebStack } from '../../api/defaults.js';
import { names } from '../../blueprint/names.js';
import { stackPlan, type StackPlan } from '../../blueprint/plan.js';
import { DATA_VOLUME, stackNamespace } from '../../blueprint/layout.js';

export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export type Rule = RecordingRule | AlertingRule;

export interface RuleGroup {
  name: string;
  rules: Rule[];
}

/** Client requests per second at the LB (TLS connections per second in passthrough mode). */
export const QPS_RECORD = 'webstack:haproxy_requests:rate2m';
/**
 * The moving baseline: the average of QPS_RECORD over spec.monitoring.qps.window, ending
 * BASELINE_OFFSET ago. The offset keeps an anomaly out of the average it is compared with until its
 * alert has fired (2m of rate plus 5m of `for`): averaged in at once, a sustained 3.7x spike never
 * reaches 3x a baseline that already holds it.
 */
export const QPS_BASELINE_RECORD = 'webstack:haproxy_requests:rate2m_baseline';
export const BASELINE_OFFSET = '10m';

/** Share of 5xx responses that alerts; only above the minimumQPS floor, where a ratio means something. */
const ERROR_RATIO = 0.05;
const REPLICATION_LAG_SECONDS = 30;
const CERT_EXPIRY_DAYS = 14;
/** Share of a data volume left free below which its disk alert fires. */
const DISK_FREE_RATIO = 0.1;

export function renderPrometheusRuleGroups(stack: DefaultedWebStack, { tls }: StackPlan = stackPlan(stack)): RuleGroup[] {
  if (!stack.spec.monitoring.enabled) return [];
  const name = stack.metadata.name;
  const ns = stackNamespace(stack);
  const n = names(name);
  const { spikeFactor, dropFactor, window, minimumQPS } = stack.spec.monitoring.qps;
  // Passthrough: the LB sees TLS connections, not HTTP requests.
  const passthrough = tls.publicTlsAt === 'web';
  const stackLabel = `WebStack ${ns}/${name}`;

  const lb = `namespace="${ns}", pod=~"${n.lb}-[a-z0-9]+-[a-z0-9]+"`;
  const db = `namespace="${ns}", pod=~"${n.mysql}-[0-9]+"`;
  const recorded = `{namespace="${ns}", webstack="${name}"}`;
  const qps = `${QPS_RECORD}${recorded}`;
  const baseline = `${QPS_BASELINE_RECORD}${recorded}`;
  const certificates = [n.tlsSecret, n.caCertificate, n.lbTlsSecret, n.webTlsSecret, n.appTlsSecret, n.mysqlTlsSecret].join('|');

  // The frontend named `https` carries all client traffic; `http` only answers redirects. In
  // passthrough mode it is a TCP frontend without HTTP counters, so connections stand in for requests.
  const frontendCounter = passthrough ? 'haproxy_frontend_connections_total' : 'haproxy_frontend_http_requests_total';
  const unit = passthrough ? 'TLS connections/s' : 'requests/s';

  const alert = (
    rule: string,
    severity: 'critical' | 'warning',
    expr: string,
    forDuration: string,
    summary: string,
    description: string,
  ): AlertingRule => ({
    alert: rule,
    expr,
    for: forDuration,
    labels: { severity, namespace: ns, webstack: name },
    annotations: { summary: `${stackLabel}: ${summary}`, description },
  });

  const qpsGroup: RuleGroup = {
    name: `webstack.${ns}.${name}.qps`,
    rules: [
      {
        record: QPS_RECORD,
        expr: `sum by (namespace) (rate(${frontendCounter}{${lb}, proxy="https"}[2m]))`,
        labels: { webstack: name },
      },
      { record: QPS_BASELINE_RECORD, expr: `avg_over_time(${qps}[${window}] offset ${BASELINE_OFFSET})` },
      // At the factor itself the alert fires (>=, <=): "3 times the baseline" is a spike of 3x.
      alert(
        'WebStackQPSSpike',
        'warning',
        `${qps} >= ${spikeFactor} * ${baseline} and ${qps} >= ${minimumQPS}`,
        '5m',
        'traffic spike',
        `${stackLabel} receives {{ printf "%.2f" $value }} ${unit}, more than ${spikeFactor} times its ${window} average.`,
      ),
      alert(
        'WebStackQPSDrop',
        'warning',
        `${qps} <= ${dropFactor} * ${baseline} and ${baseline} >= ${minimumQPS}`,
        '5m',
        'traffic drop',
        `${stackLabel} receives {{ printf "%.2f" $value }} ${unit}, less than ${dropFactor} times its ${window} average.`,
      ),
      // When every LB pod is gone (or no longer scraped) the request rate has no series at all, so
      // neither comparison above can fire: alert when it had samples in the window and has none now.
      alert(
        'WebStackQPSAbsent',
        'critical',
        `count_over_time(${qps}[${window}]) unless on (namespace, webstack) ${qps}`,
        '5m',
        'no request rate',
        `No load balancer pod of ${stackLabel} reports a request rate any more: they are all gone, or no longer scraped.`,
      ),
    ],
  };

  const errorRatio = alert(
    'WebStackHighErrorRate',
    'critical',
    `(sum by (namespace) (rate(haproxy_frontend_http_responses_total{${lb}, proxy="https", code="5xx"}[5m]))` +
      ` / sum by (namespace) (rate(haproxy_frontend_http_requests_total{${lb}, proxy="https"}[5m])))` +
      ` > ${ERROR_RATIO} and on (namespace) ${qps} >= ${minimumQPS}`,
    '10m',
    'many 5xx responses',
    `{{ $value | humanizePercentage }} of the responses of ${stackLabel} are server errors.`,
  );

  /** The database's own alerts beside the exporter's (after CloudNativePG's set). */
  function databaseAlerts(): AlertingRule[] {
    const instances = stack.spec.database.replicas;
    const claims = `namespace="${ns}", persistentvolumeclaim=~"${DATA_VOLUME}-${n.mysql}-[0-9]+"`;
    // The operator's series name the stack in `namespace` and `name`; scraped in the operator's own
    // namespace, their `namespace` arrives as exported_namespace unless honorLabels keeps it.
    const failovers = (label: string) => `increase(webstack_database_failovers_total{${label}="${ns}", name="${name}"}[1h])`;
    return [
      // One instance left holds every acknowledged commit alone: the next failure loses data or writes.
      ...(instances >= 2
        ? [
            alert(
              'WebStackDatabaseNoRedundancy',
              'critical',
              `sum by (namespace) (mysql_up{${db}}) < 2`,
              '5m',
              'one database instance left',
              `Only {{ $value }} of the ${instances} database instances of ${stackLabel} answer: the next failure loses writes, or data.`,
            ),
          ]
        : []),
      // The kubelet's volume statistics (scraped by most cluster monitoring setups, not by the stack's monitors).
      alert(
        'WebStackDatabaseDiskNearlyFull',
        'warning',
        `min by (persistentvolumeclaim) (kubelet_volume_stats_available_bytes{${claims}} / kubelet_volume_stats_capacity_bytes{${claims}}) < ${DISK_FREE_RATIO}`,
        '5m',
        'database volume nearly full',
        `Volume {{ $labels.persistentvolumeclaim }} of ${stackLabel} has {{ $value | humanizePercentage }} free; a full one stops its server.`,
      ),
      alert(
        'WebStackDatabaseFailedOver',
        'warning',
        `sum(${failovers('exported_namespace')} or ${failovers('namespace')}) > 0.5`,
        '0m',
        'the primary failed over',
        `The primary of ${stackLabel} failed over in the last hour ({{ printf "%.0f" $value }} times): status.database and the WebStack's Events say why.`,
      ),
    ];
  }

  const healthGroup: RuleGroup = {
    name: `webstack.${ns}.${name}.health`,
    rules: [
      // HAProxy only sees response codes when it terminates TLS.
      ...(passthrough ? [] : [errorRatio]),
      alert(
        'WebStackNoHealthyWebServers',
        'critical',
        `haproxy_backend_active_servers{${lb}, proxy="web"} == 0`,
        '2m',
        'no healthy web server',
        `Load balancer pod {{ $labels.pod }} of ${stackLabel} has no healthy Nginx server to send requests to.`,
      ),
      alert(
        'WebStackWebServersDown',
        'warning',
        `min by (namespace) (haproxy_backend_active_servers{${lb}, proxy="web"}) < ${stack.spec.web.replicas}`,
        '15m',
        'web servers down',
        `Only {{ $value }} of the ${stack.spec.web.replicas} Nginx servers of ${stackLabel} pass the load balancer's health checks.`,
      ),
      alert(
        'WebStackMySQLDown',
        'critical',
        `mysql_up{${db}} == 0`,
        '2m',
        'MySQL down',
        `The exporter of {{ $labels.pod }} of ${stackLabel} cannot reach MySQL.`,
      ),
      // mysqld_exporter names the metrics after SHOW REPLICA STATUS columns (Replica_IO_Running on
      // MySQL 8.4) or, where it still answers, SHOW SLAVE STATUS (Slave_IO_Running): accept both.
      alert(
        'WebStackMySQLReplicationBroken',
        'critical',
        `min by (namespace, pod) ({__name__=~"mysql_slave_status_(replica|slave)_(io|sql)_running", ${db}}) == 0`,
        '5m',
        'MySQL replication stopped',
        `Replication on {{ $labels.pod }} of ${stackLabel} is not running; the replica no longer follows the primary.`,
      ),
      alert(
        'WebStackMySQLReplicationLag',
        'warning',
        `max by (namespace, pod) ({__name__=~"mysql_slave_status_seconds_behind_(source|master)", ${db}}) > ${REPLICATION_LAG_SECONDS}`,
        '5m',
        'MySQL replica lagging',
        `{{ $labels.pod }} of ${stackLabel} is {{ $value | humanizeDuration }} behind the primary.`,
      ),
      // Semi-sync never degrades to asynchronous (a timeout of days, docs/database.md): a primary
      // with no replica to acknowledge holds every commit instead, and this says so. The status
      // variable is Rpl_semi_sync_master_wait_sessions on MariaDB, ..._source_... on MySQL 8.4.
      alert(
        'WebStackMySQLWaitingForAcks',
        'critical',
        `max by (namespace, pod) ({__name__=~"mysql_global_status_rpl_semi_sync_(source|master)_wait_sessions", ${db}}) > 0`,
        '1m',
        'MySQL commits wait for a replica',
        `{{ $value }} commits on the primary {{ $labels.pod }} of ${stackLabel} wait for a replica to acknowledge them: writes hang until a replica is back (status.database says which are down).`,
      ),
      ...databaseAlerts(),
      // cert-manager is scraped in its own namespace, so the certificate's namespace usually
      // arrives as exported_namespace; with honorLabels it stays `namespace`.
      alert(
        'WebStackCertificateExpiring',
        'warning',
        `min by (name) (certmanager_certificate_expiration_timestamp_seconds{exported_namespace="${ns}", name=~"${certificates}"}` +
          ` or certmanager_certificate_expiration_timestamp_seconds{namespace="${ns}", name=~"${certificates}"})` +
          ` - time() < ${CERT_EXPIRY_DAYS} * 86400`,
        '1h',
        'certificate expires soon',
        `Certificate {{ $labels.name }} of ${stackLabel} expires in {{ $value | humanizeDuration }} and has not been renewed.`,
      ),
    ],
  };

  return [qpsGroup, healthGroup];
}
