/**
 * `tls.mode: passthrough` on the real nodes: HAProxy forwards the TLS connection untouched and Nginx
 * terminates it with the public certificate (issued by the real cert-manager controller from a CA
 * Issuer), then proxies to the app, which writes and reads a row in MariaDB. A client pod requests
 * https://<domain>/ through the LB Service, verifying the public certificate; the client address
 * reaches Nginx through the PROXY protocol. Then the database volumes grow in place.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RunningOperator } from '../../operator/main.js';
import { deleteNamespace, eventually, getJson, installCrds, kubectl, newNamespace } from '../support/cluster.js';
import { startTestOperator } from '../support/operator.js';
import { startCertManager, type RunningProgram } from '../support/cert-manager.js';
import { LOCAL_OPERATOR_FLAGS, applyIn, toolboxPod, localWebStack } from '../support/objects.js';
import { certificateAuthority } from '../support/tls.js';

const STACK = 'news';
const DOMAIN = 'news.passthrough.test';
const b64 = (text: string) => Buffer.from(text).toString('base64');

let ns: string;
let operator: RunningOperator | undefined;
let certManager: RunningProgram | undefined;
const publicCa = certificateAuthority('e2e passthrough public CA');

const webStack = localWebStack(STACK, DOMAIN, 'passthrough', 'e2e-public');

/** A toolbox pod no stack policy selects, with the public CA in /ca. */
function clientPod() {
  const pod = toolboxPod('client');
  Object.assign(pod.spec.containers[0] as Record<string, unknown>, { volumeMounts: [{ name: 'ca', mountPath: '/ca', readOnly: true }] });
  return { ...pod, spec: { ...pod.spec, enableServiceLinks: false, volumes: [{ name: 'ca', secret: { secretName: 'public-ca' } }] } };
}

const exec = (command: string[]) => kubectl(['exec', '-n', ns, 'client', '--', ...command], { allowFail: true });
const clusterIp = async (service: string) => (await getJson<{ spec: { clusterIP: string } }>(['service', '-n', ns, service])).spec.clusterIP;

beforeAll(async () => {
  await installCrds();
  ns = await newNamespace('passthrough', { restricted: true });
  certManager = await startCertManager(ns, 'e2e-public', publicCa);
  await applyIn(ns, [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'public-ca' }, data: { 'ca.crt': b64(publicCa.crt) } }, clientPod()]);
  operator = await startTestOperator(ns, LOCAL_OPERATOR_FLAGS);
  await applyIn(ns, [webStack]);
}, 180_000);

afterAll(async () => {
  if (ns) await kubectl(['delete', 'webstack', '-n', ns, STACK, '--ignore-not-found', '--timeout=120s'], { allowFail: true });
  await operator?.stop();
  certManager?.stop();
  if (ns) await deleteNamespace(ns);
});

describe('passthrough stack on real pods', () => {
  it('HTTPS through HAProxy (TCP) to Nginx, which holds the public certificate, to the app and its database; the stack is Ready', async () => {
    const lb = await eventually(() => clusterIp(`${STACK}-lb`), { description: `Service ${STACK}-lb`, timeoutMs: 60_000, intervalMs: 1000 });
    const body = await eventually(
      async () => {
        const r = await exec(['curl', '-sS', '--fail', '--max-time', '8', '--cacert', '/ca/ca.crt', '--resolve', `${DOMAIN}:443:${lb}`, `https://${DOMAIN}/`]);
        if (r.code !== 0) throw new Error(`curl: ${r.stderr} ${r.stdout}`);
        return JSON.parse(r.stdout) as { wrote: number; visits: number; dbTLSCipher: string };
      },
      { description: `a row written and read through https://${DOMAIN}/ (cert-manager log: ${certManager?.log().slice(-1500) ?? ''})`, timeoutMs: 420_000, intervalMs: 3000 },
    );
    expect(body.wrote).toBeGreaterThan(0);
    // Outside reencrypt MariaDB has no certificate: the app connects with DB_SSL_MODE=DISABLED.
    expect(body.dbTLSCipher).toBe('');
    await eventually(
      async () => {
        const c = (await getJson<{ status?: { conditions?: { type: string; status: string }[] } }>(['webstack', '-n', ns, STACK])).status?.conditions ?? [];
        if (c.find((x) => x.type === 'Ready')?.status !== 'True') throw new Error(JSON.stringify(c));
      },
      { description: 'Ready=True', timeoutMs: 180_000, intervalMs: 3000 },
    );
  }, 640_000);

  it("the client gets the public certificate from Nginx through HAProxy's TCP forwarding; Nginx itself is reached only that way", async () => {
    const [lb, web] = await Promise.all([clusterIp(`${STACK}-lb`), clusterIp(`${STACK}-web`).catch(() => 'None')]);
    const served = await exec(['sh', '-c', `openssl s_client -connect ${lb}:443 -servername ${DOMAIN} -verify_hostname ${DOMAIN} -CAfile /ca/ca.crt </dev/null 2>&1 | grep 'Verify return code'`]);
    // One line per session: TLS 1.3 session tickets that arrive before the close print it again.
    expect([...new Set(served.stdout.trim().split('\n').map((l) => l.trim()))]).toEqual(['Verify return code: 0 (ok)']);
    // The web Service is headless (HAProxy resolves the pods), and the web policy admits HAProxy only.
    expect(web).toBe('None');
    const pods = await getJson<{ items: { status: { podIP: string } }[] }>(['pods', '-n', ns, '-l', 'app.kubernetes.io/component=web']);
    const direct = await exec(['curl', '-sS', '--max-time', '5', '--connect-timeout', '3', '-k', `https://${pods.items[0]?.status.podIP ?? ''}:8443/`]);
    expect(direct.code).not.toBe(0);
  }, 60_000);

  it('grows the database volumes in place when spec.database.storage.size grows, and the data stays', async () => {
    const lb = await clusterIp(`${STACK}-lb`);
    const visits = async () => {
      const r = await exec(['curl', '-sS', '--fail', '--max-time', '8', '--cacert', '/ca/ca.crt', '--resolve', `${DOMAIN}:443:${lb}`, `https://${DOMAIN}/`]);
      if (r.code !== 0) throw new Error(`curl: ${r.stderr}`);
      return (JSON.parse(r.stdout) as { visits: number }).visits;
    };
    const before = await visits();
    const uids = async () => (await getJson<{ items: { metadata: { name: string; uid: string } }[] }>(['pvc', '-n', ns])).items.map((p) => `${p.metadata.name}/${p.metadata.uid}`).sort();
    const claimsBefore = await uids();
    await kubectl(['patch', 'webstack', '-n', ns, STACK, '--type=merge', '-p', JSON.stringify({ spec: { database: { storage: { size: '11Gi' } } } })]);
    // The claims' own status says the size, as the StorageClass's resizer (hack/fake-cloud.ts here:
    // a local directory has no size to grow) reports it; the condition follows.
    await eventually(
      async () => {
        const c = (await getJson<{ status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } }>(['webstack', '-n', ns, STACK])).status?.conditions ?? [];
        const storage = c.find((x) => x.type === 'StorageReady');
        if (storage?.status !== 'True' || !storage.message?.includes('11Gi')) throw new Error(JSON.stringify(storage));
      },
      { description: 'StorageReady=True with 11Gi', timeoutMs: 120_000, intervalMs: 3000 },
    );
    const claims = await getJson<{ items: { status?: { capacity?: { storage?: string } } }[] }>(['pvc', '-n', ns]);
    expect(claims.items.map((p) => p.status?.capacity?.storage)).toEqual(['11Gi', '11Gi']);
    // The same claims (nothing recreated), and the rows written before are still counted.
    expect(await uids()).toEqual(claimsBefore);
    expect(await eventually(visits, { description: 'the app answering after the resize', timeoutMs: 60_000, intervalMs: 2000 })).toBeGreaterThan(before);
  }, 200_000);
});
