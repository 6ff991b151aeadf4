/**
 * The layout contract between the configuration files (render/config/) and the Kubernetes
 * objects that run them (ports, mount paths, file names, environment variables, Secret keys).
 * The config renderers only ever refer to these constants, so the object renderer can mount and
 * expose exactly what the configs expect. Every port is unprivileged because the containers run
 * as non-root with all capabilities dropped; every path a program writes to is an emptyDir
 * because the root filesystems are read-only.
 */
import type { DefaultedWebStack } from '../api/defaults.js';

/**
 * HAProxy resolves the web tier at run time with its own DNS client, which ignores the search
 * list of /etc/resolv.conf, so in-cluster names are written fully qualified.
 */
export const CLUSTER_DOMAIN = 'cluster.local';

/** A WebStack read from a file by the render CLI may have no namespace; kubectl would use `default`. */
export function stackNamespace(stack: DefaultedWebStack): string {
  return stack.metadata.namespace ?? 'default';
}

/** `<service>.<namespace>.svc.cluster.local`: the name the configs dial and verify certificates against. */
export function serviceHost(service: string, namespace: string): string {
  return `${service}.${namespace}.svc.${CLUSTER_DOMAIN}`;
}

/**
 * The common name of a tier's internal certificate, its only subject field: every leaf of the
 * stack's CA is a valid client certificate, so the next hop admits its one caller by this name
 * (nginx reads it as `$ssl_client_s_dn`, `CN=<this>`). 64 characters at most (X.509).
 */
export function tierCommonName(service: string, namespace: string): string {
  return serviceHost(service, namespace).slice(0, 64);
}

/** `<pod>.<headless service>.<namespace>.svc.cluster.local`, the stable name of a StatefulSet pod. */
export function podHost(pod: string, headlessService: string, namespace: string): string {
  return `${pod}.${serviceHost(headlessService, namespace)}`;
}

/**
 * Names of the files inside a TLS Secret issued by cert-manager. Each Certificate is named like
 * its Secret (`<stack>-tls`, `<stack>-ca`, `<stack>-web-tls`, ...): the expiry alert selects on it.
 */
export const TLS_FILES = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

/**
 * How long each hop waits for the response of the next, in seconds: one budget per hop, the
 * outermost the longest. An inner hop then gives up first and answers 504 itself, so no outer hop
 * cuts a response the inner one would still have delivered (HAProxy used to give up at 30 s while
 * Nginx waited 60 s for the app).
 */
export const RESPONSE_TIMEOUT_S = { lb: 60, web: 55, appProxy: 50 } as const;

/**
 * HAProxy (image haproxy:3.2, runs as user `haproxy`).
 * - config: ConfigMap `<stack>-lb-config` key `haproxy.cfg` mounted at configDir (the image's
 *   default command reads configDir/haproxy.cfg, so no command override is needed).
 * - certDir: the public certificate Secret `<stack>-tls` mounted as is (tls.crt + tls.key). The
 *   config sets `ssl-load-extra-del-ext`, so `crt tls.crt` finds the key in `tls.key` beside it;
 *   no init container or concatenated pem is needed. Unused in passthrough mode.
 * - caDir: reencrypt mode only, the internal CA Secret `<stack>-ca` with ONLY the item `ca.crt`
 *   (never mount the CA's private key).
 * - runDir: emptyDir for the runtime API socket.
 * - statsPort serves `/metrics` (Prometheus) and `/healthz` (liveness/readiness probes).
 * - The web Service `<stack>-web` must be headless (clusterIP: None): HAProxy discovers the Nginx
 *   pods through its DNS A records and health-checks each pod itself.
 * - Traffic to Nginx carries a PROXY protocol v2 header (the client address), so only HAProxy
 *   may reach Nginx's main port (NetworkPolicy LB -> web).
 * - The LB Service needs externalTrafficPolicy: Local, or HAProxy sees node addresses instead of
 *   clients and the allowedSourceRanges filter cannot work.
 */
export const HAPROXY = {
  httpPort: 8080,
  httpsPort: 8443,
  statsPort: 8404,
  metricsPath: '/metrics',
  healthPath: '/healthz',
  configDir: '/usr/local/etc/haproxy',
  configFile: 'haproxy.cfg',
  certDir: '/etc/haproxy/certs',
  caDir: '/etc/haproxy/ca',
  /** reencrypt: the client certificate HAProxy presents to Nginx. */
  clientCertDir: '/etc/haproxy/client',
  runDir: '/var/run/haproxy',
  adminSocket: 'admin.sock',
} as const;

/**
 * cert-manager's HTTP-01 solver pods (ACME issuers). cert-manager labels each solver pod with
 * `solverLabel: "true"` and `domainLabel: <adler32 of the DNS name, decimal>` and serves the token
 * on solverPort; the Service `<stack>-acme-<i>` per DNS name selects them by those labels, and
 * HAProxy's port 80 sends `challengePath` requests for that name there (render/acme.ts).
 */
export const ACME = {
  challengePath: '/.well-known/acme-challenge/',
  solverPort: 8089,
  solverLabel: 'acme.cert-manager.io/http01-solver',
  domainLabel: 'acme.cert-manager.io/http-domain',
} as const;

/**
 * Nginx (image nginxinc/nginx-unprivileged, runs as uid 101).
 * - confDir: ConfigMap `<stack>-web-config` with `nginx.conf` and `start.sh`; the container's
 *   command is NGINX.command. start.sh writes the `resolver` line (the pod's nameserver from
 *   /etc/resolv.conf, which nginx needs as an IP address) to runDir/resolver.conf, then execs nginx.
 * - certDir: reencrypt: `<stack>-web-tls` (internal CA; its dnsNames must include
 *   serviceHost(`<stack>-web`, ns), which HAProxy verifies); passthrough: the public `<stack>-tls`;
 *   terminate: not mounted.
 * - caDir: only when spec.app.tls: `<stack>-ca` item `ca.crt`, to verify the app's certificate.
 * - runDir: emptyDir for the pid file, temp files and resolver.conf.
 * - The main port (plan.ts: TlsPlan.webPort) is httpsPort, or httpPort when HAProxy sends plain
 *   HTTP, and expects the PROXY protocol (from HAProxy only).
 * - statusPort is plain HTTP without the PROXY protocol: `/healthz` for kubelet probes and
 *   `/stub_status` (answered for 127.0.0.1 only) for the nginx-prometheus-exporter sidecar, which
 *   runs with `--nginx.scrape-uri=` + NGINX.stubStatusUrl and serves exporterPort.
 */
export const NGINX = {
  httpsPort: 8443,
  httpPort: 8080,
  statusPort: 8081,
  exporterPort: 9113,
  healthPath: '/healthz',
  stubStatusPath: '/stub_status',
  stubStatusUrl: 'http://127.0.0.1:8081/stub_status',
  confDir: '/etc/nginx/webstack',
  configFile: 'nginx.conf',
  startScript: 'start.sh',
  command: ['/bin/sh', '/etc/nginx/webstack/start.sh'],
  certDir: '/etc/nginx/certs',
  caDir: '/etc/nginx/ca',
  runDir: '/var/run/nginx',
  resolverFile: 'resolver.conf',
} as const;

/**
 * The user's application. Nginx proxies to the `<stack>-app` Service on plan.appPort: spec.app.port
 * over https when spec.app.tls (the app finds its certificate in certDir), the app proxy's port in
 * reencrypt mode otherwise, plain spec.app.port in the other modes. TLS is verified against the
 * internal CA as serviceHost(`<stack>-app`, ns), so `<stack>-app-tls` must carry that name.
 */
export const APP = {
  certDir: '/etc/webstack/tls',
  /** reencrypt: `<stack>-ca` item `ca.crt`, the CA MySQL's certificate is verified against (env DB_SSL_CA). */
  dbCaDir: '/etc/webstack/db-ca',
} as const;

/**
 * The app proxy: Nginx (the web tier's image, uid 101) as a sidecar of the app pods when the stack
 * is in reencrypt mode and the app serves plain HTTP (no spec.app.tls). It terminates TLS with
 * `<stack>-app-tls` (certDir), requires a client certificate from the internal CA (caDir, only
 * Nginx's web certificate has one) and proxies to the app on 127.0.0.1:spec.app.port.
 * - confDir: ConfigMap `<stack>-app-proxy-config` key `nginx.conf`; command runs nginx with it.
 * - runDir: emptyDir for the pid and temp files.
 * - The app Service and the app's NetworkPolicy expose only portFor(spec.app.port); the app's own
 *   port stays reachable from inside the pod and from its node (the kubelet's probes).
 */
export const APP_PROXY = {
  /** 8443, or 9443 when the app itself listens on 8443. */
  portFor: (appPort: number): number => (appPort === 8443 ? 9443 : 8443),
  confDir: '/etc/webstack/app-proxy',
  configFile: 'nginx.conf',
  command: ['nginx', '-c', '/etc/webstack/app-proxy/nginx.conf'],
  certDir: '/etc/webstack/app-proxy/tls',
  caDir: '/etc/webstack/app-proxy/ca',
  runDir: '/var/run/app-proxy',
} as const;

/** The volume claim template of the database StatefulSet: each instance's data directory (its PVC is `data-<pod>`). */
export const DATA_VOLUME = 'data';

/**
 * The database (engine mysql: image mysql:<version>; engine mariadb: mariadb:<version>; both run as
 * uid 999). The pod does not use the image's entrypoint: it runs the server binary itself, so both
 * engines start the same way and nothing but the database controller ever changes a role.
 * - configMapDir: ConfigMap `<stack>-mysql-config` (my.cnf, init-config.sh, readiness.sh). The init
 *   container (MYSQL.initCommand) initializes an empty data directory (mysqld --initialize-insecure /
 *   mariadb-install-db), writes confDir/webstack.cnf (my.cnf plus this pod's server_id and report_host)
 *   and runDir/init.sql: the accounts and the application database, run by the server on every start
 *   (--init-file) with the binlog off, so they are never a transaction of their own.
 * - Every server starts read-only with the semi-sync source half off; the database controller
 *   (operator/database) promotes the primary over SQL and points the replicas at it.
 * - confDir, runDir (socket, init.sql), tmpDir: emptyDirs. dataDir: the PVC.
 * - certDir: reencrypt only, `<stack>-mysql-tls` (tls.crt, tls.key, ca.crt; readable by uid 999,
 *   e.g. through fsGroup); its dnsNames must
 *   include podHost(`<stack>-mysql-<i>`, `<stack>-mysql-headless`, ns) for every ordinal (or the
 *   wildcard `*.<headless host>`) and serviceHost of `-primary` and `-replicas`.
 * - env: each password comes from the credentials Secret `<stack>-mysql-credentials` key
 *   secretKeys[...]. users.operator is the database controller's own account.
 * - pre-stop.sh: a stopping server waits (at most preStopWaitSeconds) while it still accepts writes,
 *   so the controller can switch over first: a deleted, evicted or rolled primary hands over, not fails over.
 * - readiness.sh: Ready when the server answers and, if it is a replica, both replication threads run
 *   and it lags at most maxReplicaLagSeconds.
 */
export const MYSQL = {
  port: 3306,
  exporterPort: 9104,
  configMapDir: '/etc/mysql/webstack',
  files: { config: 'my.cnf', init: 'init-config.sh', readiness: 'readiness.sh', preStop: 'pre-stop.sh' },
  initCommand: ['/bin/sh', '/etc/mysql/webstack/init-config.sh'],
  confDir: '/etc/mysql/conf.d',
  configFile: '/etc/mysql/conf.d/webstack.cnf',
  initSql: '/var/run/mysqld/init.sql',
  dataDir: '/var/lib/mysql',
  runDir: '/var/run/mysqld',
  socket: '/var/run/mysqld/mysqld.sock',
  tmpDir: '/tmp',
  certDir: '/etc/mysql/tls',
  database: 'app',
  users: { app: 'app', replication: 'replicator', exporter: 'exporter', operator: 'webstack-operator' },
  env: {
    /** Optional, from the downward API (metadata.name); the scripts fall back to the host name. */
    podName: 'POD_NAME',
    rootPassword: 'MYSQL_ROOT_PASSWORD',
    appPassword: 'WEBSTACK_APP_PASSWORD',
    replicationPassword: 'WEBSTACK_REPLICATION_PASSWORD',
    exporterPassword: 'WEBSTACK_EXPORTER_PASSWORD',
    operatorPassword: 'WEBSTACK_OPERATOR_PASSWORD',
  },
  secretKeys: {
    rootPassword: 'root-password',
    appPassword: 'app-password',
    replicationPassword: 'replication-password',
    exporterPassword: 'exporter-password',
    operatorPassword: 'operator-password',
  },
  /** server_id = base + pod ordinal; server_id 0 would refuse replication. */
  serverIdBase: 100,
  /** A replica further behind serves stale reads: not Ready, and not healthy for the controller. */
  maxReplicaLagSeconds: 30,
  preStopWaitSeconds: 40,
  /**
   * How soon a replica notices a silent source (a node without power sends no FIN): an idle source
   * sends a heartbeat every second (set by the controller with the source), and a replica that hears
   * nothing for 5 s (my.cnf) reconnects; its IO thread is then not running, which the failover rule
   * reads as "this replica lost the source". With the servers' defaults (60 s, heartbeats every
   * 30 s) a failover after a node loss waited for the node to be reported NotReady, about a minute.
   */
  replicaLiveness: { heartbeatSeconds: 1, netTimeoutSeconds: 5 },
} as const;

/**
 * The shared log agent: OpenTelemetry Collector contrib, one pod per node for all stacks
 * (render/agent.ts, docs/adr/0010-one-shared-log-agent.md).
 * - config: ConfigMap `webstack-log-agent-config` key `config.yaml` at configDir (the image's
 *   default command reads configDir/config.yaml).
 * - podLogsDir: hostPath /var/log/pods, read-only. hostRoot: hostPath `/`, read-only, for the
 *   hostmetrics receiver. storageDir: hostPath, writable: one folder per stack with its read
 *   offsets and its sending queue.
 * - Ports, on the node's address (host network): healthPort, the health_check extension (probe
 *   path `/`); hostMetricsPort, Prometheus endpoint (`/metrics`) with the node metrics, whatever
 *   the sinks; telemetryPort, the collector's own metrics (delivery per exporter, read by the operator).
 * - env: nodeName from the downward API (spec.nodeName). Per stack, suffixed by its key
 *   (config/log-agent.ts, agentEnv), from the copy of the Secret named by
 *   spec.logging.sink.credentialsSecretRef: sinkEndpoint from key `endpoint`, used when
 *   spec.logging.sink.endpoint is empty (a Sumo Logic HTTP source URL embeds its token, so it
 *   belongs in the Secret); sinkAuthorization from key `authorization`, the whole Authorization
 *   header value (`Basic ...`, `Bearer ...`, `ApiKey ...`), sent to loki, elasticsearch and otlp.
 */
export const LOG_AGENT = {
  configDir: '/etc/otelcol-contrib',
  configFile: 'config.yaml',
  podLogsDir: '/var/log/pods',
  hostRoot: '/hostfs',
  storageDir: '/var/lib/otelcol',
  healthPort: 13133,
  hostMetricsPort: 9464,
  telemetryPort: 8888,
  env: {
    nodeName: 'K8S_NODE_NAME',
    sinkEndpoint: 'WEBSTACK_SINK_ENDPOINT',
    sinkAuthorization: 'WEBSTACK_SINK_AUTHORIZATION',
  },
  secretKeys: { sinkEndpoint: 'endpoint', sinkAuthorization: 'authorization' },
} as const;
