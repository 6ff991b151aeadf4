/**
 * The firewall graph: from the rendered NetworkPolicies, which (from, to, port) edges are allowed
 * between the stack's pods and the peers around them? It must be exactly the intended set.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { withDefaults, type DefaultedWebStack } from '../../../operator/api/defaults.js';
import { COMPONENT_LABEL, DB_ROLE_LABEL } from '../../../operator/api/identity.js';
import type { TLSMode } from '../../../operator/api/types.js';
import { render, type KubeObject, type RenderFacts } from '../../../operator/render/index.js';
import { webStackArbitrary } from '../../support/arbitraries.js';
import { ALL_FACTS, example, workloads } from '../../support/render.js';
import { edges, inCidr, type Endpoint, type Port } from './netpol.js';

const TIER: Record<string, string> = { loadbalancer: 'lb', web: 'web', app: 'app', database: 'database', 'log-agent': 'log-agent' };
const tcp = (port: number): Port => ({ port, protocol: 'TCP' });
const nsLabels = (ns: string) => ({ 'kubernetes.io/metadata.name': ns });

/**
 * One endpoint per rendered pod template; MySQL as both roles the controller assigns; and the pod
 * cert-manager starts in the stack's namespace to answer an ACME HTTP-01 challenge.
 */
function stackEndpoints(objects: KubeObject[]): Endpoint[] {
  let host = 1;
  const namespace = workloads(objects)[0]?.namespace ?? 'default';
  const solver = pod('acme-solver', namespace, '10.244.1.250', [tcp(8089)], { 'acme.cert-manager.io/http01-solver': 'true' });
  return [solver, ...workloads(objects).flatMap((w) => {
    const ports = w.pod.containers.flatMap((c) =>
      (c.ports ?? []).map((p) => ({ port: p.containerPort, protocol: (p.protocol ?? 'TCP') as Port['protocol'], ...(p.name ? { name: p.name } : {}) })),
    );
    const tier = TIER[w.labels[COMPONENT_LABEL] ?? ''] ?? 'unknown';
    const roles = tier === 'database' ? ['primary', 'replica'] : [undefined];
    return roles.map((role) => ({
      tier,
      ip: `10.244.1.${host++}`,
      namespace: w.namespace,
      namespaceLabels: nsLabels(w.namespace),
      labels: role ? { ...w.labels, [DB_ROLE_LABEL]: role } : w.labels,
      ports,
    }));
  })];
}

const pod = (tier: string, namespace: string, ip: string, ports: Port[], labels: Record<string, string> = {}): Endpoint => ({
  tier,
  ip,
  namespace,
  namespaceLabels: nsLabels(namespace),
  labels,
  ports,
});

/** Peers around every stack: clients, cluster DNS, Prometheus, an unrelated pod, the internet. */
const SURROUNDINGS: Endpoint[] = [
  { tier: 'client', ip: '203.0.113.10', ports: [] },
  { tier: 'client', ip: '2001:db8::10', ports: [] },
  pod('dns', 'kube-system', '10.96.0.10', [{ port: 53, protocol: 'UDP' }, tcp(53)], { 'k8s-app': 'kube-dns' }),
  pod('monitoring', 'monitoring', '10.244.2.1', [tcp(9090)], { 'app.kubernetes.io/name': 'prometheus' }),
  pod('other', 'other', '10.244.2.2', [tcp(8080)], { app: 'other' }),
  { tier: 'internet', ip: '93.184.216.34', ports: [tcp(443)] },
];

/** The peers the full example's firewall, logging and monitoring sections name. */
const FULL_PEERS: Endpoint[] = [
  pod('loki', 'observability', '10.244.3.1', [tcp(3100)]),
  pod('reporting', 'reporting', '10.244.3.2', [], { 'app.kubernetes.io/name': 'nightly-export' }),
  { tier: 'partner', ip: '198.51.100.10', ports: [tcp(443)] },
  { tier: 'partner-excluded', ip: '198.51.100.200', ports: [tcp(443)] },
  pod('mail', 'mail', '10.244.3.3', [tcp(587)]),
];

const webPort = (mode: TLSMode) => (mode === 'terminate' ? 8080 : 8443);


/**
 * The intended edges, written from the design (not from the renderer): clients -> LB, LB -> web,
 * LB -> the ACME solver, web -> app, app -> database, database <-> database, everyone -> DNS, monitoring -> metrics ports,
 * (the log agent has no policy: it runs in the node's network namespace). "Clients" are all peers inside allowedSourceRanges, pods of
 * other namespaces included (they may use the site too).
 */
function intendedEdges(stack: DefaultedWebStack, endpoints: Endpoint[]): Set<string> {
  const s = stack.spec;
  const e = new Set<string>([
    `lb->web:${webPort(s.tls.mode)}/TCP`,
    // In reencrypt mode an app serving plain HTTP is reached through its app proxy, on 8443 (9443 if the app has 8443).
    `web->app:${s.tls.mode === 'reencrypt' && !s.app.tls ? (s.app.port === 8443 ? 9443 : 8443) : s.app.port}/TCP`,
    'app->database:3306/TCP',
    'database->database:3306/TCP',
    'lb->acme-solver:8089/TCP',
  ]);
  for (const tier of ['lb', 'web', 'app', 'database']) {
    e.add(`${tier}->dns:53/UDP`);
    e.add(`${tier}->dns:53/TCP`);
  }
  // Peers whose own egress the stack does not restrict (the solver pod is cert-manager's, not the stack's).
  const outside = endpoints.filter((x) => (x.namespace !== stack.metadata.namespace || x.tier === 'acme-solver') && x.tier !== 'log-agent');
  for (const x of outside) {
    if (s.loadBalancer.allowedSourceRanges.some((cidr) => inCidr(x.ip, cidr))) {
      e.add(`${x.tier}->lb:8080/TCP`);
      e.add(`${x.tier}->lb:8443/TCP`);
    }
  }
  if (s.monitoring.enabled) {
    const scrapers = outside.filter(
      (x) => x.namespace !== undefined && Object.entries(s.monitoring.namespaceLabels).every(([k, v]) => x.namespaceLabels?.[k] === v),
    );
    for (const { tier } of scrapers) {
      e.add(`${tier}->lb:8404/TCP`);
      e.add(`${tier}->web:9113/TCP`);
      e.add(`${tier}->database:9104/TCP`);
    }
  }
  return e;
}

const sorted = (set: Set<string>) => [...set].sort();

describe('firewall graph', () => {
  it('full example: exactly the intended edges plus the spec extras', () => {
    const stack = example('full');
    const objects = render(stack, ALL_FACTS);
    const endpoints = [...stackEndpoints(objects), ...SURROUNDINGS, ...FULL_PEERS];
    const expected = intendedEdges(stack, endpoints);
    // spec.firewall.extraIngress: the reporting job may read the database.
    expected.add('reporting->database:3306/TCP');
    // spec.firewall.appEgress: the partner block except its upper half, and the mail namespace.
    expected.add('app->partner:443/TCP');
    expected.add('app->mail:587/TCP');
    expect(sorted(edges(objects, endpoints))).toEqual(sorted(expected));
  });

  it('minimal example: scrapes from the monitoring namespace only, the stdout sink needs no egress', () => {
    const stack = example('minimal');
    const objects = render(stack, ALL_FACTS);
    const endpoints = [...stackEndpoints(objects), ...SURROUNDINGS];
    expect(sorted(edges(objects, endpoints))).toEqual(sorted(intendedEdges(stack, endpoints)));
    expect(edges(objects, endpoints)).toContain('monitoring->web:9113/TCP');
    expect(edges(objects, endpoints)).toContain('monitoring->database:9104/TCP');
    // Another tenant's namespace reads neither the traffic nor the database's state.
    expect(edges(objects, endpoints)).not.toContain('other->web:9113/TCP');
    expect(edges(objects, endpoints)).not.toContain('other->database:9104/TCP');
  });

  it('namespaceLabels {} widens scrapes to every namespace', () => {
    const stack = example('minimal');
    stack.spec.monitoring.namespaceLabels = {};
    const objects = render(stack, ALL_FACTS);
    const endpoints = [...stackEndpoints(objects), ...SURROUNDINGS];
    expect(sorted(edges(objects, endpoints))).toEqual(sorted(intendedEdges(stack, endpoints)));
    expect(edges(objects, endpoints)).toContain('other->web:9113/TCP');
  });

  it.each<TLSMode>(['reencrypt', 'terminate', 'passthrough'])('%s: the LB reaches the web tier on its TLS mode port only', (mode) => {
    const base = example('minimal');
    const stack = { ...base, spec: { ...base.spec, tls: { ...base.spec.tls, mode } } };
    const objects = render(stack, ALL_FACTS);
    const endpoints = [...stackEndpoints(objects), ...SURROUNDINGS];
    expect(sorted(edges(objects, endpoints))).toEqual(sorted(intendedEdges(stack, endpoints)));
  });

  it('admits only clients inside allowedSourceRanges', () => {
    const base = example('minimal');
    const stack = { ...base, spec: { ...base.spec, loadBalancer: { ...base.spec.loadBalancer, allowedSourceRanges: ['203.0.113.0/24'] } } };
    const objects = render(stack, ALL_FACTS);
    const endpoints = [...stackEndpoints(objects), { tier: 'stranger', ip: '192.0.2.7', ports: [] }, ...SURROUNDINGS];
    const found = edges(objects, endpoints);
    expect(found).toContain('client->lb:8443/TCP');
    expect([...found].filter((e) => e.startsWith('stranger->'))).toEqual([]);
  });

  it('random specs: exactly the intended edges; extra rules never open paths between tiers', () => {
    const tiers = new Set(['lb', 'web', 'app', 'database']);
    fc.assert(
      fc.property(webStackArbitrary, fc.boolean(), (raw, prometheusOperator) => {
        const stack = withDefaults(raw);
        const facts: RenderFacts = { certManager: true, prometheusOperator };
        const objects = render(stack, facts);
        const endpoints = [...stackEndpoints(objects), ...SURROUNDINGS];
        const found = edges(objects, endpoints);
        const internal = (set: Set<string>) => sorted(set).filter((e) => {
          const [from = '', to = ''] = e.split(/->|:/);
          return tiers.has(from) && tiers.has(to);
        });
        expect(internal(found)).toEqual(internal(intendedEdges(stack, endpoints)));
        const { extraIngress, appEgress } = stack.spec.firewall;
        if (extraIngress.length === 0 && appEgress.length === 0) {
          expect(sorted(found)).toEqual(sorted(intendedEdges(stack, endpoints)));
        }
      }),
      { numRuns: 60 },
    );
  });
});
