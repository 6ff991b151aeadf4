/**
 * App tier: the user's application, its Service and disruption budget, and optionally a canary
 * Deployment with another image behind the same Service. Both Deployments carry the tier's
 * selector labels (so the Service, the budget and the topology spread count them together) plus a
 * distinct variant label (so neither Deployment adopts the other's pods); traffic splits by replica count.
 */
import { k8s } from 'cdk8s-plus-27';
import { DEFAULTS } from '../api/defaults.js';
import { VARIANT_LABEL } from '../api/identity.js';
import { APP, MYSQL } from './config/layout.js';
import { id, meta, type RenderContext } from './context.js';
import { selectorLabels } from './names.js';
import {
  UID,
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
  ];
}

export function renderApp(ctx: RenderContext): void {
  const { spec, names: n } = ctx;
  const app = spec.app;
  const tierSelector = selectorLabels(ctx.name, 'app');
  const plan = ctx.plan.tls;
  const portName = app.tls ? 'https' : 'http';
  const scheme = app.tls ? 'HTTPS' : 'HTTP';

  new k8s.KubeService(ctx.scope('services'), id('Service', n.app), {
    metadata: meta(ctx, n.app, 'app'),
    spec: { selector: tierSelector, ports: [servicePort(portName, app.port, app.port)] },
  });

  const env: k8s.EnvVar[] = [
    ...databaseEnv(ctx),
    ...app.env.map((e): k8s.EnvVar =>
      e.secretKeyRef ? { name: e.name, valueFrom: { secretKeyRef: { name: e.secretKeyRef.name, key: e.secretKeyRef.key } } } : { name: e.name, value: e.value ?? '' },
    ),
  ];
  // Most runtimes want a writable /tmp; the root filesystem is read-only.
  const volumes: k8s.Volume[] = [scratchVolume('tmp', '256Mi')];
  const mounts: k8s.VolumeMount[] = [mount('tmp', '/tmp', false)];
  if (plan.mounts.app.cert !== undefined) {
    volumes.push(secretVolume('certs', plan.mounts.app.cert));
    mounts.push(mount('certs', APP.certDir));
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
        containers: [main],
        volumes,
      }),
    });
  };

  variant(n.app, app.image, app.replicas, 'stable');
  if (app.canary) variant(n.appCanary, app.canary.image, app.canary.replicas, 'canary');
  disruptionBudget(ctx, n.app, 'app', tierSelector);
}
