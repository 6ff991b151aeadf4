import { describe, expect, it } from '@jest/globals';
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
});
