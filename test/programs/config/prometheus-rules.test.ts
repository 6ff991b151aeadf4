import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import type { WebStack } from '../../../operator/api/types.js';
import {
  QPS_BASELINE_RECORD,
  QPS_RECORD,
  renderPrometheusRuleGroups,
  type AlertingRule,
  type RuleGroup,
} from '../../../operator/render/config/prometheus-rules.js';
import { Sandbox, examplesInEveryMode, inMode, requireProgram, run } from '../../support/configs.js';

/** A small stack whose thresholds the synthetic series below are built around. */
const stack: WebStack = {
  apiVersion: 'webstack.dev/v1alpha1',
  kind: 'WebStack',
  metadata: { name: 'foobar', namespace: 'shop' },
  spec: {
    domain: 'www.foobar.com',
    tls: { issuerRef: { name: 'letsencrypt' } },
    app: { image: 'ghcr.io/acme/shop:1.0.0' },
    monitoring: { qps: { spikeFactor: 3, dropFactor: 0.3, window: '1h', minimumQPS: 1 } },
  },
};

/** Two load balancer pods named like the pods of the `foobar-lb` Deployment, sharing the traffic. */
const LB_PODS = ['foobar-lb-7d9f8c6b5-abcde', 'foobar-lb-7d9f8c6b5-fghij'];

/**
 * promtool series notation for a counter sampled every minute that grows by `qps` (for the whole
 * stack, split over the LB pods) for the given number of minutes, segment after segment.
 */
function counterSeries(segments: [qps: number, minutes: number][]): string {
  const parts: string[] = [];
  let value = 0;
  segments.forEach(([qps, minutes], i) => {
    const step = (qps * 60) / LB_PODS.length;
    // The first segment includes the sample at t=0; each later one starts one step after the previous end.
    const start = i === 0 ? 0 : value + step;
    const samples = i === 0 ? minutes : minutes - 1;
    parts.push(`${start}+${step}x${samples}`);
    value = start + step * samples;
  });
  return parts.join(' ');
}

function requestSeries(segments: [qps: number, minutes: number][]) {
  return LB_PODS.map((pod) => ({
    series: `haproxy_frontend_http_requests_total{namespace="shop", pod="${pod}", proxy="https"}`,
    values: counterSeries(segments),
  }));
}

function findAlert(groups: RuleGroup[], name: string): AlertingRule {
  for (const rule of groups.flatMap((g) => g.rules)) {
    if ('alert' in rule && rule.alert === name) return rule;
  }
  throw new Error(`no alert ${name}`);
}

const rulesFileFor = (groups: RuleGroup[]): string => stringify({ groups });

describe('Prometheus rules', () => {
  let sandbox: Sandbox;

  beforeAll(() => {
    requireProgram('promtool');
    sandbox = new Sandbox();
  });

  afterAll(() => {
    sandbox.remove();
  });

  it.each(examplesInEveryMode())('%s in %s mode passes promtool check rules', (label, mode, defaulted) => {
    const file = sandbox.write(`rules-${label.replace(/\W+/g, '-')}-${mode}.yaml`, rulesFileFor(renderPrometheusRuleGroups(defaulted)));
    const result = run('promtool', ['check', 'rules', file]);
    expect(result.status).toBe(0);
    expect(result.output).toContain('SUCCESS');
  });

  it('labels and annotates every alert with its stack', () => {
    for (const [, , defaulted] of examplesInEveryMode()) {
      for (const rule of renderPrometheusRuleGroups(defaulted).flatMap((g) => g.rules)) {
        if (!('alert' in rule)) continue;
        expect(rule.labels?.severity).toMatch(/^(critical|warning)$/);
        expect(rule.labels?.webstack).toBe(defaulted.metadata.name);
        expect(rule.annotations?.summary).toContain(defaulted.metadata.name);
        expect(rule.annotations?.description).toContain(defaulted.metadata.name);
      }
    }
  });

  it('counts TLS connections instead of requests in passthrough mode', () => {
    const qps = (mode: 'reencrypt' | 'passthrough') =>
      renderPrometheusRuleGroups(inMode(stack, mode))
        .flatMap((g) => g.rules)
        .find((r) => 'record' in r && r.record === QPS_RECORD)?.expr;
    expect(qps('reencrypt')).toContain('haproxy_frontend_http_requests_total{namespace="shop", pod=~"foobar-lb-[a-z0-9]+-[a-z0-9]+", proxy="https"}');
    expect(qps('passthrough')).toContain('haproxy_frontend_connections_total{');
  });

  it('renders no rules when monitoring is disabled', () => {
    const off = inMode({ ...stack, spec: { ...stack.spec, monitoring: { enabled: false } } }, 'reencrypt');
    expect(renderPrometheusRuleGroups(off)).toEqual([]);
  });

  it('promtool test rules: spikes and drops alert, steady or tiny traffic does not', () => {
    const groups = renderPrometheusRuleGroups(inMode(stack, 'reencrypt'));
    sandbox.write('rules.yaml', rulesFileFor(groups));
    const labels = { severity: 'warning', namespace: 'shop', webstack: 'foobar' };
    /** The alert as promtool should see it: its labels, `by` labels and its annotations with `values` filled in. */
    const expected = (alert: string, severity: string, by: Record<string, string>, values: Record<string, string>) => {
      const rule = findAlert(groups, alert);
      const description = Object.entries(values).reduce((text, [placeholder, value]) => text.replace(placeholder, value), rule.annotations?.description ?? '');
      return { exp_labels: { ...labels, ...by, severity }, exp_annotations: { ...rule.annotations, description } };
    };
    /** A QPS alert, its ratio filled in. */
    const annotated = (alert: string, value: string) => expected(alert, 'warning', {}, { '{{ printf "%.2f" $value }}': value });
    const quiet = (evalTime: string) => [
      { eval_time: evalTime, alertname: 'WebStackQPSSpike', exp_alerts: [] },
      { eval_time: evalTime, alertname: 'WebStackQPSDrop', exp_alerts: [] },
    ];
    const tests = [
      {
        name: 'a tenfold spike after two steady hours fires WebStackQPSSpike',
        interval: '1m',
        input_series: requestSeries([
          [1, 120],
          [10, 30],
        ]),
        alert_rule_test: [
          ...quiet('120m'),
          { eval_time: '130m', alertname: 'WebStackQPSSpike', exp_alerts: [annotated('WebStackQPSSpike', '10.00')] },
          { eval_time: '130m', alertname: 'WebStackQPSDrop', exp_alerts: [] },
        ],
        promql_expr_test: [
          { expr: QPS_RECORD, eval_time: '100m', exp_samples: [{ labels: `${QPS_RECORD}{namespace="shop", webstack="foobar"}`, value: 1 }] },
          { expr: QPS_BASELINE_RECORD, eval_time: '100m', exp_samples: [{ labels: `${QPS_BASELINE_RECORD}{namespace="shop", webstack="foobar"}`, value: 1 }] },
        ],
      },
      {
        name: 'traffic falling to a twentieth fires WebStackQPSDrop',
        interval: '1m',
        input_series: requestSeries([
          [10, 120],
          [0.5, 30],
        ]),
        alert_rule_test: [
          ...quiet('120m'),
          { eval_time: '130m', alertname: 'WebStackQPSDrop', exp_alerts: [annotated('WebStackQPSDrop', '0.50')] },
          { eval_time: '130m', alertname: 'WebStackQPSSpike', exp_alerts: [] },
        ],
      },
      {
        name: 'steady traffic fires neither',
        interval: '1m',
        input_series: requestSeries([[10, 150]]),
        alert_rule_test: [...quiet('60m'), ...quiet('130m'), ...quiet('150m')],
      },
      {
        name: 'a spike that stays below minimumQPS fires neither',
        interval: '1m',
        input_series: requestSeries([
          [0.2, 120],
          [0.9, 30],
        ]),
        alert_rule_test: [...quiet('125m'), ...quiet('130m'), ...quiet('140m')],
      },
      {
        name: 'a drop from a baseline below minimumQPS fires neither',
        interval: '1m',
        input_series: requestSeries([
          [0.6, 120],
          [0.01, 30],
        ]),
        alert_rule_test: [...quiet('125m'), ...quiet('130m'), ...quiet('140m')],
      },
      // At the configured factors (3 and 0.3), not at 95% of them; the baseline leaves the
      // anomaly out, so a sustained 3.7x spike and a drop to 0.28x fire too.
      ...(
        [
          ['WebStackQPSSpike', 30, true],
          ['WebStackQPSSpike', 28.5, false],
          ['WebStackQPSSpike', 37, true],
          ['WebStackQPSDrop', 3, true],
          ['WebStackQPSDrop', 3.16, false],
          ['WebStackQPSDrop', 2.8, true],
        ] as const
      ).map(([alertname, qps, fires]) => ({
        name: `from 10 to ${qps} requests/s ${fires ? 'fires' : 'does not fire'} ${alertname}`,
        interval: '1m',
        input_series: requestSeries([
          [10, 120],
          [qps, 30],
        ]),
        alert_rule_test: [
          ...quiet('120m'),
          { eval_time: '130m', alertname, exp_alerts: fires ? [annotated(alertname, qps.toFixed(2))] : [] },
          ...(fires ? [] : [{ eval_time: '140m', alertname, exp_alerts: [] }]),
          { eval_time: '130m', alertname: alertname === 'WebStackQPSSpike' ? 'WebStackQPSDrop' : 'WebStackQPSSpike', exp_alerts: [] },
        ],
      })),
      {
        name: 'every load balancer series gone fires WebStackQPSAbsent',
        interval: '1m',
        input_series: requestSeries([[10, 120]]),
        alert_rule_test: [
          { eval_time: '119m', alertname: 'WebStackQPSAbsent', exp_alerts: [] },
          {
            eval_time: '135m',
            alertname: 'WebStackQPSAbsent',
            exp_alerts: [expected('WebStackQPSAbsent', 'critical', {}, {})],
          },
        ],
      },
      {
        name: 'steady traffic never fires WebStackQPSAbsent',
        interval: '1m',
        input_series: requestSeries([[10, 150]]),
        alert_rule_test: [
          { eval_time: '60m', alertname: 'WebStackQPSAbsent', exp_alerts: [] },
          { eval_time: '149m', alertname: 'WebStackQPSAbsent', exp_alerts: [] },
        ],
      },
      {
        name: 'a stopped replication thread fires WebStackMySQLReplicationBroken',
        interval: '1m',
        input_series: [
          { series: 'mysql_slave_status_replica_io_running{namespace="shop", pod="foobar-mysql-1"}', values: '1x10 0x20' },
          { series: 'mysql_slave_status_replica_sql_running{namespace="shop", pod="foobar-mysql-1"}', values: '1x30' },
          // Another stack's replica in the same namespace must not alert for this one.
          { series: 'mysql_slave_status_replica_io_running{namespace="shop", pod="foobar-other-mysql-1"}', values: '0x30' },
        ],
        alert_rule_test: [
          { eval_time: '10m', alertname: 'WebStackMySQLReplicationBroken', exp_alerts: [] },
          {
            eval_time: '20m',
            alertname: 'WebStackMySQLReplicationBroken',
            exp_alerts: [expected('WebStackMySQLReplicationBroken', 'critical', { pod: 'foobar-mysql-1' }, { '{{ $labels.pod }}': 'foobar-mysql-1' })],
          },
        ],
      },
      {
        name: 'commits waiting for a replica ack fire WebStackMySQLWaitingForAcks after a minute',
        interval: '1m',
        input_series: [
          { series: 'mysql_global_status_rpl_semi_sync_master_wait_sessions{namespace="shop", pod="foobar-mysql-0"}', values: '0x10 2x10' },
          // MySQL 8.4's name for it; and a replica that never has waiting sessions.
          { series: 'mysql_global_status_rpl_semi_sync_source_wait_sessions{namespace="shop", pod="foobar-mysql-1"}', values: '0x20' },
        ],
        alert_rule_test: [
          { eval_time: '10m', alertname: 'WebStackMySQLWaitingForAcks', exp_alerts: [] },
          // Waiting since 11m: not yet after 30 s of it, firing after the minute of `for`.
          { eval_time: '11m', alertname: 'WebStackMySQLWaitingForAcks', exp_alerts: [] },
          {
            eval_time: '13m',
            alertname: 'WebStackMySQLWaitingForAcks',
            exp_alerts: [expected('WebStackMySQLWaitingForAcks', 'critical', { pod: 'foobar-mysql-0' }, { '{{ $value }}': '2', '{{ $labels.pod }}': 'foobar-mysql-0' })],
          },
        ],
      },
      {
        name: 'one database instance of two left fires WebStackDatabaseNoRedundancy after five minutes',
        interval: '1m',
        input_series: [
          { series: 'mysql_up{namespace="shop", pod="foobar-mysql-0"}', values: '1x30' },
          { series: 'mysql_up{namespace="shop", pod="foobar-mysql-1"}', values: '1x10 0x20' },
          { series: 'mysql_up{namespace="shop", pod="foobar-other-mysql-0"}', values: '1x30' },
        ],
        alert_rule_test: [
          { eval_time: '10m', alertname: 'WebStackDatabaseNoRedundancy', exp_alerts: [] },
          { eval_time: '14m', alertname: 'WebStackDatabaseNoRedundancy', exp_alerts: [] },
          { eval_time: '20m', alertname: 'WebStackDatabaseNoRedundancy', exp_alerts: [expected('WebStackDatabaseNoRedundancy', 'critical', {}, { '{{ $value }}': '1' })] },
        ],
      },
      {
        name: 'a data volume with 5 % free fires WebStackDatabaseDiskNearlyFull, one with 50 % does not',
        interval: '1m',
        input_series: [
          { series: 'kubelet_volume_stats_available_bytes{namespace="shop", persistentvolumeclaim="data-foobar-mysql-0"}', values: '50x10 5x20' },
          { series: 'kubelet_volume_stats_capacity_bytes{namespace="shop", persistentvolumeclaim="data-foobar-mysql-0"}', values: '100x30' },
          { series: 'kubelet_volume_stats_available_bytes{namespace="shop", persistentvolumeclaim="data-foobar-mysql-1"}', values: '50x30' },
          { series: 'kubelet_volume_stats_capacity_bytes{namespace="shop", persistentvolumeclaim="data-foobar-mysql-1"}', values: '100x30' },
        ],
        alert_rule_test: [
          { eval_time: '10m', alertname: 'WebStackDatabaseDiskNearlyFull', exp_alerts: [] },
          {
            eval_time: '20m',
            alertname: 'WebStackDatabaseDiskNearlyFull',
            exp_alerts: [
              expected('WebStackDatabaseDiskNearlyFull', 'warning', { persistentvolumeclaim: 'data-foobar-mysql-0' }, {
                '{{ $labels.persistentvolumeclaim }}': 'data-foobar-mysql-0',
                '{{ $value | humanizePercentage }}': '5%',
              }),
            ],
          },
        ],
      },
      {
        name: "a failover counted by the operator (scraped in its own namespace) fires WebStackDatabaseFailedOver for an hour; another stack's does not",
        interval: '1m',
        input_series: [
          { series: 'webstack_database_failovers_total{exported_namespace="shop", name="foobar"}', values: '0x10 1x80' },
          { series: 'webstack_database_failovers_total{exported_namespace="shop", name="other"}', values: '0x5 1x85' },
        ],
        alert_rule_test: [
          { eval_time: '9m', alertname: 'WebStackDatabaseFailedOver', exp_alerts: [] },
          { eval_time: '30m', alertname: 'WebStackDatabaseFailedOver', exp_alerts: [expected('WebStackDatabaseFailedOver', 'warning', {}, { '{{ printf "%.0f" $value }}': '1' })] },
          { eval_time: '80m', alertname: 'WebStackDatabaseFailedOver', exp_alerts: [] },
        ],
      },
    ];
    const testFile = sandbox.write('rules.test.yaml', stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }));
    const result = run('promtool', ['test', 'rules', testFile], { cwd: sandbox.root });
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });
});
