/**
 * Runs the real operator in the test process, against the local control plane, scoped to the
 * test's namespace, and reads its own metrics.
 */
import { pino } from 'pino';
import { startOperator, type RunningOperator } from '../../operator/main.js';
import { parseConfig } from '../../operator/runtime/config.js';
import { kubeConfig } from './cluster.js';

export const AGENT_NAMESPACE = 'webstack-system';

/**
 * KWOK pods run no process and their made-up addresses route off this machine: the database
 * controller and the log delivery check (both dial pods) are off on the fake-node cluster (status
 * then says so) and on for the real-node cluster (e2e).
 */
export const CLUSTER_FLAGS: readonly string[] = process.env.WEBSTACK_TEST_CLUSTER === 'real' ? [] : ['--database-controller=false', '--log-delivery-check=false'];

/** WEBSTACK_E2E_LOG_LEVEL (default warn): `info` shows every database decision when a drill fails. */
const LOG_LEVEL = process.env.WEBSTACK_E2E_LOG_LEVEL ?? 'warn';

export async function startTestOperator(namespace: string, flags: string[] = []): Promise<RunningOperator> {
  const config = parseConfig(['--namespaces', namespace, '--leader-elect=false', '--log-level', LOG_LEVEL, '--resync-period', '0', ...CLUSTER_FLAGS, ...flags], {});
  // Any free port: several operators may run side by side in one test.
  config.metricsPort = 0;
  // Warnings (refused applies, failed reconciles) go to stderr, where a failing test shows them.
  return startOperator({ config, kubeConfig: kubeConfig(), logger: pino({ level: config.logLevel }, pino.destination(2)) });
}

const READ_VERBS = new Set(['get', 'list', 'watch']);

/** API requests the operator made that change something (leases excluded: renewals are not reconciles). */
export async function writeRequests(operator: RunningOperator): Promise<number> {
  const metric = await operator.metrics.registry.getSingleMetric('webstack_api_requests_total')?.get();
  return (metric?.values ?? [])
    .filter((v) => !READ_VERBS.has(String(v.labels.verb)) && !String(v.labels.resource).startsWith('leases'))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Requests by verb and resource, for a failure message that says what was written. */
export async function requestsByKind(operator: RunningOperator): Promise<Record<string, number>> {
  const metric = await operator.metrics.registry.getSingleMetric('webstack_api_requests_total')?.get();
  const out: Record<string, number> = {};
  for (const v of metric?.values ?? []) out[`${String(v.labels.verb)} ${String(v.labels.resource)} ${String(v.labels.code)}`] = v.value;
  return out;
}
