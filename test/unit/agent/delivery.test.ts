/** Delivery verdicts from the agent's own exporter metrics (operator/agent/delivery.ts). */
import { describe, expect, it } from '@jest/globals';
import { DeliveryMonitor, judge, parseExporterMetrics, type ExporterHistory, type ExporterSample } from '../../../operator/agent/delivery.js';
import { withDefaults } from '../../../operator/api/defaults.js';
import { agentRoute, routeIds } from '../../../operator/blueprint/agent.js';
import { example } from '../../support/render.js';

const PAGE = `# HELP otelcol_exporter_sent_log_records Number of log record successfully sent to destination.
# TYPE otelcol_exporter_sent_log_records counter
otelcol_exporter_sent_log_records{exporter="otlp_http/shop-one-1a2b3c4d",service_name="otelcol-webstack"} 120
otelcol_exporter_sent_metric_points_total{exporter="otlp_http/shop-one-1a2b3c4d"} 30
otelcol_exporter_send_failed_log_records{exporter="otlp_http/shop-one-1a2b3c4d"} 0
otelcol_exporter_queue_size{data_type="logs",exporter="otlp_http/shop-one-1a2b3c4d"} 2
otelcol_exporter_queue_size{data_type="metrics",exporter="otlp_http/shop-one-1a2b3c4d"} 1
otelcol_exporter_in_flight_requests{data_type="logs",exporter="otlp_http/shop-one-1a2b3c4d"} 1
otelcol_exporter_sent_log_records{exporter="debug/blog-two-5e6f7a8b"} 7
otelcol_process_uptime 12
`;

const sample = (sent: number, failed: number, waiting: number): ExporterSample => ({ sent, failed, waiting });

function run(samples: ExporterSample[]): ExporterHistory[] {
  const out: ExporterHistory[] = [];
  for (const s of samples) out.push(judge(out[out.length - 1], s));
  return out;
}

describe('the agent exporter metrics', () => {
  it('are summed per exporter over signals and pods', () => {
    const pod1 = parseExporterMetrics(PAGE);
    expect(pod1.get('otlp_http/shop-one-1a2b3c4d')).toEqual(sample(150, 0, 4));
    expect(parseExporterMetrics(PAGE, pod1).get('debug/blog-two-5e6f7a8b')).toEqual(sample(14, 0, 0));
  });
});

describe('the delivery verdict', () => {
  it('is fine while the sink accepts records, however much waits', () => {
    expect(run([sample(10, 0, 3), sample(20, 0, 5), sample(30, 0, 8)]).map((h) => h.verdict.state === 'failing')).toEqual([false, false, false]);
  });

  it('fails after two samples with work waiting and nothing accepted, and recovers when records go out', () => {
    const h = run([sample(10, 0, 0), sample(10, 0, 1), sample(10, 0, 2), sample(10, 0, 3), sample(40, 0, 0)]);
    expect(h.map((x) => x.verdict.state === 'failing')).toEqual([false, false, true, true, false]);
    expect(h[2]?.verdict.message).toMatch(/retries and keeps the batches on disk/);
  });

  it('is fine when nothing is sent because nothing is written', () => {
    expect(run([sample(10, 0, 0), sample(10, 0, 0), sample(10, 0, 0)]).map((h) => h.verdict.state === 'failing')).toEqual([false, false, false]);
  });

  it('fails when records were dropped since the last sample', () => {
    expect(run([sample(10, 0, 0), sample(12, 5, 0)]).map((h) => h.verdict.state === 'failing')).toEqual([false, true]);
  });

  it('takes counters that went down (a restarted agent pod) as a fresh start, not as drops', () => {
    expect(run([sample(100, 50, 0), sample(3, 1, 0)]).map((h) => h.verdict.state === 'failing')).toEqual([false, true]);
    expect(run([sample(100, 50, 0), sample(3, 0, 0)]).map((h) => h.verdict.state === 'failing')).toEqual([false, false]);
  });
});

describe('the delivery monitor', () => {
  const stack = withDefaults(example('full'));
  const exporter = routeIds(agentRoute(stack)).exporter;
  const page = (sent: number) => `otelcol_exporter_sent_log_records{exporter="${exporter}"} ${String(sent)}\n`;
  const pods = { items: [{ metadata: { name: 'agent-a' }, status: { podIP: '10.244.1.7', phase: 'Running' } }] };

  it('reports a stack unread while no agent pod\'s metrics can be read, never its last verdict, and tells the stack when that changes', async () => {
    let answer: () => Promise<string> = () => Promise.resolve(page(10));
    const woken: string[] = [];
    const monitor = new DeliveryMonitor({
      client: { request: () => Promise.resolve(pods) },
      agentNamespace: 'agents',
      stacks: () => [stack],
      onChange: (key) => void woken.push(key),
      fetchText: () => answer(),
    });
    const key = [stack.metadata.namespace ?? '', stack.metadata.name] as const;
    expect(monitor.verdict(...key)).toBeUndefined();
    await monitor.sample();
    expect(monitor.verdict(...key)?.state).toBe('accepted');
    answer = () => Promise.reject(new Error('connect ECONNREFUSED 10.244.1.7:8888'));
    await monitor.sample();
    expect(monitor.verdict(...key)).toEqual({ state: 'unread', message: expect.stringContaining("none of the 1 agent pods' metrics could be read: Error: connect ECONNREFUSED") as unknown });
    expect(woken.length).toBeGreaterThan(0);
    answer = () => Promise.resolve('otelcol_process_uptime 12\n');
    await monitor.sample();
    expect(monitor.verdict(...key)?.state).toBe('accepted');
    expect(monitor.verdict('elsewhere', 'nothing')).toBeUndefined();
  });
});
