/**
 * The shared log agent's objects, rendered from a list of stacks (render/agent.ts): one
 * DaemonSet and one ConfigMap for all of them, in the node's network namespace, each stack's
 * credentials from its own Secret copy.
 */
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { withDefaults, type DefaultedWebStack } from '../../../operator/api/defaults.js';
import { CONFIG_HASH_ANNOTATION, OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL } from '../../../operator/api/identity.js';
import { imageCatalog } from '../../../operator/api/images.js';
import type { WebStack } from '../../../operator/api/types.js';
import { renderLogAgent } from '../../../operator/render/agent.js';
import { agentNames, SHARED_AGENT } from '../../../operator/blueprint/agent.js';
import { LOG_AGENT } from '../../../operator/blueprint/layout.js';
import type { KubeObject } from '../../../operator/render/index.js';
import { example } from '../../support/render.js';

interface AgentPod {
  hostNetwork?: boolean;
  dnsPolicy?: string;
  affinity?: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: unknown[] } } };
  containers: { image: string; env: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[] }[];
  volumes: { name: string; hostPath?: { path: string } }[];
}
type DaemonSet = KubeObject & { spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: AgentPod } } };

const full = example('full');

function stackAt(namespace: string, name: string, edit: (s: WebStack) => void = () => undefined): DefaultedWebStack {
  const { status: _status, ...raw } = structuredClone(full) as unknown as WebStack;
  raw.metadata = { name, namespace };
  edit(raw);
  return withDefaults(raw);
}

const daemonSet = (objects: KubeObject[]): DaemonSet => {
  const found = objects.find((o) => o.kind === 'DaemonSet');
  if (!found) throw new Error('no DaemonSet');
  return found as DaemonSet;
};

describe('the shared log agent', () => {
  const stacks = [stackAt('shop', 'foobar'), stackAt('blog', 'news'), stackAt('wiki', 'docs', (s) => (s.spec.logging = { enabled: false }))];

  it('is one ConfigMap and one DaemonSet in the agent namespace for all stacks, config first', () => {
    const objects = renderLogAgent(stacks, { agentNamespace: 'agents' });
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)).toEqual([
      `ConfigMap/agents/${SHARED_AGENT.config}`,
      `DaemonSet/agents/${SHARED_AGENT.daemonSet}`,
    ]);
    // No stack owns it: no owner labels, so no stack's prune or finalizer touches it.
    for (const o of objects) expect(Object.keys(o.metadata.labels ?? {})).not.toEqual(expect.arrayContaining([OWNER_NAMESPACE_LABEL, OWNER_NAME_LABEL]));
  });

  it('has a pipeline for each stack with logging enabled, and nothing at all without one', () => {
    const config = parse((renderLogAgent(stacks)[0] as KubeObject & { data: Record<string, string> }).data[LOG_AGENT.configFile] ?? '') as { service: { pipelines: Record<string, unknown> } };
    expect(Object.keys(config.service.pipelines).sort()).toEqual([`logs/${agentNames('blog', 'news').base}`, `logs/${agentNames('shop', 'foobar').base}`, 'metrics'].sort());
    expect(renderLogAgent(stacks.slice(2))).toEqual([]);
    expect(renderLogAgent([])).toEqual([]);
  });

  it("runs in the node's network namespace, with the host root and pod logs read-only and one state folder", () => {
    const pod = daemonSet(renderLogAgent(stacks)).spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.volumes.map((v) => [v.name, v.hostPath?.path])).toEqual([
      ['config', undefined],
      ['pod-logs', '/var/log/pods'],
      ['host-root', '/'],
      ['state', '/var/lib/webstack-log-agent'],
    ]);
  });

  it("reads each stack's credentials from that stack's Secret copy, optionally", () => {
    const env = daemonSet(renderLogAgent(stacks)).spec.template.spec.containers[0]?.env ?? [];
    const fromSecrets = env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, e.valueFrom?.secretKeyRef]);
    expect(fromSecrets).toEqual(
      [stacks[1], stacks[0]].map((s) => {
        const n = agentNames(s?.metadata.namespace ?? '', s?.metadata.name ?? '');
        return [`${LOG_AGENT.env.sinkAuthorization}_${n.hash.toUpperCase()}`, { name: n.sinkSecret, key: 'authorization', optional: true }];
      }),
    );
    expect(env[0]).toEqual({ name: LOG_AGENT.env.nodeName, valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
  });

  it('rolls when a Secret copy changes, and not for an unrelated Secret', () => {
    const hash = (versions: Record<string, string>) => daemonSet(renderLogAgent(stacks, { secretVersions: versions })).spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION];
    const copy = agentNames('shop', 'foobar').sinkSecret;
    expect(hash({ [copy]: '2' })).not.toBe(hash({ [copy]: '1' }));
    expect(hash({ [copy]: '1', other: '9' })).toBe(hash({ [copy]: '1', other: '1' }));
  });

  it('runs on the nodes of any stack: the union of their node selectors, or every node when one has none', () => {
    const onPool = (pool: string) => (s: WebStack) => (s.spec.placement = { ...s.spec.placement, nodeSelector: { pool } });
    const both = daemonSet(renderLogAgent([stackAt('a', 'x', onPool('web')), stackAt('b', 'y', onPool('db'))])).spec.template.spec;
    expect(both.affinity?.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'pool', operator: 'In', values: ['web'] }] },
      { matchExpressions: [{ key: 'pool', operator: 'In', values: ['db'] }] },
    ]);
    const oneAnywhere = daemonSet(renderLogAgent([stackAt('a', 'x', onPool('web')), stackAt('b', 'y', (s) => (s.spec.placement = { ...s.spec.placement, nodeSelector: {} }))]));
    expect(oneAnywhere.spec.template.spec.affinity).toBeUndefined();
  });

  it("takes the operator's image catalog", () => {
    const images = imageCatalog({ logAgent: 'webstack.local/otelcol:0.165.0' });
    expect(daemonSet(renderLogAgent(stacks, { images })).spec.template.spec.containers[0]?.image).toBe('webstack.local/otelcol:0.165.0');
  });

  it('selects its pods by a label no per-stack agent of earlier releases had', () => {
    const ds = daemonSet(renderLogAgent(stacks));
    expect(ds.spec.selector.matchLabels[SHARED_AGENT.label]).toBe(SHARED_AGENT.labelValue);
    expect(ds.spec.template.metadata.labels).toMatchObject(ds.spec.selector.matchLabels);
  });

  it('gives every namespace/stack pair its own names, even when the dashed pairs read alike', () => {
    const bases = [agentNames('a-b', 'c'), agentNames('a', 'b-c'), agentNames('shop', 'c'), agentNames('blog', 'c')].map((n) => n.base);
    expect(new Set(bases).size).toBe(4);
    expect(bases[0]).toMatch(/^a-b-c-[0-9a-f]{8}$/);
  });
});
