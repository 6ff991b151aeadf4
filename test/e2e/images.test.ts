/**
 * The locally built images (hack/images/build.ts) run as containers on the real nodes, non-root
 * with a read-only root filesystem: MariaDB 10.11 and 11.8 (from sid) on a local volume serving
 * TLS only, the test application writing and reading rows through each with a verified certificate, Nginx behind
 * HAProxy, and the Nginx exporter reading Nginx's status.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { deleteNamespace, eventually, getJson, kubectl, newNamespace } from '../support/cluster.js';
import { applyIn, deployment, image, restricted, smallResources as resources, toolboxPod } from '../support/objects.js';
import { certificateAuthority, serverCertificate } from '../support/tls.js';

const PASSWORD = 'e2e-app-password';
const tmp = { name: 'tmp', emptyDir: {} };

let ns: string;

const b64 = (text: string) => Buffer.from(text).toString('base64');

const apply = (objects: object[]) => applyIn(ns, objects);

async function exec(pod: string, command: string[], allowFail = false): Promise<{ stdout: string; stderr: string; code: number }> {
  return kubectl(['exec', '-n', ns, pod, '--', ...command], { allowFail });
}

/** A one-instance MariaDB StatefulSet `name` from `tag` of the local mariadb image, TLS only. */
function database(name: string, tag: string) {
  const dbHost = `${name}.${ns}.svc.cluster.local`;
  const ca = certificateAuthority('e2e-db-ca');
  const server = serverCertificate(ca, [dbHost, name, `${name}.${ns}.svc`]);
  const script = [
    '[ -d /var/lib/mysql/data/mysql ] ||',
    'mariadb-install-db --datadir=/var/lib/mysql/data --skip-test-db --auth-root-authentication-method=normal --skip-name-resolve >/tmp/install.log 2>&1 ||',
    '{ cat /tmp/install.log; exit 1; };',
    'exec mariadbd --datadir=/var/lib/mysql/data --socket=/run/mysqld/mysqld.sock --port=3306 --bind-address=0.0.0.0',
    '--skip-name-resolve --ssl-ca=/tls/ca.crt --ssl-cert=/tls/tls.crt --ssl-key=/tls/tls.key --require-secure-transport=ON --init-file=/init/init.sql',
  ].join(' ');
  return {
    ca,
    host: dbHost,
    objects: [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-tls` }, data: { 'ca.crt': b64(ca.crt), 'tls.crt': b64(server.crt), 'tls.key': b64(server.key) } },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `${name}-init` },
        data: {
          'init.sql': `CREATE DATABASE IF NOT EXISTS app;\nCREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY '${PASSWORD}' REQUIRE SSL;\nGRANT ALL ON app.* TO 'app'@'%';\n`,
        },
      },
      { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 3306 }] } },
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name },
        spec: {
          serviceName: name,
          replicas: 1,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: {
              securityContext: { fsGroup: 999 },
              containers: [
                {
                  name: 'mariadb',
                  image: image(`mariadb:${tag}`),
                  imagePullPolicy: 'Never',
                  command: ['sh', '-c', script],
                  ports: [{ containerPort: 3306 }],
                  securityContext: restricted(999),
                  resources,
                  readinessProbe: { exec: { command: ['mariadb-admin', '--socket=/run/mysqld/mysqld.sock', '--user=root', 'ping'] }, periodSeconds: 2 },
                  volumeMounts: [
                    { name: 'data', mountPath: '/var/lib/mysql' },
                    { name: 'run', mountPath: '/run/mysqld' },
                    { name: 'tmp', mountPath: '/tmp' },
                    { name: 'tls', mountPath: '/tls', readOnly: true },
                    { name: 'init', mountPath: '/init', readOnly: true },
                  ],
                },
              ],
              volumes: [
                { name: 'run', emptyDir: {} },
                tmp,
                { name: 'tls', secret: { secretName: `${name}-tls`, defaultMode: 0o440 } },
                { name: 'init', configMap: { name: `${name}-init` } },
              ],
            },
          },
          volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
        },
      },
    ],
  };
}

/** The test application, given the database's CA (or another one) as DB_SSL_CA. */
function app(name: string, dbHost: string, caPem: string) {
  return [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-ca` }, data: { 'ca.crt': b64(caPem) } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 8080 }] } },
    deployment(name, {
      // Without it, the Service `db` would set DB_PORT=tcp://... in every pod of the namespace.
      enableServiceLinks: false,
      containers: [
        {
          name: 'app',
          image: image('app:1.0'),
          imagePullPolicy: 'Never',
          env: [
            { name: 'DB_WRITE_HOST', value: dbHost },
            { name: 'DB_PORT', value: '3306' },
            { name: 'DB_USER', value: 'app' },
            { name: 'DB_PASSWORD', value: PASSWORD },
            { name: 'DB_NAME', value: 'app' },
            { name: 'DB_SSL_MODE', value: 'VERIFY_IDENTITY' },
            { name: 'DB_SSL_CA', value: '/ca/ca.crt' },
          ],
          ports: [{ containerPort: 8080 }],
          securityContext: restricted(65532),
          resources,
          livenessProbe: { httpGet: { path: '/healthz', port: 8080 } },
          readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 2 },
          volumeMounts: [{ name: 'ca', mountPath: '/ca', readOnly: true }],
        },
      ],
      volumes: [{ name: 'ca', secret: { secretName: `${name}-ca` } }],
    }),
  ];
}

const NGINX_CONF = `worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr notice;
events {}
http {
  access_log /dev/stdout;
  client_body_temp_path /tmp/body;
  proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi;
  scgi_temp_path /tmp/scgi;
  server { listen 8080; location / { return 200 "ok from nginx\\n"; } }
  server { listen 127.0.0.1:8081; location /stub { stub_status; } }
}
`;

const haproxyConf = () => `global
  log stderr format raw local0
defaults
  mode http
  log global
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend web
  bind :8000
  default_backend nginx
backend nginx
  server nginx web.${ns}.svc.cluster.local:8080
`;

function edge() {
  const container = (name: string, img: string, uid: number, args: string[], port: number) => ({
    name,
    image: image(img),
    imagePullPolicy: 'Never',
    args,
    ports: [{ containerPort: port }],
    securityContext: restricted(uid),
    resources,
    volumeMounts: [
      { name: 'config', mountPath: '/config', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  });
  const withConfig = (name: string, containers: object[]) => deployment(name, { containers, volumes: [{ name: 'config', configMap: { name: 'edge' } }, tmp] });
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'edge' }, data: { 'nginx.conf': NGINX_CONF, 'haproxy.cfg': haproxyConf() } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9113 }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'lb' }, spec: { selector: { app: 'lb' }, ports: [{ port: 8000 }] } },
    withConfig('web', [
      container('nginx', 'nginx:1.22', 101, ['-e', 'stderr', '-c', '/config/nginx.conf', '-g', 'daemon off;'], 8080),
      container('exporter', 'nginx-exporter:0.11.0', 65532, ['-nginx.scrape-uri=http://127.0.0.1:8081/stub'], 9113),
    ]),
    withConfig('lb', [container('haproxy', 'haproxy:2.6', 99, ['-W', '-db', '-f', '/config/haproxy.cfg'], 8000)]),
  ];
}

let dbHost: string;

beforeAll(async () => {
  ns = await newNamespace('e2e-images', { restricted: true });
  const db = database('db', '10.11');
  const db118 = database('db118', '11.8');
  dbHost = db.host;
  await apply([
    ...db.objects,
    ...db118.objects,
    ...app('app', db.host, db.ca.crt),
    ...app('app-118', db118.host, db118.ca.crt),
    ...app('app-wrong-ca', db.host, certificateAuthority('another-ca').crt),
    ...edge(),
    toolboxPod('client'),
  ]);
  for (const set of ['db', 'db118']) await kubectl(['rollout', 'status', '-n', ns, `statefulset/${set}`, '--timeout=180s']);
  for (const d of ['app', 'app-118', 'web', 'lb']) await kubectl(['rollout', 'status', '-n', ns, `deployment/${d}`, '--timeout=120s']);
  await kubectl(['wait', '-n', ns, '--for=condition=Ready', 'pod/client', '--timeout=60s']);
}, 300_000);

afterAll(async () => {
  await deleteNamespace(ns);
});

describe('the local images on real nodes', () => {
  it.each([
    ['10.11', 'app', 'db'],
    ['11.8', 'app-118', 'db118'],
  ])('MariaDB %s serves the test application over verified TLS, which writes and reads a row per request', async (version, appName, set) => {
    // A new Service answers once every node's kube-proxy has its rules; late in a long run that can lag.
    const first = await eventually(async () => JSON.parse((await exec('client', ['curl', '-sS', '-m', '10', `http://${appName}:8080/`])).stdout) as Record<string, unknown>, {
      description: 'the app answering through its Service',
      timeoutMs: 60_000,
      intervalMs: 2000,
    });
    const second = JSON.parse((await exec('client', ['curl', '-sS', '-m', '10', `http://${appName}:8080/`])).stdout) as Record<string, unknown>;
    expect(first.database).toBe(`${set}-0`);
    expect(second.visits).toBe(Number(first.visits) + 1);
    expect(second.wrote).toBe(Number(first.wrote) + 1);
    expect(String(first.dbTLSCipher)).toMatch(/^TLS_|AES|CHACHA/);
    const served = await kubectl(['exec', '-n', ns, `${set}-0`, '--', 'mariadbd', '--version']);
    expect(served.stdout).toContain(`Ver ${version}.`);
  }, 120_000);

  it('an application given another CA is refused by its own certificate check and never becomes Ready', async () => {
    const pods = await getJson<{ items: { status: { podIP: string; conditions?: { type: string; status: string }[] } }[] }>(['pods', '-n', ns, '-l', 'app=app-wrong-ca']);
    const pod = pods.items[0];
    expect(pod?.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    const { stdout } = await exec('client', ['curl', '-sS', '-m', '10', `http://${pod?.status.podIP ?? ''}:8080/readyz`]);
    expect(stdout).toMatch(/certificate signed by unknown authority/);
  }, 60_000);

  it('MariaDB refuses a plain connection with the right password', async () => {
    const plain = await exec('client', ['mariadb', '--skip-ssl', '-h', dbHost, '-u', 'app', `-p${PASSWORD}`, '-e', 'SELECT 1'], true);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/Access denied|insecure transport/);
    // The same account and password over TLS gets in: it was the plain transport that was refused.
    const tls = await exec('client', ['mariadb', '--ssl', '-h', dbHost, '-u', 'app', `-p${PASSWORD}`, '-N', '-e', "SHOW SESSION STATUS LIKE 'Ssl_version'"]);
    expect(tls.stdout).toMatch(/Ssl_version\s+TLSv1\.[23]/);
  }, 60_000);

  it('HAProxy forwards to Nginx, and the Nginx exporter reads Nginx status', async () => {
    await eventually(async () => {
      const { stdout } = await exec('client', ['curl', '-sS', '-m', '5', 'http://lb:8000/']);
      expect(stdout).toBe('ok from nginx\n');
    }, { description: 'HAProxy to answer with Nginx', timeoutMs: 30_000 });
    const metrics = (await exec('client', ['curl', '-sS', '-m', '5', 'http://web:9113/metrics'])).stdout;
    expect(metrics).toMatch(/^nginx_up 1$/m);
    expect(metrics).toMatch(/^nginx_connections_accepted [1-9]/m);
  }, 60_000);
});
