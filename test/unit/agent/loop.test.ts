/**
 * The agent loop over an in-memory cluster: all stacks -> the shared agent, applied with its own
 * field manager, written only when something changed, removed when no stack logs any more.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { LogAgentLoop } from '../../../operator/agent/loop.js';
import { imageCatalog } from '../../../operator/api/images.js';
import type { WebStack } from '../../../operator/api/types.js';
import type { KubeObject } from '../../../operator/kube/types.js';
import { agentNames, SHARED_AGENT } from '../../../operator/blueprint/agent.js';
import { CONFIG_HASH_ANNOTATION } from '../../../operator/api/identity.js';
import { example } from '../../support/render.js';
import { clone, FakeCluster, type Write } from '../../support/fake-cluster.js';

const AGENTS = 'agents';
const log = pino({ level: 'silent' });

let cluster: FakeCluster;
let loop: LogAgentLoop;

function addStack(namespace: string, name: string, edit: (s: WebStack) => void = () => undefined): WebStack {
  const { status: _status, ...raw } = clone(example('full')) as unknown as WebStack;
  raw.metadata = { name, namespace };
  edit(raw);
  return cluster.seed(raw);
}

const stdout = (s: WebStack) => (s.spec.logging = { sink: { type: 'stdout' } });
const names = (writes: Write[]) => writes.map((w) => `${w.verb} ${w.kind}/${w.name}`);
const hash = () => (cluster.get('DaemonSet', AGENTS, SHARED_AGENT.daemonSet) as (KubeObject & { spec: { template: { metadata: { annotations: Record<string, string> } } } }) | undefined)?.spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION];

async function sync(): Promise<Write[]> {
  await loop.pass();
  return cluster.takeWrites();
}

beforeEach(() => {
  cluster = new FakeCluster();
  loop = new LogAgentLoop({ stacks: () => cluster.list('WebStack') as WebStack[], caches: cluster, objects: cluster, agentNamespace: AGENTS, images: imageCatalog(), logger: log });
});

describe('the agent loop', () => {
  it('renders one agent for all stacks, then writes nothing while nothing changes', async () => {
    addStack('shop', 'one', stdout);
    addStack('blog', 'two', stdout);
    expect(names(await sync())).toEqual([`apply ConfigMap/${SHARED_AGENT.config}`, `apply DaemonSet/${SHARED_AGENT.daemonSet}`]);
    expect(loop.stacks().map((s) => s.metadata.name).sort()).toEqual(['one', 'two']);
    expect(await sync()).toEqual([]);
  });

  it('adds a stack whose sink has credentials once its Secret copy exists, and rolls the agent when the copy changes', async () => {
    addStack('shop', 'one', stdout);
    addStack('shop', 'full');
    await sync();
    expect(loop.stacks().map((s) => s.metadata.name)).toEqual(['one']);
    const copy = { apiVersion: 'v1', kind: 'Secret', metadata: { name: agentNames('shop', 'full').sinkSecret, namespace: AGENTS, resourceVersion: '1' } };
    cluster.seed(copy);
    const before = hash();
    expect(names(await sync())).toEqual([`apply ConfigMap/${SHARED_AGENT.config}`, `apply DaemonSet/${SHARED_AGENT.daemonSet}`]);
    expect(loop.stacks().map((s) => s.metadata.name).sort()).toEqual(['full', 'one']);
    const withCopy = hash();
    expect(withCopy).not.toBe(before);
    cluster.seed({ ...copy, metadata: { ...copy.metadata, resourceVersion: '2' } });
    expect(names(await sync())).toEqual([`apply DaemonSet/${SHARED_AGENT.daemonSet}`]);
    expect(hash()).not.toBe(withCopy);
  });

  it('leaves out stacks being deleted or with logging off, and removes the agent when none is left', async () => {
    addStack('shop', 'one', stdout);
    await sync();
    addStack('shop', 'one', (s) => (s.spec.logging = { enabled: false }));
    expect(names(await sync()).sort()).toEqual([`delete ConfigMap/${SHARED_AGENT.config}`, `delete DaemonSet/${SHARED_AGENT.daemonSet}`]);
    expect(cluster.list('DaemonSet', AGENTS)).toEqual([]);
  });

  it('never deletes per-stack objects in the agent namespace (those are their stacks\' to prune)', async () => {
    addStack('shop', 'one', stdout);
    cluster.seed({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'old-log-agent', namespace: AGENTS, labels: { 'webstack.dev/owner-name': 'one' } } });
    await sync();
    expect(cluster.get('DaemonSet', AGENTS, 'old-log-agent')).toBeDefined();
  });
});
