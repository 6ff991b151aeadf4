/** A stack and the observation of it fully converged, for the tests of the status verdicts. */
import { withDefaults } from '../../operator/api/defaults.js';
import type { WebStack } from '../../operator/api/types.js';
import type { Observation, WorkloadState } from '../../operator/reconcile/status.js';

export const stack = withDefaults({
  apiVersion: 'webstack.dev/v1alpha1',
  kind: 'WebStack',
  metadata: { name: 'foobar', namespace: 'shop', generation: 4 },
  spec: { domain: 'www.foobar.com', tls: { issuerRef: { name: 'letsencrypt' } }, app: { image: 'ghcr.io/acme/shop:1.4.2' } },
} satisfies WebStack);

export const healthy = (n: number): WorkloadState => ({ desired: n, ready: n, updated: n, current: n, observed: true });

/** What the Deployment controller reports once spec.progressDeadlineSeconds pass without progress. */
export const pastDeadline = (deployment: string, n: number): WorkloadState => ({
  desired: n,
  ready: n - 1,
  updated: 1,
  current: n + 1,
  observed: true,
  failure: { reason: 'ProgressDeadlineExceeded', message: `Deployment ${deployment}: ReplicaSet "${deployment}-7d9f" has timed out progressing.` },
});

export function converged(): Observation {
  return {
    certManager: true,
    prometheusOperator: true,
    issuerFound: true,
    workloads: { loadBalancer: healthy(2), web: healthy(3), app: healthy(3), database: healthy(2), logAgent: healthy(3) },
    certificates: { 'foobar-tls': { ready: true, message: '' }, 'foobar-web-tls': { ready: true, message: '' } },
    lbAddress: '203.0.113.10',
    database: { primary: 'foobar-mysql-0', replicas: ['foobar-mysql-1'], controller: true },
    volumes: ['data-foobar-mysql-0', 'data-foobar-mysql-1'].map((name) => ({ name, requested: '10Gi', capacity: '10Gi', bound: true, fileSystemPending: false })),
    applyErrors: {},
  };
}
