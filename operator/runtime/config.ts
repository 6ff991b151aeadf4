/**
 * Operator configuration from command-line flags and environment variables (flag > env > default).
 * Every option is checked, and all problems are reported together, each naming the flag and the
 * environment variable it can come from, so a bad Deployment is fixed in one edit.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DEFAULT_IMAGES, IMAGE_KEYS, IMAGE_PURPOSE, imageCatalog, isImageReference, isRegistry, type ImageCatalog, type ImageKey } from '../api/images.js';
import type { Peer } from '../api/types.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';

export interface OperatorConfig {
  /** Explicit kubeconfig path; otherwise $KUBECONFIG, in-cluster, ~/.kube/config (see kube/config.ts). */
  kubeconfig: string | undefined;
  /** Namespaces whose WebStacks are reconciled; empty means all namespaces. */
  namespaces: string[];
  /** WebStacks reconciled at the same time. */
  concurrency: number;
  logLevel: LogLevel;
  /** Port of /healthz, /readyz and /metrics. */
  metricsPort: number;
  leaderElection: boolean;
  leaseName: string;
  leaseNamespace: string;
  /** This replica's name in the Lease. */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  /** How long a primary must not answer before the database controller fails over. */
  databaseFailoverDelayMs: number;
  databaseController: boolean;
  /** Read each stack's log delivery from the agent pods' metrics (LoggingReady); off where pods have made-up addresses. */
  logDeliveryCheck: boolean;
  /** Where the operator's SQL connections come from, for the database firewall; undefined when unknown. */
  operatorPeer: Peer | undefined;
  retryPeriodMs: number;
  /** Every WebStack is reconciled again at least this often; 0 turns periodic resync off. */
  resyncPeriodMs: number;
  /** Upper bound on each API request (watches excepted). */
  requestTimeoutMs: number;
  /** The image of every container the operator deploys, unless a stack sets its own (api/images.ts). */
  images: ImageCatalog;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

interface OptionSpec {
  flag: string;
  env?: string;
  boolean?: boolean;
  help: string;
}

/** Flag suffix of each catalog entry: --image-<suffix>, env WEBSTACK_IMAGE_<SUFFIX> (dots and dashes as _). */
export const IMAGE_FLAG: Readonly<Record<ImageKey, string>> = {
  haproxy: 'haproxy',
  nginx: 'nginx',
  nginxExporter: 'nginx-exporter',
  mysql80: 'mysql-8.0',
  mysql84: 'mysql-8.4',
  mysql97: 'mysql-9.7',
  mariadb1011: 'mariadb-10.11',
  mariadb114: 'mariadb-11.4',
  mariadb118: 'mariadb-11.8',
  mysqldExporter: 'mysqld-exporter',
  logAgent: 'log-agent',
};

type ImageOptionName = `image:${ImageKey}`;
const imageOption = (key: ImageKey): ImageOptionName => `image:${key}`;

const IMAGE_OPTIONS = Object.fromEntries(
  IMAGE_KEYS.map((key) => [
    imageOption(key),
    {
      flag: `image-${IMAGE_FLAG[key]}`,
      env: `WEBSTACK_IMAGE_${IMAGE_FLAG[key].toUpperCase().replace(/[-.]/g, '_')}`,
      help: `image of ${IMAGE_PURPOSE[key]} (default: ${DEFAULT_IMAGES[key]})`,
    },
  ]),
) as Record<ImageOptionName, OptionSpec>;

const OPTIONS = {
  kubeconfig: { flag: 'kubeconfig', help: 'path to a kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)' },
  namespaces: { flag: 'namespaces', env: 'WEBSTACK_NAMESPACES', help: 'comma-separated namespaces to watch; empty = all (default: all)' },
  concurrency: { flag: 'concurrency', env: 'WEBSTACK_CONCURRENCY', help: 'WebStacks reconciled in parallel, 1-64 (default: 4)' },
  logLevel: { flag: 'log-level', env: 'WEBSTACK_LOG_LEVEL', help: `${LOG_LEVELS.join('|')} (default: info)` },
  metricsPort: { flag: 'metrics-port', env: 'WEBSTACK_METRICS_PORT', help: 'port for /healthz, /readyz, /metrics (default: 8080)' },
  operatorCidr: {
    flag: 'operator-cidr',
    env: 'WEBSTACK_OPERATOR_CIDR',
    help: 'source address range of the operator\'s database connections when it runs outside the cluster (default: the operator\'s pods in $POD_NAMESPACE)',
  },
  databaseController: {
    flag: 'database-controller',
    env: 'WEBSTACK_DATABASE_CONTROLLER',
    boolean: true,
    help: 'run the database controller, which chooses the primary and fails over (default: true; false only where no database runs, e.g. a cluster of fake nodes)',
  },
  logDeliveryCheck: {
    flag: 'log-delivery-check',
    env: 'WEBSTACK_LOG_DELIVERY_CHECK',
    boolean: true,
    help: "read each stack's log delivery from the log agents' metrics for LoggingReady (default: true; false where pods' addresses lead nowhere, e.g. a cluster of fake nodes)",
  },
  leaderElection: { flag: 'leader-elect', env: 'WEBSTACK_LEADER_ELECT', boolean: true, help: 'elect a leader among replicas (default: true)' },
  leaseName: { flag: 'lease-name', env: 'WEBSTACK_LEASE_NAME', help: 'name of the leader election Lease (default: webstack-operator)' },
  leaseNamespace: { flag: 'lease-namespace', env: 'WEBSTACK_LEASE_NAMESPACE', help: 'namespace of the Lease (default: $POD_NAMESPACE)' },
  identity: { flag: 'identity', env: 'POD_NAME', help: 'this replica in the Lease (default: $POD_NAME, else hostname_random)' },
  leaseDuration: { flag: 'lease-duration', env: 'WEBSTACK_LEASE_DURATION', help: 'how long a Lease is valid without renewal (default: 15s)' },
  renewDeadline: { flag: 'renew-deadline', env: 'WEBSTACK_RENEW_DEADLINE', help: 'leader steps down if it cannot renew for this long (default: 10s)' },
  databaseFailoverDelay: {
    flag: 'database-failover-delay',
    env: 'WEBSTACK_DATABASE_FAILOVER_DELAY',
    help: 'fail over when the primary has not answered for this long since its last answer, and Kubernetes or the replicas agree it is down (default: 10s)',
  },
  retryPeriod: { flag: 'retry-period', env: 'WEBSTACK_RETRY_PERIOD', help: 'interval of lease renewals and acquisition attempts (default: 2s)' },
  resyncPeriod: { flag: 'resync-period', env: 'WEBSTACK_RESYNC_PERIOD', help: 'reconcile every WebStack at least this often; 0 = off (default: 10m)' },
  requestTimeout: { flag: 'request-timeout', env: 'WEBSTACK_REQUEST_TIMEOUT', help: 'timeout of each API request (default: 30s)' },
  imageRegistry: {
    flag: 'image-registry',
    env: 'WEBSTACK_IMAGE_REGISTRY',
    help: 'pull every default image from this registry (host[:port][/path]), same repository paths; --image-* values are kept as given',
  },
  ...IMAGE_OPTIONS,
} satisfies Record<string, OptionSpec>;

type OptionName = keyof typeof OPTIONS;

/** Usage text for `--help`. */
export function configUsage(): string {
  const rows = Object.values(OPTIONS).map((o: OptionSpec) => {
    const left = `  --${o.flag}${o.boolean ? '[=true|false]' : '=VALUE'}`;
    const env = o.env ? `  [env ${o.env}]` : '';
    return `${left.padEnd(34)}${o.help}${env}`;
  });
  return `Options (flags override environment variables):\n${rows.join('\n')}\nDurations: 500ms, 30s, 5m, 1h, 1m30s.\n`;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration (`1m30s`, `500ms`, `0`) into milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? NaN);
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Splits argv into flag values; problems for unknown flags, missing values and positionals. */
// eslint-disable-next-line complexity -- older than the budget; one branch per argv shape
function parseFlags(argv: string[], problems: string[]): Map<OptionName, string> {
  const byFlag = new Map<string, OptionName>();
  for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, OptionSpec][]) byFlag.set(spec.flag, name);
  const values = new Map<OptionName, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) {
      problems.push(`unexpected argument "${arg}"`);
      continue;
    }
    const eq = arg.indexOf('=');
    let flag = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    let value = eq < 0 ? undefined : arg.slice(eq + 1);
    let negated = false;
    if (!byFlag.has(flag) && flag.startsWith('no-') && value === undefined) {
      flag = flag.slice(3);
      negated = true;
    }
    const name = byFlag.get(flag);
    if (!name) {
      problems.push(`unknown flag --${flag}`);
      continue;
    }
    const spec: OptionSpec = OPTIONS[name];
    if (spec.boolean) {
      value = negated ? 'false' : (value ?? 'true');
    } else if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        problems.push(`--${flag} needs a value`);
        continue;
      }
      value = next;
      i++;
    }
    values.set(name, value);
  }
  return values;
}

interface RawValue {
  value: string;
  source: string;
}

/** The image catalog: the defaults, moved by --image-registry, then each --image-* as given. */
function imagesFrom(raw: (name: OptionName) => RawValue | undefined, problems: string[]): ImageCatalog {
  const registryRaw = raw('imageRegistry');
  let registry: string | undefined;
  if (registryRaw) {
    if (isRegistry(registryRaw.value.trim())) registry = registryRaw.value.trim();
    else problems.push(`${registryRaw.source}: must be a registry host[:port][/path] like mirror.local:5000, got "${registryRaw.value}"`);
  }
  const overrides: Partial<Record<ImageKey, string>> = {};
  for (const key of IMAGE_KEYS) {
    const r = raw(imageOption(key));
    if (!r) continue;
    const image = r.value.trim();
    if (isImageReference(image)) overrides[key] = image;
    else problems.push(`${r.source}: must be an image reference like registry.example/name:tag, got "${r.value}"`);
  }
  return imageCatalog(overrides, registry);
}

/** Outside the cluster an address range; inside, the operator's own pods (the chart's labels). */
function operatorPeer(cidr: string | undefined, podNamespace: string | undefined): Peer | undefined {
  if (cidr) return { cidr };
  if (!podNamespace) return undefined;
  return { namespaceLabels: { 'kubernetes.io/metadata.name': podNamespace }, podLabels: { 'app.kubernetes.io/name': 'webstack-operator' } };
}

// eslint-disable-next-line complexity, max-lines-per-function -- one line per option (flag, env, default)
export function parseConfig(argv: string[], env: Record<string, string | undefined> = process.env): OperatorConfig {
  const problems: string[] = [];
  const flags = parseFlags(argv, problems);

  /** The raw value and where it came from, for error messages. */
  const raw = (name: OptionName): RawValue | undefined => {
    const spec: OptionSpec = OPTIONS[name];
    const fromFlag = flags.get(name);
    if (fromFlag !== undefined) return { value: fromFlag, source: `--${spec.flag}` };
    const fromEnv = spec.env ? env[spec.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== '' && spec.env) return { value: fromEnv, source: spec.env };
    return undefined;
  };
  const bad = (r: RawValue, expected: string) => {
    problems.push(`${r.source}: ${expected}, got "${r.value}"`);
  };

  const integer = (name: OptionName, fallback: number, min: number, max: number): number => {
    const r = raw(name);
    if (!r) return fallback;
    const n = Number(r.value);
    if (!/^\d+$/.test(r.value.trim()) || n < min || n > max) {
      bad(r, `must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const duration = (name: OptionName, fallback: number, opts: { allowZero?: boolean; max?: number } = {}): number => {
    const r = raw(name);
    if (!r) return fallback;
    const ms = parseDuration(r.value.trim());
    if (ms === undefined || (ms === 0 && !opts.allowZero) || (opts.max !== undefined && ms > opts.max)) {
      const zero = opts.allowZero ? ' (or 0)' : '';
      const max = opts.max !== undefined ? ` of at most ${opts.max / 1000}s` : '';
      bad(r, `must be a positive duration${max} like 30s or 5m${zero}`);
      return fallback;
    }
    return ms;
  };
  const boolean = (name: OptionName, fallback: boolean): boolean => {
    const r = raw(name);
    if (!r) return fallback;
    const v = r.value.trim().toLowerCase();
    if (['true', '1', 'yes'].includes(v)) return true;
    if (['false', '0', 'no'].includes(v)) return false;
    bad(r, 'must be true or false');
    return fallback;
  };
  const text = (name: OptionName): string | undefined => raw(name)?.value.trim();

  const namespacesRaw = raw('namespaces');
  const namespaces = (namespacesRaw?.value ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  for (const ns of namespaces) {
    if (!DNS_LABEL.test(ns) || ns.length > 63) problems.push(`${namespacesRaw?.source ?? 'namespaces'}: "${ns}" is not a valid namespace name`);
  }

  const logLevelRaw = raw('logLevel');
  let logLevel: LogLevel = 'info';
  if (logLevelRaw) {
    const level = LOG_LEVELS.find((l) => l === logLevelRaw.value.trim().toLowerCase());
    if (level) logLevel = level;
    else bad(logLevelRaw, `must be one of ${LOG_LEVELS.join(', ')}`);
  }

  const leaderElection = boolean('leaderElection', true);
  const databaseController = boolean('databaseController', true);
  const logDeliveryCheck = boolean('logDeliveryCheck', true);
  const leaseName = text('leaseName') ?? 'webstack-operator';
  if (!DNS_SUBDOMAIN.test(leaseName) || leaseName.length > 253) problems.push(`lease name "${leaseName}" is not a valid object name`);
  const leaseNamespace = text('leaseNamespace') ?? env.POD_NAMESPACE ?? '';
  if (leaderElection && leaseNamespace === '') {
    problems.push('leader election needs a namespace for its Lease: set --lease-namespace, WEBSTACK_LEASE_NAMESPACE or POD_NAMESPACE (or --leader-elect=false)');
  } else if (leaseNamespace !== '' && !DNS_LABEL.test(leaseNamespace)) {
    problems.push(`lease namespace "${leaseNamespace}" is not a valid namespace name`);
  }

  const leaseDurationMs = duration('leaseDuration', 15_000);
  const renewDeadlineMs = duration('renewDeadline', 10_000);
  const retryPeriodMs = duration('retryPeriod', 2_000);
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    problems.push(
      `leader election timings must satisfy retry-period < renew-deadline < lease-duration (got ${retryPeriodMs}ms, ${renewDeadlineMs}ms, ${leaseDurationMs}ms)`,
    );
  }

  const config: OperatorConfig = {
    kubeconfig: text('kubeconfig'),
    namespaces: [...new Set(namespaces)],
    concurrency: integer('concurrency', 4, 1, 64),
    logLevel,
    metricsPort: integer('metricsPort', 8080, 1, 65535),
    leaderElection,
    leaseName,
    leaseNamespace,
    identity: text('identity') ?? `${hostname()}_${randomUUID().slice(0, 8)}`,
    leaseDurationMs,
    renewDeadlineMs,
    databaseFailoverDelayMs: duration('databaseFailoverDelay', 10_000),
    databaseController,
    logDeliveryCheck,
    operatorPeer: operatorPeer(text('operatorCidr'), env.POD_NAMESPACE),
    retryPeriodMs,
    resyncPeriodMs: duration('resyncPeriod', 10 * 60_000, { allowZero: true }),
    requestTimeoutMs: duration('requestTimeout', 30_000, { max: 10 * 60_000 }),
    images: imagesFrom(raw, problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
