/**
 * Monitoring tier (prometheus-operator): a PodMonitor per tier that exposes metrics, and the
 * PrometheusRule with the QPS and health alerts. PodMonitors rather than ServiceMonitors because
 * every metrics port is per pod (a Service would load-balance scrapes across pods) and the LB's
 * Service is public: adding its stats port there would publish it. The rules select series by
 * `namespace` and `pod`, the labels a PodMonitor attaches.
 */
import { OPTIONAL_APIS } from '../api/identity.js';
import { HAPROXY } from '../blueprint/layout.js';
import { renderPrometheusRuleGroups } from './config/prometheus-rules.js';
import { customResource, meta, type RenderContext } from './context.js';
import { selectorLabels, type Component } from '../blueprint/names.js';

const MONITORING_API = OPTIONAL_APIS.prometheusOperator.apiVersion;

export function renderMonitoring(ctx: RenderContext): void {
  const { spec, names: n } = ctx;
  if (!ctx.facts.prometheusOperator || !spec.monitoring.enabled) return;
  // The labels the user's Prometheus selects monitors and rules by.
  const labels = spec.monitoring.labels;

  const podMonitor = (name: string, component: Component, port: string, path: string) => {
    customResource(ctx, 'monitoring', { apiVersion: MONITORING_API, kind: 'PodMonitor' }, meta(ctx, name, component, { labels }), {
      spec: {
        selector: { matchLabels: selectorLabels(ctx.name, component) },
        podMetricsEndpoints: [{ port, path, interval: '30s', scheme: 'http' }],
      },
    });
  };
  podMonitor(n.lb, 'loadbalancer', 'stats', HAPROXY.metricsPath);
  podMonitor(n.web, 'web', 'metrics', '/metrics');
  podMonitor(n.mysql, 'database', 'metrics', '/metrics');

  customResource(ctx, 'monitoring', { apiVersion: MONITORING_API, kind: 'PrometheusRule' }, meta(ctx, n.rules, 'monitoring', { labels }), {
    spec: { groups: renderPrometheusRuleGroups(ctx.stack, ctx.plan) },
  });
}
