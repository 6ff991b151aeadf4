/**
 * Delivery, as the shared log agent reports it: every agent pod exposes the collector's own
 * metrics (LOG_AGENT.telemetryPort), per exporter, so per stack:
 *
 *   otelcol_exporter_sent_log_records / _sent_metric_points         accepted by the sink
 *   otelcol_exporter_send_failed_log_records / _metric_points       dropped for good
 *   otelcol_exporter_queue_size, otelcol_exporter_in_flight_requests waiting or being retried
 *
 * A stack's delivery fails when records were dropped since the last sample, or when batches
 * wait (queued or in flight) while nothing is accepted, on two samples in a row: with the
 * sending queue and endless retries (config/log-agent.ts), an unreachable sink shows as work
 * that waits, not as drops. A sample is taken every SAMPLE_MS, so an outage is reported within
 * about 2 x SAMPLE_MS of the first batch that could not go out.
 *
 * judge() is pure; DeliveryMonitor does the I/O (list the agent pods, GET their metrics).
 */
import { keyOf } from '../api/keys.js';
import type { KubeClient } from '../kube/client.js';
import { LOG_AGENT } from '../blueprint/layout.js';
import { routeIds } from '../blueprint/agent.js';
import { agentRoute, agentSelector } from '../blueprint/agent.js';
import type { DefaultedWebStack } from '../api/defaults.js';
import type { LogDelivery } from '../blueprint/agent.js';

export const SAMPLE_MS = 10_000;
const SCRAPE_TIMEOUT_MS = 3_000;

/** Sums over an exporter's series (all pods, all signals). */
export interface ExporterSample {
  sent: number;
  failed: number;
  /** Batches queued plus requests in flight. */
  waiting: number;
}

const SERIES = /^otelcol_exporter_(sent_log_records|sent_metric_points|send_failed_log_records|send_failed_metric_points|queue_size|in_flight_requests)(?:_total)?\{([^}]*)\}\s+(\S+)/;

/** Adds the exporter series of one Prometheus text page to `into`, by exporter id. */
export function parseExporterMetrics(text: string, into = new Map<string, ExporterSample>()): Map<string, ExporterSample> {
  for (const line of text.split('\n')) {
    const m = SERIES.exec(line);
    if (!m) continue;
    const [, metric = '', labels = '', raw = ''] = m;
    const exporter = /(?:^|,)exporter="([^"]*)"/.exec(labels)?.[1];
    const value = Number(raw);
    if (exporter === undefined || !Number.isFinite(value)) continue;
    const s = into.get(exporter) ?? { sent: 0, failed: 0, waiting: 0 };
    if (metric.startsWith('sent_')) s.sent += value;
    else if (metric.startsWith('send_failed_')) s.failed += value;
    else s.waiting += value;
    into.set(exporter, s);
  }
  return into;
}

/** What is kept between samples, per exporter. */
export interface ExporterHistory {
  last: ExporterSample;
  /** Consecutive samples with work waiting and nothing accepted. */
  stuck: number;
  verdict: LogDelivery;
}

/** The next history of one exporter from its new sample. Counters that went down (a pod restarted) count as a fresh start. */
export function judge(previous: ExporterHistory | undefined, now: ExporterSample): ExporterHistory {
  const delta = (a: number, b: number) => (b >= a ? b - a : b);
  const sent = previous ? delta(previous.last.sent, now.sent) : 0;
  const failed = previous ? delta(previous.last.failed, now.failed) : 0;
  const stuck = now.waiting > 0 && sent === 0 ? (previous?.stuck ?? 0) + 1 : 0;
  // Stable messages: status is written when it changes, and counts change all the time.
  let verdict: LogDelivery;
  if (failed > 0) verdict = { state: 'failing', message: 'the agent dropped records it could not send' };
  else if (stuck >= 2) verdict = { state: 'failing', message: `nothing accepted for ${(2 * SAMPLE_MS) / 1000}s or more; the agent retries and keeps the batches on disk` };
  // One stuck sample is not yet a verdict: keep the previous one.
  else if (stuck === 1 && previous) verdict = previous.verdict;
  else verdict = { state: 'accepted', message: 'the sink accepts what the agent sends' };
  return { last: now, stuck, verdict };
}

export interface DeliveryMonitorOptions {
  client: Pick<KubeClient, 'request'>;
  agentNamespace: string;
  /** The stacks the agent serves now. */
  stacks: () => DefaultedWebStack[];
  /** Called with `namespace/name` when a stack's verdict changes. */
  onChange: (key: string) => void;
  fetchText?: (url: string) => Promise<string>;
}

async function defaultFetch(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}

interface PodList {
  items?: { metadata: { name: string }; status?: { podIP?: string; phase?: string } }[];
}

export class DeliveryMonitor {
  private readonly history = new Map<string, ExporterHistory>();
  /** Why the last sample read no agent pod's metrics, while some run; undefined when it read one. */
  private unread: string | undefined;
  private sampled = false;

  constructor(private readonly o: DeliveryMonitorOptions) {}

  /**
   * The verdict of the stack's exporter: unread while no agent pod's metrics can be read (the
   * last verdict would be stale) or the agents do not report the exporter yet; undefined before
   * the first sample.
   */
  verdict(namespace: string, name: string): LogDelivery | undefined {
    const stack = this.o.stacks().find((s) => s.metadata.namespace === namespace && s.metadata.name === name);
    if (!stack) return undefined;
    if (this.unread !== undefined) return { state: 'unread', message: this.unread };
    const verdict = this.history.get(routeIds(agentRoute(stack)).exporter)?.verdict;
    return verdict ?? (this.sampled ? { state: 'unread', message: "the agents' metrics do not show this stack's exporter yet" } : undefined);
  }

  /** One sample of every agent pod; pods that do not answer are left out of it. The log-agent controller runs one every SAMPLE_MS. */
  async sample(): Promise<void> {
    const selector = Object.entries(agentSelector()).map(([k, v]) => `${k}=${v}`).join(',');
    const pods = (await this.o.client.request({ method: 'GET', path: `/api/v1/namespaces/${this.o.agentNamespace}/pods`, query: { labelSelector: selector } })) as PodList;
    const fetchText = this.o.fetchText ?? defaultFetch;
    const ips = (pods.items ?? []).filter((p) => p.status?.phase === 'Running' && p.status.podIP).map((p) => p.status?.podIP ?? '');
    const pages = await Promise.allSettled(ips.map((ip) => fetchText(`http://${ip.includes(':') ? `[${ip}]` : ip}:${LOG_AGENT.telemetryPort}/metrics`)));
    const samples = new Map<string, ExporterSample>();
    for (const page of pages) if (page.status === 'fulfilled') parseExporterMetrics(page.value, samples);
    const failed = pages.find((p): p is PromiseRejectedResult => p.status === 'rejected');
    const unread = ips.length > 0 && pages.every((p) => p.status === 'rejected') ? `none of the ${String(ips.length)} agent pods' metrics could be read: ${String(failed?.reason)}` : undefined;
    this.sampled = true;
    if ((unread === undefined) !== (this.unread === undefined)) for (const stack of this.o.stacks()) this.o.onChange(keyOf(stack));
    this.unread = unread;
    for (const stack of this.o.stacks()) {
      const exporter = routeIds(agentRoute(stack)).exporter;
      const now = samples.get(exporter);
      if (!now) continue;
      const before = this.history.get(exporter);
      const next = judge(before, now);
      this.history.set(exporter, next);
      if (before?.verdict.state !== next.verdict.state) this.o.onChange(keyOf(stack));
    }
  }
}
