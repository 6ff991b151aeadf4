/**
 * Firewall tier: NetworkPolicies. Every pod of the stack is denied all traffic, then each edge of
 * the stack is opened on BOTH sides (egress of the source tier, ingress of the destination tier),
 * so an edge exists only where both policies agree:
 *
 *   clients (spec.loadBalancer.allowedSourceRanges) -> LB http/https
 *   LB -> web main port, LB -> cert-manager's ACME solver pods 8089 (egress only: they are not ours)
 *   web -> app port (the app proxy's, if any)   app -> database 3306
 *   database <-> database 3306 (replication)             every pod -> cluster DNS 53
 *   monitoring namespaces -> metrics ports (HAProxy stats, Nginx exporter, mysqld exporter)
 *   spec.firewall.extraIngress (per tier) and spec.firewall.appEgress
 *
 * Scrapes come from the namespaces spec.monitoring.namespaceLabels selects: by default only the one
 * named `monitoring`, as the metrics show a tenant's traffic and its database's state; {} admits
 * every namespace of the cluster (never an IP outside it). The app has no metrics port in the
 * API, so nothing scrapes it.
 */
import { k8s } from 'cdk8s-plus-27';
import { INSTANCE_LABEL, NAME_LABEL } from '../api/identity.js';
import type { Peer, PortSpec, Tier } from '../api/types.js';
import { ACME, HAPROXY, MYSQL, NGINX } from '../blueprint/layout.js';
import { id, meta, type RenderContext } from './context.js';
import { selectorLabels, type Component } from '../blueprint/names.js';

const TCP = (port: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });


/** Every pod of the stack (all tiers carry these labels). */
export function stackPodSelector(stackName: string): Record<string, string> {
  return { [NAME_LABEL]: 'webstack', [INSTANCE_LABEL]: stackName };
}

function peer(p: Peer): k8s.NetworkPolicyPeer {
  if (p.cidr !== undefined) {
    return { ipBlock: { cidr: p.cidr, ...(p.except?.length ? { except: p.except } : {}) } };
  }
  return {
    ...(p.namespaceLabels ? { namespaceSelector: { matchLabels: { ...p.namespaceLabels } } } : {}),
    // Without any selector a peer would be invalid; pods of the stack's own namespace is the narrowest reading.
    ...(p.podLabels || !p.namespaceLabels ? { podSelector: { matchLabels: { ...p.podLabels } } } : {}),
  };
}

function ports(list: PortSpec[] | undefined): { ports?: k8s.NetworkPolicyPort[] } {
  if (!list?.length) return {};
  return { ports: list.map((p) => ({ protocol: p.protocol ?? 'TCP', port: k8s.IntOrString.fromNumber(p.port) })) };
}

/** DNS queries to the cluster DNS (spec.firewall.dns; kube-dns on port 53 by default). */
function dnsEgress(ctx: RenderContext): k8s.NetworkPolicyEgressRule {
  const { to, ports: dnsPorts } = ctx.spec.firewall.dns;
  return { to: [peer(to)], ...ports(dnsPorts) };
}

/** Scrapes from the monitoring namespaces (all namespaces when spec.monitoring.namespaceLabels is {}). */
function monitoringIngress(ctx: RenderContext, port: number): k8s.NetworkPolicyIngressRule[] {
  const m = ctx.spec.monitoring;
  return m.enabled ? [{ from: [{ namespaceSelector: { matchLabels: { ...m.namespaceLabels } } }], ports: [TCP(port)] }] : [];
}

interface TierRules {
  ingress: k8s.NetworkPolicyIngressRule[];
  egress: k8s.NetworkPolicyEgressRule[];
}

function networkPolicy(
  ctx: RenderContext,
  name: string,
  podSelector: Record<string, string>,
  rules: Partial<TierRules>,
  o: { component?: Component; namespace?: string; labels?: Record<string, string> } = {},
): void {
  const m = meta(ctx, name, o.component ?? 'firewall', o.labels ? { labels: o.labels } : {});
  new k8s.KubeNetworkPolicy(ctx.scope('firewall'), id('NetworkPolicy', `${o.namespace ?? ''}/${name}`), {
    metadata: o.namespace ? { ...m, namespace: o.namespace } : m,
    spec: {
      podSelector: { matchLabels: podSelector },
      // Both types always: a type listed without rules denies that direction.
      policyTypes: ['Ingress', 'Egress'],
      ...(rules.ingress?.length ? { ingress: rules.ingress } : {}),
      ...(rules.egress?.length ? { egress: rules.egress } : {}),
    },
  });
}

export function renderFirewall(ctx: RenderContext): void {
  const { spec, names: n } = ctx;
  const lb = selectorLabels(ctx.name, 'loadbalancer');
  const web = selectorLabels(ctx.name, 'web');
  const app = selectorLabels(ctx.name, 'app');
  const db = selectorLabels(ctx.name, 'database');
  const pods = (labels: Record<string, string>): k8s.NetworkPolicyPeer => ({ podSelector: { matchLabels: labels } });

  const monitoring = (port: number) => monitoringIngress(ctx, port);
  const extraIngress = (tier: Tier): k8s.NetworkPolicyIngressRule[] =>
    spec.firewall.extraIngress.filter((r) => r.tier === tier).map((r) => ({ from: [peer(r.from)], ...ports(r.ports) }));

  networkPolicy(ctx, `${ctx.name}-default-deny`, stackPodSelector(ctx.name), {});
  networkPolicy(ctx, `${ctx.name}-allow-dns`, stackPodSelector(ctx.name), {
    egress: [dnsEgress(ctx)],
  });

  const webMain = ctx.plan.tls.webPort.number;
  networkPolicy(
    ctx,
    n.lb,
    lb,
    {
      ingress: [
        {
          from: spec.loadBalancer.allowedSourceRanges.map((cidr) => ({ ipBlock: { cidr } })),
          ports: [TCP(HAPROXY.httpPort), TCP(HAPROXY.httpsPort)],
        },
        ...monitoring(HAPROXY.statsPort),
        ...extraIngress('loadBalancer'),
      ],
      egress: [
        { to: [pods(web)], ports: [TCP(webMain)] },
        // ACME HTTP-01: port 80's challenge requests go to cert-manager's solver pods (render/acme.ts).
        { to: [pods({ [ACME.solverLabel]: 'true' })], ports: [TCP(ACME.solverPort)] },
      ],
    },
    { component: 'loadbalancer' },
  );
  networkPolicy(
    ctx,
    n.web,
    web,
    {
      ingress: [{ from: [pods(lb)], ports: [TCP(webMain)] }, ...monitoring(NGINX.exporterPort), ...extraIngress('web')],
      egress: [{ to: [pods(app)], ports: [TCP(ctx.plan.tls.appPort.number)] }],
    },
    { component: 'web' },
  );
  networkPolicy(
    ctx,
    n.app,
    app,
    {
      // The app proxy's port when there is one: the app's own port then stays closed to other pods.
      ingress: [{ from: [pods(web)], ports: [TCP(ctx.plan.tls.appPort.number)] }, ...extraIngress('app')],
      egress: [
        { to: [pods(db)], ports: [TCP(MYSQL.port)] },
        ...spec.firewall.appEgress.map((r) => ({ to: [peer(r.to)], ...ports(r.ports) })),
      ],
    },
    { component: 'app' },
  );
  networkPolicy(
    ctx,
    n.mysql,
    db,
    {
      ingress: [
        { from: [pods(app), pods(db)], ports: [TCP(MYSQL.port)] },
        // The database controller reads and drives every instance over SQL.
        ...(ctx.facts.operatorPeer ? [{ from: [peer(ctx.facts.operatorPeer)], ports: [TCP(MYSQL.port)] }] : []),
        ...monitoring(MYSQL.exporterPort),
        ...extraIngress('database'),
      ],
      egress: [{ to: [pods(db)], ports: [TCP(MYSQL.port)] }],
    },
    { component: 'database' },
  );
}

// No policy for the log agent: it runs in the node's network namespace (render/agent.ts), where
// NetworkPolicies do not apply (docs/adr/0010-one-shared-log-agent.md). The per-stack agent
// policies of earlier releases are pruned by the reconciler on upgrade.
