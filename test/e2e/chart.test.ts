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
import { registerDrills } from './drills.js';
import { WRITER_LABEL } from './writer.js';

const RELEASE = 'webstack';
const STACK = 'shipped';
const REPOSITORY = 'webstack.local/operator';
const TAG = 'dev';
const IMAGE = `${REPOSITORY}:${TAG}`;

let operatorNs: string;
let stackNs: string;
let certManager: RunningProgram | undefined;
let operatorNode = '';

interface OperatorPod {
  metadata: { name: string };
  spec: { nodeName: string; containers: { image: string }[] };
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
    // The operator's node gets no database pod, so the drills' power cuts never take the operator
    // (its own node's loss is another drill): it is cordoned until the database pods are placed,
    // which their local volumes then keep.
    operatorNode = (await operatorPods())[0]?.spec.nodeName ?? '';
    await kubectl(['cordon', operatorNode]);
    try {
      await applyIn(stackNs, [{ ...localWebStack(STACK, 'shipped.chart.test', 'reencrypt', 'e2e-public'), spec: { ...spec, firewall } }]);
      await eventually(
        async () => {
          const pods = await getJson<{ items: { spec: { nodeName?: string } }[] }>(['pods', '-n', stackNs, '-l', 'app.kubernetes.io/component=database']);
          if (pods.items.length !== 2 || pods.items.some((p) => !p.spec.nodeName)) throw new Error('database pods not placed yet');
        },
        { description: 'both database pods placed', timeoutMs: 180_000, intervalMs: 1000 },
      );
    } finally {
      await kubectl(['uncordon', operatorNode]);
    }
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

describe('W2 on the defaults: MySQL 9.7, two instances, durability Preferred, the operator from the chart', () => {
  registerDrills(() => ({
    configuration: 'defaults',
    namespace: stackNs,
    stack: STACK,
    engine: 'mysql',
    instances: 2,
    durability: 'Preferred',
    operator: 'chart',
    database: {},
    missingImage: image('mysql:9.7-missing'),
    writerNode: operatorNode,
    operatorLog: async () => (await kubectl(['logs', '-n', operatorNs, '-l', 'app.kubernetes.io/name=webstack-operator', '--tail=400'], { allowFail: true })).stdout,
  }));
});
