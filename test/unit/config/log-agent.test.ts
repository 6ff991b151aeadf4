/**
 * The log agent's config is checked structurally: `otelcol-contrib validate` would be the real
 * check, but the collector binary is not packaged by Debian and is not available to these tests.
 */
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import type { LogSinkSpec, LogSinkType, WebStack } from '../../../operator/api/types.js';
import { LOG_AGENT } from '../../../operator/render/config/layout.js';
import { SINK_EXPORTERS, renderLogAgentConfig } from '../../../operator/render/config/log-agent.js';
import { MINIMAL, inMode } from './helpers.js';

interface Pipeline {
  receivers: string[];
  processors: string[];
  exporters: string[];
}

interface CollectorConfig {
  extensions: Record<string, unknown>;
  receivers: Record<string, Record<string, unknown>>;
  processors: Record<string, unknown>;
  exporters: Record<string, Record<string, unknown>>;
  service: { extensions: string[]; pipelines: Record<string, Pipeline> };
}

const SINK_TYPES = Object.keys(SINK_EXPORTERS) as LogSinkType[];

function withSink(type: LogSinkType, options: { endpoint?: string; secret?: boolean } = {}): WebStack {
  const sink: LogSinkSpec = { type };
  if (options.endpoint !== undefined) sink.endpoint = options.endpoint;
  if (options.secret) sink.credentialsSecretRef = { name: 'sink-credentials' };
  return { ...MINIMAL, spec: { ...MINIMAL.spec, logging: { sink } } };
}

function render(stack: WebStack): { text: string; config: CollectorConfig } {
  const text = renderLogAgentConfig(inMode(stack, 'reencrypt'));
  return { text, config: parse(text) as CollectorConfig };
}

describe('log agent config', () => {
  it.each(SINK_TYPES)('%s: parses, and every pipeline names only defined components', (type) => {
    const { config } = render(withSink(type, { endpoint: 'https://sink.example:4318', secret: true }));
    expect(Object.keys(config.service.pipelines).sort()).toEqual(['logs', 'metrics']);
    for (const pipeline of Object.values(config.service.pipelines)) {
      for (const r of pipeline.receivers) expect(config.receivers).toHaveProperty([r]);
      for (const p of pipeline.processors) expect(config.processors).toHaveProperty([p]);
      for (const e of pipeline.exporters) expect(config.exporters).toHaveProperty([e]);
      // The memory limiter must come first to protect the rest of the pipeline.
      expect(pipeline.processors[0]).toBe('memory_limiter');
    }
    for (const e of config.service.extensions) expect(config.extensions).toHaveProperty([e]);
  });

  it.each(SINK_TYPES)('%s: the logs pipeline ships to the sink', (type) => {
    const { config } = render(withSink(type, { endpoint: 'https://sink.example:4318' }));
    expect(config.service.pipelines.logs).toEqual({
      receivers: ['filelog'],
      processors: ['memory_limiter', 'resource', 'batch'],
      exporters: [SINK_EXPORTERS[type]],
    });
    expect(config.service.pipelines.metrics?.receivers).toEqual(['hostmetrics']);
    expect(config.service.pipelines.metrics?.exporters).toContain('prometheus');
  });

  it('reads only the pod logs of the stack, through the container parser', () => {
    const { config } = render(withSink('stdout'));
    const filelog = config.receivers.filelog ?? {};
    expect(filelog.include).toEqual(
      ['mini-lb', 'mini-web', 'mini-app', 'mini-mysql'].map((p) => `${LOG_AGENT.podLogsDir}/shop_${p}-*/*/*.log`),
    );
    expect(filelog.include_file_path).toBe(true);
    expect(filelog.operators).toEqual([{ type: 'container', id: 'container-parser' }]);
  });

  it('collects the node metrics from the host root', () => {
    const hostmetrics = render(withSink('stdout')).config.receivers.hostmetrics ?? {};
    expect(hostmetrics.root_path).toBe(LOG_AGENT.hostRoot);
    expect(Object.keys(hostmetrics.scrapers as object).sort()).toEqual(['cpu', 'disk', 'filesystem', 'load', 'memory', 'network']);
  });

  it('sends to Loki through its OTLP endpoint', () => {
    const { config } = render(withSink('loki', { endpoint: 'http://loki.observability:3100/' }));
    expect(config.exporters['otlphttp/loki']?.endpoint).toBe('http://loki.observability:3100/otlp');
  });

  it('keeps credentials out of the file: only environment references', () => {
    for (const type of SINK_TYPES) {
      const { text, config } = render(withSink(type, { secret: true }));
      const exporter = config.exporters[SINK_EXPORTERS[type]] ?? {};
      if (type === 'stdout') continue;
      // Without spec.endpoint the endpoint comes from the Secret too.
      expect(JSON.stringify(exporter)).toContain(`\${env:${LOG_AGENT.env.sinkEndpoint}}`);
      if (type !== 'sumologic') {
        expect(exporter.headers).toEqual({ Authorization: `\${env:${LOG_AGENT.env.sinkAuthorization}}` });
      }
      expect(text).not.toMatch(/password|token|api_key/i);
    }
    const noSecret = render(withSink('otlp', { endpoint: 'https://otlp.example' })).config.exporters.otlphttp ?? {};
    expect(noSecret).toEqual({ endpoint: 'https://otlp.example' });
  });

  it('labels the node name from the environment and the stack', () => {
    const { config } = render(withSink('stdout'));
    expect(config.processors.resource).toEqual({
      attributes: [
        { key: 'k8s.node.name', value: `\${env:${LOG_AGENT.env.nodeName}}`, action: 'upsert' },
        { key: 'webstack.namespace', value: 'shop', action: 'upsert' },
        { key: 'webstack.name', value: 'mini', action: 'upsert' },
      ],
    });
  });
});
