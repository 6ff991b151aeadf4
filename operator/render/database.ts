/**
 * Database tier: a StatefulSet of MySQL or MariaDB servers (one primary, the rest GTID replicas)
 * with a mysqld_exporter sidecar, and three Services: headless (stable pod names for replication),
 * `-primary` for writes and `-replicas` for reads. Which pod is which is the DB_ROLE_LABEL that only
 * the database controller writes (operator/database); render only selects on it, so a failover
 * moves no template.
 */
import { k8s } from 'cdk8s-plus-27';
import { DEFAULTS } from '../api/defaults.js';
import { DATA_VOLUME, MYSQL } from '../blueprint/layout.js';
import { engineFiles, renderMysqlConfig } from './config/mysql.js';
import { id, meta, type RenderContext } from './context.js';
import { databaseOrdinal, selectorLabels } from '../blueprint/names.js';
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

/** `<admin> ping` over TCP: exits 0 once the server answers, even "access denied", so it needs no password. */
function pingProbe(admin: string, timing: { periodSeconds: number; timeoutSeconds: number; failureThreshold: number }): k8s.Probe {
  return {
    exec: { command: [admin, 'ping', '--protocol=TCP', '--host=127.0.0.1', `--port=${MYSQL.port}`, '--connect-timeout=2'] },
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
  const engine = engineFiles(ctx.stack);

  new k8s.KubeConfigMap(ctx.scope('config'), id('ConfigMap', n.mysqlConfig), {
    metadata: meta(ctx, n.mysqlConfig, 'database'),
    data: files,
  });

  const mysqlPort = [servicePort('mysql', MYSQL.port, MYSQL.port)];
  const service = (name: string, serviceSpec: k8s.ServiceSpec) =>
    new k8s.KubeService(ctx.scope('services'), id('Service', name), { metadata: meta(ctx, name, 'database'), spec: serviceSpec });
  // Replication and bootstrap address pods by name before they are Ready.
  service(n.mysqlHeadless, { clusterIp: 'None', publishNotReadyAddresses: true, selector, ports: mysqlPort });
  // Who is primary is the role label's to say (the database loop moves it), not readiness: a primary
  // whose server restarted (a crash) is writable again seconds before its readiness probe next runs,
  // and clients waited for that probe and then the endpoints (writes came back after 10-14 s).
  service(n.mysqlPrimary, { selector: { ...selector, [DB_ROLE_LABEL]: 'primary' }, publishNotReadyAddresses: true, ports: mysqlPort });
  service(n.mysqlReplicas, { selector: { ...selector, [DB_ROLE_LABEL]: 'replica' }, ports: mysqlPort });

  const credential = (name: string, key: string): k8s.EnvVar => ({
    name,
    valueFrom: { secretKeyRef: { name: n.mysqlCredentials, key } },
  });
  const { env, secretKeys } = MYSQL;

  const volumes: k8s.Volume[] = [
    configMapVolume('config', n.mysqlConfig),
    scratchVolume('conf', '1Mi'),
    scratchVolume('run', '1Mi'),
    scratchVolume('tmp', '1Gi'),
  ];
  const mysqlMounts: k8s.VolumeMount[] = [
    mount('config', MYSQL.configMapDir),
    mount('conf', MYSQL.confDir),
    mount(DATA_VOLUME, MYSQL.dataDir, false),
    mount('run', MYSQL.runDir, false),
    mount('tmp', MYSQL.tmpDir, false),
  ];
  if (plan.mounts.database.cert !== undefined) {
    volumes.push(secretVolume('certs', plan.mounts.database.cert));
    mysqlMounts.push(mount('certs', MYSQL.certDir));
  }

  const passwords: k8s.EnvVar[] = [
    credential(env.rootPassword, secretKeys.rootPassword),
    credential(env.appPassword, secretKeys.appPassword),
    credential(env.replicationPassword, secretKeys.replicationPassword),
    credential(env.exporterPassword, secretKeys.exporterPassword),
    credential(env.operatorPassword, secretKeys.operatorPassword),
  ];
  // Initializes an empty data directory, writes the server's configuration and its init file (see layout.MYSQL).
  const initConfig = container({
    name: 'init-config',
    image: ctx.images.mysql,
    uid: UID.mysql,
    command: [...MYSQL.initCommand],
    env: passwords,
    // Initializing a data directory runs a whole server (a 96 MiB redo log): the server's own resources.
    resources: resources(db.resources, DEFAULTS.database.resources),
    volumeMounts: [
      mount('config', MYSQL.configMapDir),
      mount('conf', MYSQL.confDir, false),
      mount('run', MYSQL.runDir, false),
      mount('tmp', MYSQL.tmpDir, false),
      mount(DATA_VOLUME, MYSQL.dataDir, false),
    ],
  });
  const mysql = container({
    name: 'mysql',
    image: ctx.images.mysql,
    uid: UID.mysql,
    // The server itself, not the image's entrypoint: both engines start alike, read-only.
    command: [engine.server, `--defaults-file=${MYSQL.configFile}`, `--init-file=${MYSQL.initSql}`],
    ports: [containerPort('mysql', MYSQL.port)],
    // The readiness probe reads replication as the exporter account.
    env: [credential(env.exporterPassword, secretKeys.exporterPassword)],
    // Crash recovery of a large buffer pool can take minutes: allow 10.
    startupProbe: pingProbe(engine.admin, { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 60 }),
    readinessProbe: {
      exec: { command: ['/bin/sh', `${MYSQL.configMapDir}/${MYSQL.files.readiness}`] },
      periodSeconds: 5,
      timeoutSeconds: 5,
      failureThreshold: 2,
    },
    livenessProbe: pingProbe(engine.admin, { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 }),
    lifecycle: { preStop: { exec: { command: ['/bin/sh', `${MYSQL.configMapDir}/${MYSQL.files.preStop}`] } } },
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

  // A scale down never takes the primary's pod: the StatefulSet keeps it until the database loop has
  // moved the primary into the instances asked for (a switchover), and only then shrinks.
  const primaryOrdinal = databaseOrdinal(ctx.name, ctx.stack.status?.database?.primary);
  const replicas = Math.max(db.replicas, primaryOrdinal === undefined ? 0 : primaryOrdinal + 1);
  // volumeClaimTemplates are immutable: an existing StatefulSet keeps its own (facts.existing).
  const storage = ctx.facts.existing?.mysqlStorage ?? db.storage;
  const retention = db.deletionPolicy;
  new k8s.KubeStatefulSet(ctx.scope('statefulsets'), id('StatefulSet', n.mysql), {
    metadata: meta(ctx, n.mysql, 'database'),
    spec: {
      serviceName: n.mysqlHeadless,
      replicas,
      // Roles are the controller's, not the ordinals': a replica is re-created while ordinal 0 is
      // down. An existing StatefulSet keeps its policy (the field is immutable).
      podManagementPolicy: ctx.facts.existing?.mysqlPodManagementPolicy ?? 'Parallel',
      // The database loop rolls the pods itself, in role order (replicas, a switchover, the old primary).
      updateStrategy: ctx.facts.databaseController === false ? { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } : { type: 'OnDelete' },
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
        spec: {
          // A clean InnoDB shutdown flushes the buffer pool; give it time.
          terminationGracePeriodSeconds: 60,
          // A replica's IO thread looks its source up by name (TLS verifies that name) and cannot be
          // stopped while a lookup waits. When a node's power cut takes a DNS server with it, glibc's
          // default (5 s, 2 tries, per search domain) held a failover's first step ~20 s; cluster DNS
          // answers in milliseconds, so 1 s per try is ample.
          dnsConfig: { options: [{ name: 'timeout', value: '1' }, { name: 'attempts', value: '2' }] },
        },
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
