/**
 * The drill matrix (drills.ts) on the second configuration: a WebStack with engine mariadb and
 * three instances on local volumes, reconciled by the chart-installed operator (chart-operator.ts)
 * with its default failover delay. The defaults (MySQL, two instances) run the same matrix in
 * chart.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DatabaseSpec, WebStack } from '../../operator/api/types.js';
import { deleteNamespace, getJson, installCrds, kubectl, newNamespace } from '../support/cluster.js';
import { startCertManager, type RunningProgram } from '../support/cert-manager.js';
import { applyIn, image } from '../support/objects.js';
import { certificateAuthority } from '../support/tls.js';
import { installChartOperator, type ChartOperator } from './chart-operator.js';
import { registerDrills, type DrillTarget } from './drills.js';
import { WRITER_LABEL } from './writer.js';

const STACK = 'shop';
const DB = `${STACK}-mysql`;
const DATABASE: DatabaseSpec = {
  engine: 'mariadb',
  replicas: 3,
  storage: { size: '1Gi' },
  resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '512Mi' } },
  deletionPolicy: 'Delete',
};
let ns: string;
let operator: ChartOperator | undefined;
let certManager: RunningProgram | undefined;
let writerNode: string;

function stack(): WebStack {
  return {
    apiVersion: 'webstack.dev/v1alpha1',
    kind: 'WebStack',
    metadata: { name: STACK, namespace: ns },
    spec: {
      domain: 'shop.e2e.test',
      // reencrypt: the internal CA (real cert-manager) signs the servers' certificates, so
      // replication, the controller and the writer speak verified TLS, and a renewal is a drill.
      tls: { mode: 'reencrypt', issuerRef: { name: 'e2e-public', kind: 'Issuer' } },
      app: { image: image('app:1.0'), replicas: 1 },
      loadBalancer: { replicas: 1, serviceType: 'ClusterIP' },
      web: { replicas: 1 },
      database: DATABASE,
      logging: { enabled: false },
      firewall: { extraIngress: [{ tier: 'database', from: { podLabels: { [WRITER_LABEL]: 'true' } }, ports: [{ port: 3306 }] }] },
    },
  };
}

beforeAll(async () => {
  await installCrds();
  ns = await newNamespace('db', { restricted: true });
  certManager = await startCertManager(ns, 'e2e-public', certificateAuthority('e2e public CA'));
  operator = await installChartOperator('webstack-db', ns);
  await applyIn(ns, [stack()]);
  // Every node holds a database pod here: the writers run on the operator's node, and a power-cut
  // drill moves the primary off it first and cuts only another replica's node.
  writerNode = (await operator.pods())[0]?.spec.nodeName ?? '';
}, 1_900_000);

afterAll(async () => {
  if (ns) await kubectl(['delete', 'webstack', '-n', ns, STACK, '--ignore-not-found', '--timeout=120s'], { allowFail: true });
  await operator?.uninstall();
  certManager?.stop();
  if (ns) await deleteNamespace(ns);
  // The stack's deletion may wait up to 120 s (a node just back from a power cut), then the namespace's.
}, 300_000);

const target = (): DrillTarget => ({
  configuration: 'mariadb-3',
  namespace: ns,
  stack: STACK,
  engine: 'mariadb',
  instances: 3,
  durability: 'Preferred',
  database: DATABASE,
  missingImage: image('mariadb:10.11-missing'),
  writerNode,
  operatorLog: async () => (operator ? operator.log(400) : ''),
});

describe('the database controller on real MariaDB servers: three instances, the operator from the chart', () => {
  it('chooses a primary, seeds and points two replicas, and labels the pods by role', async () => {
    const status = (await getJson<{ status?: { database?: { primary?: string } } }>(['webstack', STACK, '-n', ns])).status?.database ?? {};
    expect(status.primary).toMatch(new RegExp(`^${DB}-[0-2]$`));
    const pods = await getJson<{ items: { metadata: { name: string; labels: Record<string, string> } }[] }>(['pods', '-n', ns, '-l', 'app.kubernetes.io/component=database']);
    const roles = Object.fromEntries(pods.items.map((p) => [p.metadata.name, p.metadata.labels['webstack.dev/mysql-role']]));
    expect(Object.values(roles).sort()).toEqual(['primary', 'replica', 'replica']);
    expect(roles[status.primary ?? '']).toBe('primary');
  }, 60_000);

  registerDrills(target);
});
