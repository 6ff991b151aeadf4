/**
 * spec.firewall.dns: the DNS peer of every stack pod and of the log agent. The default is kube-dns
 * in kube-system on port 53; NodeLocal DNSCache and OpenShift need other peers and ports.
 */
import { describe, expect, it } from '@jest/globals';
import type { DefaultedWebStack } from '../../../operator/api/defaults.js';
import { render, type KubeObject } from '../../../operator/render/index.js';
import { ALL_FACTS, byKind, example } from '../../support/render.js';

interface Policy {
  metadata: { name: string; namespace?: string };
  spec: { egress?: { to?: unknown[]; ports?: { port: number; protocol: string }[] }[] };
}

/** The egress rules (of any NetworkPolicy) that go to port 53 or 5353: the DNS rules. */
function dnsRules(objects: KubeObject[]): { policy: string; to: unknown[]; ports: unknown[] }[] {
  return (byKind(objects, 'NetworkPolicy') as unknown as Policy[]).flatMap((p) =>
    (p.spec.egress ?? [])
      .filter((r) => r.ports?.some((port) => port.port === 53 || port.port === 5353))
      .map((r) => ({ policy: p.metadata.name, to: r.to ?? [], ports: r.ports ?? [] })),
  );
}

const withDns = (dns: DefaultedWebStack['spec']['firewall']['dns']): DefaultedWebStack => {
  const stack = structuredClone(example('full'));
  stack.spec.firewall.dns = dns;
  return stack;
};

describe('the DNS peer', () => {
  it('is kube-dns in kube-system on port 53 by default', () => {
    // (The log agent has no policy: it runs in the node's network namespace.)
    const stack = structuredClone(example('minimal'));
    stack.spec.logging.sink = { type: 'otlp', endpoint: 'http://collector.observability:4318' };
    const rules = dnsRules(render(stack, ALL_FACTS));
    expect(rules.map((r) => r.policy)).toEqual(['minimal-allow-dns']);
    for (const r of rules) {
      expect(r.to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }]);
      expect(r.ports).toEqual([
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ]);
    }
  });

  it('follows spec.firewall.dns: NodeLocal DNSCache on its link-local address', () => {
    const rules = dnsRules(render(withDns({ to: { cidr: '169.254.20.10/32' }, ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] }), ALL_FACTS));
    expect(rules).toHaveLength(1);
    for (const r of rules) expect(r.to).toEqual([{ ipBlock: { cidr: '169.254.20.10/32' } }]);
  });

  it('follows spec.firewall.dns: OpenShift DNS pods on port 5353', () => {
    const dns = { to: { namespaceLabels: { 'kubernetes.io/metadata.name': 'openshift-dns' }, podLabels: { 'dns.operator.openshift.io/daemonset-dns': 'default' } }, ports: [{ port: 5353, protocol: 'UDP' as const }, { port: 5353, protocol: 'TCP' as const }] };
    const rules = dnsRules(render(withDns(dns), ALL_FACTS));
    expect(rules).toHaveLength(1);
    for (const r of rules) {
      expect(r.to).toEqual([{ namespaceSelector: { matchLabels: dns.to.namespaceLabels }, podSelector: { matchLabels: dns.to.podLabels } }]);
      expect(r.ports).toEqual([{ protocol: 'UDP', port: 5353 }, { protocol: 'TCP', port: 5353 }]);
    }
  });
});
