/**
 * The operator against the real control plane: create, update, drift, pruning, missing
 * dependencies, deletion and idleness, as a platform engineer would see them with kubectl.
 */
import { loadExample } from '../support/examples.js';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { WebStack } from '../../operator/api/types.js';
import type { RunningOperator } from '../../operator/main.js';
import { deleteNamespace, eventually, getJson, installCrds, kubectl, newNamespace } from '../support/cluster.js';
import { AGENT_NAMESPACE, requestsByKind, startTestOperator, writeRequests } from '../support/operator.js';

// Each step waits on real controllers (scheduler, KWOK, garbage collector).
jest.setTimeout(240_000);

interface Obj {
  metadata: { name: string; uid: string; labels?: Record<string, string>; ownerReferences?: unknown[]; generation?: number; resourceVersion?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}
interface List {
  items: Obj[];
}
interface PodObj extends Obj {
  spec: { nodeName?: string };
  status: { conditions?: { type: string; status: string }[] };
}

const apply = (obj: unknown) => kubectl(['apply', '--server-side', '--field-manager', 'platform-team', '-f', '-'], { input: JSON.stringify(obj) });

async function condition(ns: string, name: string, type: string): Promise<{ status: string; reason: string; message: string; observedGeneration?: number } | undefined> {
  const ws = await getJson<WebStack>(['webstack', name, '-n', ns]);
  return ws.status?.conditions?.find((c) => c.type === type);
}

async function waitForCondition(ns: string, name: string, type: string, status: string, timeoutMs = 120_000) {
  return eventually(
    async () => {
      const c = await condition(ns, name, type);
      if (c?.status !== status) throw new Error(`${type} is ${c?.status ?? 'absent'}: ${c?.reason ?? ''} ${c?.message ?? ''}`);
      return c;
    },
    { description: `${type}=${status} on webstack ${ns}/${name}`, timeoutMs },
  );
}

async function prerequisites(ns: string): Promise<void> {
  for (const issuer of ['letsencrypt', 'letsencrypt-prod']) {
    await apply({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: issuer }, spec: { selfSigned: {} } });
  }
  for (const name of ['stripe', 'shop-settings', 'ghcr-foobar']) {
    await kubectl(['create', 'secret', 'generic', name, '-n', ns, '--from-literal=api-key=test']);
  }
  await kubectl(['create', 'secret', 'generic', 'loki-credentials', '-n', ns, '--from-literal=authorization=Basic dGVzdDp0ZXN0']);
}

const podsOf = async (ns: string, component: string) =>
  (await getJson<{ items: PodObj[] }>(['pods', '-n', ns, '-l', `app.kubernetes.io/instance=foobar,app.kubernetes.io/component=${component}`])).items;

let ns: string;
let operator: RunningOperator;

beforeAll(async () => {
  await installCrds();
  await kubectl(['create', 'namespace', AGENT_NAMESPACE], { allowFail: true });
  ns = await newNamespace('ctrl', { restricted: true });
  await prerequisites(ns);
  operator = await startTestOperator(ns);
});

afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

describe('a full WebStack', () => {
  it('converges: every tier Ready on 3 distinct nodes, status and columns filled', async () => {
    await apply(loadExample('full', ns));
    await waitForCondition(ns, 'foobar', 'Ready', 'True', 180_000);
    const { code } = await kubectl(['wait', '--for=condition=Ready', 'webstack/foobar', '-n', ns, '--timeout=10s']);
    expect(code).toBe(0);

    const ws = await getJson<WebStack>(['webstack', 'foobar', '-n', ns]);
    expect(ws.status?.observedGeneration).toBe(ws.metadata.generation);
    expect(ws.status?.conditions?.every((c) => c.observedGeneration === ws.metadata.generation)).toBe(true);
    expect(ws.status?.tiers).toEqual({ loadBalancer: '3/3', web: '3/3', app: '5/5', database: '3/3' });
    // KWOK pods run no database: the controller is off here (test/support/operator.ts); e2e shows roles.
    expect(ws.status?.database).toBeUndefined();
    expect(ws.status?.loadBalancer?.address).toMatch(/^203\.0\.113\.\d+$/);

    for (const component of ['loadbalancer', 'web', 'app', 'database']) {
      const pods = await podsOf(ns, component);
      expect(pods.every((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))).toBe(true);
      expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(3);
    }

    const { stdout } = await kubectl(['get', 'ws', '-n', ns]);
    const [header, row] = stdout.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'DOMAIN', 'READY', 'LB', 'WEB', 'APP', 'DB', 'PRIMARY', 'DURABILITY', 'ADDRESS', 'AGE']);
    // The PRIMARY column is empty on fake nodes: nothing runs a database there (the e2e suite shows one).
    expect(row).toMatch(/^foobar\s+www\.foobar\.com\s+True\s+3\/3\s+3\/3\s+5\/5\s+3\/3\s+Required\s+203\.0\.113\.\d+\s+\S+$/);
  });

  it('rolls the load balancer once from the temporary public certificate to the issued one, no pod for an internal one, and both for a renewal', async () => {
    type Deployment = Obj & { spec: { template: { metadata: { annotations: Record<string, string> } } } };
    const hashOf = (d: Deployment) => d.spec.template.metadata.annotations['webstack.dev/config-hash'];
    // The LB pods were created before the public certificate was issued: they start with the
    // temporary one, so its issuance rolls them, once. The web pods' certificate has no temporary
    // phase: its first issuance is what they start with, no roll.
    const before = await eventually(
      async () => {
        const d = await getJson<Deployment>(['deployment', 'foobar-lb', '-n', ns]);
        if (d.metadata.generation !== 2) throw new Error(`generation ${d.metadata.generation ?? '?'}`);
        return d;
      },
      { description: 'the load balancer rolled to the issued public certificate', timeoutMs: 60_000 },
    );
    expect((await getJson<Deployment>(['deployment', 'foobar-web', '-n', ns])).metadata.generation).toBe(1);
    const cert = (await getJson<List>(['certificates', '-n', ns, '-l', 'app.kubernetes.io/instance=foobar'])).items.find(
      (c) => c.spec?.secretName === 'foobar-tls',
    );
    expect(cert).toBeDefined();
    // What `cmctl renew` does: cert-manager issues again and counts status.revision up.
    const issuing = { type: 'Issuing', status: 'True', reason: 'ManuallyTriggered', message: 'renewal requested by the test', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    await kubectl(['patch', 'certificate', cert?.metadata.name ?? '', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [issuing] } })]);
    const after = await eventually(
      async () => {
        const d = await getJson<Deployment>(['deployment', 'foobar-lb', '-n', ns]);
        if (hashOf(d) === hashOf(before)) throw new Error(`config hash still ${hashOf(d) ?? 'absent'}`);
        return d;
      },
      { description: 'the load balancer pods to roll for the renewed certificate', timeoutMs: 60_000 },
    );
    expect(after.metadata.generation).toBe(3);
    const web = await getJson<Deployment>(['deployment', 'foobar-web', '-n', ns]);
    expect(web.metadata.generation).toBe(1); // its own certificate was not renewed
    await waitForCondition(ns, 'foobar', 'Ready', 'True');
  });

  it('owns every namespaced child and labels the agent namespace ones; the shared log agent is nobody\'s', async () => {
    const deployments = await getJson<List>(['deployments', '-n', ns, '-l', 'app.kubernetes.io/instance=foobar']);
    expect(deployments.items.map((d) => d.metadata.name).sort()).toEqual(['foobar-app', 'foobar-app-canary', 'foobar-lb', 'foobar-web']);
    expect(deployments.items.every((d) => d.metadata.ownerReferences?.length === 1)).toBe(true);
    const perStack = await getJson<List>(['daemonsets', '-n', AGENT_NAMESPACE, '-l', `webstack.dev/owner-namespace=${ns}`]);
    expect(perStack.items).toHaveLength(0);
    const shared = await getJson<List>(['daemonsets', '-n', AGENT_NAMESPACE, '-l', 'webstack.dev/log-agent=shared']);
    expect(shared.items.map((d) => [d.metadata.name, d.metadata.labels?.['webstack.dev/owner-name']])).toEqual([['webstack-log-agent', undefined]]);
    const sinkCopies = await getJson<List>(['secrets', '-n', AGENT_NAMESPACE, '-l', `webstack.dev/owner-namespace=${ns}`]);
    expect(sinkCopies.items).toHaveLength(1);
  });

  it('follows spec changes and observes the new generation', async () => {
    const stack = loadExample('full', ns);
    stack.spec.web = { ...stack.spec.web, replicas: 4 };
    stack.spec.app = { ...stack.spec.app, image: 'ghcr.io/foobar/shop:2.7.2' };
    await apply(stack);
    const generation = (await getJson<Obj>(['webstack', 'foobar', '-n', ns])).metadata.generation;
    await eventually(
      async () => {
        const web = await getJson<{ spec: { replicas: number } }>(['deployment', 'foobar-web', '-n', ns]);
        const app = await getJson<{ spec: { template: { spec: { containers: { name: string; image: string }[] } } } }>(['deployment', 'foobar-app', '-n', ns]);
        if (web.spec.replicas !== 4) throw new Error(`web has ${web.spec.replicas} replicas`);
        const image = app.spec.template.spec.containers[0]?.image;
        if (image !== 'ghcr.io/foobar/shop:2.7.2') throw new Error(`app image is ${image ?? 'none'}`);
      },
      { description: 'the web Deployment to have 4 replicas and the app the new image', timeoutMs: 60_000 },
    );
    const ready = await waitForCondition(ns, 'foobar', 'Ready', 'True');
    expect(ready.observedGeneration).toBe(generation);
  });

  it('restores a deleted child and a managed field someone else changed', async () => {
    const before = await getJson<Obj>(['service', 'foobar-web', '-n', ns]);
    await kubectl(['delete', 'service', 'foobar-web', '-n', ns]);
    await kubectl(['scale', 'deployment', 'foobar-lb', '-n', ns, '--replicas=1']);
    await eventually(
      async () => {
        const svc = await getJson<Obj>(['service', 'foobar-web', '-n', ns]);
        if (svc.metadata.uid === before.metadata.uid) throw new Error('still the old service');
        const lb = await getJson<{ spec: { replicas: number } }>(['deployment', 'foobar-lb', '-n', ns]);
        if (lb.spec.replicas !== 3) throw new Error(`lb has ${lb.spec.replicas} replicas`);
      },
      { description: 'service foobar-web to be recreated and deployment foobar-lb scaled back to 3', timeoutMs: 60_000 },
    );
  });

  it('makes no write requests while the stacks are converged', async () => {
    // The minimal example too: defaults render differently (e.g. empty label selectors).
    await apply(loadExample('minimal', ns));
    await waitForCondition(ns, 'minimal', 'Ready', 'True');
    await waitForCondition(ns, 'foobar', 'Ready', 'True');
    // Let the last events (status written, pods settling) pass before counting.
    await new Promise((r) => setTimeout(r, 5_000));
    const before = await writeRequests(operator);
    const kinds = await requestsByKind(operator);
    await new Promise((r) => setTimeout(r, 30_000));
    const after = await writeRequests(operator);
    await kubectl(['delete', 'webstack', 'minimal', '-n', ns]);
    if (after !== before) {
      const now = await requestsByKind(operator);
      const changed = Object.entries(now).filter(([k, v]) => kinds[k] !== v);
      throw new Error(`${after - before} writes while idle: ${JSON.stringify(changed)}`);
    }
    expect(after - before).toBe(0);
  }, 150_000);

  it('prunes monitoring and logging objects when they are turned off', async () => {
    const stack = loadExample('full', ns);
    stack.spec.web = { ...stack.spec.web, replicas: 4 };
    stack.spec.app = { ...stack.spec.app, image: 'ghcr.io/foobar/shop:2.7.2' };
    stack.spec.monitoring = { ...stack.spec.monitoring, enabled: false };
    stack.spec.logging = { ...stack.spec.logging, enabled: false };
    await apply(stack);
    await eventually(
      async () => {
        const monitors = await getJson<List>(['servicemonitors,podmonitors,prometheusrules', '-n', ns]);
        // The operator's only stack stopped logging: the shared agent goes too.
        const agents = await getJson<List>(['daemonsets,configmaps', '-n', AGENT_NAMESPACE, '-l', 'webstack.dev/log-agent=shared']);
        if (monitors.items.length + agents.items.length > 0) {
          throw new Error(`left: ${[...monitors.items, ...agents.items].map((o) => o.metadata.name).join(', ')}`);
        }
      },
      { description: 'monitors, rules and the log agent to be pruned', timeoutMs: 60_000 },
    );
    expect((await condition(ns, 'foobar', 'MonitoringReady'))?.reason).toBe('Disabled');
  });
});

describe('missing dependencies', () => {
  it('explains a missing issuer while the other tiers converge', async () => {
    const stack = loadExample('minimal', ns);
    stack.metadata.name = 'orphan';
    stack.spec.tls = { issuerRef: { name: 'no-such-issuer', kind: 'Issuer' } };
    await apply(stack);
    const tls = await waitForCondition(ns, 'orphan', 'TLSReady', 'False');
    expect(tls.reason).toBe('IssuerNotFound');
    expect(tls.message).toContain('Issuer no-such-issuer');
    expect((await condition(ns, 'orphan', 'Stalled'))?.status).toBe('True');
    await waitForCondition(ns, 'orphan', 'WebReady', 'True');
    await waitForCondition(ns, 'orphan', 'DatabaseReady', 'True');
    // Never Reconciling while Stalled, so kstatus (Flux) reads Failed, not InProgress.
    expect(await condition(ns, 'orphan', 'Stalled')).toMatchObject({ status: 'True', reason: 'IssuerNotFound' });
    expect(await condition(ns, 'orphan', 'Reconciling')).toMatchObject({ status: 'False', reason: 'Stalled' });
  });
});

describe('deletion', () => {
  it('garbage-collects children and keeps PVCs and credentials by default', async () => {
    await kubectl(['delete', 'webstack', 'orphan', '-n', ns, '--wait=true', '--timeout=60s']);
    await eventually(
      async () => {
        const left = await getJson<List>(['deployments,statefulsets,services,configmaps', '-n', ns, '-l', 'app.kubernetes.io/instance=orphan']);
        if (left.items.length > 0) throw new Error(`left: ${left.items.map((o) => o.metadata.name).join(', ')}`);
      },
      { description: 'the children of orphan to be garbage-collected', timeoutMs: 90_000 },
    );
    const claims = await getJson<List>(['pvc', '-n', ns, '-l', 'app.kubernetes.io/instance=orphan']);
    expect(claims.items.length).toBe(2);
    await kubectl(['get', 'secret', 'orphan-mysql-credentials', '-n', ns]);
  });

  it('deletes PVCs and credentials with deletionPolicy Delete', async () => {
    const stack = loadExample('minimal', ns);
    stack.metadata.name = 'ephemeral';
    stack.spec.database = { deletionPolicy: 'Delete' };
    stack.spec.tls = { issuerRef: { name: 'letsencrypt-prod', kind: 'ClusterIssuer' } };
    await apply(stack);
    await eventually(
      async () => {
        const claims = await getJson<List>(['pvc', '-n', ns, '-l', 'app.kubernetes.io/instance=ephemeral']);
        if (claims.items.length !== 2) throw new Error(`${claims.items.length} PVCs`);
      },
      { description: 'two PVCs for ephemeral', timeoutMs: 90_000 },
    );
    await kubectl(['delete', 'webstack', 'ephemeral', '-n', ns, '--wait=true', '--timeout=60s']);
    await eventually(
      async () => {
        const claims = await getJson<List>(['pvc', '-n', ns, '-l', 'app.kubernetes.io/instance=ephemeral']);
        const secret = await kubectl(['get', 'secret', 'ephemeral-mysql-credentials', '-n', ns], { allowFail: true });
        if (claims.items.length > 0 || secret.code === 0) throw new Error(`${claims.items.length} PVCs, secret ${secret.code === 0 ? 'present' : 'gone'}`);
      },
      { description: 'the PVCs and credentials of ephemeral to be deleted', timeoutMs: 90_000 },
    );
  });
});
