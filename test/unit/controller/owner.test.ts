import { describe, expect, it } from '@jest/globals';
import { stackKeyOf } from '../../../operator/controller/owner.js';
import type { KubeObject } from '../../../operator/kube/types.js';

const obj = (kind: string, namespace: string, labels: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind, metadata: { name: 'x', namespace, labels } });

describe('stackKeyOf', () => {
  it('names the stack from the owner labels, also across namespaces (log agents)', () => {
    const agent = obj('DaemonSet', 'webstack-system', { 'webstack.dev/owner-namespace': 'shop', 'webstack.dev/owner-name': 'foobar', 'app.kubernetes.io/instance': 'foobar' });
    expect(stackKeyOf(agent)).toBe('shop/foobar');
  });

  it('maps a MySQL pod, which carries only its template labels, to the stack in its namespace', () => {
    const pod = obj('Pod', 'shop', { 'app.kubernetes.io/instance': 'foobar', 'app.kubernetes.io/component': 'database', 'webstack.dev/mysql-role': 'primary' });
    expect(stackKeyOf(pod)).toBe('shop/foobar');
  });

  it('ignores objects that name no stack', () => {
    expect(stackKeyOf(obj('ConfigMap', 'shop', { 'app.kubernetes.io/instance': 'foobar' }))).toBeUndefined();
    expect(stackKeyOf(obj('Pod', 'shop', {}))).toBeUndefined();
  });
});
