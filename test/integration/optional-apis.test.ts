/**
 * Without cert-manager and prometheus-operator the operator says so in conditions and still
 * converges every other tier. Runs on a second local cluster started without their CRDs, so the
 * shared cluster keeps them.
 */
import { loadExample } from '../support/examples.js';
import { CLUSTER_FLAGS } from '../support/operator.js';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { WebStack } from '../../operator/api/types.js';
import { startOperator, type RunningOperator } from '../../operator/main.js';
import { parseConfig } from '../../operator/runtime/config.js';
import { binDir, eventually, repoRoot, run } from '../support/cluster.js';

jest.setTimeout(180_000);

const env = { ...process.env, WEBSTACK_CLUSTER_NAME: 'webstack-bare', WEBSTACK_OPTIONAL_CRDS: 'false' };
const hackCluster = (arg: string) => run(path.join(repoRoot, 'hack/cluster'), [arg], { env, timeoutMs: 170_000 });
let kubeconfig: string;
const kubectl = (args: string[], input?: string) =>
  run(path.join(binDir(), 'kubectl'), ['--kubeconfig', kubeconfig, ...args], input === undefined ? {} : { input });

let operator: RunningOperator | undefined;

beforeAll(async () => {
  await hackCluster('up');
  kubeconfig = (await hackCluster('kubeconfig')).stdout.trim();
  await kubectl(['apply', '--server-side', '-f', path.join(repoRoot, 'crds')]);
  await kubectl(['wait', '--for=condition=Established', 'crd/webstacks.webstack.dev', '--timeout=60s']);
  await kubectl(['create', 'namespace', 'shop']);
  await kubectl(['create', 'namespace', 'webstack-system']);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const config = parseConfig(['--leader-elect=false', '--log-level', 'warn', ...CLUSTER_FLAGS], {});
  config.metricsPort = 0;
  operator = await startOperator({ config, kubeConfig: kc, logger: pino({ level: 'warn' }, pino.destination(2)) });
});

afterAll(async () => {
  await operator?.stop();
  await hackCluster('down');
});

it('reports the missing APIs and converges the rest', async () => {
  const stack = loadExample('minimal', 'shop');
  await kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(stack));
  const conditions = await eventually(
    async () => {
      const { stdout } = await kubectl(['get', 'webstack', 'minimal', '-n', 'shop', '-o', 'json']);
      const ws = JSON.parse(stdout) as WebStack;
      const all = Object.fromEntries((ws.status?.conditions ?? []).map((c) => [c.type, c]));
      for (const tier of ['LoadBalancerReady', 'WebReady', 'AppReady', 'DatabaseReady', 'FirewallReady']) {
        if (all[tier]?.status !== 'True') throw new Error(`${tier} is ${all[tier]?.status ?? 'absent'}: ${all[tier]?.message ?? ''}`);
      }
      return all;
    },
    { description: 'every tier but TLS and monitoring to be ready without cert-manager', timeoutMs: 120_000 },
  );
  expect(conditions.TLSReady).toMatchObject({ status: 'False', reason: 'CertManagerMissing' });
  expect(conditions.MonitoringReady).toMatchObject({ status: 'False', reason: 'PrometheusOperatorMissing' });
  expect(conditions.MonitoringReady?.message).toContain('monitoring.coreos.com CRDs are not installed');
  expect(conditions.Stalled).toMatchObject({ status: 'True' });
  expect(conditions.Ready).toMatchObject({ status: 'False', reason: 'CertManagerMissing' });
});
