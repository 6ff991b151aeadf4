/** What `kubectl webstack status` and `why` print (operator/cli/explain.ts). */
import { describe, expect, it } from '@jest/globals';
import type { WebStack } from '../../../operator/api/types.js';
import { statusTree, whyNotReady } from '../../../operator/cli/explain.js';

const NOW = new Date('2026-12-07T12:00:00Z');
const cond = (type: string, status: 'True' | 'False' | 'Unknown', reason: string, message: string) => ({ type, status, reason, message, lastTransitionTime: '2026-12-07T11:00:00Z' });

function stack(conditions: ReturnType<typeof cond>[], generation = 3): WebStack {
  return {
    apiVersion: 'webstack.dev/v1alpha1',
    kind: 'WebStack',
    metadata: { name: 'shop', namespace: 'team-a', generation },
    spec: { domain: 'shop.example.com', tls: { issuerRef: { name: 'le' } }, app: { image: 'shop:1' } },
    status: {
      observedGeneration: 3,
      phase: 'Degraded',
      url: 'https://shop.example.com',
      conditions,
      database: {
        primary: 'shop-mysql-1',
        replicas: [],
        state: 'Degraded',
        reason: 'shop-mysql-1 is the primary; 0 of 1 replicas are in sync',
        instances: [
          { name: 'shop-mysql-0', role: 'replica', healthy: false, reason: '45 s behind' },
          { name: 'shop-mysql-1', role: 'primary', healthy: true, reason: 'accepts writes' },
        ],
        lastFailover: { time: '2026-12-07T11:30:00Z', from: 'shop-mysql-0', to: 'shop-mysql-1', reason: 'power cut' },
      },
    },
  };
}

const serving = [cond('Ready', 'True', 'Available', 'https://shop.example.com is served by 2 load balancers'), cond('Stalled', 'False', 'NotStalled', 'nothing is blocked')];

describe('kubectl webstack status', () => {
  it('shows every concern with its mark, the database instances and the certificates with their expiry', () => {
    const ws = stack([...serving, cond('DatabaseReady', 'False', 'Degraded', 'replica behind'), cond('LoggingReady', 'Unknown', 'DeliveryUnknown', 'cannot be read')]);
    const out = statusTree(ws, [{ metadata: { name: 'shop-tls' }, status: { notAfter: '2027-01-06T12:00:00Z', conditions: [{ type: 'Ready', status: 'True' }] } }, { metadata: { name: 'shop-web-tls' } }], NOW);
    expect(out).toContain('WebStack team-a/shop: Degraded (Ready True: Available)');
    expect(out).toMatch(/!! DatabaseReady\s+Degraded: replica behind/);
    expect(out).toMatch(/\?\? LoggingReady\s+DeliveryUnknown: cannot be read/);
    expect(out).toMatch(/\? {2}TLSReady\s+not reported/);
    expect(out).toContain('database: Degraded, primary shop-mysql-1, 0 replicas in sync');
    expect(out).toMatch(/shop-mysql-0\s+replica\s+unhealthy\s+45 s behind/);
    expect(out).toContain('last failover 2026-12-07T11:30:00Z: shop-mysql-0 -> shop-mysql-1');
    expect(out).toMatch(/ok shop-tls\s+expires 2027-01-06T12:00:00Z \(in 30 d\)/);
    expect(out).toMatch(/!! shop-web-tls\s+not issued yet/);
  });
});

describe('kubectl webstack why', () => {
  it('names a stalled concern first, then what keeps Ready False, then an auxiliary concern, else says it is Ready', () => {
    expect(whyNotReady(stack([cond('Ready', 'False', 'Lost', 'DatabaseReady: no instance can be promoted'), cond('Stalled', 'True', 'Lost', 'DatabaseReady: no instance can be promoted')]))).toBe(
      'shop is stalled, waiting will not fix it: DatabaseReady: no instance can be promoted (reason Lost)\n',
    );
    expect(whyNotReady(stack([cond('Ready', 'False', 'RollingOut', 'WebReady: 1/2 pods ready'), cond('Stalled', 'False', 'NotStalled', '')]))).toBe('shop is not Ready: WebReady: 1/2 pods ready (reason RollingOut)\n');
    expect(whyNotReady(stack([...serving, cond('LoggingReady', 'False', 'SinkUnreachable', 'the loki sink does not accept logs')]))).toBe(
      'shop serves, but LoggingReady is False: the loki sink does not accept logs (reason SinkUnreachable)\n',
    );
    expect(whyNotReady(stack(serving))).toBe('shop is Ready: https://shop.example.com is served by 2 load balancers\n');
  });

  it('says when the operator has not looked at the latest spec, or at the stack at all', () => {
    expect(whyNotReady(stack(serving, 4))).toBe('shop: the operator has not yet looked at generation 4 of the spec (status is for 3)\n');
    const fresh = { ...stack([]), status: {} } as WebStack;
    expect(whyNotReady(fresh)).toContain('shop has no status yet: is the operator running');
  });
});
