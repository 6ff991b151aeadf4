/**
 * Database tier: a MySQL StatefulSet (one primary, the rest GTID replicas) with a mysqld_exporter
 * sidecar, and three Services: headless (stable pod names for replication), `-primary` for writes
 * and `-replicas` for reads. Which pod is which is the DB_ROLE_LABEL the controller puts on the pods
 * (ordinal 0 starts as primary); render only selects on it, so a failover moves no template.
 */
import { k8s } from 'cdk8s-plus-27';
import { DEFAULTS } from '../api/defaults.js';
import { MYSQL } from './config/layout.js';
import { renderMysqlConfig } from './config/mysql.js';
import { id, meta, type RenderContext } from './context.js';
import { selectorLabels } from './names.js';
import {
  SIDECAR_RESOURCES,
  UID,
  configMapVolume,
  container,
  containerPort,
  disruptionBudget,
  mount,
  podTemplate,
  resources,
  scratchVolume,
  secretVolume,
  servicePort,
  tcpProbe,
} from './pod.js';
import { DB_ROLE_LABEL } from '../api/identity.js';

export const DATA_VOLUME = 'data';

/**
 * mysqladmin over TCP: it fails while the entrypoint's first-start server listens on the socket
 * only, so a pod is not Ready before it is really serving. `ping` exits 0 on "access denied" (the
 * server answered), so the probe needs no password.
 */
function pingProbe(timing: { periodSeconds: number; timeoutSeconds: number; failureThreshold: number }): k8s.Probe {
  return {
    exec: { command: ['mysqladmin', 'ping', '--protocol=TCP', '--host=127.0.0.1', `--port=${MYSQL.port}`, '--connect-timeout=2'] },
    ...timing,
  };
}

// eslint-disable-next-line max-lines-per-function -- declarative: the StatefulSet's containers as object literals
export function renderDatabase(ctx: RenderContext): void {
  const { spec, names: n } = ctx;
  const db = spec.database;
  const selector = selectorLabels(ctx.name, 'database');
  const plan = ctx.plan.tls;
  const files = renderMysqlConfig(ctx.stack, ctx.plan);

  new k8s.KubeConfigMap(ctx.scope('config'), id('ConfigMap', n.mysqlConfig), {
    metadata: meta(ctx, n.mysqlConfig, 'database'),
    data: files,
  });

  const mysqlPort = [servicePort('mysql', MYSQL.port, MYSQL.port)];
  const service = (name: string, serviceSpec: k8s.ServiceSpec) =>
    new k8s.KubeService(ctx.scope('services'), id('Service', name), { metadata: meta(ctx, name, 'database'), spec: serviceSpec });
  // Replication and bootstrap address pods by name before they are Ready.
  service(n.mysqlHeadless, { clusterIp: 'None', publishNotReadyAddresses: true, selector, ports: mysqlPort });
  service(n.mysqlPrimary, { selector: { ...selector, [DB_ROLE_LABEL]: 'primary' }, ports: mysqlPort });
  service(n.mysqlReplicas, { selector: { ...selector, [DB_ROLE_LABEL]: 'replica' }, ports: mysqlPort });

  const credential = (name: string, key: string): k8s.EnvVar => ({
    name,
    valueFrom: { secretKeyRef: { name: n.mysqlCredentials, key } },
  });
  const { env, secretKeys } = MYSQL;

  const volumes: k8s.Volume[] = [
    configMapVolume('config', n.mysqlConfig),
    scratchVolume('conf', '1Mi'),
    scratchVolume('initdb', '1Mi'),
    scratchVolume('run', '1Mi'),
    scratchVolume('tmp', '1Gi'),
  ];
  const mysqlMounts: k8s.VolumeMount[] = [
    mount('conf', MYSQL.confDir),
    mount('initdb', MYSQL.initDir),
    mount(DATA_VOLUME, MYSQL.dataDir, false),
    mount('run', MYSQL.runDir, false),
    mount('tmp', MYSQL.tmpDir, false),
  ];
  if (plan.mounts.database.cert !== undefined) {
    volumes.push(secretVolume('certs', plan.mounts.database.cert));
    mysqlMounts.push(mount('certs', MYSQL.certDir));
  }

  // Stages my.cnf, the per-pod server-id.cnf and bootstrap.sh (see layout.MYSQL).
  const initConfig = container({
    name: 'init-config',
    image: ctx.images.mysql,
    uid: UID.mysql,
    command: [...MYSQL.initCommand],
    resources: SIDECAR_RESOURCES,
    volumeMounts: [
      mount('config', MYSQL.configMapDir),
      mount('conf', MYSQL.confDir, false),
      mount('initdb', MYSQL.initDir, false),
      mount(DATA_VOLUME, MYSQL.dataDir),
    ],
  });
  const mysql = container({
    name: 'mysql',
    image: ctx.images.mysql,
    uid: UID.mysql,
    ports: [containerPort('mysql', MYSQL.port)],
    env: [
      credential(env.rootPassword, secretKeys.rootPassword),
      credential(env.appPassword, secretKeys.appPassword),
      credential(env.replicationPassword, secretKeys.replicationPassword),
      credential(env.exporterPassword, secretKeys.exporterPassword),
      // No time zone tables on first start: they would be local transactions on a replica.
      { name: 'MYSQL_INITDB_SKIP_TZINFO', value: '1' },
    ],
    // First start initializes the data directory and, on a replica, catches up: allow 10 minutes.
    startupProbe: pingProbe({ periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 60 }),
    readinessProbe: pingProbe({ periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 2 }),
    livenessProbe: pingProbe({ periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 }),
    resources: resources(db.resources, DEFAULTS.database.resources),
    volumeMounts: mysqlMounts,
  });
  const exporter = container({
    name: 'exporter',
    image: ctx.images.mysqldExporter,
    uid: UID.exporter,
    args: [
      `--mysqld.address=127.0.0.1:${MYSQL.port}`,
      `--mysqld.username=${MYSQL.users.exporter}`,
      // TLS on loopback: require_secure_transport refuses plain TCP, and there is no identity to verify.
      '--tls.insecure-skip-verify',
    ],
    env: [credential('MYSQLD_EXPORTER_PASSWORD', secretKeys.exporterPassword)],
    ports: [containerPort('metrics', MYSQL.exporterPort)],
    // Liveness only: a broken exporter is restarted, but never takes its pod out of the Service.
    livenessProbe: tcpProbe(MYSQL.exporterPort, 'liveness'),
    resources: SIDECAR_RESOURCES,
  });

  // volumeClaimTemplates are immutable: an existing StatefulSet keeps its own (facts.existing).
  const storage = ctx.facts.existing?.mysqlStorage ?? db.storage;
  const retention = db.deletionPolicy;
  new k8s.KubeStatefulSet(ctx.scope('statefulsets'), id('StatefulSet', n.mysql), {
    metadata: meta(ctx, n.mysql, 'database'),
    spec: {
      serviceName: n.mysqlHeadless,
      replicas: db.replicas,
      // One pod at a time, in order: ordinal 0 (the first primary) is up before any replica starts.
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      minReadySeconds: 10,
      revisionHistoryLimit: 5,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: retention, whenScaled: retention },
      selector: { matchLabels: selector },
      template: podTemplate(ctx, {
        component: 'database',
        owner: 'StatefulSet',
        labels: selector,
        tierSelector: selector,
        uid: UID.mysql,
        files,
        initContainers: [initConfig],
        containers: [mysql, exporter],
        volumes,
        // A clean InnoDB shutdown flushes the buffer pool; give it time.
        spec: { terminationGracePeriodSeconds: 60 },
      }),
      volumeClaimTemplates: [
        {
          metadata: { name: DATA_VOLUME, labels: selector },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: k8s.Quantity.fromString(storage.size) } },
            ...(storage.storageClassName !== undefined ? { storageClassName: storage.storageClassName } : {}),
          },
        },
      ],
    },
  });
  disruptionBudget(ctx, n.mysql, 'database', selector);
}
