/**
 * Shared by the config tests: the example WebStacks, the real programs that check the rendered
 * files, and a scratch directory that stands in for the container filesystem.
 */
import { loadExample } from './examples.js';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { clientCertificate as signedClientCertificate } from './tls.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { withDefaults, type DefaultedWebStack } from '../../operator/api/defaults.js';
import type { TLSMode, WebStack } from '../../operator/api/types.js';


export const TLS_MODES: readonly TLSMode[] = ['reencrypt', 'terminate', 'passthrough'];

export const MINIMAL: WebStack = {
  apiVersion: 'webstack.dev/v1alpha1',
  kind: 'WebStack',
  metadata: { name: 'mini', namespace: 'shop' },
  spec: { domain: 'www.example.com', tls: { issuerRef: { name: 'letsencrypt' } }, app: { image: 'ghcr.io/acme/shop:1.0.0' } },
};

/** Sets every option that changes a rendered configuration. */
export const FULL: WebStack = {
  apiVersion: 'webstack.dev/v1alpha1',
  kind: 'WebStack',
  metadata: { name: 'foobar', namespace: 'store' },
  spec: {
    domain: 'www.foobar.com',
    aliases: ['foobar.com', 'shop.foobar.com'],
    tls: { issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' }, mode: 'reencrypt' },
    loadBalancer: {
      replicas: 3,
      serviceType: 'LoadBalancer',
      allowedSourceRanges: ['203.0.113.0/24', '198.51.100.7/32', '2001:db8::/32'],
      externalDNS: true,
    },
    web: { replicas: 4 },
    app: {
      image: 'ghcr.io/foobar/shop:2.7.1',
      port: 8443,
      replicas: 4,
      healthPath: '/ready',
      tls: true,
      env: [{ name: 'CURRENCY', value: 'EUR' }],
      canary: { image: 'ghcr.io/foobar/shop:2.8.0-rc.1', replicas: 1 },
    },
    database: {
      version: '8.0',
      replicas: 3,
      durability: 'Required',
      storage: { size: '50Gi' },
      resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '4Gi' } },
    },
    logging: {
      enabled: true,
      sink: { type: 'elasticsearch', endpoint: 'https://es.logging:9200/', credentialsSecretRef: { name: 'es' } },
    },
    monitoring: { qps: { spikeFactor: 4, dropFactor: 0.25, window: '2h', minimumQPS: 5 } },
  },
};

/**
 * The inline minimal and full stacks, plus manifests/examples/*.yaml (they have no namespace, so
 * the renderers' `default` fallback is used).
 */
export function exampleStacks(): { label: string; stack: WebStack }[] {
  const stacks = [
    { label: 'inline minimal', stack: MINIMAL },
    { label: 'inline full', stack: FULL },
    // The longest names a namespace allows: every name derived from them (Service hosts, the 64-character
    // common names the web hops admit) at its longest.
    { label: 'inline long names', stack: { ...MINIMAL, metadata: { name: 'a-stack-with-a-long-name', namespace: 'n'.repeat(63) } } },
  ];
  for (const name of ['minimal', 'full'] as const) stacks.push({ label: `manifests/examples/${name}.yaml`, stack: loadExample(name) });
  return stacks;
}

/** `stack` with defaults applied and spec.tls.mode overridden. */
export function inMode(stack: WebStack, mode: TLSMode): DefaultedWebStack {
  return withDefaults({ ...stack, spec: { ...stack.spec, tls: { ...stack.spec.tls, mode } } });
}

/** Every example in every TLS mode, as jest.each rows. */
export function examplesInEveryMode(): [string, TLSMode, DefaultedWebStack][] {
  return exampleStacks().flatMap(({ label, stack }) => TLS_MODES.map((mode): [string, TLSMode, DefaultedWebStack] => [label, mode, inMode(stack, mode)]));
}

/** Fails (never skips) when a checking program is missing. */
export function requireProgram(name: string, searchPath = process.env.PATH): void {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8', env: { ...process.env, PATH: searchPath } });
  if (found.status !== 0) {
    throw new Error(`${name} is not on PATH: run hack/install-test-tools.sh`);
  }
}

export interface RunResult {
  status: number | null;
  output: string;
}

export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): RunResult {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/**
 * A temporary directory standing in for the container's filesystem: absolute paths of the
 * layout are moved under it, so the programs find the files where the configs point.
 */
export class Sandbox {
  readonly root = mkdtempSync(path.join(tmpdir(), 'webstack-config-'));

  /** `dir` inside the sandbox, created. */
  dir(dir: string): string {
    const p = path.join(this.root, dir);
    mkdirSync(p, { recursive: true });
    return p;
  }

  write(file: string, content: string, mode = 0o644): string {
    const p = path.join(this.root, file);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content, { mode });
    return p;
  }

  /** `text` with every given absolute directory prefixed by the sandbox root (one pass, longest first). */
  relocate(text: string, dirs: readonly string[]): string {
    const escaped = [...dirs].sort((a, b) => b.length - a.length).map((d) => d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    return text.replace(new RegExp(escaped.join('|'), 'g'), (d) => path.join(this.root, d));
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * `nginx -t -q` on a config file in the sandbox, which is nginx's prefix. -q prints only problems, so
 * any stderr at all is a defect. nginx opens /dev/stdout for the access log, which fails on the socket
 * node gives a child for stdout (ENXIO); a container's stdout is a pipe or file, so a file stands in.
 */
export function nginxTest(sandbox: Sandbox, file: string): { status: number | null; stderr: string } {
  const stdout = openSync(path.join(sandbox.root, 'nginx-stdout'), 'w');
  try {
    const result = spawnSync('nginx', ['-t', '-q', '-e', 'stderr', '-p', sandbox.root, '-c', file], { encoding: 'utf8', stdio: ['ignore', stdout, 'pipe'] });
    return { status: result.status, stderr: result.stderr };
  } finally {
    closeSync(stdout);
  }
}

export interface Certificates {
  ca: string;
  cert: string;
  key: string;
}

let certificates: (Certificates & { caKey: string }) | undefined;

/** A throwaway CA and a certificate it signed, created once per test file with openssl. */
export function testCertificates(): Certificates {
  if (certificates) return certificates;
  requireProgram('openssl');
  const dir = mkdtempSync(path.join(tmpdir(), 'webstack-certs-'));
  const f = (name: string) => path.join(dir, name);
  const steps: string[][] = [
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=webstack test CA'],
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('tls.key'), '-out', f('tls.csr'), '-subj', '/CN=www.example.com'],
    ['x509', '-req', '-in', f('tls.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('tls.crt'), '-days', '2'],
  ];
  for (const args of steps) {
    const result = run('openssl', args);
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${result.output}`);
  }
  certificates = {
    ca: readFileSync(f('ca.crt'), 'utf8'),
    caKey: readFileSync(f('ca.key'), 'utf8'),
    cert: readFileSync(f('tls.crt'), 'utf8'),
    key: readFileSync(f('tls.key'), 'utf8'),
  };
  rmSync(dir, { recursive: true, force: true });
  return certificates;
}

/** A client certificate with subject CN=`commonName`, signed by testCertificates()' CA: another leaf of the same CA. */
export function clientCertificate(commonName: string): { cert: string; key: string } {
  const { ca, caKey } = testCertificates() as Certificates & { caKey: string };
  const leaf = signedClientCertificate({ crt: ca, key: caKey }, commonName);
  return { cert: leaf.crt, key: leaf.key };
}

/** Writes tls.crt, tls.key and ca.crt into `dir` of the sandbox, as a mounted Secret would. */
export function installCertificates(sandbox: Sandbox, dir: string): void {
  const c = testCertificates();
  sandbox.write(path.join(dir, 'tls.crt'), c.cert);
  sandbox.write(path.join(dir, 'tls.key'), c.key, 0o600);
  sandbox.write(path.join(dir, 'ca.crt'), c.ca);
}
