/**
 * App tier: the user's application, its Service and disruption budget, and optionally a canary
 * Deployment with another image behind the same Service. In reencrypt mode an app that serves
 * plain HTTP gets the app proxy, a TLS-terminating Nginx sidecar (layout.APP_PROXY): the Service
 * and the NetworkPolicy expose only its port, so Nginx -> app is encrypted and verified with no app
 * change. Both Deployments carry the tier's
 * selector labels (so the Service, the budget and the topology spread count them together) plus a
 * distinct variant label (so neither Deployment adopts the other's pods); traffic splits by replica count.
 */
import { k8s } from 'cdk8s-plus-27';
import { DEFAULTS } from '../api/defaults.js';
import { VARIANT_LABEL } from '../api/identity.js';
import { renderAppProxyConfig } from './config/app-proxy.js';
import { APP, APP_PROXY, MYSQL, TLS_FILES } from '../blueprint/layout.js';
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
  tcpProbe,
  mount,
  podTemplate,
  resources,
  scratchVolume,
  secretVolume,
  servicePort,
} from './pod.js';

/**
 * How the app must connect to the database: over TLS verified against the internal CA and the
 * server's name in reencrypt mode; otherwise over TLS unverified where the server has its own
 * certificate (MySQL), plain where it has none (MariaDB: a driver asked for TLS would be refused).
 * The names follow MySQL's --ssl-mode; docs/app.md maps them to the common drivers' settings.
 */
function databaseTlsEnv(ctx: RenderContext): k8s.EnvVar[] {
  const hop = ctx.plan.tls.hops.toDatabase;
  if (!hop.encrypted) return [{ name: 'DB_SSL_MODE', value: 'DISABLED' }];
  if (!hop.verified) return [{ name: 'DB_SSL_MODE', value: 'REQUIRED' }];
  return [
    { name: 'DB_SSL_MODE', value: 'VERIFY_IDENTITY' },
    { name: 'DB_SSL_CA', value: `${APP.dbCaDir}/${TLS_FILES.ca}` },
  ];
}

/** The database settings the operator injects, before the user's own env (which may override them). */
function databaseEnv(ctx: RenderContext): k8s.EnvVar[] {
  const n = ctx.names;
  return [
    { name: 'DB_WRITE_HOST', value: n.mysqlPrimary },
    { name: 'DB_READ_HOST', value: n.mysqlReplicas },
    { name: 'DB_PORT', value: String(MYSQL.port) },
    { name: 'DB_NAME', value: MYSQL.database },
    { name: 'DB_USER', value: MYSQL.users.app },
    { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: n.mysqlCredentials, key: MYSQL.secretKeys.appPassword } } },
    ...databaseTlsEnv(ctx),
  ];
}

/** The app proxy's container, volumes and config file, when the plan has one. */
function appProxy(ctx: RenderContext): { container: k8s.Container; volumes: k8s.Volume[]; files: Record<string, string> } | undefined {
  const proxy = ctx.plan.tls.appProxy;
  const config = renderAppProxyConfig(ctx.stack, ctx.plan);
  const { cert, ca } = ctx.plan.tls.mounts.app;
  if (proxy === undefined || config === undefined || cert === undefined || ca === undefined) return undefined;
  const n = ctx.names;
  new k8s.KubeConfigMap(ctx.scope('config'), id('ConfigMap', n.appProxyConfig), {
    metadata: meta(ctx, n.appProxyConfig, 'app'),
    data: { [APP_PROXY.configFile]: config },
  });
  return {
    container: container({
      name: 'app-proxy',
      image: ctx.images.nginx,
      uid: UID.nginx,
      command: [...APP_PROXY.command],
      ports: [containerPort('https', proxy.port)],
      // The proxy wants client certificates, which the kubelet does not have: it asks whether the port listens.
      livenessProbe: tcpProbe(proxy.port, 'liveness'),
      resources: SIDECAR_RESOURCES,
      volumeMounts: [
        mount('app-proxy-config', APP_PROXY.confDir),
        mount('app-proxy-run', APP_PROXY.runDir, false),
        mount('app-proxy-tls', APP_PROXY.certDir),
        mount('app-proxy-ca', APP_PROXY.caDir),
      ],
    }),
    volumes: [
      configMapVolume('app-proxy-config', n.appProxyConfig),
      scratchVolume('app-proxy-run'),
      secretVolume('app-proxy-tls', cert, [TLS_FILES.cert, TLS_FILES.key]),
      secretVolume('app-proxy-ca', ca, [TLS_FILES.ca]),
    ],
    files: { [`app-proxy/${APP_PROXY.configFile}`]: config },
  };
}

export function renderApp(ctx: RenderContext): void {
  const { spec, names: n } = ctx;
  const app = spec.app;
  const tierSelector = selectorLabels(ctx.name, 'app');
  const plan = ctx.plan.tls;
  const portName = app.tls ? 'https' : 'http';
  const scheme = app.tls ? 'HTTPS' : 'HTTP';
  const proxy = appProxy(ctx);

  new k8s.KubeService(ctx.scope('services'), id('Service', n.app), {
    metadata: meta(ctx, n.app, 'app'),
    spec: { selector: tierSelector, ports: [servicePort(plan.appPort.name, plan.appPort.number, plan.appPort.number)] },
  });

  const env: k8s.EnvVar[] = [
    ...databaseEnv(ctx),
    ...app.env.map((e): k8s.EnvVar =>
      e.secretKeyRef ? { name: e.name, valueFrom: { secretKeyRef: { name: e.secretKeyRef.name, key: e.secretKeyRef.key } } } : { name: e.name, value: e.value ?? '' },
    ),
  ];
  // Most runtimes want a writable /tmp; the root filesystem is read-only.
  const volumes: k8s.Volume[] = [scratchVolume('tmp', '256Mi'), ...(proxy?.volumes ?? [])];
  const mounts: k8s.VolumeMount[] = [mount('tmp', '/tmp', false)];
  if (app.tls && plan.mounts.app.cert !== undefined) {
    volumes.push(secretVolume('certs', plan.mounts.app.cert));
    mounts.push(mount('certs', APP.certDir));
  }
  if (plan.hops.toDatabase.verified && plan.mounts.app.ca !== undefined) {
    volumes.push(secretVolume('db-ca', plan.mounts.app.ca, [TLS_FILES.ca]));
    mounts.push(mount('db-ca', APP.dbCaDir));
  }

  const variant = (name: string, image: string, replicas: number, variantName: 'stable' | 'canary') => {
    const labels = { ...tierSelector, [VARIANT_LABEL]: variantName };
    const main = container({
      name: 'app',
      image,
      uid: UID.app,
      ports: [containerPort(portName, app.port)],
      env,
      ...(app.envFromSecrets.length > 0 ? { envFrom: app.envFromSecrets.map((s) => ({ secretRef: { name: s.name } })) } : {}),
      // Only readiness asks the app's health path, which may check the database: liveness and
      // startup ask whether the process listens, so a database outage takes the app pods out of
      // the Service but never restarts them all at once (the correlated failure W3 prevents).
      startupProbe: tcpProbe(app.port, 'startup'),
      readinessProbe: httpProbe(app.healthPath, app.port, 'readiness', scheme),
      livenessProbe: tcpProbe(app.port, 'liveness'),
      resources: resources(app.resources, DEFAULTS.app.resources),
      volumeMounts: mounts,
    });
    deployment(ctx, name, 'app', {
      replicas,
      selector: labels,
      labels: { [VARIANT_LABEL]: variantName },
      template: podTemplate(ctx, {
        component: 'app',
        owner: 'Deployment',
        labels,
        tierSelector,
        uid: UID.app,
        ...(proxy ? { files: proxy.files } : {}),
        containers: proxy ? [main, proxy.container] : [main],
        volumes,
      }),
    });
  };

  variant(n.app, app.image, app.replicas, 'stable');
  if (app.canary) variant(n.appCanary, app.canary.image, app.canary.replicas, 'canary');
  disruptionBudget(ctx, n.app, 'app', tierSelector);
}
