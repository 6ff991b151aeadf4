/**
 * Load balancer tier: HAProxy. The entry point DNS resolves to: a Service of spec.loadBalancer's
 * type in front of an HAProxy Deployment running the rendered haproxy.cfg, with a disruption budget.
 */
import { k8s } from 'cdk8s-plus-27';
import { DEFAULTS } from '../api/defaults.js';
import { renderHaproxyConfig } from './config/haproxy.js';
import { HAPROXY, TLS_FILES } from '../blueprint/layout.js';
import { id, meta, type RenderContext } from './context.js';
import { selectorLabels } from '../blueprint/names.js';
import {
  UID,
  configMapVolume,
  container,
  containerPort,
  deployment,
  disruptionBudget,
  httpProbe,
  mount,
  podTemplate,
  resources,
  scratchVolume,
  secretVolume,
  servicePort,
} from './pod.js';

export const EXTERNAL_DNS_HOSTNAME_ANNOTATION = 'external-dns.alpha.kubernetes.io/hostname';

export function renderLoadBalancer(ctx: RenderContext): void {
  const { spec, names: n } = ctx;
  const lb = spec.loadBalancer;
  const selector = selectorLabels(ctx.name, 'loadbalancer');
  const plan = ctx.plan.tls;
  const files = { [HAPROXY.configFile]: renderHaproxyConfig(ctx.stack, ctx.plan) };

  new k8s.KubeConfigMap(ctx.scope('config'), id('ConfigMap', n.lbConfig), {
    metadata: meta(ctx, n.lbConfig, 'loadbalancer'),
    data: files,
  });

  const external = lb.serviceType !== 'ClusterIP';
  const annotations = {
    ...lb.serviceAnnotations,
    ...(lb.externalDNS ? { [EXTERNAL_DNS_HOSTNAME_ANNOTATION]: [spec.domain, ...spec.aliases].join(',') } : {}),
  };
  new k8s.KubeService(ctx.scope('services'), id('Service', n.lb), {
    metadata: meta(ctx, n.lb, 'loadbalancer', { annotations }),
    spec: {
      type: lb.serviceType,
      selector,
      ports: [servicePort('http', 80, HAPROXY.httpPort), servicePort('https', 443, HAPROXY.httpsPort)],
      // Local keeps the client's address (no SNAT to a node), which the firewall's ipBlocks and
      // HAProxy's source filter and logs rely on; nodes without an HAProxy pod fail the LB's health check.
      ...(external ? { externalTrafficPolicy: 'Local' } : {}),
      // The API accepts source ranges on LoadBalancer Services only.
      ...(lb.serviceType === 'LoadBalancer' ? { loadBalancerSourceRanges: lb.allowedSourceRanges } : {}),
    },
  });

  // Passthrough: Nginx holds the public certificate; HAProxy only forwards TCP.
  const { cert: certSecret, ca: caSecret, clientCert: clientSecret } = plan.mounts.loadBalancer;
  const volumes: k8s.Volume[] = [configMapVolume('config', n.lbConfig), scratchVolume('run')];
  const mounts: k8s.VolumeMount[] = [mount('config', HAPROXY.configDir), mount('run', HAPROXY.runDir, false)];
  if (certSecret !== undefined) {
    volumes.push(secretVolume('certs', certSecret));
    mounts.push(mount('certs', HAPROXY.certDir));
  }
  if (caSecret !== undefined) {
    volumes.push(secretVolume('ca', caSecret, [TLS_FILES.ca]));
    mounts.push(mount('ca', HAPROXY.caDir));
  }
  if (clientSecret !== undefined) {
    volumes.push(secretVolume('client-cert', clientSecret, [TLS_FILES.cert, TLS_FILES.key]));
    mounts.push(mount('client-cert', HAPROXY.clientCertDir));
  }

  const haproxy = container({
    name: 'haproxy',
    image: ctx.images.haproxy,
    uid: UID.haproxy,
    ports: [
      containerPort('http', HAPROXY.httpPort),
      containerPort('https', HAPROXY.httpsPort),
      containerPort('stats', HAPROXY.statsPort),
    ],
    readinessProbe: httpProbe(HAPROXY.healthPath, HAPROXY.statsPort, 'readiness'),
    livenessProbe: httpProbe(HAPROXY.healthPath, HAPROXY.statsPort, 'liveness'),
    resources: resources(lb.resources, DEFAULTS.loadBalancer.resources),
    volumeMounts: mounts,
  });

  deployment(ctx, n.lb, 'loadbalancer', {
    replicas: lb.replicas,
    selector,
    template: podTemplate(ctx, {
      component: 'loadbalancer',
      owner: 'Deployment',
      labels: selector,
      tierSelector: selector,
      uid: UID.haproxy,
      files,
      containers: [haproxy],
      volumes,
      // haproxy.cfg's hard-stop-after 30s bounds the drain of open connections; a little more here.
      spec: { terminationGracePeriodSeconds: 35 },
    }),
  });
  disruptionBudget(ctx, n.lb, 'loadbalancer', selector);
}
