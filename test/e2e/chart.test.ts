/**
 * The shipped artefacts run: the operator image is built from the repository's Dockerfile
 * (hack/operator-image/build.sh: buildah, on a local stand-in for node:20-bookworm-slim), loaded
 * into the real nodes, and installed with the Helm chart as users install it (its RBAC, its
 * NetworkPolicy enforced by kube-router, the restricted pod security level). That operator pod,
 * and nothing else, reconciles a WebStack to Ready, its database controller included.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { deleteNamespace, eventually, getJson, installCrds, kubeconfigPath, kubectl, newNamespace, repoRoot, run } from '../support/cluster.js';
import { CHART_DIR, helm } from '../support/helm.js';
import { startCertManager, type RunningProgram } from '../support/cert-manager.js';
import { hackSetting } from '../../hack/settings.js';
import { applyIn, image, localWebStack } from '../support/objects.js';
import { certificateAuthority } from '../support/tls.js';
import { WRITER_LABEL, acks, clientErrors, longestGap, pooledWriterPod, uptime, writerPod } from './writer.js';

const RELEASE = 'webstack';
const STACK = 'shipped';
const REPOSITORY = 'webstack.local/operator';
const TAG = 'dev';
const IMAGE = `${REPOSITORY}:${TAG}`;

let operatorNs: string;
let stackNs: string;
let certManager: RunningProgram | undefined;

interface OperatorPod {
  metadata: { name: string };
  spec: { containers: { image: string }[] };
  status: { containerStatuses?: { ready: boolean; restartCount: number }[] };
}

const operatorPods = async () =>
  (await getJson<{ items: OperatorPod[] }>(['pods', '-n', operatorNs, '-l', 'app.kubernetes.io/name=webstack-operator'])).items;

const logsOfTheOperator = async () => (await kubectl(['logs', '-n', operatorNs, '-l', 'app.kubernetes.io/name=webstack-operator', '--tail=40'], { allowFail: true })).stdout;

beforeAll(async () => {
  const archive = path.join(hackSetting('CACHE_ROOT'), 'operator-image.oci.tar');
  // A cold build (debootstrap, npm ci twice, apt) takes a few minutes; later ones reuse its layers.
  await run(path.join(repoRoot, 'hack/operator-image/build.sh'), [archive], { timeoutMs: 1_500_000 });
  await run(path.join(repoRoot, 'hack/cluster'), ['load-image', '--real', archive], { timeoutMs: 300_000 });
  await installCrds();
  operatorNs = await newNamespace('operator', { restricted: true });
  stackNs = await newNamespace('shipped', { restricted: true });
  certManager = await startCertManager(stackNs, 'e2e-public', certificateAuthority('e2e shipped public CA'));
  const set = (key: string, value: string) => ['--set', `${key}=${value}`];
  await helm(
    [
      'install', RELEASE, path.join(repoRoot, CHART_DIR), '--kubeconfig', kubeconfigPath(), '--namespace', operatorNs,
      ...set('image.repository', REPOSITORY), ...set('image.tag', TAG), ...set('image.pullPolicy', 'Never'),
      ...set('replicaCount', '1'), ...set('watchNamespaces', `{${stackNs}}`), ...set('logLevel', 'info'),
      ...set('logAgent.namespace', `${operatorNs}-agents`),
      ...set('images.haproxy', image('haproxy:2.6')), ...set('images.nginx', image('nginx:1.22')),
      ...set('images.nginxExporter', image('nginx-exporter:0.11.0')), ...set('images.mysqldExporter', image('mysqld-exporter:0.14.0')),
      ...set('images.mariadb1011', image('mariadb:10.11')), ...set('images.mysql97', image('mysql:9.7')),
      '--wait', '--timeout', '180s',
    ],
  );
}, 1_900_000);

afterAll(async () => {
  if (stackNs) await kubectl(['delete', 'webstack', '-n', stackNs, STACK, '--ignore-not-found', '--timeout=120s'], { allowFail: true });
  if (operatorNs) await helm(['uninstall', RELEASE, '--kubeconfig', kubeconfigPath(), '--namespace', operatorNs, '--wait'], { allowFail: true });
  certManager?.stop();
  if (stackNs) await deleteNamespace(stackNs);
  if (operatorNs) await deleteNamespace(operatorNs);
}, 300_000);

describe('the Helm chart with the image built from the Dockerfile, on real nodes', () => {
  it('runs the operator from that image as the chart says: non-root, read-only root filesystem, ready', async () => {
    const [pod] = await operatorPods();
    expect(pod?.spec.containers[0]?.image).toBe(IMAGE);
    expect(pod?.status.containerStatuses?.[0]?.ready).toBe(true);
    // The kubelet enforces these; asked from inside the container, the process says what it got.
    const id = await kubectl(['exec', '-n', operatorNs, pod?.metadata.name ?? '', '--', 'node', '-e', 'process.stdout.write(`${process.getuid()}`)']);
    expect(id.stdout).toBe('65532');
    const write = await kubectl(['exec', '-n', operatorNs, pod?.metadata.name ?? '', '--', 'node', '-e', "require('fs').writeFileSync('/app/x', '')"], { allowFail: true });
    expect(write.stderr).toContain('EROFS');
  }, 120_000);

  it('that operator reconciles a WebStack without database fields to Ready: MySQL 9.7, two instances, Healthy through the chart\'s NetworkPolicy', async () => {
    // The database tier exactly as a user who writes no database field gets it.
    const { database: _default, ...spec } = localWebStack(STACK, 'shipped.chart.test', 'reencrypt', 'e2e-public').spec;
    // The drills' writer may reach the database (a firewall field, not a database one).
    const firewall = { extraIngress: [{ tier: 'database', from: { podLabels: { [WRITER_LABEL]: 'true' } }, ports: [{ port: 3306 }] }] };
    await applyIn(stackNs, [{ ...localWebStack(STACK, 'shipped.chart.test', 'reencrypt', 'e2e-public'), spec: { ...spec, firewall } }]);
    const status = await eventually(
      async () => {
        const ws = await getJson<{ status?: { conditions?: { type: string; status: string; reason: string }[]; database?: { primary?: string; state?: string } } }>(['webstack', '-n', stackNs, STACK]);
        const ready = ws.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status !== 'True') throw new Error(`Ready ${ready?.reason ?? 'missing'}: ${JSON.stringify(ws.status?.conditions)}`);
        // Ready can come while the replica is still seeding (Degraded): issue 25's "Ready ignores the database state".
        if (ws.status?.database?.state !== 'Healthy') throw new Error(`database ${JSON.stringify(ws.status?.database)}`);
        return ws.status;
      },
      { description: `WebStack ${STACK} Ready`, timeoutMs: 480_000, intervalMs: 3000 },
    ).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\noperator log:\n${await logsOfTheOperator()}`);
    });
    expect(status.database?.state).toBe('Healthy');
    expect(status.database?.primary).toMatch(new RegExp(`^${STACK}-mysql-[01]$`));
    // The default engine and version: the server in the primary's pod is mysqld 9.7.
    const version = await kubectl(['exec', '-n', stackNs, status.database?.primary ?? '', '-c', 'mysql', '--', 'mysqld', '--version']);
    expect(version.stdout).toMatch(/Ver 9\.7\./);
    // The one operator pod did it, without a restart.
    const pods = await operatorPods();
    expect(pods.map((p) => p.status.containerStatuses?.[0]?.restartCount)).toEqual([0]);
  }, 540_000);
});

interface DbStatus {
  primary?: string;
  state?: string;
  reason?: string;
  replicas?: string[];
  acksReleased?: { since: string };
}

const dbStatus = async (): Promise<DbStatus> => (await getJson<{ status?: { database?: DbStatus } }>(['webstack', '-n', stackNs, STACK])).status?.database ?? {};

/** The rows of a writer's table on `pod`'s server, read in its container by the exporter's account (SELECT on every schema). */
async function rowsOn(pod: string, table: 'acked' | 'pooled' = 'acked'): Promise<Set<number>> {
  const query = `MYSQL_PWD="$WEBSTACK_EXPORTER_PASSWORD" mysql --protocol=socket --socket=/var/run/mysqld/mysqld.sock --user=exporter --batch --skip-column-names -e "SELECT id FROM app.${table}"`;
  const { stdout } = await kubectl(['exec', '-n', stackNs, pod, '-c', 'mysql', '--', 'sh', '-c', query]);
  return new Set(stdout.split('\n').filter(Boolean).map(Number));
}

/**
 * Every row each writer saw acknowledged is on `primary`. The acks are read first: a row
 * acknowledged after the SELECT would otherwise count as lost (the writers keep writing).
 */
async function expectNoRowLost(what: string, primary: string): Promise<void> {
  for (const writer of ['writer', 'pooled'] as const) {
    const all = await acks(stackNs, writer);
    const rows = await rowsOn(primary, writer === 'writer' ? 'acked' : 'pooled');
    expect(all.length).toBeGreaterThan(0);
    await expectNoneLost(`${what} (${writer})`, all.filter((a) => !rows.has(a.id)).map((a) => a.id));
  }
}

/**
 * A bounded drill on the defaults: after `pod` is deleted and made again, the database is Healthy
 * with both instances, acks are awaited again, both writers write again, and every row either saw
 * acknowledged is on the primary. Prints the write outage of each (the longest gap between its
 * acknowledgements) and the errors the pooled app saw, and returns the per-connection writer's outage.
 */
async function drill(what: string, pod: string): Promise<number> {
  const before = await dbStatus();
  const uid = async () => (await getJson<{ metadata: { uid: string } }>(['pod', '-n', stackNs, pod])).metadata.uid;
  const deleted = await uid();
  const start = uptime();
  await kubectl(['delete', 'pod', '-n', stackNs, pod, '--wait=false']);
  // Recovery counts only once the StatefulSet has made the pod again.
  await eventually(async () => ((await uid().catch(() => deleted)) !== deleted ? true : Promise.reject(new Error(`${pod} not re-created yet`))), {
    timeoutMs: 120_000,
    intervalMs: 500,
    description: `${pod} re-created`,
  });
  const after = await eventually(
    async () => {
      const s = await dbStatus();
      if (s.state !== 'Healthy' || s.replicas?.length !== 1 || s.acksReleased !== undefined) throw new Error(`database ${JSON.stringify(s)}`);
      for (const writer of ['writer', 'pooled'] as const) {
        if (!(await acks(stackNs, writer)).some((a) => a.at > uptime() - 2)) throw new Error(`${writer}: no write acknowledged in the last 2 s`);
      }
      return s;
    },
    { timeoutMs: 240_000, intervalMs: 1000, description: `${what}: Healthy again, acks awaited, both writers writing` },
  ).catch(async (err: unknown) => {
    throw new Error(`${String(err)}\noperator log:\n${await logsOfTheOperator()}`);
  });
  const end = uptime();
  const outage = longestGap(await acks(stackNs), start, end);
  const pooled = longestGap(await acks(stackNs, 'pooled'), start, end);
  const errors = (await clientErrors(stackNs)).filter((e) => e.at >= start && e.at <= end);
  const kinds = [...new Set(errors.map((e) => /Error (\d+)/.exec(e.message)?.[1] ?? e.message.slice(0, 40)))];
  console.log(
    `defaults, ${what}: write outage ${outage.toFixed(1)} s (a connection per row), ${pooled.toFixed(1)} s (pooled app, ${errors.length} errors: ${kinds.join(', ')}), primary ${before.primary ?? ''} -> ${after.primary ?? ''}`,
  );
  await expectNoRowLost(what, after.primary ?? '');
  return outage;
}

/** A lost row fails the test with what the operator did meanwhile: the one record there is of why. */
async function expectNoneLost(what: string, lost: readonly number[]): Promise<void> {
  if (lost.length === 0) return;
  const log = (await kubectl(['logs', '-n', operatorNs, '-l', 'app.kubernetes.io/name=webstack-operator', '--tail=400'], { allowFail: true })).stdout;
  throw new Error(`${what}: acknowledged rows ${lost.join(', ')} are not on the primary\noperator log:\n${log}`);
}

describe('W2 on the defaults: MySQL 9.7, two instances, durability Preferred, the operator from the chart', () => {
  beforeAll(async () => {
    const service = await getJson<{ spec: { clusterIP: string } }>(['service', `${STACK}-mysql-primary`, '-n', stackNs]);
    const writers = { stack: STACK, engine: 'mysql', serviceIp: service.spec.clusterIP } as const;
    await applyIn(stackNs, [writerPod(writers), pooledWriterPod(writers)]);
    for (const writer of ['writer', 'pooled'] as const) {
      await eventually(async () => ((await acks(stackNs, writer)).length >= 10 ? true : Promise.reject(new Error('fewer than 10 acknowledged rows'))), {
        timeoutMs: 120_000,
        intervalMs: 1000,
        description: `${writer} commits through the -primary Service`,
      });
    }
  }, 250_000);

  it("the replica's pod deleted: the primary stops waiting for acks, writes go on, the replica comes back in sync, no acknowledged row lost", async () => {
    const { primary, replicas } = await dbStatus();
    const replica = replicas?.[0] ?? '';
    // When status said the primary commits without acks (boot-clock seconds, as the writer's acks).
    const released: number[] = [];
    const watch = setInterval(() => {
      void dbStatus().then((s) => (s.acksReleased === undefined ? undefined : released.push(uptime())));
    }, 500);
    try {
      await drill('replica pod deleted', replica);
    } finally {
      clearInterval(watch);
    }
    expect((await dbStatus()).primary).toBe(primary);
    // Writes were acknowledged while the replica was away, which Required would not allow.
    const [from, to] = [Math.min(...released), Math.max(...released)];
    expect((await acks(stackNs)).filter((a) => a.at >= from && a.at <= to).length).toBeGreaterThan(0);
  }, 300_000);

  it("the primary's pod deleted: a switchover to the replica, writes resume, the old primary rejoins, no acknowledged row lost", async () => {
    const { primary } = await dbStatus();
    await drill('primary pod deleted', primary ?? '');
    expect((await dbStatus()).primary).not.toBe(primary);
  }, 300_000);

  it('a bad spec.database.image stalls with the reason while writes go on; reverting it heals the tier without a human', async () => {
    const condition = async (type: string) =>
      (await getJson<{ status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }>(['webstack', '-n', stackNs, STACK])).status?.conditions?.find((c) => c.type === type);
    const patch = (database: object) => kubectl(['patch', 'webstack', '-n', stackNs, STACK, '--type=merge', '-p', JSON.stringify({ spec: { database } })]);
    await patch({ image: image('mysql:9.7-missing') });
    const stalled = await eventually(
      async () => {
        const ready = await condition('DatabaseReady');
        if (!['ErrImagePull', 'ImagePullBackOff'].includes(ready?.reason ?? '') || (await condition('Stalled'))?.status !== 'True') throw new Error(`DatabaseReady ${JSON.stringify(ready)}`);
        return ready;
      },
      { timeoutMs: 180_000, intervalMs: 2000, description: 'DatabaseReady Stalled on the image' },
    );
    expect(stalled?.message).toMatch(new RegExp(`${STACK}-mysql-\\d cannot start`));
    const whileStalled = uptime();
    await eventually(async () => ((await acks(stackNs)).some((a) => a.at > whileStalled) ? true : Promise.reject(new Error('no write since the stall'))), {
      timeoutMs: 30_000,
      intervalMs: 1000,
      description: 'writes going on beside the broken replica',
    });
    await patch({ image: null });
    const healed = await eventually(
      async () => {
        const s = await dbStatus();
        if (s.state !== 'Healthy' || s.replicas?.length !== 1 || s.acksReleased !== undefined) throw new Error(`database ${JSON.stringify(s)}`);
        return s;
      },
      { timeoutMs: 240_000, intervalMs: 2000, description: 'Healthy again after the revert' },
    ).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\noperator log:\n${await logsOfTheOperator()}`);
    });
    await expectNoRowLost('bad image reverted', healed.primary ?? '');
  }, 600_000);
});
