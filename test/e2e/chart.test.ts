/**
 * The shipped artefacts run, on the defaults: the operator installed by the chart from the image
 * built from the Dockerfile (chart-operator.ts), and that operator pod, and nothing else,
 * reconciles a WebStack without database fields to Ready, its database controller included; then
 * the database drill matrix (drills.ts) runs on that stack.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { deleteNamespace, eventually, getJson, installCrds, kubectl, newNamespace } from '../support/cluster.js';
import { startCertManager, type RunningProgram } from '../support/cert-manager.js';
import { applyIn, image, localWebStack } from '../support/objects.js';
import { certificateAuthority } from '../support/tls.js';
import { installChartOperator, OPERATOR_IMAGE, type ChartOperator } from './chart-operator.js';
import { registerDrills } from './drills.js';
import { WRITER_LABEL } from './writer.js';

const STACK = 'shipped';

let operator: ChartOperator | undefined;
let stackNs: string;
let certManager: RunningProgram | undefined;
let operatorNode = '';

const operatorPods = async () => (operator ? operator.pods() : []);
const logsOfTheOperator = async () => (operator ? operator.log(40) : '');

/** A WebStack named `name` with no database field: the database tier exactly as a user who writes none gets it. */
function defaultsStack(name: string, extra: Record<string, unknown> = {}) {
  const { database: _default, ...spec } = localWebStack(name, `${name}.chart.test`, 'reencrypt', 'e2e-public').spec;
  return { ...localWebStack(name, `${name}.chart.test`, 'reencrypt', 'e2e-public'), spec: { ...spec, ...extra } };
}

/**
 * Applies the stacks with the operator's node cordoned until their database pods are placed (their
 * local volumes then keep them there), so the drills' power cuts never take the operator (its own
 * node's loss is another drill).
 */
async function placeOffTheOperatorsNode(stacks: { metadata: { name: string } }[]): Promise<void> {
  await kubectl(['cordon', operatorNode]);
  try {
    await applyIn(stackNs, stacks);
    const names = stacks.map((x) => x.metadata.name);
    await eventually(
      async () => {
        const pods = await getJson<{ items: { metadata: { labels: Record<string, string> }; spec: { nodeName?: string } }[] }>(['pods', '-n', stackNs, '-l', 'app.kubernetes.io/component=database']);
        const placed = pods.items.filter((p) => names.includes(p.metadata.labels['app.kubernetes.io/instance'] ?? '') && p.spec.nodeName);
        if (placed.length !== 2 * names.length) throw new Error('database pods not placed yet');
      },
      { description: `the database pods of ${names.join(', ')} placed`, timeoutMs: 180_000, intervalMs: 1000 },
    );
  } finally {
    await kubectl(['uncordon', operatorNode]);
  }
}

beforeAll(async () => {
  await installCrds();
  stackNs = await newNamespace('shipped', { restricted: true });
  certManager = await startCertManager(stackNs, 'e2e-public', certificateAuthority('e2e shipped public CA'));
  operator = await installChartOperator('webstack', stackNs);
}, 1_900_000);

afterAll(async () => {
  // Every stack (the drills may have made more), while the operator still runs to remove their finalizers.
  if (stackNs) await kubectl(['delete', 'webstack', '-n', stackNs, '--all', '--timeout=180s'], { allowFail: true });
  await operator?.uninstall();
  certManager?.stop();
  if (stackNs) await deleteNamespace(stackNs);
}, 300_000);

describe('the Helm chart with the image built from the Dockerfile, on real nodes', () => {
  it('runs the operator from that image as the chart says: non-root, read-only root filesystem, ready', async () => {
    const [pod] = await operatorPods();
    expect(pod?.spec.containers[0]?.image).toBe(OPERATOR_IMAGE);
    expect(pod?.status.containerStatuses?.[0]?.ready).toBe(true);
    // The kubelet enforces these; asked from inside the container, the process says what it got.
    const id = await kubectl(['exec', '-n', operator?.namespace ?? '', pod?.metadata.name ?? '', '--', 'node', '-e', 'process.stdout.write(`${process.getuid()}`)']);
    expect(id.stdout).toBe('65532');
    const write = await kubectl(['exec', '-n', operator?.namespace ?? '', pod?.metadata.name ?? '', '--', 'node', '-e', "require('fs').writeFileSync('/app/x', '')"], { allowFail: true });
    expect(write.stderr).toContain('EROFS');
  }, 120_000);

  it('that operator reconciles a WebStack without database fields to Ready: MySQL 9.7, two instances, Healthy through the chart\'s NetworkPolicy', async () => {
    // The drills' writer may reach the database (a firewall field, not a database one).
    const firewall = { extraIngress: [{ tier: 'database', from: { podLabels: { [WRITER_LABEL]: 'true' } }, ports: [{ port: 3306 }] }] };
    operatorNode = (await operatorPods())[0]?.spec.nodeName ?? '';
    await placeOffTheOperatorsNode([defaultsStack(STACK, { firewall })]);
    const status = await eventually(
      async () => {
        const ws = await getJson<{ status?: { conditions?: { type: string; status: string; reason: string }[]; database?: { primary?: string; state?: string } } }>(['webstack', '-n', stackNs, STACK]);
        const ready = ws.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status !== 'True') throw new Error(`Ready ${ready?.reason ?? 'missing'}: ${JSON.stringify(ws.status?.conditions)}`);
        // DatabaseReady reads the database loop's state, so Ready means Healthy; said again here, as the drills start from it.
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
      database: {},
    missingImage: image('mysql:9.7-missing'),
    writerNode: operatorNode,
    operatorLog: async () => (operator ? operator.log(400) : ''),
    moreStacks: async () => {
      const more = ['shipped-b', 'shipped-c'];
      // Its two instances on the two other nodes (localWebStack disables spreading): a power cut of one
      // then leaves each stack a replica to fail over to (the first run had both of one stack on the cut node: Lost).
      // A smaller CPU request than the default 500m: three stacks' databases do not fit two 2-CPU nodes otherwise
      // (the second run: Pending, "Insufficient cpu"). Only this differs from the defaults.
      const database = { resources: { requests: { cpu: '100m', memory: '1Gi' }, limits: { memory: '2Gi' } } };
      await placeOffTheOperatorsNode(more.map((name) => defaultsStack(name, { placement: { hostnameSpread: 'Required', zoneSpread: 'Disabled' }, database })));
      return more;
    },
  }));
});
