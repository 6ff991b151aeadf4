/**
 * Web tier: Nginx with an nginx-prometheus-exporter sidecar, behind a headless Service through
 * which HAProxy discovers (and health-checks) each pod.
 */
import { k8s } from 'cdk8s-plus-27';
import { DEFAULTS } from '../api/defaults.js';
import { NGINX, TLS_FILES } from '../blueprint/layout.js';
import { renderNginxConfig, renderNginxStartScript } from './config/nginx.js';
import { id, meta, type RenderContext } from './context.js';
import { selectorLabels } from '../blueprint/names.js';
import {
  SIDECAR_RESOURCES,
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
  tcpProbe,
} from './pod.js';

export function renderWeb(ctx: RenderContext): void {
  const { spec, names: n } = ctx;
  const selector = selectorLabels(ctx.name, 'web');
  const plan = ctx.plan.tls;
  const { number: mainPort, name: mainPortName } = plan.webPort;
  const files = { [NGINX.configFile]: renderNginxConfig(ctx.stack, ctx.plan), [NGINX.startScript]: renderNginxStartScript() };

  new k8s.KubeConfigMap(ctx.scope('config'), id('ConfigMap', n.webConfig), {
    metadata: meta(ctx, n.webConfig, 'web'),
    data: files,
  });

  new k8s.KubeService(ctx.scope('services'), id('Service', n.web), {
    metadata: meta(ctx, n.web, 'web'),
    spec: {
      // Headless: HAProxy resolves the pods' addresses itself and checks each one (layout.HAPROXY).
      clusterIp: 'None',
      selector,
      ports: [servicePort(mainPortName, mainPort, mainPort)],
    },
  });

  // The app's certificate is verified against the internal CA (nginx.conf's proxy_ssl_trusted_certificate).
  const { cert: certSecret, ca: caSecret } = plan.mounts.web;
  const volumes: k8s.Volume[] = [configMapVolume('config', n.webConfig), scratchVolume('run')];
  const mounts: k8s.VolumeMount[] = [mount('config', NGINX.confDir), mount('run', NGINX.runDir, false)];
  if (certSecret !== undefined) {
    volumes.push(secretVolume('certs', certSecret));
    mounts.push(mount('certs', NGINX.certDir));
  }
  if (caSecret !== undefined) {
    volumes.push(secretVolume('ca', caSecret, [TLS_FILES.ca]));
    mounts.push(mount('ca', NGINX.caDir));
  }

  const nginx = container({
    name: 'nginx',
    image: ctx.images.nginx,
    uid: UID.nginx,
    command: [...NGINX.command],
    ports: [containerPort(mainPortName, mainPort), containerPort('status', NGINX.statusPort)],
    // The status server: plain HTTP without the PROXY protocol the main port requires.
    readinessProbe: httpProbe(NGINX.healthPath, NGINX.statusPort, 'readiness'),
    livenessProbe: httpProbe(NGINX.healthPath, NGINX.statusPort, 'liveness'),
    resources: resources(spec.web.resources, DEFAULTS.web.resources),
    volumeMounts: mounts,
  });
  const exporter = container({
    name: 'exporter',
    image: ctx.images.nginxExporter,
    uid: UID.exporter,
    args: [`--nginx.scrape-uri=${NGINX.stubStatusUrl}`],
    ports: [containerPort('metrics', NGINX.exporterPort)],
    // Liveness only: a broken exporter is restarted, but never takes its pod out of the Service.
    livenessProbe: tcpProbe(NGINX.exporterPort, 'liveness'),
    resources: SIDECAR_RESOURCES,
  });

  deployment(ctx, n.web, 'web', {
    replicas: spec.web.replicas,
    selector,
    template: podTemplate(ctx, {
      component: 'web',
      owner: 'Deployment',
      labels: selector,
      tierSelector: selector,
      uid: UID.nginx,
      files,
      containers: [nginx, exporter],
      volumes,
    }),
  });
  disruptionBudget(ctx, n.web, 'web', selector);
}
