/**
 * ACME HTTP-01 through the stack's own HAProxy, on the real nodes, with Let's Encrypt's test
 * server: Pebble and its challenge DNS (pebble-challtestsrv), built from their Go modules by
 * hack/build.sh, and the real cert-manager controller. All three run as processes in node 1's
 * network namespace (as its kubelet does), so they reach Services as any node does; the solver
 * pods cert-manager starts run on the nodes like any pod (image webstack.local/acmesolver).
 *
 * The domain resolves only in the challenge DNS, to the LB Service's ClusterIP: Pebble validates
 * http://<domain>/.well-known/acme-challenge/<token> there (port 80 -> HAProxy -> the stack's
 * solver Service -> cert-manager's solver pod), as does cert-manager's self check. HAProxy must
 * be serving before the certificate exists (the temporary certificate the operator asks for).
 * The stack runs in terminate mode, so the same request also shows that mode through every tier.
 * Nothing here uses a name or an address outside the machine.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningOperator } from '../../operator/main.js';
import { deleteNamespace, eventually, getJson, installCrds, kubectl, newNamespace } from '../support/cluster.js';
import { startTestOperator } from '../support/operator.js';
import { controlPlaneBinary, startCertManagerController, startProgram, type RunningProgram } from '../support/cert-manager.js';
import { LOCAL_OPERATOR_FLAGS, applyIn, image, localWebStack } from '../support/objects.js';
import { certificateAuthority, serverCertificate } from '../support/tls.js';

const STACK = 'blog';
const DOMAIN = 'blog.acme.test';
const NETNS = 'wsr-node1';
const PEBBLE = { directory: 'https://localhost:14000/dir', management: 'https://localhost:15000', dns: '127.0.0.1:8053', challtestsrv: 'http://127.0.0.1:8055' };
const b64 = (text: string) => Buffer.from(text).toString('base64');

let ns: string;
let dir: string;
let operator: RunningOperator | undefined;
const programs: RunningProgram[] = [];
// Pebble's own listener certificate, which cert-manager (caBundle) and this test trust.
const pebbleCa = certificateAuthority('e2e Pebble listener CA');

/** Runs a program of this host in the node's network namespace. */
function inNode(args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', NETNS, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
}

/** Pebble's, its DNS's and cert-manager's output, written when the file ends. */
const LOG_FILE = path.join(tmpdir(), 'webstack-e2e-acme.log');
/** A synchronous check as the promise eventually() retries. */
const later = <T>(fn: () => T): Promise<T> => Promise.resolve().then(fn);

function startPebble(): void {
  const listener = serverCertificate(pebbleCa, ['localhost']);
  writeFileSync(path.join(dir, 'pebble.crt'), listener.crt);
  writeFileSync(path.join(dir, 'pebble.key'), listener.key);
  writeFileSync(path.join(dir, 'pebble-ca.crt'), pebbleCa.crt);
  writeFileSync(
    path.join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: '127.0.0.1:14000',
        managementListenAddress: '127.0.0.1:15000',
        certificate: path.join(dir, 'pebble.crt'),
        privateKey: path.join(dir, 'pebble.key'),
        // The ports HTTP-01 and TLS-ALPN-01 are validated on: the public ones.
        httpPort: 80,
        tlsPort: 443,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  // Only the challenge DNS answers, and only for the names the test adds (no default address).
  programs.push(
    startProgram(controlPlaneBinary('pebble-challtestsrv'), ['-management', '127.0.0.1:8055', '-dnsserver', PEBBLE.dns, '-defaultIPv4', '', '-defaultIPv6', '', '-http01', '', '-https01', '', '-tlsalpn01', '', '-doh', ''], NETNS),
  );
  // No random sleeps or nonce rejections, and no reuse of a valid authorization: each issuance,
  // the renewal included, goes through a fresh HTTP-01 challenge.
  programs.push(
    startProgram('env', ['PEBBLE_VA_NOSLEEP=1', 'PEBBLE_WFE_NONCEREJECT=0', 'PEBBLE_AUTHZREUSE=0', controlPlaneBinary('pebble'), '-config', path.join(dir, 'pebble.json'), '-dnsserver', PEBBLE.dns], NETNS),
  );
}

/** Pebble's issuing root (it makes a new one at every start), from its management API. */
function pebbleRoot(): string {
  const root = inNode(['curl', '-sS', '--fail', '--cacert', path.join(dir, 'pebble-ca.crt'), `${PEBBLE.management}/roots/0`]);
  writeFileSync(path.join(dir, 'root.crt'), root);
  return path.join(dir, 'root.crt');
}

async function lbAddress(): Promise<string> {
  return (await getJson<{ spec: { clusterIP: string } }>(['service', '-n', ns, `${STACK}-lb`])).spec.clusterIP;
}

/** The serial and issuer of the certificate HAProxy serves for the domain, verified against Pebble's root. */
function servedCertificate(address: string): { serial: string; issuer: string } {
  const out = inNode(['sh', '-c', `openssl s_client -connect ${address}:443 -servername ${DOMAIN} -verify_hostname ${DOMAIN} -CAfile ${pebbleRoot()} </dev/null 2>&1`]);
  const verify = /Verify return code: (\d+) \(([^)]*)\)/.exec(out);
  const leaf = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(out)?.[0];
  if (verify?.[1] !== '0' || !leaf) throw new Error(`the served certificate does not verify against Pebble's root: ${verify?.[2] ?? out.slice(-800)}`);
  const fields = execFileSync('openssl', ['x509', '-noout', '-serial', '-issuer'], { input: leaf, encoding: 'utf8' });
  const serial = /serial=(\S+)/.exec(fields)?.[1];
  const issuer = /issuer=(.*)/.exec(fields)?.[1];
  if (!serial || !issuer) throw new Error(`unreadable certificate: ${fields}`);
  return { serial, issuer };
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
const stackConditions = async () => (await getJson<{ status?: { conditions?: Condition[] } }>(['webstack', '-n', ns, STACK])).status?.conditions ?? [];

/**
 * The Orders completed by solving a challenge: valid, with every authorization pending when first
 * fetched (Pebble reuses none here, so none was valid already). cert-manager keeps only the newest.
 */
async function validatedOrders(): Promise<string[]> {
  const orders = await getJson<{ items: { metadata: { name: string }; status?: { state?: string; authorizations?: { initialState?: string }[] } }[] }>(['orders.acme.cert-manager.io', '-n', ns]);
  return orders.items
    .filter((o) => o.status?.state === 'valid' && (o.status.authorizations ?? []).length > 0 && o.status.authorizations?.every((a) => a.initialState === 'pending'))
    .map((o) => o.metadata.name);
}

const webStack = localWebStack(STACK, DOMAIN, 'terminate', 'pebble');

beforeAll(async () => {
  await installCrds();
  ns = await newNamespace('acme', { restricted: true });
  dir = mkdtempSync(path.join(tmpdir(), 'webstack-e2e-acme-'));
  startPebble();
  programs.push(await startCertManagerController(ns, { netns: NETNS, args: [`--acme-http01-solver-nameservers=${PEBBLE.dns}`, `--acme-http01-solver-image=${image('acmesolver:1.0')}`] }));
  await applyIn(ns, [
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: 'pebble' },
      spec: {
        acme: {
          server: PEBBLE.directory,
          caBundle: b64(pebbleCa.crt),
          privateKeySecretRef: { name: 'pebble-account' },
          // A class no controller implements: the stack's HAProxy is the only route to the solver (README, Security).
          solvers: [{ http01: { ingress: { ingressClassName: 'webstack' } } }],
        },
      },
    },
  ]);
  operator = await startTestOperator(ns, LOCAL_OPERATOR_FLAGS);
  await applyIn(ns, [webStack]);
  // The domain resolves in the challenge DNS only, to the stack's load balancer.
  const address = await eventually(lbAddress, { description: `Service ${STACK}-lb`, timeoutMs: 60_000, intervalMs: 1000 });
  await eventually(() => later(() => inNode(['curl', '-sS', '--fail', '-d', JSON.stringify({ host: `${DOMAIN}.`, addresses: [address] }), `${PEBBLE.challtestsrv}/add-a`])), {
    description: `the challenge DNS answering for ${DOMAIN} (program logs: ${LOG_FILE})`,
    timeoutMs: 30_000,
    intervalMs: 1000,
  });
}, 240_000);

afterAll(async () => {
  if (ns) await kubectl(['delete', 'webstack', '-n', ns, STACK, '--ignore-not-found', '--timeout=120s'], { allowFail: true });
  await operator?.stop();
  // cert-manager still runs while the namespace goes: it removes its finalizers from the ACME objects.
  if (ns) await deleteNamespace(ns);
  writeFileSync(LOG_FILE, programs.map((p) => p.log()).join('\n---\n'));
  for (const p of programs) p.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ACME HTTP-01 through the stack (Pebble, real cert-manager)', () => {
  let first: { serial: string; issuer: string } | undefined;
  let firstOrder: string | undefined;

  it("issues the public certificate through HAProxy's port 80 and serves it over HTTPS", async () => {
    await eventually(
      async () => {
        const cert = await getJson<{ status?: { conditions?: Condition[] } }>(['certificate', '-n', ns, `${STACK}-tls`]);
        const conditions = cert.status?.conditions ?? [];
        // cert-manager says Ready for the temporary certificate too; issued means no issuance under way.
        const issued = conditions.some((c) => c.type === 'Ready' && c.status === 'True') && !conditions.some((c) => c.type === 'Issuing' && c.status === 'True');
        if (!issued) throw new Error(`Certificate ${STACK}-tls: ${JSON.stringify(conditions)}`);
      },
      { description: `the ACME certificate issued (program logs: ${LOG_FILE})`, timeoutMs: 240_000, intervalMs: 3000 },
    );
    const orders = await validatedOrders();
    expect(orders).toHaveLength(1);
    firstOrder = orders[0];
    const address = await lbAddress();
    first = await eventually(() => later(() => servedCertificate(address)), { description: 'HAProxy serving the Pebble certificate', timeoutMs: 120_000, intervalMs: 3000 });
    expect(first.issuer).toMatch(/Pebble Intermediate/);
    // Port 80 redirects to HTTPS, except challenge paths: those go to the solver Service (which
    // has no pod now that the challenge is over, so no answer), the only route Pebble had to it.
    const status = (url: string) => inNode(['sh', '-c', `curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' --resolve ${DOMAIN}:80:${address} ${url} 2>/dev/null; true`]);
    expect(status(`http://${DOMAIN}/shop`)).toBe(`301 https://${DOMAIN}/shop`);
    expect(status(`http://${DOMAIN}/.well-known/acme-challenge/none`)).not.toMatch(/^3/);
    // terminate mode through every tier: HAProxy -> Nginx -> app, which writes and reads a row in
    // MariaDB (over a plain connection: outside reencrypt MariaDB has no certificate, DB_SSL_MODE=DISABLED).
    const body = await eventually(
      () =>
        later(() => {
          const out = inNode(['curl', '-sS', '--fail', '--max-time', '8', '--cacert', pebbleRoot(), '--resolve', `${DOMAIN}:443:${address}`, `https://${DOMAIN}/`]);
          return JSON.parse(out) as { wrote: number; visits: number; dbTLSCipher: string };
        }),
      { description: `a row written and read through https://${DOMAIN}/`, timeoutMs: 240_000, intervalMs: 3000 },
    );
    expect(body.wrote).toBeGreaterThan(0);
    expect(body.dbTLSCipher).toBe('');
    await eventually(
      async () => {
        const tls = (await stackConditions()).find((c) => c.type === 'TLSReady');
        if (tls?.status !== 'True') throw new Error(JSON.stringify(tls));
      },
      { description: 'TLSReady=True', timeoutMs: 60_000, intervalMs: 2000 },
    );
  }, 720_000);

  it('picks up a renewal: a new certificate, validated again through HAProxy, is served', async () => {
    // What `cmctl renew` does: the Issuing condition on the Certificate's status.
    const cert = await getJson<{ status: { conditions?: Condition[] } }>(['certificate', '-n', ns, `${STACK}-tls`]);
    const before = first?.serial;
    if (before === undefined) throw new Error('the first issuance failed');
    const issuing = { type: 'Issuing', status: 'True', reason: 'ManuallyTriggered', message: 'renewal requested by the e2e test', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    await kubectl(['patch', 'certificate', '-n', ns, `${STACK}-tls`, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [...(cert.status.conditions ?? []).filter((c) => c.type !== 'Issuing'), issuing] } })]);
    const address = await lbAddress();
    const renewed = await eventually(
      () =>
        later(() => {
          const served = servedCertificate(address);
          if (served.serial === before) throw new Error(`still serving serial ${served.serial}`);
          return served;
        }),
      { description: `HAProxy serving the renewed certificate (program logs: ${LOG_FILE})`, timeoutMs: 300_000, intervalMs: 3000 },
    );
    expect(renewed.issuer).toMatch(/Pebble Intermediate/);
    const orders = await validatedOrders();
    expect(orders).toHaveLength(1);
    expect(orders).not.toContain(firstOrder);
  }, 360_000);
});
