/**
 * The data-plane benchmark, a section of `npm run bench` run as its own process on the real-node
 * cluster (WEBSTACK_TEST_CLUSTER=real; `hack/cluster up --real-nodes 3`, root): a reencrypt
 * WebStack on the local images (certificates from the real cert-manager controller, MariaDB), and
 * hack/images/loadgen in two pods of the cluster, measured in the same run, alternating:
 *
 * - the whole stack: https://<domain>/ through the LB Service, the public certificate verified:
 *   HAProxy -> Nginx -> the app's TLS proxy -> the app, which writes and reads a row in MariaDB;
 * - straight to the app pod: the same `/` on the app pod's TLS port, from a pod the stack's
 *   policies take for a web pod, with the web tier's client certificate (the only way in).
 *
 * Prints one DataplaneResult as JSON on stdout; progress goes to stderr.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { deleteNamespace, eventually, getJson, installCrds, kubectl, newNamespace, repoRoot } from '../support/cluster.js';
import { startTestOperator } from '../support/operator.js';
import { startCertManager } from '../support/cert-manager.js';
import { LOCAL_OPERATOR_FLAGS, applyIn, toolboxPod, localWebStack } from '../support/objects.js';
import { certificateAuthority } from '../support/tls.js';
import { log, median, round } from './lib.js';

const STACK = 'bench';
const DOMAIN = 'bench.dataplane.test';

export interface LoadReport {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  firstError?: string;
}

export interface PathFigures {
  rounds: LoadReport[];
  medianRps: number;
  medianP50Ms: number;
  medianP99Ms: number;
}

export interface DataplaneResult {
  rounds: number;
  secondsPerRound: number;
  concurrency: number;
  stack: PathFigures;
  app: PathFigures;
  /** Whole stack / straight to the app pod, from the medians. */
  ratio: { rps: number; p50: number; p99: number };
}

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, seconds: { type: 'string', default: '10' }, concurrency: { type: 'string', default: '8' } },
});

const webStack = () => localWebStack(STACK, DOMAIN, 'reencrypt', 'bench-public');

/** A toolbox pod with one Secret at /<dir>; never Ready, so no Service sends it traffic. */
function loadPod(name: string, labels: Record<string, string>, dir: string, secretName: string) {
  const pod = toolboxPod(name, labels);
  Object.assign(pod.spec.containers[0] as Record<string, unknown>, {
    readinessProbe: { exec: { command: ['false'] }, periodSeconds: 30 },
    volumeMounts: [{ name: dir, mountPath: `/${dir}`, readOnly: true }],
    resources: { requests: { cpu: '100m', memory: '32Mi' }, limits: { memory: '256Mi' } },
  });
  return { ...pod, spec: { ...pod.spec, enableServiceLinks: false, securityContext: { fsGroup: 65534 }, volumes: [{ name: dir, secret: { secretName } }] } };
}

async function stackReady(ns: string): Promise<void> {
  await eventually(
    async () => {
      const ws = await getJson<{ status?: { conditions?: { type: string; status: string; message?: string }[] } }>(['webstack', STACK, '-n', ns]);
      const ready = ws.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status !== 'True') throw new Error(`Ready ${ready?.status ?? 'unknown'}: ${ready?.message ?? ''}`);
    },
    { timeoutMs: 600_000, intervalMs: 3000, description: `WebStack ${STACK} Ready` },
  );
}

async function load(ns: string, pod: string, args: string[], seconds: number, concurrency: number): Promise<LoadReport> {
  const { stdout, stderr, code } = await kubectl(['exec', '-n', ns, pod, '--', 'loadgen', ...args, '-c', String(concurrency), '-d', `${seconds}s`], { allowFail: true });
  if (code !== 0) throw new Error(`loadgen in ${pod} failed (${code}): ${stderr}`);
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as LoadReport;
  if (report.requests === 0) throw new Error(`loadgen in ${pod}: no request succeeded (${report.firstError ?? 'no error'})`);
  return report;
}

const figures = (rounds: LoadReport[]): PathFigures => ({
  rounds,
  medianRps: round(median(rounds.map((r) => r.rps)), 1),
  medianP50Ms: round(median(rounds.map((r) => r.p50Ms)), 2),
  medianP99Ms: round(median(rounds.map((r) => r.p99Ms)), 2),
});

async function measure(ns: string, rounds: number, seconds: number, concurrency: number): Promise<DataplaneResult> {
  const lb = await getJson<{ spec: { clusterIP: string } }>(['service', '-n', ns, `${STACK}-lb`]);
  const appPods = await getJson<{ items: { status: { podIP: string } }[] }>(['pods', '-n', ns, '-l', 'app.kubernetes.io/component=app']);
  const appIp = appPods.items[0]?.status.podIP ?? '';
  const appHost = `${STACK}-app.${ns}.svc.cluster.local`;
  const throughStack = ['-url', `https://${DOMAIN}/`, '-connect', `${lb.spec.clusterIP}:443`, '-ca', '/ca/ca.crt'];
  const straight = ['-url', `https://${appHost}:8443/`, '-connect', `${appIp}:8443`, '-ca', '/web-tls/ca.crt', '-cert', '/web-tls/tls.crt', '-key', '/web-tls/tls.key'];
  const stack: LoadReport[] = [];
  const app: LoadReport[] = [];
  for (let i = 0; i < rounds; i++) {
    // The order flips every round, so neither path always runs on a warmer system.
    const order = i % 2 === 0 ? (['stack', 'app'] as const) : (['app', 'stack'] as const);
    for (const which of order) {
      const r = which === 'stack' ? await load(ns, 'client', throughStack, seconds, concurrency) : await load(ns, 'web-impostor', straight, seconds, concurrency);
      (which === 'stack' ? stack : app).push(r);
      log(`dataplane round ${i + 1} ${which}: ${round(r.rps, 1)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.errors} errors`);
    }
  }
  const s = figures(stack);
  const a = figures(app);
  return {
    rounds,
    secondsPerRound: seconds,
    concurrency,
    stack: s,
    app: a,
    ratio: { rps: round(s.medianRps / a.medianRps, 2), p50: round(s.medianP50Ms / a.medianP50Ms, 2), p99: round(s.medianP99Ms / a.medianP99Ms, 2) },
  };
}

async function main(): Promise<void> {
  if (process.env.WEBSTACK_TEST_CLUSTER !== 'real') throw new Error('run by test/bench/run.ts with WEBSTACK_TEST_CLUSTER=real');
  if (process.getuid?.() !== 0) throw new Error('the data-plane benchmark runs real nodes (network namespaces, mounts, cgroups): run it as root');
  log('dataplane: bringing up the real-node cluster (hack/cluster up --real-nodes 3)');
  execFileSync(`${repoRoot}/hack/cluster`, ['up', '--real-nodes', '3'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await installCrds();
  const ns = await newNamespace('bench-dp', { restricted: true });
  const publicCa = certificateAuthority('bench public CA');
  const certManager = await startCertManager(ns, 'bench-public', publicCa);
  const operator = await startTestOperator(ns, LOCAL_OPERATOR_FLAGS);
  try {
    const caSecret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'public-ca' }, data: { 'ca.crt': Buffer.from(publicCa.crt).toString('base64') } };
    await applyIn(ns, [caSecret, loadPod('client', {}, 'ca', 'public-ca'), webStack()]);
    log('dataplane: waiting for the stack to be Ready');
    await stackReady(ns);
    const web = { 'app.kubernetes.io/name': 'webstack', 'app.kubernetes.io/instance': STACK, 'app.kubernetes.io/component': 'web' };
    await applyIn(ns, [loadPod('web-impostor', web, 'web-tls', `${STACK}-web-tls`)]);
    for (const pod of ['client', 'web-impostor']) {
      await kubectl(['wait', '-n', ns, '--for=jsonpath={.status.containerStatuses[0].started}=true', '--timeout=120s', `pod/${pod}`]);
    }
    const result = await measure(ns, Number(values.rounds), Number(values.seconds), Number(values.concurrency));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await kubectl(['delete', 'webstack', '-n', ns, STACK, '--ignore-not-found', '--timeout=120s'], { allowFail: true });
    await operator.stop();
    certManager.stop();
    await deleteNamespace(ns);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`dataplane benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
