/**
 * A small NetworkPolicy evaluator for the firewall tests: given endpoints (pods with labels,
 * namespaces with labels, IPs, ports) and the rendered policies, which connections are allowed?
 *
 * Semantics (networking.k8s.io/v1): a pod is isolated for a direction when a policy of its
 * namespace selects it and lists that policy type; then a connection is allowed only if some rule
 * of such a policy matches the peer and the destination port. A connection happens only if the
 * source's egress AND the destination's ingress allow it. Endpoints outside the cluster, or in
 * namespaces without policies here, are not isolated. ipBlocks are matched against pod IPs too,
 * the conservative reading (some CNIs do, some do not).
 */
import { BlockList, isIPv6 } from 'node:net';
import type { KubeObject } from '../../../operator/render/index.js';
import { matches, spec, type Labels } from '../../support/render.js';

export interface Port {
  port: number;
  protocol: 'TCP' | 'UDP';
  name?: string;
}

export interface Endpoint {
  /** Name of the tier or peer in the edge set, e.g. `web` or `monitoring`. */
  tier: string;
  ip: string;
  /** Absent outside the cluster. */
  namespace?: string;
  namespaceLabels?: Labels;
  labels?: Labels;
  /** Ports it listens on. */
  ports: Port[];
}

interface Selector {
  matchLabels?: Labels;
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface RulePort {
  port?: number | string;
  endPort?: number;
  protocol?: string;
}
interface Rule {
  peers?: Peer[];
  ports?: RulePort[];
}
interface Policy {
  namespace: string;
  podSelector: Selector;
  types: string[];
  ingress: Rule[];
  egress: Rule[];
}

function policies(objects: KubeObject[]): Policy[] {
  return objects
    .filter((o) => o.kind === 'NetworkPolicy')
    .map((o) => {
      const s = spec(o) as {
        podSelector: Selector;
        policyTypes?: string[];
        ingress?: { from?: Peer[]; ports?: RulePort[] }[];
        egress?: { to?: Peer[]; ports?: RulePort[] }[];
      };
      return {
        namespace: o.metadata.namespace ?? '',
        podSelector: s.podSelector,
        types: s.policyTypes ?? ['Ingress'],
        ingress: (s.ingress ?? []).map((r) => ({ ...(r.from ? { peers: r.from } : {}), ...(r.ports ? { ports: r.ports } : {}) })),
        egress: (s.egress ?? []).map((r) => ({ ...(r.to ? { peers: r.to } : {}), ...(r.ports ? { ports: r.ports } : {}) })),
      };
    });
}

export function inCidr(ip: string, cidr: string): boolean {
  const [address = '', prefix = '0'] = cidr.split('/');
  const family = isIPv6(address) ? 'ipv6' : 'ipv4';
  if ((family === 'ipv6') !== isIPv6(ip)) return false;
  const list = new BlockList();
  list.addSubnet(address, Number(prefix), family);
  return list.check(ip, family);
}

const selects = (selector: Selector | undefined, labels: Labels | undefined) =>
  selector !== undefined && labels !== undefined && matches(selector.matchLabels ?? {}, labels);

function peerMatches(policyNamespace: string, peer: Peer, e: Endpoint): boolean {
  if (peer.ipBlock) {
    return inCidr(e.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((x) => inCidr(e.ip, x));
  }
  if (e.namespace === undefined) return false;
  const namespaceOk = peer.namespaceSelector ? selects(peer.namespaceSelector, e.namespaceLabels) : e.namespace === policyNamespace;
  const podOk = peer.podSelector ? selects(peer.podSelector, e.labels) : true;
  return namespaceOk && podOk;
}

function portMatches(rule: Rule, dst: Endpoint, port: Port): boolean {
  if (!rule.ports?.length) return true;
  return rule.ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== port.protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'string') return dst.ports.some((d) => d.name === p.port && d.port === port.port);
    return p.endPort === undefined ? p.port === port.port : port.port >= p.port && port.port <= p.endPort;
  });
}

function allowed(all: Policy[], direction: 'Ingress' | 'Egress', self: Endpoint, peer: Endpoint, dst: Endpoint, port: Port): boolean {
  if (self.namespace === undefined) return true;
  const governing = all.filter((p) => p.namespace === self.namespace && p.types.includes(direction) && selects(p.podSelector, self.labels));
  if (governing.length === 0) return true;
  return governing.some((p) =>
    (direction === 'Ingress' ? p.ingress : p.egress).some(
      (rule) => (rule.peers === undefined || rule.peers.some((peerSel) => peerMatches(p.namespace, peerSel, peer))) && portMatches(rule, dst, port),
    ),
  );
}

/**
 * Every allowed connection between distinct endpoints, as `from->to:port/protocol`, deduplicated
 * by tier. Only connections with a policed end count: between two outsiders the policies under
 * test have nothing to say.
 */
export function edges(objects: KubeObject[], endpoints: Endpoint[]): Set<string> {
  const all = policies(objects);
  const policed = (e: Endpoint) => all.some((p) => p.namespace === e.namespace && selects(p.podSelector, e.labels));
  const result = new Set<string>();
  for (const src of endpoints) {
    for (const dst of endpoints) {
      if (src === dst || !(policed(src) || policed(dst))) continue;
      for (const port of dst.ports) {
        if (allowed(all, 'Egress', src, dst, dst, port) && allowed(all, 'Ingress', dst, src, dst, port)) {
          result.add(`${src.tier}->${dst.tier}:${port.port}/${port.protocol}`);
        }
      }
    }
  }
  return result;
}
