import { describe, expect, it } from '@jest/globals';
import { DEFAULT_IMAGES } from '../../../operator/api/images.js';
import { ConfigError, configUsage, parseConfig, parseDuration } from '../../../operator/runtime/config.js';

const ENV = { POD_NAMESPACE: 'webstack-system', POD_NAME: 'op-0' };

function problemsOf(argv: string[], env: Record<string, string | undefined> = ENV): string[] {
  try {
    parseConfig(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5s', 1_500],
    ['0', 0],
  ])('%s = %dms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '30', 's', '-1s', '1d', '1 m', 'abc'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('parseConfig', () => {
  it('has sensible defaults', () => {
    expect(parseConfig([], ENV)).toEqual({
      kubeconfig: undefined,
      namespaces: [],
      concurrency: 4,
      logLevel: 'info',
      metricsPort: 8080,
      leaderElection: true,
      leaseName: 'webstack-operator',
      leaseNamespace: 'webstack-system',
      identity: 'op-0',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      resyncPeriodMs: 600_000,
      requestTimeoutMs: 30_000,
      databaseFailoverDelayMs: 10_000,
      databaseController: true,
      logDeliveryCheck: true,
      operatorPeer: { namespaceLabels: { 'kubernetes.io/metadata.name': 'webstack-system' }, podLabels: { 'app.kubernetes.io/name': 'webstack-operator' } },
      images: DEFAULT_IMAGES,
    });
  });

  it('reads environment variables', () => {
    const config = parseConfig([], {
      WEBSTACK_NAMESPACES: 'shop, blog,shop',
      WEBSTACK_CONCURRENCY: '8',
      WEBSTACK_LOG_LEVEL: 'DEBUG',
      WEBSTACK_METRICS_PORT: '9090',
      WEBSTACK_LEADER_ELECT: 'false',
      WEBSTACK_LEASE_NAME: 'my-lease',
      WEBSTACK_RESYNC_PERIOD: '0',
      WEBSTACK_REQUEST_TIMEOUT: '10s',
    });
    expect(config).toMatchObject({
      namespaces: ['shop', 'blog'],
      concurrency: 8,
      logLevel: 'debug',
      metricsPort: 9090,
      leaderElection: false,
      leaseName: 'my-lease',
      leaseNamespace: '',
      resyncPeriodMs: 0,
      requestTimeoutMs: 10_000,
    });
    expect(config.identity).toMatch(/_[0-9a-f]{8}$/); // no POD_NAME: hostname plus a random suffix
  });

  it('lets flags override the environment, in both --flag=value and --flag value forms', () => {
    const config = parseConfig(
      ['--concurrency=2', '--namespaces', 'a,b', '--kubeconfig', '/tmp/kc', '--lease-namespace=ops', '--identity', 'me', '--resync-period=1m30s'],
      { ...ENV, WEBSTACK_CONCURRENCY: '8', WEBSTACK_LEASE_NAMESPACE: 'other' },
    );
    expect(config).toMatchObject({ concurrency: 2, namespaces: ['a', 'b'], kubeconfig: '/tmp/kc', leaseNamespace: 'ops', identity: 'me', resyncPeriodMs: 90_000 });
  });

  it.each([
    [['--leader-elect'], true],
    [['--leader-elect=false'], false],
    [['--no-leader-elect'], false],
    [['--leader-elect=true'], true],
  ])('parses boolean flag %j', (argv, expected) => {
    expect(parseConfig(argv, { ...ENV, WEBSTACK_LEADER_ELECT: 'false' }).leaderElection).toBe(expected);
  });

  it('lists every bad option at once, naming where each came from', () => {
    const problems = problemsOf(['--concurrency=0', '--log-level=loud', '--metrics-port', '70000', '--bogus', 'stray', '--request-timeout=1h'], {
      ...ENV,
      WEBSTACK_NAMESPACES: 'ok,Not_OK',
      WEBSTACK_RESYNC_PERIOD: '10',
    });
    expect(problems).toEqual([
      'unknown flag --bogus',
      'unexpected argument "stray"',
      'WEBSTACK_NAMESPACES: "Not_OK" is not a valid namespace name',
      '--log-level: must be one of trace, debug, info, warn, error, fatal, silent, got "loud"',
      '--concurrency: must be an integer from 1 to 64, got "0"',
      '--metrics-port: must be an integer from 1 to 65535, got "70000"',
      'WEBSTACK_RESYNC_PERIOD: must be a positive duration like 30s or 5m (or 0), got "10"',
      '--request-timeout: must be a positive duration of at most 600s like 30s or 5m, got "1h"',
    ]);
  });

  it('puts all problems in the error message', () => {
    expect(() => parseConfig(['--concurrency=x', '--log-level=x'], ENV)).toThrow(/invalid configuration:\n {2}- --log-level.*\n {2}- --concurrency/);
  });

  it('requires a lease namespace when leader election is on', () => {
    expect(problemsOf([], {})).toEqual([expect.stringMatching(/leader election needs a namespace for its Lease/)]);
    expect(parseConfig(['--leader-elect=false'], {}).leaderElection).toBe(false);
  });

  it('checks the leader election timings against each other', () => {
    expect(problemsOf(['--lease-duration=5s', '--renew-deadline=10s'])).toEqual([expect.stringMatching(/retry-period < renew-deadline < lease-duration/)]);
  });

  it('reports a flag without its value', () => {
    expect(problemsOf(['--concurrency'])).toEqual(['--concurrency needs a value']);
    expect(problemsOf(['--namespaces', '--concurrency=2'])).toEqual(['--namespaces needs a value']);
  });

  it('rejects bad booleans and lease names', () => {
    expect(problemsOf(['--leader-elect=maybe', '--lease-name=Bad_Name'])).toEqual([
      '--leader-elect: must be true or false, got "maybe"',
      'lease name "Bad_Name" is not a valid object name',
    ]);
  });

  it('documents every flag with its environment variable', () => {
    const usage = configUsage();
    for (const flag of ['--kubeconfig', '--namespaces', '--concurrency', '--log-level', '--metrics-port', '--leader-elect', '--lease-name', '--lease-namespace', '--resync-period', '--request-timeout']) {
      expect(usage).toContain(flag);
    }
    expect(usage).toContain('WEBSTACK_NAMESPACES');
  });

  describe('images', () => {
    it('reads each catalog entry from its flag or environment variable, flags first', () => {
      const { images } = parseConfig(['--image-haproxy=mirror.test/haproxy:3.2', '--image-mysql-8.0', 'mirror.test/mysql:8.0.43', '--image-log-agent=otel:1'], {
        ...ENV,
        WEBSTACK_IMAGE_HAPROXY: 'ignored.test/haproxy:1',
        WEBSTACK_IMAGE_NGINX: 'webstack.local/nginx:1.22',
        WEBSTACK_IMAGE_NGINX_EXPORTER: 'webstack.local/nginx-exporter:0.11.0',
        WEBSTACK_IMAGE_MYSQL_9_7: 'mysql@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
        WEBSTACK_IMAGE_MYSQLD_EXPORTER: ' localhost:5000/mysqld-exporter:0.14.0 ',
        WEBSTACK_IMAGE_MARIADB_10_11: 'webstack.local/mariadb:10.11',
      });
      expect(images).toEqual({
        haproxy: 'mirror.test/haproxy:3.2',
        nginx: 'webstack.local/nginx:1.22',
        nginxExporter: 'webstack.local/nginx-exporter:0.11.0',
        mysql80: 'mirror.test/mysql:8.0.43',
        mysql84: 'mysql:8.4',
        mysql97: 'mysql@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
        mariadb1011: 'webstack.local/mariadb:10.11',
        mariadb114: 'mariadb:11.4',
        mariadb118: 'mariadb:11.8',
        mysqldExporter: 'localhost:5000/mysqld-exporter:0.14.0',
        logAgent: 'otel:1',
      });
    });

    it('moves every default to --image-registry, keeping the explicit entries as given', () => {
      const { images } = parseConfig(['--image-registry=mirror.test:5000/hub', '--image-nginx=other.test/nginx:1'], ENV);
      expect(images).toEqual({
        haproxy: 'mirror.test:5000/hub/library/haproxy:3.2-alpine',
        nginx: 'other.test/nginx:1',
        nginxExporter: 'mirror.test:5000/hub/nginx/nginx-prometheus-exporter:1.4.2',
        mysql80: 'mirror.test:5000/hub/library/mysql:8.0',
        mysql84: 'mirror.test:5000/hub/library/mysql:8.4',
        mysql97: 'mirror.test:5000/hub/library/mysql:9.7',
        mariadb1011: 'mirror.test:5000/hub/library/mariadb:10.11',
        mariadb114: 'mirror.test:5000/hub/library/mariadb:11.4',
        mariadb118: 'mirror.test:5000/hub/library/mariadb:11.8',
        mysqldExporter: 'mirror.test:5000/hub/prom/mysqld-exporter:v0.17.2',
        logAgent: 'mirror.test:5000/hub/otel/opentelemetry-collector-contrib:0.165.0',
      });
      expect(parseConfig([], { ...ENV, WEBSTACK_IMAGE_REGISTRY: 'localhost:5000' }).images.haproxy).toBe('localhost:5000/library/haproxy:3.2-alpine');
    });

    it('reports every bad image and registry at once, naming where each came from', () => {
      const problems = problemsOf(['--image-nginx=Nginx:latest', '--image-registry=https://mirror.test', '--concurrency=0'], {
        ...ENV,
        WEBSTACK_IMAGE_LOG_AGENT: 'otel collector:1',
        WEBSTACK_IMAGE_MYSQL_8_4: '"mysql:8.4"',
      });
      expect(problems).toEqual([
        '--concurrency: must be an integer from 1 to 64, got "0"',
        '--image-registry: must be a registry host[:port][/path] like mirror.local:5000, got "https://mirror.test"',
        '--image-nginx: must be an image reference like registry.example/name:tag, got "Nginx:latest"',
        'WEBSTACK_IMAGE_MYSQL_8_4: must be an image reference like registry.example/name:tag, got ""mysql:8.4""',
        'WEBSTACK_IMAGE_LOG_AGENT: must be an image reference like registry.example/name:tag, got "otel collector:1"',
      ]);
    });

    it('documents each image flag with its variable and default', () => {
      const usage = configUsage();
      expect(usage).toMatch(/--image-registry=VALUE .*\[env WEBSTACK_IMAGE_REGISTRY\]/);
      expect(usage).toMatch(/--image-mysql-8\.0=VALUE .*mysql:8\.0.*\[env WEBSTACK_IMAGE_MYSQL_8_0\]/);
      expect(usage).toMatch(/--image-mysqld-exporter=VALUE .*prom\/mysqld-exporter:v0\.17\.2.*\[env WEBSTACK_IMAGE_MYSQLD_EXPORTER\]/);
    });
  });
});
