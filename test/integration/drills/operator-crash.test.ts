/**
 * Drill: the operator process is SIGKILLed in the middle of a large reconcile, five times, and
 * restarted each time. Every restart converges to exactly the rendered children (none missing,
 * none left over from the previous spec, no duplicates), and the generated database credentials
 * survive every crash unchanged (same uid, same data).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { pino } from 'pino';
import type { WebStack } from '../../../operator/api/types.js';
import { ChildCaches } from '../../../operator/controller/caches.js';
import { createKubeClient } from '../../../operator/kube/config.js';
import { deleteNamespace, eventually, getJson, installCrds, kubeconfigPath, kubectl, newNamespace } from '../../support/cluster.js';
import { AGENT_NAMESPACE } from '../../support/operator.js';
import { childrenOf, conditionOf, expectedChildren, removeStack, startOperatorProcess, type OperatorProcess } from '../../support/process.js';
import { loadExample } from '../../support/examples.js';

jest.setTimeout(150_000);

let ns: string;
const processes: OperatorProcess[] = [];
let events = 0;
let caches: ChildCaches | undefined;

const apply = (obj: unknown) => kubectl(['apply', '--server-side', '--field-manager', 'platform-team', '-f', '-'], { input: JSON.stringify(obj) });

async function startOperator(): Promise<OperatorProcess> {
  const op = await startOperatorProcess({ args: ['--namespaces', ns, '--leader-elect=false', '--resync-period', '0'] });
  processes.push(op);
  return op;
}

/** Resolves once `n` more changes to the stack's children have been seen: the reconcile is under way. */
async function afterChildChanges(n: number, timeoutMs = 60_000): Promise<void> {
  const target = events + n;
  await eventually(
    () => {
      if (events < target) throw new Error(`${events - target + n}/${n} child changes seen`);
      return Promise.resolve();
    },
    { description: `${n} changes to the children`, timeoutMs, intervalMs: 10 },
  );
}

/**
 * Each round's spec touches many children: monitoring on/off (PodMonitors and the rule pruned or
 * created), tolerations (every workload), aliases (certificates, configs), replicas and images.
 */
function variant(round: number): WebStack {
  const stack = loadExample('full', ns);
  const odd = round % 2 === 1;
  stack.spec.monitoring = { ...stack.spec.monitoring, enabled: !odd };
  stack.spec.web = { ...stack.spec.web, replicas: 3 + (round % 3) };
  stack.spec.app = { ...stack.spec.app, image: `ghcr.io/foobar/shop:2.7.${round}` };
  stack.spec.aliases = odd ? ['foobar.com'] : ['foobar.com', 'shop.foobar.com'];
  const tolerations = stack.spec.placement?.tolerations ?? [];
  stack.spec.placement = { ...stack.spec.placement, tolerations: odd ? [...tolerations, { key: `drill-${round}`, operator: 'Exists' }] : tolerations };
  return stack;
}

beforeAll(async () => {
  await installCrds();
  await kubectl(['create', 'namespace', AGENT_NAMESPACE], { allowFail: true });
  ns = await newNamespace('drill-crash', { restricted: true });
  await apply({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt-prod' }, spec: { selfSigned: {} } });
  for (const name of ['stripe', 'shop-settings', 'ghcr-foobar', 'loki-credentials']) {
    await kubectl(['create', 'secret', 'generic', name, '-n', ns, '--from-literal=api-key=test']);
  }
  // A watch of our own on the children, to SIGKILL the operator while it is writing them.
  const { client } = createKubeClient({ path: kubeconfigPath(), requestTimeoutMs: 10_000 });
  caches = new ChildCaches({ client, namespaces: [ns, AGENT_NAMESPACE], logger: pino({ level: 'warn' }) });
  caches.enable('certManager');
  caches.enable('prometheusOperator');
  caches.onChange(() => events++);
  caches.start();
  await caches.waitForSync();
});

afterAll(async () => {
  // An operator must run to clear the finalizer and remove the agent-namespace children.
  for (const p of processes) await p.kill();
  const cleaner = await startOperator().catch(() => undefined);
  await removeStack(ns, 'foobar');
  await cleaner?.kill();
  await caches?.stop();
  await deleteNamespace(ns);
});

describe('SIGKILL during a large reconcile', () => {
  it('converges after every restart, with no missing, orphaned or duplicate children and the same credentials', async () => {
    let credentials: { uid: string; data: Record<string, string> } | undefined;
    let killedMidway = 0;
    let op = await startOperator();
    for (let round = 0; round < 5; round++) {
      const stack = variant(round);
      const expected = expectedChildren(stack);
      await apply(stack);
      // Round 0 creates ~40 children: kill deep into it; later rounds change ~15: kill early.
      await afterChildChanges(round === 0 ? 12 : 1 + round);
      op.signal('SIGKILL');
      const { signal } = await op.exited;
      expect(signal).toBe('SIGKILL');
      if ((await childrenOf(ns, 'foobar')).join() !== expected.join()) killedMidway++;

      op = await startOperator();
      const generation = (await getJson<WebStack>(['webstack', 'foobar', '-n', ns])).metadata.generation;
      await eventually(
        async () => {
          const actual = await childrenOf(ns, 'foobar');
          const missing = expected.filter((k) => !actual.includes(k));
          const extra = actual.filter((k, i) => !expected.includes(k) || actual.indexOf(k) !== i);
          if (missing.length + extra.length > 0) throw new Error(`missing ${missing.join(', ') || 'none'}; extra or duplicate ${extra.join(', ') || 'none'}`);
          const ws = await getJson<WebStack>(['webstack', 'foobar', '-n', ns]);
          if (ws.status?.observedGeneration !== generation) throw new Error(`observedGeneration ${ws.status?.observedGeneration ?? 'none'}, generation ${generation ?? '?'}`);
          const web = await getJson<{ spec: { replicas: number } }>(['deployment', 'foobar-web', '-n', ns]);
          if (web.spec.replicas !== stack.spec.web?.replicas) throw new Error(`web has ${web.spec.replicas} replicas, spec says ${stack.spec.web?.replicas ?? '?'}`);
        },
        { description: `round ${round}: the restarted operator to converge to the rendered children of generation ${generation ?? '?'}`, timeoutMs: 60_000 },
      );

      const secret = await getJson<{ metadata: { uid: string }; data: Record<string, string> }>(['secret', 'foobar-mysql-credentials', '-n', ns]);
      credentials ??= { uid: secret.metadata.uid, data: secret.data };
      expect({ uid: secret.metadata.uid, data: secret.data }).toEqual(credentials);
    }
    // The kills landed while children were still being written, not after the work was done.
    expect(killedMidway).toBeGreaterThanOrEqual(3);

    // Finally, left alone, the stack becomes Ready for its last generation.
    const generation = (await getJson<WebStack>(['webstack', 'foobar', '-n', ns])).metadata.generation;
    await eventually(
      async () => {
        const ready = await conditionOf(ns, 'foobar', 'Ready');
        if (ready?.status !== 'True' || ready.observedGeneration !== generation) throw new Error(`Ready ${ready?.status ?? 'absent'}: ${ready?.message ?? ''}`);
      },
      { description: 'Ready=True for the last generation', timeoutMs: 120_000 },
    );
  });
});
