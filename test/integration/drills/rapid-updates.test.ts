/**
 * Drill: 50 spec updates to one WebStack as fast as the API takes them, alternating
 * web.replicas and app.image. However the operator coalesces them, the end state is the last
 * spec, and status reports the final generation (observedGeneration, and Ready for it).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { WebStack } from '../../../operator/api/types.js';
import type { KubeClient } from '../../../operator/kube/client.js';
import { createKubeClient } from '../../../operator/kube/config.js';
import type { RunningOperator } from '../../../operator/main.js';
import { deleteNamespace, eventually, getJson, installCrds, kubeconfigPath, kubectl, newNamespace } from '../../support/cluster.js';
import { AGENT_NAMESPACE, startTestOperator } from '../../support/operator.js';
import { removeStack } from '../../support/process.js';
import { loadExample } from '../../support/examples.js';

jest.setTimeout(180_000);

const UPDATES = 50;

let ns: string;
let client: KubeClient;
let operator: RunningOperator | undefined;

interface Deployment {
  spec: { replicas: number; template: { spec: { containers: { name: string; image: string }[] } } };
}

beforeAll(async () => {
  await installCrds();
  await kubectl(['create', 'namespace', AGENT_NAMESPACE], { allowFail: true });
  const issuer = { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt' }, spec: { selfSigned: {} } };
  await kubectl(['apply', '--server-side', '--field-manager', 'platform-team', '-f', '-'], { input: JSON.stringify(issuer) });
  ns = await newNamespace('drill-rapid', { restricted: true });
  client = createKubeClient({ path: kubeconfigPath(), requestTimeoutMs: 10_000 }).client;
  operator = await startTestOperator(ns);
});

afterAll(async () => {
  await removeStack(ns, 'minimal');
  await operator?.stop();
  await deleteNamespace(ns);
});

describe('rapid spec updates', () => {
  it(`ends at the last of ${UPDATES} updates, with status for the final generation`, async () => {
    const stack = loadExample('minimal', ns);
    await kubectl(['apply', '--server-side', '--field-manager', 'platform-team', '-f', '-'], { input: JSON.stringify(stack) });
    const path = `/apis/webstack.dev/v1alpha1/namespaces/${ns}/webstacks/minimal`;

    let replicas = 3;
    let image = stack.spec.app.image;
    // Merge patches straight to the API: no kubectl start-up between updates, so they pile up.
    for (let i = 0; i < UPDATES; i++) {
      if (i % 2 === 0) replicas = 2 + (i % 5);
      else image = `ghcr.io/acme/shop:1.5.${i}`;
      await client.request({
        method: 'PATCH',
        path,
        contentType: 'application/merge-patch+json',
        body: { spec: { web: { replicas }, app: { image } } },
      });
    }
    const final = await getJson<WebStack>(['webstack', 'minimal', '-n', ns]);
    const generation = final.metadata.generation;
    expect(generation).toBeGreaterThanOrEqual(UPDATES);

    await eventually(
      async () => {
        const web = await getJson<Deployment>(['deployment', 'minimal-web', '-n', ns]);
        const app = await getJson<Deployment>(['deployment', 'minimal-app', '-n', ns]);
        const appImage = app.spec.template.spec.containers.find((c) => c.name === 'app')?.image;
        if (web.spec.replicas !== replicas || appImage !== image) throw new Error(`web ${web.spec.replicas} replicas, app image ${appImage ?? 'none'}`);
        const ws = await getJson<WebStack>(['webstack', 'minimal', '-n', ns]);
        const ready = ws.status?.conditions?.find((c) => c.type === 'Ready');
        if (ws.status?.observedGeneration !== generation) throw new Error(`observedGeneration ${ws.status?.observedGeneration ?? 'none'} of ${generation ?? '?'}`);
        if (ready?.status !== 'True' || ready.observedGeneration !== generation) {
          throw new Error(`Ready ${ready?.status ?? 'absent'} for generation ${ready?.observedGeneration ?? '?'}: ${ready?.message ?? ''}`);
        }
      },
      { description: `web replicas ${replicas}, app image ${image} and Ready=True for generation ${generation ?? '?'}`, timeoutMs: 150_000 },
    );
    const reconciles = await operator?.metrics.registry.getSingleMetric('webstack_reconcile_total')?.get();
    process.stderr.write(`${UPDATES} updates -> reconciles ${JSON.stringify(reconciles?.values.map((v) => [v.labels.result, v.value]))}\n`);
  });
});
