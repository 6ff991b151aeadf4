import { describe, expect, it } from '@jest/globals';
import type { Condition } from '../../../operator/api/types.js';
import { transitions } from '../../../operator/reconcile/events.js';
import { computeStatus } from '../../../operator/reconcile/status.js';
import { converged, healthy, pastDeadline, stack } from '../../support/observations.js';

const NOW = '2026-11-26T00:00:00Z';
const cond = (conditions: Condition[] | undefined, type: string): Condition | undefined => conditions?.find((c) => c.type === type);

describe('computeStatus', () => {
  it('reports a converged stack as Ready and Current for kstatus', () => {
    const status = computeStatus(stack, converged(), undefined, NOW);
    expect(status.phase).toBe('Ready');
    expect(status.observedGeneration).toBe(4);
    expect(status.tiers).toEqual({ loadBalancer: '2/2', web: '3/3', app: '3/3', database: '2/2' });
    expect(status.loadBalancer).toEqual({ address: '203.0.113.10' });
    expect(cond(status.conditions, 'Ready')?.status).toBe('True');
    expect(cond(status.conditions, 'Reconciling')?.status).toBe('False');
    expect(cond(status.conditions, 'Stalled')?.status).toBe('False');
    expect(status.conditions?.every((c) => c.observedGeneration === 4)).toBe(true);
  });

  it("says LoggingReady False (SinkUnreachable) when the agent reports the stack's sink refusing, without taking the site down", () => {
    const failing = { ...converged(), logDelivery: { state: 'failing' as const, message: 'nothing accepted for 20s or more' } };
    const status = computeStatus(stack, failing, undefined, NOW);
    expect(cond(status.conditions, 'LoggingReady')).toMatchObject({ status: 'False', reason: 'SinkUnreachable', message: expect.stringContaining('nothing accepted for 20s') as unknown });
    // Logging degrades, it does not block: the site serves, the stack is not stalled.
    expect(cond(status.conditions, 'Stalled')?.status).toBe('False');
    const fine = computeStatus(stack, { ...converged(), logDelivery: { state: 'accepted', message: 'the sink accepts what the agent sends' } }, undefined, NOW);
    expect(cond(fine.conditions, 'LoggingReady')).toMatchObject({ status: 'True', reason: 'Shipping', message: expect.stringContaining('the sink accepts what the agent sends') as unknown });
  });

  it('says LoggingReady Unknown, never Shipping, while delivery cannot be read, and keeps Reconciling False and the phase Ready for it', () => {
    for (const logDelivery of [undefined, { state: 'unread' as const, message: "none of the 3 agent pods' metrics could be read: connect ECONNREFUSED" }]) {
      const obs = converged();
      delete obs.logDelivery;
      const status = computeStatus(stack, logDelivery ? { ...obs, logDelivery } : obs, undefined, NOW);
      expect(cond(status.conditions, 'LoggingReady')).toMatchObject({ status: 'Unknown', reason: 'DeliveryUnknown' });
      expect(cond(status.conditions, 'Ready')?.status).toBe('True');
      // Not knowing is no work in progress: kstatus (Flux) reads the stack as Current.
      expect(cond(status.conditions, 'Reconciling')?.status).toBe('False');
      expect(status.phase).toBe('Ready');
    }
  });

  it("follows the database loop's verdict: Degraded is not Ready, Lost and Unreachable are Stalled, Healthy is Available", () => {
    const withDatabase = (state: 'Healthy' | 'Degraded' | 'Lost' | 'Unreachable', reason: string) => {
      const obs = converged();
      obs.database = { ...obs.database, state, reason };
      return computeStatus(stack, obs, undefined, NOW);
    };
    const degraded = withDatabase('Degraded', 'replica foobar-mysql-1 is 40 s behind');
    expect(cond(degraded.conditions, 'DatabaseReady')).toMatchObject({ status: 'False', reason: 'Degraded', message: 'replica foobar-mysql-1 is 40 s behind' });
    expect(cond(degraded.conditions, 'Ready')?.status).toBe('False');
    expect(cond(degraded.conditions, 'Reconciling')?.status).toBe('True');
    const lost = withDatabase('Lost', 'no replica holds every acknowledged write');
    expect(cond(lost.conditions, 'DatabaseReady')).toMatchObject({ status: 'False', reason: 'Lost' });
    expect(cond(lost.conditions, 'Stalled')?.status).toBe('True');
    const cut = withDatabase('Unreachable', 'no instance has answered the operator for 130 s while every pod is Ready');
    expect(cond(cut.conditions, 'DatabaseReady')).toMatchObject({ status: 'False', reason: 'Unreachable', message: expect.stringContaining('130 s') as unknown });
    expect(cond(cut.conditions, 'Stalled')).toMatchObject({ status: 'True', reason: 'Unreachable' });
    expect(cond(withDatabase('Healthy', 'every replica is in sync').conditions, 'DatabaseReady')).toMatchObject({ status: 'True', reason: 'Available' });
  });

  it('stalls on a database pod that cannot pull its image, naming the pod and the reason', () => {
    const obs = converged();
    obs.database = { ...obs.database, failing: { pod: 'foobar-mysql-1', reason: 'ImagePullBackOff', message: 'container mysql: Back-off pulling image "mysql:9.7-typo"' } };
    const status = computeStatus(stack, obs, undefined, NOW);
    expect(cond(status.conditions, 'DatabaseReady')).toMatchObject({ status: 'False', reason: 'ImagePullBackOff', message: expect.stringContaining('foobar-mysql-1 cannot start') as unknown });
    expect(cond(status.conditions, 'Stalled')?.status).toBe('True');
  });

  it('names the certificate it waits for', () => {
    const obs = converged();
    obs.certificates['foobar-tls'] = { ready: false, message: 'Issuing certificate as Secret does not exist' };
    const status = computeStatus(stack, obs, undefined, NOW);
    expect(cond(status.conditions, 'TLSReady')).toMatchObject({ status: 'False', reason: 'CertificateNotReady' });
    expect(cond(status.conditions, 'Ready')?.message).toContain('waiting for cert-manager to issue secret foobar-tls');
    expect(cond(status.conditions, 'Reconciling')?.status).toBe('True');
  });

  it('stalls, not waits, when something only the user can fix is missing', () => {
    const obs = { ...converged(), issuerFound: false };
    const status = computeStatus(stack, obs, undefined, NOW);
    expect(cond(status.conditions, 'TLSReady')).toMatchObject({ reason: 'IssuerNotFound', message: 'ClusterIssuer letsencrypt (cert-manager.io) does not exist' });
    expect(cond(status.conditions, 'Stalled')?.status).toBe('True');
    expect(cond(status.conditions, 'Reconciling')?.status).toBe('False');
    expect(cond(status.conditions, 'Ready')?.status).toBe('False');
  });

  it('never says Reconciling while Stalled, so kstatus reads Failed, not InProgress', () => {
    const obs = { ...converged(), issuerFound: false };
    obs.workloads.web = { desired: 3, ready: 1, updated: 1, current: 4, observed: true }; // and a rollout under way
    const status = computeStatus(stack, obs, undefined, NOW);
    expect(cond(status.conditions, 'Stalled')).toMatchObject({ status: 'True', reason: 'IssuerNotFound' });
    expect(cond(status.conditions, 'Reconciling')).toMatchObject({ status: 'False', reason: 'Stalled' });
    expect(cond(status.conditions, 'WebReady')).toMatchObject({ status: 'False', reason: 'RollingOut' });
  });

  it('stalls on a Deployment past its progress deadline, naming its reason and message', () => {
    const obs = converged();
    obs.workloads.web = pastDeadline('foobar-web', 3);
    const status = computeStatus(stack, obs, undefined, NOW);
    const expected = 'Nginx: Deployment foobar-web: ReplicaSet "foobar-web-7d9f" has timed out progressing.';
    expect(cond(status.conditions, 'WebReady')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded', message: expected });
    expect(cond(status.conditions, 'Stalled')).toMatchObject({ status: 'True', reason: 'ProgressDeadlineExceeded', message: `WebReady: ${expected}` });
    expect(cond(status.conditions, 'Reconciling')?.status).toBe('False');
    expect(cond(status.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
  });

  it('names the stalled concern in Ready even when an earlier one only waits', () => {
    const obs = converged();
    obs.certificates['foobar-tls'] = { ready: false, message: '' };
    obs.workloads.app = pastDeadline('foobar-app', 3);
    const ready = cond(computeStatus(stack, obs, undefined, NOW).conditions, 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(ready?.message).toMatch(/^AppReady: /);
  });

  it('does not blame a stale progress deadline while the controller has not seen the new spec', () => {
    const obs = converged();
    obs.workloads.web = { ...healthy(3), observed: false, failure: { reason: 'ProgressDeadlineExceeded', message: 'old rollout' } };
    const status = computeStatus(stack, obs, undefined, NOW);
    expect(cond(status.conditions, 'WebReady')?.reason).toBe('RollingOut');
    expect(cond(status.conditions, 'Stalled')?.status).toBe('False');
    expect(cond(status.conditions, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RollingOut' });
  });

  it('keeps serving Ready but Degraded without prometheus-operator', () => {
    const status = computeStatus(stack, { ...converged(), prometheusOperator: false }, undefined, NOW);
    expect(cond(status.conditions, 'MonitoringReady')).toMatchObject({ status: 'False', reason: 'PrometheusOperatorMissing' });
    expect(cond(status.conditions, 'MonitoringReady')?.message).toContain('monitoring.coreos.com CRDs are not installed');
    expect(cond(status.conditions, 'Ready')?.status).toBe('True');
    expect(status.phase).toBe('Degraded');
  });

  it('reports rollouts and readiness counts per tier', () => {
    const obs = converged();
    obs.workloads.web = { desired: 3, ready: 3, updated: 1, current: 4, observed: true };
    obs.workloads.app = { desired: 3, ready: 1, updated: 3, current: 3, observed: true };
    obs.workloads.loadBalancer = { desired: 2, ready: 3, updated: 2, current: 3, observed: true };
    const status = computeStatus(stack, obs, undefined, NOW);
    expect(cond(status.conditions, 'WebReady')).toMatchObject({ reason: 'RollingOut', message: 'Nginx: 1/3 pods updated, 3 ready' });
    expect(cond(status.conditions, 'AppReady')).toMatchObject({ reason: 'PodsNotReady' });
    expect(cond(status.conditions, 'LoadBalancerReady')).toMatchObject({ reason: 'RollingOut', message: 'HAProxy: 1 pods of the previous version still running' });
    expect(status.tiers?.app).toBe('1/3');
    expect(status.phase).toBe('Progressing');
  });

  it('blocks Ready on any refused child and says which', () => {
    const obs = { ...converged(), applyErrors: { 'PodDisruptionBudget/foobar-web': 'admission webhook denied it' } };
    const ready = cond(computeStatus(stack, obs, undefined, NOW).conditions, 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'ApplyFailed' });
    expect(ready?.message).toContain('PodDisruptionBudget/foobar-web: admission webhook denied it');
  });

  it('keeps lastTransitionTime while a condition keeps its status', () => {
    const first = computeStatus(stack, converged(), undefined, NOW);
    const second = computeStatus(stack, converged(), first, '2026-11-26T01:00:00Z');
    expect(second).toEqual(first);
    const { lbAddress: _, ...withoutAddress } = converged();
    const third = computeStatus(stack, withoutAddress, second, '2026-11-26T02:00:00Z');
    expect(cond(third.conditions, 'LoadBalancerReady')?.lastTransitionTime).toBe('2026-11-26T02:00:00Z');
    expect(cond(third.conditions, 'WebReady')?.lastTransitionTime).toBe(NOW);
  });
});

describe('transitions', () => {
  const at = (type: string, status: 'True' | 'False', reason = 'R'): Condition => ({ type, status, reason, message: `${type} ${reason}`, lastTransitionTime: NOW });

  it('records Ready both ways, Stalled, and concerns that regress', () => {
    expect(transitions(undefined, [at('Ready', 'False', 'CertificateNotReady'), at('WebReady', 'False')])).toEqual([
      { type: 'Normal', reason: 'CertificateNotReady', message: 'Ready CertificateNotReady' },
    ]);
    expect(transitions([at('Ready', 'False'), at('Stalled', 'False')], [at('Ready', 'True'), at('Stalled', 'True', 'IssuerNotFound')])).toEqual([
      { type: 'Normal', reason: 'Ready', message: 'Ready R' },
      { type: 'Warning', reason: 'IssuerNotFound', message: 'Stalled IssuerNotFound' },
    ]);
    expect(transitions([at('WebReady', 'True')], [at('WebReady', 'False', 'PodsNotReady')])).toEqual([
      { type: 'Warning', reason: 'PodsNotReady', message: 'WebReady: WebReady PodsNotReady' },
    ]);
    expect(transitions([at('WebReady', 'True')], [at('WebReady', 'True')])).toEqual([]);
  });
});
