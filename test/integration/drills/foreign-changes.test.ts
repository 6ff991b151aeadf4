/**
 * Drill: someone else changes what the operator manages. A field taken over by another field
 * manager is taken back; a child replaced by an incompatible object (an ExternalName Service, a
 * StatefulSet with another selector) is restored or reported in a condition, and the operator
 * neither crashes nor spins: reconcile errors back off.
 *
 * The operator runs as a child process so it can be paused (SIGSTOP) while a child is swapped:
 * otherwise it would recreate the deleted original before the impostor could be created.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { FIELD_MANAGER } from '../../../operator/api/identity.js';
import type { WebStack } from '../../../operator/api/types.js';
import { deleteNamespace, eventually, getJson, installCrds, kubectl, newNamespace } from '../../support/cluster.js';
import { AGENT_NAMESPACE } from '../../support/operator.js';
import { childrenOf, conditionOf, expectedChildren, metricValue, removeStack, startOperatorProcess, type OperatorProcess } from '../../support/process.js';
import { loadExample } from '../../support/examples.js';

jest.setTimeout(120_000);

let ns: string;
let op: OperatorProcess | undefined;

interface Live {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; managedFields?: { manager: string; fieldsV1?: unknown }[] };
  spec: Record<string, unknown>;
}

const apply = (obj: unknown, manager = 'platform-team', force = false) =>
  kubectl(['apply', '--server-side', '--field-manager', manager, ...(force ? ['--force-conflicts'] : []), '-f', '-'], { input: JSON.stringify(obj) });

/** Swaps a child for `impostor` while the operator is paused, so it cannot recreate the original first. */
async function swapWhilePaused(resource: string, impostor: unknown): Promise<void> {
  op?.signal('SIGSTOP');
  try {
    await kubectl(['delete', resource, '-n', ns, '--wait=true']);
    await kubectl(['create', '-f', '-'], { input: JSON.stringify(impostor) });
  } finally {
    op?.signal('SIGCONT');
  }
}

/** The live object as a manifest someone could create: same name and labels, no server fields. */
async function copyOf(resource: string): Promise<Live> {
  const live = await getJson<Live & { status?: unknown }>([resource, '-n', ns]);
  const { name, namespace, labels } = live.metadata;
  return { apiVersion: live.apiVersion, kind: live.kind, metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) }, spec: live.spec };
}

async function errors(): Promise<number> {
  return metricValue((await op?.metrics()) ?? '', 'webstack_reconcile_total', { result: 'error' });
}

/** Either the operator put its own version back, or Ready says which child it could not apply and why. */
async function restoredOrReported(restored: () => Promise<boolean>, child: string): Promise<'restored' | 'reported'> {
  return eventually(
    async () => {
      if (await restored()) return 'restored' as const;
      const ready = await conditionOf(ns, 'minimal', 'Ready');
      if (ready?.status === 'False' && ready.reason === 'ApplyFailed' && ready.message.includes(child)) return 'reported' as const;
      throw new Error(`not restored; Ready ${ready?.status ?? 'absent'} ${ready?.reason ?? ''}: ${ready?.message ?? ''}`);
    },
    { description: `${child} to be restored or reported as ApplyFailed`, timeoutMs: 45_000 },
  );
}

/** Over a window, the operator stays up and retries a refused child with backoff, not in a hot loop. */
async function backsOff(windowMs: number): Promise<number> {
  const before = await errors();
  await new Promise((r) => setTimeout(r, windowMs));
  expect(op?.alive()).toBe(true);
  const failures = (await errors()) - before;
  // Backoff from 1 s doubling allows ~5 failures in 20 s; child events may cut a wait short.
  expect(failures).toBeLessThanOrEqual(windowMs / 1000);
  return failures;
}

beforeAll(async () => {
  await installCrds();
  await kubectl(['create', 'namespace', AGENT_NAMESPACE], { allowFail: true });
  await apply({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt' }, spec: { selfSigned: {} } });
  ns = await newNamespace('drill-foreign', { restricted: true });
  op = await startOperatorProcess({ args: ['--namespaces', ns, '--leader-elect=false', '--resync-period', '0'] });
  const stack = loadExample('minimal', ns);
  await apply(stack);
  const expected = expectedChildren(stack);
  await eventually(
    async () => {
      const actual = await childrenOf(ns, 'minimal');
      if (actual.join() !== expected.join()) throw new Error(`${actual.length}/${expected.length} children`);
      const ws = await getJson<WebStack>(['webstack', 'minimal', '-n', ns]);
      if (ws.status?.observedGeneration !== ws.metadata.generation) throw new Error('generation not observed yet');
    },
    { description: 'the minimal stack to have all its children', timeoutMs: 60_000 },
  );
}, 120_000);

afterAll(async () => {
  if (op?.alive()) op.signal('SIGCONT');
  await removeStack(ns, 'minimal');
  await op?.kill();
  await deleteNamespace(ns);
});

describe('changes by other field managers', () => {
  it('takes back a managed field another manager forced', async () => {
    await apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'minimal-web', namespace: ns }, spec: { replicas: 7 } }, 'intruder', true);
    await eventually(
      async () => {
        const web = await getJson<Live & { spec: { replicas: number } }>(['deployment', 'minimal-web', '-n', ns, '--show-managed-fields']);
        if (web.spec.replicas !== 3) throw new Error(`web has ${web.spec.replicas} replicas`);
        const intruder = web.metadata.managedFields?.find((f) => f.manager === 'intruder');
        if (JSON.stringify(intruder?.fieldsV1 ?? {}).includes('f:replicas')) throw new Error('intruder still owns spec.replicas');
        const ours = web.metadata.managedFields?.find((f) => f.manager === FIELD_MANAGER);
        if (!JSON.stringify(ours?.fieldsV1 ?? {}).includes('f:replicas')) throw new Error(`${FIELD_MANAGER} does not own spec.replicas`);
      },
      { description: `deployment minimal-web back at 3 replicas, spec.replicas owned by ${FIELD_MANAGER}`, timeoutMs: 30_000 },
    );
  });

  it('restores or reports a Service replaced by an ExternalName one', async () => {
    const impostor = await copyOf('service/minimal-web');
    impostor.spec = { type: 'ExternalName', externalName: 'intruder.example.com' };
    await swapWhilePaused('service/minimal-web', impostor);
    const outcome = await restoredOrReported(async () => {
      const svc = await getJson<Live>(['service', 'minimal-web', '-n', ns]);
      return svc.spec.type === 'ClusterIP' && svc.spec.externalName === undefined;
    }, 'Service/minimal-web');
    process.stderr.write(`ExternalName Service: ${outcome}\n`);
    if (outcome === 'reported') await backsOff(20_000);
    expect(op?.alive()).toBe(true);
  });

  it('restores or reports a StatefulSet replaced by one with another selector, without a hot loop', async () => {
    const impostor = await copyOf('statefulset/minimal-mysql');
    const ours = JSON.stringify((impostor.spec.selector as { matchLabels: Record<string, string> }).matchLabels);
    const intruderLabels = { app: 'intruder' };
    const template = impostor.spec.template as { metadata: { labels: Record<string, string> } };
    impostor.spec = { ...impostor.spec, selector: { matchLabels: intruderLabels }, template: { ...template, metadata: { ...template.metadata, labels: intruderLabels } } };
    await swapWhilePaused('statefulset/minimal-mysql', impostor);
    const outcome = await restoredOrReported(async () => {
      const sts = await getJson<Live & { spec: { selector: { matchLabels: Record<string, string> } } }>(['statefulset', 'minimal-mysql', '-n', ns]);
      return JSON.stringify(sts.spec.selector.matchLabels) === ours;
    }, 'StatefulSet/minimal-mysql');
    const failures = outcome === 'reported' ? await backsOff(20_000) : 0;
    process.stderr.write(`StatefulSet with another selector: ${outcome}; ${failures} reconcile errors in 20 s\n`);

    // Once the impostor is gone, the operator creates its own again and the condition clears.
    await kubectl(['delete', 'statefulset', 'minimal-mysql', '-n', ns, '--wait=true']);
    await eventually(
      async () => {
        const ready = await conditionOf(ns, 'minimal', 'DatabaseReady');
        if (ready?.reason === 'ApplyFailed') throw new Error(`DatabaseReady still ApplyFailed: ${ready.message}`);
        const sts = await getJson<{ spec: { selector: { matchLabels: Record<string, string> } } }>(['statefulset', 'minimal-mysql', '-n', ns]);
        if (JSON.stringify(sts.spec.selector.matchLabels) !== ours) throw new Error('not our StatefulSet');
      },
      { description: 'the operator to recreate its StatefulSet and clear ApplyFailed', timeoutMs: 45_000 },
    );
  });
});
