/**
 * What Flux and kpt make of the WebStack status the operator computes, asked of the library they
 * use (sigs.k8s.io/cli-utils/pkg/kstatus, wrapped by hack/kstatus and built by hack/build.sh)
 * rather than of our own reading of its rules.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { WebStack, WebStackStatus } from '../../../operator/api/types.js';
import { computeStatus, type Observation } from '../../../operator/reconcile/status.js';
import { binDir, run } from '../../support/cluster.js';
import { converged, pastDeadline, stack } from '../../support/observations.js';

interface KstatusResult {
  status: 'InProgress' | 'Failed' | 'Current' | 'Terminating' | 'NotFound' | 'Unknown';
  message: string;
}

function kstatusPath(): string {
  const bin = path.join(binDir(), 'kstatus');
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: run hack/build.sh control-plane (it builds hack/kstatus)`);
  return bin;
}

/** kstatus' verdict on the stack as the API server would serve it, with `status` and metadata.generation. */
async function kstatus(status: WebStackStatus, generation = stack.metadata.generation): Promise<KstatusResult> {
  const { status: _previous, ...rest } = stack;
  const object: WebStack = { ...rest, metadata: { ...stack.metadata, ...(generation !== undefined ? { generation } : {}) }, status };
  const { stdout } = await run(kstatusPath(), [], { input: JSON.stringify(object) });
  return JSON.parse(stdout) as KstatusResult;
}

const statusOf = (edit: (obs: Observation) => void): WebStackStatus => {
  const obs = converged();
  edit(obs);
  return computeStatus(stack, obs, undefined, '2026-12-02T00:00:00Z');
};

describe('kstatus (cli-utils) on the status the operator computes', () => {
  it('reads a Deployment past its progress deadline as Failed, with the reason', async () => {
    const result = await kstatus(statusOf((obs) => (obs.workloads.web = pastDeadline('foobar-web', 3))));
    expect(result.status).toBe('Failed');
    expect(result.message).toContain('has timed out progressing');
  });

  it('reads a stall while other tiers still roll out as Failed', async () => {
    const status = statusOf((obs) => {
      obs.issuerFound = false;
      obs.workloads.app = { desired: 3, ready: 1, updated: 1, current: 4, observed: true };
    });
    expect(await kstatus(status)).toMatchObject({ status: 'Failed' });
  });

  it('reads a rollout under way as InProgress', async () => {
    const status = statusOf((obs) => (obs.workloads.web = { desired: 3, ready: 2, updated: 1, current: 4, observed: true }));
    expect(await kstatus(status)).toMatchObject({ status: 'InProgress' });
  });

  it('reads a ready stack whose status describes the current generation as Current', async () => {
    expect(await kstatus(statusOf(() => undefined))).toMatchObject({ status: 'Current' });
  });

  it('reads a ready status of an older generation as InProgress', async () => {
    expect(await kstatus(statusOf(() => undefined), (stack.metadata.generation ?? 0) + 1)).toMatchObject({ status: 'InProgress' });
  });

  // The shape the operator wrote before: kstatus answers with the first True of the two, and Reconciling is listed first.
  it('would read Stalled and Reconciling both True as InProgress (why the operator never writes that)', async () => {
    const stalled = statusOf((obs) => (obs.workloads.web = pastDeadline('foobar-web', 3)));
    const both = (stalled.conditions ?? []).map((c) => (c.type === 'Reconciling' ? { ...c, status: 'True' as const, reason: 'RollingOut' } : c));
    expect(await kstatus({ ...stalled, conditions: both })).toMatchObject({ status: 'InProgress' });
  });
});
