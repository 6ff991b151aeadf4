/**
 * Logs and node metrics for real (issue 15): the operator (in this process) runs ONE log agent
 * per node for two stacks, in the real collector (webstack.local/otelcol, hack/otelcol), and
 * each stack's lines arrive at its own sink: a second collector (OTLP receiver -> file), as
 * pods. Then one sink goes away: the agent keeps the lines on disk and retries, that stack's
 * LoggingReady turns False (SinkUnreachable) within a minute while the other stack's stays True;
 * and when the sink is back every numbered line arrives, none lost.
 *
 * The log lines come from a plain pod named like the stack's app pods (`<stack>-app-...`), whose
 * files the agent's per-stack glob matches; the stacks' own tiers run or not, it does not matter
 * here. Everything lives in namespaces of its own (shared cluster).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { startOperator, type RunningOperator } from '../../operator/main.js';
import { parseConfig } from '../../operator/runtime/config.js';
import { deleteNamespace, eventually, getJson, installCrds, kubeConfig, kubectl, newNamespace } from '../support/cluster.js';
import { applyIn, image, restricted, smallResources } from '../support/objects.js';

const LINES = 900;
const LINE_INTERVAL_S = 0.2;
const SINK_PORT = 4318;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

interface Pod {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: { phase?: string };
}

let agents: string;
let nsA: string;
let nsB: string;
let sinks: string;
let operator: RunningOperator | undefined;

async function startTheOperator(): Promise<RunningOperator> {
  const flags = [
    '--namespaces', `${nsA},${nsB}`, '--leader-elect=false', '--log-level', 'warn', '--resync-period', '0',
    '--image-log-agent', image('otelcol:0.165.0'),
    '--image-haproxy', image('haproxy:2.6'),
    '--image-nginx', image('nginx:1.22'),
    '--image-nginx-exporter', image('nginx-exporter:0.11.0'),
    '--image-mysql-8.4', image('mariadb:10.11'),
    '--image-mysqld-exporter', image('mysqld-exporter:0.14.0'),
  ];
  const config = parseConfig(flags, {});
  config.metricsPort = 0;
  return startOperator({ config, kubeConfig: kubeConfig(), agentNamespace: agents, logger: pino({ level: config.logLevel }, pino.destination(2)) });
}

/** A stand-in sink: the collector with an OTLP/HTTP receiver writing what it gets to files, and a reader beside it. */
function sink(name: string): object[] {
  const config = {
    receivers: { otlp: { protocols: { http: { endpoint: `0.0.0.0:${SINK_PORT}` } } } },
    exporters: { 'file/logs': { path: '/data/logs.json', flush_interval: '200ms' }, 'file/metrics': { path: '/data/metrics.json', flush_interval: '1s' } },
    service: {
      telemetry: { metrics: { level: 'none' } },
      pipelines: { logs: { receivers: ['otlp'], exporters: ['file/logs'] }, metrics: { receivers: ['otlp'], exporters: ['file/metrics'] } },
    },
  };
  const labels = { app: name };
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { 'config.yaml': JSON.stringify(config) } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels },
      spec: {
        terminationGracePeriodSeconds: 1,
        // The reader freezes and thaws the collector (the outage) without losing the files.
        shareProcessNamespace: true,
        securityContext: { fsGroup: 10001 },
        containers: [
          {
            name: 'collector',
            image: image('otelcol:0.165.0'),
            imagePullPolicy: 'Never',
            args: ['--config=/etc/otelcol-contrib/config.yaml'],
            ports: [{ containerPort: SINK_PORT }],
            securityContext: restricted(10001),
            resources: smallResources,
            volumeMounts: [
              { name: 'config', mountPath: '/etc/otelcol-contrib', readOnly: true },
              { name: 'data', mountPath: '/data' },
            ],
          },
          {
            name: 'reader',
            image: image('busybox:1.35'),
            imagePullPolicy: 'Never',
            command: ['sleep', '86400'],
            securityContext: restricted(10001),
            resources: smallResources,
            volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
          },
        ],
        volumes: [
          { name: 'config', configMap: { name } },
          { name: 'data', emptyDir: {} },
        ],
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: labels, ports: [{ port: SINK_PORT, targetPort: SINK_PORT }] } },
  ];
}

/** A pod named like the stack's app pods, printing `<stack> line N` for N = 1..LINES. */
function logger(stack: string): object {
  const script = `i=0; while [ $i -lt ${LINES} ]; do i=$((i+1)); echo "${stack} line $i"; sleep ${LINE_INTERVAL_S}; done; exec sleep 86400`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${stack}-app-logger` },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'logger', image: image('busybox:1.35'), imagePullPolicy: 'Never', command: ['sh', '-c', script], securityContext: restricted(65534), resources: smallResources }],
    },
  };
}

function webStack(name: string, endpoint: string, credentials?: string): object {
  return {
    apiVersion: 'webstack.dev/v1alpha1',
    kind: 'WebStack',
    metadata: { name },
    spec: {
      domain: `${name}.example.com`,
      tls: { issuerRef: { name: 'none' } },
      loadBalancer: { replicas: 1 },
      web: { replicas: 1 },
      app: { image: image('app:1.0'), replicas: 1 },
      logging: { sink: { type: 'otlp', endpoint, ...(credentials ? { credentialsSecretRef: { name: credentials } } : {}) } },
    },
  };
}

interface Attr {
  key: string;
  value: { stringValue?: string };
}
interface LogLine {
  body: string;
  resource: Record<string, string>;
}

const attrs = (list: Attr[] | undefined): Record<string, string> => Object.fromEntries((list ?? []).map((a) => [a.key, a.value.stringValue ?? '']));

/** Every log record the sink wrote, with its resource attributes. */
async function receivedLogs(sinkName: string): Promise<LogLine[]> {
  const { stdout } = await kubectl(['exec', '-n', sinks, sinkName, '-c', 'reader', '--', 'cat', '/data/logs.json'], { allowFail: true });
  const out: LogLine[] = [];
  for (const line of stdout.split('\n').filter(Boolean)) {
    const req = JSON.parse(line) as { resourceLogs?: { resource?: { attributes?: Attr[] }; scopeLogs?: { logRecords?: { body?: { stringValue?: string } }[] }[] }[] };
    for (const rl of req.resourceLogs ?? []) {
      const resource = attrs(rl.resource?.attributes);
      for (const sl of rl.scopeLogs ?? []) for (const r of sl.logRecords ?? []) out.push({ body: r.body?.stringValue ?? '', resource });
    }
  }
  return out;
}

interface MetricPoint {
  node: string;
  metric: string;
  device?: string;
}

async function receivedMetrics(sinkName: string): Promise<MetricPoint[]> {
  const { stdout } = await kubectl(['exec', '-n', sinks, sinkName, '-c', 'reader', '--', 'cat', '/data/metrics.json'], { allowFail: true });
  const out: MetricPoint[] = [];
  interface Points { dataPoints?: { attributes?: Attr[] }[] }
  for (const line of stdout.split('\n').filter(Boolean)) {
    const req = JSON.parse(line) as { resourceMetrics?: { resource?: { attributes?: Attr[] }; scopeMetrics?: { metrics?: ({ name: string; sum?: Points; gauge?: Points })[] }[] }[] };
    for (const rm of req.resourceMetrics ?? []) {
      const node = attrs(rm.resource?.attributes)['k8s.node.name'] ?? '';
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          for (const p of [...(m.sum?.dataPoints ?? []), ...(m.gauge?.dataPoints ?? [])]) {
            const device = attrs(p.attributes).device;
            out.push({ node, metric: m.name, ...(device !== undefined ? { device } : {}) });
          }
        }
      }
    }
  }
  return out;
}

/** The numbers of the `<stack> line N` records. */
const numbers = (logs: LogLine[], stack: string): number[] =>
  logs.map((l) => new RegExp(`^${stack} line (\\d+)$`).exec(l.body)?.[1]).filter((n): n is string => n !== undefined).map(Number);

async function condition(namespace: string, name: string, type: string): Promise<Condition | undefined> {
  const ws = await getJson<{ status?: { conditions?: Condition[] } }>(['webstack', name, '-n', namespace]);
  return ws.status?.conditions?.find((c) => c.type === type);
}

const loggingReady = (namespace: string, name: string) => condition(namespace, name, 'LoggingReady');

/** alpha's LoggingReady once `wanted` holds for it (`what` names it in the wait's error). */
const alphaLoggingReady = (what: string, wanted: (c: Condition) => boolean, timeoutMs: number): Promise<Condition> =>
  eventually(
    async () => {
      const c = await loggingReady(nsA, 'alpha');
      if (!c || !wanted(c)) throw new Error(`LoggingReady ${c?.status ?? 'missing'} (${c?.reason ?? ''})`);
      return c;
    },
    { description: `alpha LoggingReady ${what}`, timeoutMs, intervalMs: 1_000 },
  );

/** Sends a signal to the sink's collector process, from the reader beside it. */
async function signalSink(sinkName: string, signal: 'STOP' | 'CONT'): Promise<void> {
  await kubectl(['exec', '-n', sinks, sinkName, '-c', 'reader', '--', 'sh', '-c', `kill -${signal} $(pidof otelcol-contrib)`]);
}

beforeAll(async () => {
  // The cluster is shared: a WebStack CRD someone installed (maybe newer than this checkout's) stays.
  const served = await kubectl(['get', 'crd', 'webstacks.webstack.dev'], { allowFail: true });
  if (served.code !== 0) await installCrds();
  agents = await newNamespace('i15-agent-agents');
  await kubectl(['label', 'namespace', agents, 'pod-security.kubernetes.io/enforce=privileged']);
  [nsA, nsB, sinks] = await Promise.all([newNamespace('i15-agent-a', { restricted: true }), newNamespace('i15-agent-b', { restricted: true }), newNamespace('i15-agent-sinks', { restricted: true })]);
  await applyIn(sinks, [...sink('sink-a'), ...sink('sink-b')]);
  await kubectl(['wait', '-n', sinks, '--for=condition=Ready', 'pod/sink-a', 'pod/sink-b', '--timeout=90s']);
  const ip = async (svc: string) => (await getJson<{ spec: { clusterIP: string } }>(['service', svc, '-n', sinks])).spec.clusterIP;
  await applyIn(nsB, [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sink-token' }, stringData: { authorization: 'Bearer beta-token' } }]);
  await applyIn(nsA, [webStack('alpha', `http://${await ip('sink-a')}:${SINK_PORT}`), logger('alpha')]);
  await applyIn(nsB, [webStack('beta', `http://${await ip('sink-b')}:${SINK_PORT}`, 'sink-token'), logger('beta')]);
  operator = await startTheOperator();
}, 180_000);

afterAll(async () => {
  if (sinks) await signalSink('sink-a', 'CONT').catch(() => undefined);
  await operator?.stop();
  // The stacks' finalizer needs the operator: remove the stacks first, then their namespaces.
  for (const ns of [nsA, nsB]) if (ns) await kubectl(['patch', 'webstack', ns === nsA ? 'alpha' : 'beta', '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":[]}}'], { allowFail: true });
  await Promise.all([agents, nsA, nsB, sinks].filter(Boolean).map(deleteNamespace));
}, 60_000);

/** Each agent pod's node, phase and why it waits: a Pending pod names the scheduler's reason (e.g. host ports taken). */
async function agentPodStates(): Promise<string> {
  const { items } = await getJson<{ items: AgentPodState[] }>(['pods', '-n', agents]);
  const state = (p: AgentPodState) => {
    const unscheduled = p.status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    const waiting = (p.status.containerStatuses ?? []).map((c) => c.state.waiting ?? c.state.terminated).filter((w) => w !== undefined);
    const why = unscheduled?.message ?? waiting.map((w) => `${w.reason ?? ''} ${w.message ?? ''}`.trim()).join(', ');
    return `${p.metadata.name} on ${p.spec.nodeName ?? '(none)'} ${p.status.phase}${why ? `: ${why}` : ''}`;
  };
  return items.length === 0 ? 'no agent pods' : items.map(state).join('; ');
}

interface AgentPodState {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: {
    phase: string;
    conditions?: { type: string; status: string; message?: string }[];
    containerStatuses?: { state: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; message?: string } } }[];
  };
}

describe('one log agent per node for all stacks, delivering to real receivers', () => {
  it('runs one agent pod per node for both stacks, in the real collector, Ready', async () => {
    const nodes = (await getJson<{ items: unknown[] }>(['nodes'])).items.length;
    await eventually(
      async () => {
        const ds = await getJson<{ status: { desiredNumberScheduled: number; numberReady: number } }>(['daemonset', 'webstack-log-agent', '-n', agents]);
        if (ds.status.numberReady !== nodes || ds.status.desiredNumberScheduled !== nodes) throw new Error(`${ds.status.numberReady}/${ds.status.desiredNumberScheduled} ready; ${await agentPodStates()}`);
      },
      { description: `the shared agent Ready on all ${nodes} nodes`, timeoutMs: 120_000, intervalMs: 2_000 },
    );
    const { items } = await getJson<{ items: unknown[] }>(['daemonsets', '-n', agents]);
    expect(items).toHaveLength(1);
    console.log(`[logging] agent pods: ${nodes} for ${nodes} nodes, 2 stacks`);
  }, 150_000);

  it("delivers each stack's lines to its own sink only, with stack, namespace, pod and node attributes", async () => {
    const [loggerA, loggerB] = await Promise.all([getJson<Pod>(['pod', 'alpha-app-logger', '-n', nsA]), getJson<Pod>(['pod', 'beta-app-logger', '-n', nsB])]);
    const [a, b] = await eventually(
      async () => {
        const got = await Promise.all([receivedLogs('sink-a'), receivedLogs('sink-b')]);
        if (numbers(got[0], 'alpha').length < 20 || numbers(got[1], 'beta').length < 20) throw new Error(`alpha ${numbers(got[0], 'alpha').length}, beta ${numbers(got[1], 'beta').length} lines so far`);
        return got;
      },
      { description: 'lines of both stacks at their sinks', timeoutMs: 120_000, intervalMs: 3_000 },
    );
    expect(numbers(a, 'beta')).toEqual([]);
    expect(numbers(b, 'alpha')).toEqual([]);
    const first = (logs: LogLine[], stack: string) => logs.find((l) => l.body.startsWith(`${stack} line`))?.resource;
    expect(first(a, 'alpha')).toMatchObject({
      'webstack.name': 'alpha',
      'webstack.namespace': nsA,
      'k8s.namespace.name': nsA,
      'k8s.pod.name': 'alpha-app-logger',
      'k8s.container.name': 'logger',
      'k8s.node.name': loggerA.spec.nodeName,
    });
    expect(first(b, 'beta')).toMatchObject({ 'webstack.name': 'beta', 'webstack.namespace': nsB, 'k8s.pod.name': 'beta-app-logger', 'k8s.node.name': loggerB.spec.nodeName });
    console.log(`[logging] sink-a: ${numbers(a, 'alpha').length} alpha lines, 0 beta; sink-b: ${numbers(b, 'beta').length} beta lines, 0 alpha`);
    // The operator samples the agents' exporter metrics every 10 s: the lines can reach the sink
    // before its first sample sees them (DeliveryUnknown). What a user waits for is Shipping.
    const shipping = await alphaLoggingReady('Shipping', (c) => c.reason === 'Shipping', 30_000);
    expect(shipping).toMatchObject({ status: 'True', reason: 'Shipping' });
  }, 150_000);

  it("delivers the node metrics of every node, labelled with the node's name, from the node's network namespace", async () => {
    const nodeNames = (await getJson<{ items: { metadata: { name: string } }[] }>(['nodes'])).items.map((n) => n.metadata.name).sort();
    const points = await eventually(
      async () => {
        const got = await receivedMetrics('sink-a');
        const seen = [...new Set(got.filter((p) => p.metric === 'system.cpu.time').map((p) => p.node))].sort();
        if (seen.join() !== nodeNames.join()) throw new Error(`cpu metrics from [${seen.join(', ')}]`);
        return got;
      },
      { description: 'node metrics of every node at sink-a', timeoutMs: 90_000, intervalMs: 5_000 },
    );
    for (const metric of ['system.memory.usage', 'system.cpu.load_average.1m', 'system.network.io', 'system.filesystem.usage']) {
      expect({ metric, present: points.some((p) => p.metric === metric) }).toEqual({ metric, present: true });
    }
    // A pod's own network namespace has lo and eth0 only; the node's has the pods' veths too.
    const devices = [...new Set(points.filter((p) => p.metric === 'system.network.io').map((p) => p.device ?? ''))].sort();
    console.log(`[logging] network devices seen: ${devices.join(', ')}`);
    expect(devices.some((d) => d !== 'lo' && d !== 'eth0')).toBe(true);
  }, 120_000);

  it('buffers while a sink is down, reports it within a minute, and delivers every line after, none lost', async () => {
    // The receiver's process is frozen: connections hang, nothing is answered; its file (the
    // record) stays. (Changing the Service would not do: kept-alive connections stay on the pod.)
    await signalSink('sink-a', 'STOP');
    const down = Date.now();
    const lastBefore = Math.max(0, ...numbers(await receivedLogs('sink-a'), 'alpha'));
    const failed = await alphaLoggingReady('False', (c) => c.status === 'False', 90_000);
    const detectedS = (Date.now() - down) / 1000;
    console.log(`[logging] outage reported after ${detectedS.toFixed(1)}s: ${failed.reason}: ${failed.message}`);
    expect(failed.reason).toBe('SinkUnreachable');
    expect(detectedS).toBeLessThan(60);
    // The other stack's sink is fine, and so is its status.
    expect(await loggingReady(nsB, 'beta')).toMatchObject({ status: 'True' });

    // Lines go on being written meanwhile; then the sink comes back.
    await new Promise((r) => setTimeout(r, 20_000));
    await signalSink('sink-a', 'CONT');
    const back = Date.now();
    const received = await eventually(
      async () => {
        const got = numbers(await receivedLogs('sink-a'), 'alpha');
        const distinct = new Set(got);
        if (distinct.size < LINES) throw new Error(`${distinct.size}/${LINES} distinct alpha lines`);
        return got;
      },
      { description: `all ${LINES} alpha lines at sink-a`, timeoutMs: 300_000, intervalMs: 5_000 },
    );
    const distinct = new Set(received);
    const missing = Array.from({ length: LINES }, (_, i) => i + 1).filter((n) => !distinct.has(n));
    console.log(
      `[logging] after the outage: ${distinct.size}/${LINES} distinct alpha lines (${received.length - distinct.size} duplicates), last before outage ${lastBefore}; all in ${((Date.now() - back) / 1000).toFixed(0)}s after the sink returned`,
    );
    expect(missing).toEqual([]);
    await alphaLoggingReady('True again', (c) => c.status === 'True', 60_000);
    // Beta never stopped: all its lines are there too, none at the other sink.
    const beta = numbers(await receivedLogs('sink-b'), 'beta');
    expect(numbers(await receivedLogs('sink-a'), 'beta')).toEqual([]);
    console.log(`[logging] beta: ${new Set(beta).size} distinct lines at sink-b`);
  }, 480_000);
});
