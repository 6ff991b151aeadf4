/**
 * Every object render() produces for the full example, and the shared log agent rendered for it
 * (render/agent.ts), is accepted by a real API server: a
 * server-side dry-run apply (schema validation, defaulting, admission) in a namespace that
 * enforces Pod Security `restricted`, with the cert-manager and prometheus-operator CRDs that
 * hack/cluster installs. Pod Security is enforced on Pods only (workloads just warn), so each pod
 * template is also dry-run as a bare Pod.
 */
import { loadExample } from '../support/examples.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { withDefaults, type DefaultedWebStack } from '../../operator/api/defaults.js';
import { FIELD_MANAGER } from '../../operator/api/identity.js';
import { renderLogAgent } from '../../operator/render/agent.js';
import { render, type KubeObject } from '../../operator/render/index.js';
import { deleteNamespace, kubectl, newNamespace } from '../support/cluster.js';

let stackNs: string;
let agentNs: string;
let objects: KubeObject[];

const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
const dryRun = (items: unknown[]) =>
  kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager', FIELD_MANAGER, '-f', '-'], { input: list(items), allowFail: true });

/** A bare Pod with a workload's pod template (volume claims become emptyDirs), for Pod Security enforcement. */
function podOf(workload: KubeObject): Record<string, unknown> {
  const spec = workload.spec as {
    template: { metadata: Record<string, unknown>; spec: { volumes?: unknown[] } };
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
  const claims = (spec.volumeClaimTemplates ?? []).map((c) => ({ name: c.metadata.name, emptyDir: {} }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...spec.template.metadata, name: `${workload.metadata.name}-dry-run`, namespace: workload.metadata.namespace },
    spec: { ...spec.template.spec, volumes: [...(spec.template.spec.volumes ?? []), ...claims] },
  };
}

beforeAll(async () => {
  stackNs = await newNamespace('render', { restricted: true });
  // Workloads are only warned about; with warn=restricted a bad template shows up on stderr.
  await kubectl(['label', 'namespace', stackNs, 'pod-security.kubernetes.io/warn=restricted', 'pod-security.kubernetes.io/warn-version=latest']);
  // The agent needs hostPath and the host network: its namespace is privileged (docs/adr/0010-one-shared-log-agent.md).
  agentNs = await newNamespace('agents');
  await kubectl(['label', 'namespace', agentNs, 'pod-security.kubernetes.io/enforce=privileged']);
  const doc = loadExample('full');
  const stack: DefaultedWebStack = withDefaults({ ...doc, metadata: { ...doc.metadata, namespace: stackNs } });
  objects = [...render(stack, { certManager: true, prometheusOperator: true, agentNamespace: agentNs }), ...renderLogAgent([stack], { agentNamespace: agentNs })];
}, 120_000);

afterAll(async () => {
  await Promise.all([deleteNamespace(stackNs), deleteNamespace(agentNs)]);
});

describe('rendered objects on a real API server', () => {
  it('covers every kind the operator applies', () => {
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of ['NetworkPolicy', 'Certificate', 'Issuer', 'ConfigMap', 'Service', 'StatefulSet', 'Deployment', 'DaemonSet', 'PodDisruptionBudget', 'PodMonitor', 'PrometheusRule']) {
      expect(kinds).toContain(kind);
    }
  });

  it('accepts every object in a server-side dry-run apply, without Pod Security warnings', async () => {
    const result = await dryRun(objects);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const applied = result.stdout.trim().split('\n');
    expect(applied).toHaveLength(objects.length);
    for (const line of applied) expect(line).toMatch(/serverside-applied \(server dry run\)$/);
  }, 60_000);

  it('admits each pod template as a Pod under Pod Security enforcement', async () => {
    const pods = objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind)).map(podOf);
    const result = await dryRun(pods);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  }, 60_000);

  it('would refuse a pod that breaks the restricted profile (the check is live)', async () => {
    const deployment = objects.find((o) => o.kind === 'Deployment');
    if (!deployment) throw new Error('no Deployment rendered');
    const pod = podOf(deployment) as { spec: { containers: { securityContext: Record<string, unknown> }[] } };
    for (const c of pod.spec.containers) c.securityContext.allowPrivilegeEscalation = true;
    const result = await dryRun([pod]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('violates PodSecurity "restricted');
  }, 60_000);
});
