/**
 * The shared log agent's config: its structure (one isolated pipeline per stack), and the real
 * collector's verdict on it: `otelcol-webstack validate`, the binary hack/otelcol/build.sh builds
 * from the same components the operator renders. The collector checks every component's options
 * (unknown keys, wrong types, missing endpoints), that every id a pipeline names is defined, and
 * that root_path exists, so the files it reads are moved into a sandbox.
 *
 * Not validated by the binary: the sumologic and elasticsearch exporters, which the Go module
 * proxy here cannot build (hack/otelcol/builder-config.yaml says why); their stacks are checked
 * structurally, and run only in the upstream image.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { parse, stringify } from 'yaml';
import { withDefaults, type DefaultedWebStack } from '../../../operator/api/defaults.js';
import type { LogSinkSpec, LogSinkType, WebStack } from '../../../operator/api/types.js';
import { agentRoute } from '../../../operator/blueprint/agent.js';
import { LOG_AGENT } from '../../../operator/blueprint/layout.js';
import { agentEnv, renderLogAgentConfig } from '../../../operator/render/config/log-agent.js';
import { SINK_EXPORTERS, routeIds } from '../../../operator/blueprint/agent.js';
import { MINIMAL, Sandbox, run } from '../../support/configs.js';
import { collectorBinary } from '../../support/config-checks.js';

interface Pipeline {
  receivers: string[];
  processors: string[];
  exporters: string[];
}

interface CollectorConfig {
  extensions: Record<string, Record<string, unknown>>;
  receivers: Record<string, Record<string, unknown>>;
  processors: Record<string, Record<string, unknown>>;
  exporters: Record<string, Record<string, unknown>>;
  service: { extensions: string[]; pipelines: Record<string, Pipeline>; telemetry: unknown };
}

const SINK_TYPES = Object.keys(SINK_EXPORTERS) as LogSinkType[];
/** What the local build of the collector has (hack/otelcol/builder-config.yaml). */
const BUILT_SINKS: readonly LogSinkType[] = ['stdout', 'loki', 'otlp'];

function stack(namespace: string, name: string, type: LogSinkType, options: { endpoint?: string; secret?: boolean } = {}): DefaultedWebStack {
  const sink: LogSinkSpec = { type };
  if (options.endpoint !== undefined) sink.endpoint = options.endpoint;
  if (options.secret) sink.credentialsSecretRef = { name: 'sink-credentials' };
  const raw: WebStack = { ...MINIMAL, metadata: { name, namespace }, spec: { ...MINIMAL.spec, logging: { sink } } };
  return withDefaults(raw);
}

/** Several stacks, every sink type, with and without credentials, and two namespaces with a prefix clash. */
const MANY: DefaultedWebStack[] = [
  stack('shop', 'mini', 'stdout'),
  stack('shop', 'mini-app', 'otlp', { endpoint: 'http://receiver.observability:4318', secret: true }),
  stack('blog', 'mini', 'loki', { endpoint: 'http://loki.observability:3100/', secret: true }),
  stack('blog', 'news', 'otlp', { endpoint: 'https://otlp.example' }),
  stack('wiki', 'docs', 'sumologic', { secret: true }),
  stack('wiki', 'search', 'elasticsearch', { endpoint: 'https://es.example:9200', secret: true }),
];

function render(stacks: readonly DefaultedWebStack[]): { text: string; config: CollectorConfig } {
  const text = renderLogAgentConfig(stacks.map(agentRoute));
  return { text, config: parse(text) as CollectorConfig };
}

const ids = (s: DefaultedWebStack) => routeIds(agentRoute(s));

function nth<T>(list: readonly T[], i: number): T {
  const item = list[i];
  if (item === undefined) throw new Error(`no element ${i}`);
  return item;
}

const without = <T>(record: Record<string, T>, key: string): Record<string, T> => Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));

describe('log agent config: structure', () => {
  it('has one pipeline per stack, naming only defined components, plus one node metrics pipeline', () => {
    const { config } = render(MANY);
    expect(Object.keys(config.service.pipelines).sort()).toEqual(['metrics', ...MANY.map((s) => ids(s).pipeline)].sort());
    for (const pipeline of Object.values(config.service.pipelines)) {
      for (const r of pipeline.receivers) expect(config.receivers).toHaveProperty([r]);
      for (const p of pipeline.processors) expect(config.processors).toHaveProperty([p]);
      for (const e of pipeline.exporters) expect(config.exporters).toHaveProperty([e]);
      // The memory limiter must come first to protect the rest of the pipeline.
      expect(pipeline.processors[0]).toBe('memory_limiter');
    }
    for (const e of config.service.extensions) expect(config.extensions).toHaveProperty([e]);
  });

  it.each(MANY.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s] as const))('%s: its own files, attributes, storage and sink', (_label, s) => {
    const { config } = render(MANY);
    const id = ids(s);
    expect(config.service.pipelines[id.pipeline]).toEqual({ receivers: [id.receiver], processors: ['memory_limiter', id.processor, 'batch'], exporters: [id.exporter] });
    const receiver = config.receivers[id.receiver] ?? {};
    expect(receiver.storage).toBe(id.storage);
    expect(config.extensions[id.storage]).toEqual({ directory: `${LOG_AGENT.storageDir}/${agentRoute(s).key}`, create_directory: true });
    const ns = s.metadata.namespace ?? '';
    expect(receiver.include).toEqual(['lb', 'web', 'app', 'mysql'].map((tier) => `${LOG_AGENT.podLogsDir}/${ns}_${s.metadata.name}-${tier}-*/*/*.log`));
    expect(config.processors[id.processor]?.attributes).toEqual([
      { key: 'k8s.node.name', value: `\${env:${LOG_AGENT.env.nodeName}}`, action: 'upsert' },
      { key: 'webstack.namespace', value: ns, action: 'upsert' },
      { key: 'webstack.name', value: s.metadata.name, action: 'upsert' },
    ]);
  });

  it('keeps the pods of stack shop/mini-app out of stack shop/mini, whose app prefix matches them', () => {
    const { config } = render(MANY);
    const mini = config.receivers[ids(nth(MANY, 0)).receiver] ?? {};
    expect(mini.exclude).toEqual(['lb', 'web', 'app', 'mysql'].map((tier) => `${LOG_AGENT.podLogsDir}/shop_mini-app-${tier}-*/*/*.log`));
  });

  it('reads node metrics once, from the host root, labelled with the node name, to every sink that stores metrics', () => {
    const { config } = render(MANY);
    const metrics = config.service.pipelines.metrics;
    expect(metrics?.receivers).toEqual(['host_metrics']);
    expect(config.receivers.host_metrics?.root_path).toBe(LOG_AGENT.hostRoot);
    expect(Object.keys(config.receivers.host_metrics?.scrapers as object).sort()).toEqual(['cpu', 'disk', 'filesystem', 'load', 'memory', 'network']);
    expect(config.processors['resource/node']?.attributes).toEqual([{ key: 'k8s.node.name', value: `\${env:${LOG_AGENT.env.nodeName}}`, action: 'upsert' }]);
    const metricSinks = MANY.filter((s) => ['stdout', 'otlp', 'sumologic'].includes(s.spec.logging.sink.type)).map((s) => ids(s).exporter);
    expect(metrics?.exporters.sort()).toEqual(['prometheus', ...metricSinks].sort());
  });

  it('queues on disk and retries without end for every sink but stdout', () => {
    const { config } = render(MANY);
    for (const s of MANY.filter((x) => x.spec.logging.sink.type !== 'stdout')) {
      const exporter = config.exporters[ids(s).exporter] ?? {};
      expect(exporter.sending_queue).toEqual({ enabled: true, storage: ids(s).storage, queue_size: 10_000 });
      expect(exporter.retry_on_failure).toMatchObject({ enabled: true, max_elapsed_time: 0 });
    }
  });

  it("keeps credentials out of the file: each stack's own environment references", () => {
    const { text, config } = render(MANY);
    for (const s of MANY.filter((x) => x.spec.logging.sink.credentialsSecretRef && x.spec.logging.sink.type !== 'stdout')) {
      const exporter = JSON.stringify(config.exporters[ids(s).exporter]);
      const vars = agentEnv(agentRoute(s));
      expect(exporter).toContain(s.spec.logging.sink.type === 'sumologic' ? `\${env:${vars.sinkEndpoint}}` : `\${env:${vars.sinkAuthorization}}`);
      // No other stack's variable.
      for (const other of MANY.filter((x) => x !== s)) expect(exporter).not.toContain(agentEnv(agentRoute(other)).sinkAuthorization);
    }
    expect(text).not.toMatch(/password|token|api_key/i);
  });

  it("adding a stack leaves every other stack's components as they were", () => {
    const before = render(MANY.slice(1)).config;
    const after = render(MANY).config;
    for (const s of MANY.slice(1)) {
      const id = ids(s);
      expect(after.receivers[id.receiver]).toEqual(before.receivers[id.receiver]);
      expect(after.extensions[id.storage]).toEqual(before.extensions[id.storage]);
      expect(after.exporters[id.exporter]).toEqual(before.exporters[id.exporter]);
    }
  });
});

// ---- the real collector ----


describe('log agent config: the real collector', () => {
  const sandbox = new Sandbox();
  afterAll(() => sandbox.remove());

  /** The collector `command` on the config, its paths moved into the sandbox, every stack's credentials in its environment. */
  function collectorOn(command: string[], text: string, stacks: readonly DefaultedWebStack[] = MANY): { status: number | null; output: string } {
    sandbox.dir(LOG_AGENT.hostRoot);
    sandbox.dir(LOG_AGENT.storageDir);
    const file = sandbox.write('config.yaml', sandbox.relocate(text, [LOG_AGENT.hostRoot, LOG_AGENT.storageDir]));
    const env = { PATH: process.env.PATH, [LOG_AGENT.env.nodeName]: 'node-1' };
    for (const s of stacks) {
      const vars = agentEnv(agentRoute(s));
      Object.assign(env, { [vars.sinkAuthorization]: `Bearer token-of-${s.metadata.name}`, [vars.sinkEndpoint]: 'https://sink.example/receiver/v1/http/abc' });
    }
    return run(collectorBinary(), [...command, `--config=${file}`], { env });
  }

  const validate = (text: string) => collectorOn(['validate'], text);

  const built = MANY.filter((s) => BUILT_SINKS.includes(s.spec.logging.sink.type));

  it('accepts the config of several stacks with every sink type the build has', () => {
    const result = validate(render(built).text);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it.each(BUILT_SINKS)('accepts a single %s stack, with and without credentials', (type) => {
    for (const secret of [false, true]) {
      const result = validate(render([stack('shop', 'one', type, type === 'stdout' ? { secret } : { endpoint: 'http://sink:4318', secret })]).text);
      expect({ type, secret, ...result }).toEqual({ type, secret, status: 0, output: '' });
    }
  });

  it("takes a tenant's endpoint literally: no expansion reaches another tenant's credentials or a node file", () => {
    const victim = stack('shop', 'victim', 'otlp', { endpoint: 'http://receiver.observability:4318', secret: true });
    const stolen = agentEnv(agentRoute(victim)).sinkAuthorization;
    const hostile = `https://collector.example/\${env:${stolen}}/\${file:/etc/hostname}/$HOME`;
    const attacker = stack('evil', 'attacker', 'otlp', { endpoint: hostile });
    const result = collectorOn(['print-config', '--mode=unredacted', '--format=json'], render([victim, attacker]).text, [victim, attacker]);
    expect(result.status).toBe(0);
    const printed = JSON.parse(result.output.slice(result.output.indexOf('{'))) as CollectorConfig;
    expect(printed.exporters[ids(attacker).exporter]?.endpoint).toBe(hostile);
    expect(JSON.stringify(printed.exporters[ids(attacker).exporter])).not.toContain('token-of-victim');
    // The victim's own reference still resolves: its exporter gets its token.
    expect(JSON.stringify(printed.exporters[ids(victim).exporter]?.headers)).toContain('Bearer token-of-victim');
  });

  it('refuses a broken config, naming the component', () => {
    const config = render(built).config;
    const id = ids(nth(built, 1)).exporter;
    config.exporters[id] = { ...config.exporters[id], sending_queue: { enabled: true, queue_sise: 10 } };
    const result = validate(stringify(config));
    expect(result.status).not.toBe(0);
    expect(result.output).toContain(id);
    expect(result.output).toMatch(/invalid keys: queue_sise/);
  });

  // (A storage id no extension defines passes validate: the collector finds it only at start.)
  it("refuses a stack's pipeline that names another stack's exporter once that stack is gone", () => {
    const config = render(built).config;
    const [first, second] = [ids(nth(built, 0)), ids(nth(built, 1))];
    const pipelines = without(config.service.pipelines, second.pipeline);
    pipelines[first.pipeline] = { receivers: [first.receiver], processors: ['memory_limiter', first.processor, 'batch'], exporters: [second.exporter] };
    config.service.pipelines = pipelines;
    config.exporters = without(config.exporters, second.exporter);
    const result = validate(stringify(config));
    expect(result.status).not.toBe(0);
    expect(result.output).toContain(second.exporter);
  });

  it('has the exporters of every built sink type, the ones the operator renders', () => {
    expect(BUILT_SINKS.map((t) => SINK_EXPORTERS[t])).toEqual(['debug', 'otlp_http', 'otlp_http']);
    expect(SINK_TYPES.filter((t) => !BUILT_SINKS.includes(t))).toEqual(['sumologic', 'elasticsearch']);
  });
});
