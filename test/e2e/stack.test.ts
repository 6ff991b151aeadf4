/**
 * A WebStack in reencrypt mode on the real nodes, reconciled by the operator (in this process) on
 * the locally built images, its certificates issued by the real cert-manager controller (built
 * from hack/cert-manager, run on this host with the cluster's kubeconfig: the internal CA path
 * needs no webhook and no solver pods).
 *
 * - A client pod requests https://<domain>/healthz through the LB Service (ClusterIP, curl
 *   --resolve: the cluster has no LB addresses), verifying the public certificate: HAProxy ->
 *   Nginx -> app proxy -> app.
 * - The Nginx -> app hop, from a pod that carries the web tier's labels (so the stack's
 *   NetworkPolicies treat it as a web pod) and mounts the web tier's certificate: with it the app
 *   proxy answers; plain HTTP, no client certificate or one from another CA are refused; the
 *   app's own plain port and the Kubernetes API time out while the allowed edge works.
 * - The full request: the app writes and reads a row in MariaDB (spec.database.engine: mariadb),
 *   over TLS verified with the DB_SSL_MODE and DB_SSL_CA the operator injects; the stack is Ready.
 * - The HAProxy -> Nginx hop, from a pod with the load balancer's labels: Nginx answers HAProxy's
 *   client certificate only (none, another CA's, or plain HTTP are refused), and its own
 *   certificate fails against another CA.
 * - The app -> MySQL hop, from a pod with the app's labels and password: a plain connection is
 *   refused, TLS verified against the internal CA and the server's name gets in, and a client
 *   trusting another CA refuses the server.
 * - Forbidden edges time out while an allowed peer reaches the same listener: a pod outside the stack
 *   and a web pod -> MySQL; the app -> the load balancer, the Kubernetes API and CoreDNS's metrics port.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningOperator } from '../../operator/main.js';
import { deleteNamespace, eventually, getJson, installCrds, kubectl, newNamespace } from '../support/cluster.js';
import { startTestOperator } from '../support/operator.js';
import { startCertManager, type RunningProgram } from '../support/cert-manager.js';
import { LOCAL_OPERATOR_FLAGS, applyIn, image, toolboxPod, localWebStack } from '../support/objects.js';
import { certificateAuthority, serverCertificate } from '../support/tls.js';

const STACK = 'shop';
const DOMAIN = 'shop.i14.test';
const b64 = (text: string) => Buffer.from(text).toString('base64');

let ns: string;
let operator: RunningOperator | undefined;
let certManager: RunningProgram | undefined;
const publicCa = certificateAuthority('e2e public CA');
const foreignCa = certificateAuthority('e2e foreign CA');

async function secretFile(secret: string, key: string): Promise<string> {
  const s = await getJson<{ data?: Record<string, string> }>(['secret', '-n', ns, secret]);
  const value = s.data?.[key];
  if (value === undefined) throw new Error(`Secret ${secret} has no ${key}`);
  return Buffer.from(value, 'base64').toString();
}

/** Throws unless the certificate chains to the CA (openssl verify, on this host). */
function verifies(certificate: string, ca: string): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'webstack-e2e-verify-'));
  try {
    writeFileSync(path.join(dir, 'ca.crt'), ca);
    writeFileSync(path.join(dir, 'leaf.crt'), certificate);
    execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.crt'), path.join(dir, 'leaf.crt')], { stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function exec(pod: string, command: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return kubectl(['exec', '-n', ns, pod, '--', ...command], { allowFail: true });
}

/**
 * Opens a TCP connection to host:port from pod: 'open' when anything answers (curl's exit code is
 * not a connection failure), 'closed' when the connection times out (28) or is refused (7).
 */
async function connect(pod: string, host: string, port: number): Promise<'open' | 'closed'> {
  const r = await exec(pod, ['curl', '-s', '-o', '/dev/null', '--connect-timeout', '3', '--max-time', '5', `http://${host}:${port}/`]);
  return r.code === 28 || r.code === 7 ? 'closed' : 'open';
}

const webStack = localWebStack(STACK, DOMAIN, 'reencrypt', 'e2e-public');

/** The client: a toolbox pod no stack policy selects, with the public CA in /ca (the root filesystem is read-only). */
function clientPod() {
  const pod = toolboxPod('client');
  Object.assign(pod.spec.containers[0] as Record<string, unknown>, { volumeMounts: [{ name: 'ca', mountPath: '/ca', readOnly: true }] });
  return { ...pod, spec: { ...pod.spec, enableServiceLinks: false, volumes: [{ name: 'ca', secret: { secretName: 'public-ca' } }] } };
}

interface Mounted {
  dir: string;
  secret: Record<string, unknown>;
}

/**
 * A toolbox pod the stack's NetworkPolicies take for one of its tiers (it carries the tier's
 * labels), never Ready so no Service sends it traffic, with Secrets of the stack at /<dir> and a
 * foreign client certificate and CA at /foreign.
 */
function impostor(name: string, component: string, own: Mounted | Mounted[], container: Record<string, unknown> = {}) {
  const mounted = [own].flat();
  const pod = toolboxPod(name, { 'app.kubernetes.io/name': 'webstack', 'app.kubernetes.io/instance': STACK, 'app.kubernetes.io/component': component });
  Object.assign(pod.spec.containers[0] as Record<string, unknown>, {
    readinessProbe: { exec: { command: ['false'] }, periodSeconds: 30 },
    ...container,
    volumeMounts: [...mounted.map((m) => ({ name: m.dir, mountPath: `/${m.dir}`, readOnly: true })), { name: 'foreign', mountPath: '/foreign', readOnly: true }],
  });
  return {
    ...pod,
    spec: {
      ...pod.spec,
      enableServiceLinks: false,
      securityContext: { fsGroup: 65534 },
      volumes: [...mounted.map((m) => ({ name: m.dir, secret: m.secret })), { name: 'foreign', secret: { secretName: 'foreign-client' } }],
    },
  };
}

const WEB_TLS: Mounted = { dir: 'web-tls', secret: { secretName: `${STACK}-web-tls` } };
const LB_TLS: Mounted = { dir: 'lb-tls', secret: { secretName: `${STACK}-lb-tls` } };
/** A web pod to the policies, with the web tier's certificate, and HAProxy's (another identity of the same CA). */
const webImpostor = () => impostor('web-impostor', 'web', [WEB_TLS, LB_TLS]);
/** HAProxy to the web policy, with HAProxy's client certificate, and the web tier's (another identity of the same CA). */
const lbImpostor = () => impostor('lb-impostor', 'loadbalancer', [LB_TLS, WEB_TLS]);
/** The app to the database policy, with the app's database password and the internal CA. */
const appImpostor = () =>
  impostor(
    'app-impostor',
    'app',
    { dir: 'ca', secret: { secretName: `${STACK}-ca`, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
    { env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: `${STACK}-mysql-credentials`, key: 'app-password' } } }] },
  );

beforeAll(async () => {
  await installCrds();
  ns = await newNamespace('i14-stack', { restricted: true });
  certManager = await startCertManager(ns, 'e2e-public', publicCa);
  const foreign = serverCertificate(foreignCa, ['impostor']);
  await applyIn(ns, [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'foreign-client' }, data: { 'tls.crt': b64(foreign.crt), 'tls.key': b64(foreign.key), 'ca.crt': b64(foreignCa.crt) } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'public-ca' }, data: { 'ca.crt': b64(publicCa.crt) } },
    clientPod(),
  ]);
  operator = await startTestOperator(ns, LOCAL_OPERATOR_FLAGS);
  await applyIn(ns, [webStack]);
}, 180_000);

afterAll(async () => {
  // The operator removes its finalizer; stopped first, it would leave the namespace Terminating.
  if (ns) await kubectl(['delete', 'webstack', '-n', ns, STACK, '--ignore-not-found', '--timeout=120s'], { allowFail: true });
  await operator?.stop();
  certManager?.stop();
  if (ns) await deleteNamespace(ns);
});

async function available(deployment: string): Promise<void> {
  const d = await getJson<{ status?: { availableReplicas?: number } }>(['deployment', '-n', ns, deployment]);
  if ((d.status?.availableReplicas ?? 0) < 1) throw new Error(`${deployment} has no available replica`);
}

describe('reencrypt stack on real pods', () => {
  it('cert-manager issues the public and internal certificates', async () => {
    const secrets = [`${STACK}-tls`, `${STACK}-ca`, `${STACK}-web-tls`, `${STACK}-app-tls`, `${STACK}-mysql-tls`];
    for (const secret of secrets) {
      await eventually(() => kubectl(['get', 'secret', '-n', ns, secret]), { description: `Secret ${secret} (cert-manager log: ${certManager?.log().slice(-2000) ?? ''})`, timeoutMs: 120_000, intervalMs: 2000 });
    }
    await eventually(
      async () => {
        const ca = await secretFile(`${STACK}-ca`, 'tls.crt');
        verifies(await secretFile(`${STACK}-tls`, 'tls.crt'), publicCa.crt);
        for (const leaf of [`${STACK}-web-tls`, `${STACK}-app-tls`, `${STACK}-mysql-tls`]) verifies(await secretFile(leaf, 'tls.crt'), ca);
      },
      { description: `certificates chained to the public and the internal CA (cert-manager log: ${certManager?.log().slice(-2000) ?? ''})`, timeoutMs: 120_000, intervalMs: 2000 },
    );
  }, 260_000);

  it('HTTPS through HAProxy, Nginx and the app proxy to the app, the public certificate verified', async () => {
    for (const d of [`${STACK}-lb`, `${STACK}-web`, `${STACK}-app`]) {
      await eventually(() => available(d), { description: `Deployment ${d} available`, timeoutMs: 240_000, intervalMs: 3000 });
    }
    const svc = await getJson<{ spec: { clusterIP: string } }>(['service', '-n', ns, `${STACK}-lb`]);
    // `/` is the app's own handler (Nginx answers /healthz itself): without a database the app
    // answers 502 with its own error text, which only it writes; with one, the row it wrote.
    const response = await eventually(
      async () => {
        const r = await exec('client', ['curl', '-sS', '--max-time', '8', '--cacert', '/ca/ca.crt', '--resolve', `${DOMAIN}:443:${svc.spec.clusterIP}`, `https://${DOMAIN}/`, '-D', '-']);
        if (r.code !== 0) throw new Error(`curl: ${r.stderr}`);
        if (!/\n(create|insert|select): |"visits":/.test(r.stdout)) throw new Error(`not the app's answer: ${r.stdout}`);
        return r.stdout;
      },
      { description: `https://${DOMAIN}/ answered by the app through the LB Service`, timeoutMs: 60_000, intervalMs: 2000 },
    );
    // The headers HAProxy and Nginx add on the way.
    expect(response).toMatch(/strict-transport-security: max-age=63072000/i);
    expect(response).toMatch(/x-content-type-options: nosniff/i);
  }, 330_000);

  it('answers only for its own names: a foreign Host gets 421, a foreign SNI no handshake', async () => {
    const svc = await getJson<{ spec: { clusterIP: string } }>(['service', '-n', ns, `${STACK}-lb`]);
    const lb = svc.spec.clusterIP;
    // Our name in the TLS handshake, someone else's in the request (DNS rebinding, host-header injection).
    const foreignHost = await exec('client', ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '8', '--cacert', '/ca/ca.crt', '--resolve', `${DOMAIN}:443:${lb}`, '-H', 'Host: attacker.example', `https://${DOMAIN}/`]);
    expect(foreignHost.stdout).toBe('421');
    const plainHttp = await exec('client', ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '8', '-H', 'Host: attacker.example', `http://${lb}/`]);
    expect(plainHttp.stdout).toBe('421');
    // Someone else's name pointed at our address: no certificate is offered for it.
    const foreignSni = await exec('client', ['curl', '-sS', '-k', '--max-time', '8', '--resolve', `attacker.example:443:${lb}`, 'https://attacker.example/']);
    expect(foreignSni.code).not.toBe(0);
    expect(foreignSni.stderr).toMatch(/SSL|TLS|alert|handshake|reset/i);
  }, 60_000);

  it('the full request: the app writes and reads a row over verified TLS to the database, and the stack is Ready', async () => {
    const svc = await getJson<{ spec: { clusterIP: string } }>(['service', '-n', ns, `${STACK}-lb`]);
    const body = await eventually(
      async () => {
        const r = await exec('client', ['curl', '-sS', '--fail', '--max-time', '8', '--cacert', '/ca/ca.crt', '--resolve', `${DOMAIN}:443:${svc.spec.clusterIP}`, `https://${DOMAIN}/`]);
        if (r.code !== 0) throw new Error(`curl: ${r.stderr} ${r.stdout}`);
        return JSON.parse(r.stdout) as { wrote: number; visits: number; dbTLSCipher: string; database: string };
      },
      { description: `a row written and read through https://${DOMAIN}/`, timeoutMs: 300_000, intervalMs: 3000 },
    );
    expect(body.wrote).toBeGreaterThan(0);
    expect(body.visits).toBeGreaterThanOrEqual(1);
    // The app reached the database with the DB_SSL_MODE=VERIFY_IDENTITY and DB_SSL_CA the operator gave it.
    expect(body.dbTLSCipher).not.toBe('');
    const second = await exec('client', ['curl', '-sS', '--fail', '--max-time', '8', '--cacert', '/ca/ca.crt', '--resolve', `${DOMAIN}:443:${svc.spec.clusterIP}`, `https://${DOMAIN}/`]);
    expect((JSON.parse(second.stdout) as { visits: number }).visits).toBeGreaterThan(body.visits - 1);
    await eventually(
      async () => {
        const c = (await getJson<{ status?: { conditions?: { type: string; status: string; message?: string }[] } }>(['webstack', '-n', ns, STACK])).status?.conditions ?? [];
        const ready = c.find((x) => x.type === 'Ready');
        if (ready?.status !== 'True') throw new Error(JSON.stringify(c));
      },
      { description: 'Ready=True', timeoutMs: 180_000, intervalMs: 3000 },
    );
  }, 500_000);

  describe('Nginx -> app: encrypted, verified, and the only way in', () => {
    const appHost = () => `${STACK}-app.${ns}.svc.cluster.local`;
    const curl = (...args: string[]) => exec('web-impostor', ['curl', '-sS', '--max-time', '5', ...args]);

    beforeAll(async () => {
      await applyIn(ns, [webImpostor()]);
      // Started, not Ready: its readiness probe fails on purpose.
      await kubectl(['wait', '-n', ns, '--for=jsonpath={.status.containerStatuses[0].started}=true', '--timeout=120s', 'pod/web-impostor']);
    }, 130_000);

    it('the web certificate gets through the app proxy, whose certificate verifies as the app Service', async () => {
      const r = await eventually(
        async () => {
          const out = await curl('--fail', '--cacert', '/web-tls/ca.crt', '--cert', '/web-tls/tls.crt', '--key', '/web-tls/tls.key', `https://${appHost()}:8443/healthz`);
          if (out.code !== 0) throw new Error(out.stderr);
          return out.stdout;
        },
        { description: 'the app proxy answering the web certificate', timeoutMs: 30_000, intervalMs: 1000 },
      );
      expect(r.trim()).toBe('ok');
    }, 40_000);

    it('refuses no client certificate, one from another CA, another identity of the same CA, and plain HTTP', async () => {
      const none = await curl('--cacert', '/web-tls/ca.crt', `https://${appHost()}:8443/healthz`);
      expect(none.stdout).toContain('No required SSL certificate was sent');
      const foreign = await curl('--cacert', '/web-tls/ca.crt', '--cert', '/foreign/tls.crt', '--key', '/foreign/tls.key', `https://${appHost()}:8443/healthz`);
      expect(foreign.stdout).toContain('The SSL certificate error');
      const plain = await curl(`http://${appHost()}:8443/healthz`);
      expect(plain.stdout).toContain('The plain HTTP request was sent to HTTPS port');
      // And the app proxy's certificate does not verify against another CA.
      const unverified = await curl('--cacert', '/foreign/ca.crt', '--cert', '/web-tls/tls.crt', '--key', '/web-tls/tls.key', `https://${appHost()}:8443/healthz`);
      expect(unverified.code).toBe(60); // curl: peer certificate cannot be authenticated with given CA certificates
      // The stack's own CA, another identity: HAProxy's certificate is not the web tier's.
      const otherIdentity = await curl('-o', '/dev/null', '-w', '%{http_code}', '--cacert', '/web-tls/ca.crt', '--cert', '/lb-tls/tls.crt', '--key', '/lb-tls/tls.key', `https://${appHost()}:8443/healthz`);
      expect(otherIdentity.stdout).toBe('403');
    }, 60_000);

    it("forbidden edges time out while the allowed one from the same pod opens: the app's plain port, the Kubernetes API", async () => {
      const pods = await getJson<{ items: { status: { podIP: string } }[] }>(['pods', '-n', ns, '-l', 'app.kubernetes.io/component=app']);
      const appIp = pods.items[0]?.status.podIP ?? '';
      expect(await connect('web-impostor', appIp, 8443)).toBe('open');
      expect(await connect('web-impostor', appIp, 8080)).toBe('closed');
      const api = await getJson<{ spec: { clusterIP: string } }>(['service', '-n', 'default', 'kubernetes']);
      expect(await connect('web-impostor', api.spec.clusterIP, 443)).toBe('closed');
      // The API is open from a pod no policy selects: the policy closes it, not the network.
      expect(await connect('client', api.spec.clusterIP, 443)).toBe('open');
    }, 60_000);
  });


  describe('HAProxy -> Nginx: encrypted, verified both ways', () => {
    const webHost = () => `${STACK}-web.${ns}.svc.cluster.local`;
    // Nginx's main port speaks the PROXY protocol (HAProxy sends the client address in it).
    const curl = (...args: string[]) => exec('lb-impostor', ['curl', '-sS', '--max-time', '5', '--haproxy-protocol', ...args]);

    beforeAll(async () => {
      await applyIn(ns, [lbImpostor()]);
      await kubectl(['wait', '-n', ns, '--for=jsonpath={.status.containerStatuses[0].started}=true', '--timeout=120s', 'pod/lb-impostor']);
    }, 130_000);

    it("admits HAProxy's client certificate, and Nginx's certificate verifies as the web Service", async () => {
      const r = await curl('--fail', '--cacert', '/lb-tls/ca.crt', '--cert', '/lb-tls/tls.crt', '--key', '/lb-tls/tls.key', `https://${webHost()}:8443/healthz`);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    }, 30_000);

    it('refuses no client certificate, one from another CA, another identity of the same CA, and plain HTTP; and its certificate fails another CA', async () => {
      const none = await curl('--cacert', '/lb-tls/ca.crt', `https://${webHost()}:8443/healthz`);
      expect(none.stdout).toContain('No required SSL certificate was sent');
      const foreign = await curl('--cacert', '/lb-tls/ca.crt', '--cert', '/foreign/tls.crt', '--key', '/foreign/tls.key', `https://${webHost()}:8443/healthz`);
      expect(foreign.stdout).toContain('The SSL certificate error');
      const plain = await curl(`http://${webHost()}:8443/healthz`);
      expect(plain.stdout).toContain('The plain HTTP request was sent to HTTPS port');
      const unverified = await curl('--cacert', '/foreign/ca.crt', '--cert', '/lb-tls/tls.crt', '--key', '/lb-tls/tls.key', `https://${webHost()}:8443/healthz`);
      expect(unverified.code).toBe(60); // curl: peer certificate cannot be authenticated with given CA certificates
      // The stack's own CA, another identity: the web tier's certificate is not HAProxy's.
      const otherIdentity = await curl('-o', '/dev/null', '-w', '%{http_code}', '--cacert', '/lb-tls/ca.crt', '--cert', '/web-tls/tls.crt', '--key', '/web-tls/tls.key', `https://${webHost()}:8443/healthz`);
      expect(otherIdentity.stdout).toBe('403');
    }, 60_000);
  });

  describe("app -> MySQL: TLS required, and the server verifies as the stack's", () => {
    const primary = () => `${STACK}-mysql-primary.${ns}.svc.cluster.local`;
    const sql = (...args: string[]) => exec('app-impostor', ['sh', '-c', `mariadb -h ${primary()} -u app -p"$DB_PASSWORD" ${args.join(' ')} -N -e "SHOW SESSION STATUS LIKE 'Ssl_version'"`]);

    beforeAll(async () => {
      await applyIn(ns, [appImpostor()]);
      await kubectl(['wait', '-n', ns, '--for=jsonpath={.status.containerStatuses[0].started}=true', '--timeout=120s', 'pod/app-impostor']);
    }, 130_000);

    it("connects with the app's settings: TLS verified against the internal CA and the server's name", async () => {
      const r = await sql('--ssl', '--ssl-ca=/ca/ca.crt', '--ssl-verify-server-cert');
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/Ssl_version\s+TLSv1\.[23]/);
    }, 30_000);

    it('refuses the right password over a plain connection; a client trusting another CA refuses the server', async () => {
      const plain = await sql('--skip-ssl');
      expect(plain.code).not.toBe(0);
      // The app account REQUIREs SSL, so MariaDB answers a plain login "Access denied"; the same
      // password over TLS got in above, so it is the transport that was refused.
      expect(plain.stderr).toMatch(/Access denied for user 'app'|insecure transport/);
      const foreign = await sql('--ssl', '--ssl-ca=/foreign/ca.crt', '--ssl-verify-server-cert');
      expect(foreign.code).not.toBe(0);
      expect(foreign.stderr).toMatch(/certificate verify failed|self-signed certificate|unable to get local issuer/i);
    }, 30_000);

    it('forbidden edges time out where an allowed pod gets through: outside and web -> MySQL, app -> LB, API, a cluster listener', async () => {
      const ip = async (namespace: string, service: string) => (await getJson<{ spec: { clusterIP: string } }>(['service', '-n', namespace, service])).spec.clusterIP;
      const [db, lb, api, dns] = await Promise.all([ip(ns, `${STACK}-mysql-primary`), ip(ns, `${STACK}-lb`), ip('default', 'kubernetes'), ip('kube-system', 'kube-dns')]);
      const edges = async (pairs: [string, string, number][]) =>
        Object.fromEntries(await Promise.all(pairs.map(async ([pod, host, port]) => [`${pod} -> ${host}:${port}`, await connect(pod, host, port)] as const)));
      // Each target listens: the allowed peer (or a pod no policy selects) gets through ...
      expect(await edges([['app-impostor', db, 3306], ['client', lb, 443], ['client', api, 443], ['client', dns, 9153]])).toEqual({
        [`app-impostor -> ${db}:3306`]: 'open',
        [`client -> ${lb}:443`]: 'open',
        [`client -> ${api}:443`]: 'open',
        [`client -> ${dns}:9153`]: 'open',
      });
      // ... and the stack's policies close it to the others (CoreDNS's metrics port: a listener
      // inside the cluster that spec.firewall.appEgress does not name; DNS itself is port 53).
      expect(await edges([['client', db, 3306], ['web-impostor', db, 3306], ['app-impostor', lb, 443], ['app-impostor', api, 443], ['app-impostor', dns, 9153]])).toEqual({
        [`client -> ${db}:3306`]: 'closed',
        [`web-impostor -> ${db}:3306`]: 'closed',
        [`app-impostor -> ${lb}:443`]: 'closed',
        [`app-impostor -> ${api}:443`]: 'closed',
        [`app-impostor -> ${dns}:9153`]: 'closed',
      });
    }, 90_000);
  });

  describe('a failed rollout on a real node', () => {
    interface Condition {
      type: string;
      status: string;
      reason?: string;
      message?: string;
    }
    const conditions = async () =>
      (await getJson<{ status?: { conditions?: Condition[] } }>(['webstack', '-n', ns, STACK])).status?.conditions ?? [];

    it('an app image that exits at once: past the progress deadline the stack is Stalled (Reconciling False) with a Warning Event', async () => {
      // busybox's sh exits at once without a terminal: the new pods crash-loop, the old one keeps serving.
      await kubectl(['patch', 'webstack', '-n', ns, STACK, '--type=merge', '-p', JSON.stringify({ spec: { app: { image: image('busybox:1.35') } } })]);
      const stalled = await eventually(
        async () => {
          const c = await conditions();
          const s = c.find((x) => x.type === 'Stalled');
          if (s?.status !== 'True' || s.reason !== 'ProgressDeadlineExceeded') throw new Error(`conditions: ${JSON.stringify(c)}`);
          return c;
        },
        // The Deployment's progressDeadlineSeconds is 300 (render/pod.ts ROLLOUT).
        { description: 'Stalled=True ProgressDeadlineExceeded', timeoutMs: 420_000, intervalMs: 5000 },
      );
      expect(stalled.find((x) => x.type === 'Stalled')?.message).toContain(`${STACK}-app`);
      expect(stalled.find((x) => x.type === 'Reconciling')?.status).toBe('False');
      const events = await getJson<{ items: { type: string; reason: string; involvedObject: { kind: string; name: string } }[] }>(['events', '-n', ns]);
      expect(events.items.filter((e) => e.involvedObject.kind === 'WebStack' && e.type === 'Warning').map((e) => e.reason)).toContain('ProgressDeadlineExceeded');
    }, 450_000);
  });
});
