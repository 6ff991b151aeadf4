/**
 * The Helm chart as helm itself sees it: lint, rendering with default and non-default values,
 * least-privilege RBAC, restricted pods, and operator flags that the operator accepts.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { kubernetesVersion } from '../../../hack/gen-manifests.js';
import { DEFAULT_IMAGES, imageCatalog } from '../../../operator/api/images.js';
import { DEFAULT_AGENT_NAMESPACE } from '../../../operator/blueprint/agent.js';
import { LOG_LEVELS } from '../../../operator/runtime/logger.js';
import { parseConfig } from '../../../operator/runtime/config.js';
import { repoRoot } from '../../support/cluster.js';
import type { Role } from '../../support/rbac.js';
import { CHART_DIR, CUSTOM_VALUES, RELEASE_NAMESPACE, helm, ofKind, template, type K8sObject } from '../../support/helm.js';


interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  securityContext?: Record<string, unknown>;
}
interface PodSpec {
  securityContext?: Record<string, unknown>;
  containers: Container[];
  initContainers?: Container[];
  topologySpreadConstraints?: { topologyKey: string }[];
}
type Deployment = K8sObject & {
  spec: { replicas: number; template: { spec: PodSpec } };
};

const chart = path.join(repoRoot, CHART_DIR);
const TIMEOUT = 60_000;

// Verbs that let a holder grant itself more than it has, or act as someone else.
const DANGEROUS_VERBS = ['*', 'escalate', 'bind', 'impersonate'];

function expectLeastPrivilege(objects: K8sObject[]): void {
  const roles = [...ofKind<Role>(objects, 'ClusterRole'), ...ofKind<Role>(objects, 'Role')];
  expect(roles.length).toBeGreaterThan(0);
  for (const role of roles) {
    for (const rule of role.rules) {
      const where = `${role.kind} ${role.metadata.name}: ${JSON.stringify(rule)}`;
      for (const field of [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames, rule.nonResourceURLs]) {
        expect({ where, wildcard: field?.some((v) => v.includes('*')) ?? false }).toEqual({ where, wildcard: false });
      }
      expect({ where, dangerous: rule.verbs.filter((v) => DANGEROUS_VERBS.includes(v)) }).toEqual({ where, dangerous: [] });
      // Discovery (the only non-resource URLs it reads) is granted to every user by default.
      expect(rule.nonResourceURLs).toBeUndefined();
    }
  }
}

function expectRestricted(deployment: Deployment): void {
  const pod = deployment.spec.template.spec;
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
    expect({ container: container.name, securityContext: container.securityContext }).toEqual({
      container: container.name,
      securityContext: expect.objectContaining({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      }),
    });
    // A numeric, non-root user: runAsNonRoot cannot be verified against a user name.
    expect(container.securityContext?.runAsUser).toBeGreaterThan(0);
  }
}

function operatorContainer(objects: K8sObject[]): Container {
  const [deployment] = ofKind<Deployment>(objects, 'Deployment');
  const container = deployment?.spec.template.spec.containers.find((c) => c.name === 'operator');
  if (!container) throw new Error('no operator container rendered');
  return container;
}

/** The operator's configuration from the rendered container, as the operator would parse it. */
function configOf(objects: K8sObject[]) {
  const container = operatorContainer(objects);
  // What the downward API would give the pod.
  const env: Record<string, string> = { POD_NAME: 'webstack-operator-0', POD_NAMESPACE: RELEASE_NAMESPACE };
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return parseConfig(container.args ?? [], env);
}

describe('helm lint --strict', () => {
  it.each([
    ['default values', [] as string[]],
    ['ci/custom-values.yaml', ['--values', CUSTOM_VALUES]],
  ])(
    'is clean with %s',
    async (_name, extra) => {
      const { stdout, code } = await helm(['lint', '--strict', chart, '--kube-version', kubernetesVersion(), ...extra], { allowFail: true });
      expect({ code, problems: stdout.split('\n').filter((l) => /\[(WARNING|ERROR)\]/.test(l)) }).toEqual({ code: 0, problems: [] });
    },
    TIMEOUT,
  );
});

describe('with default values', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await template();
  }, TIMEOUT);

  it('renders the operator, its access and its network boundary', () => {
    const kinds = objects.map((o) => o.kind).sort();
    expect(kinds).toEqual(
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'Deployment',
        'Namespace',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Role',
        'Role',
        'Role',
        'RoleBinding',
        'RoleBinding',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
  });

  it("lets the operator reach the log agents' metrics port (LoggingReady reads delivery there), by address range when given", async () => {
    type Egress = { ports?: { port: number }[]; to?: { ipBlock?: { cidr: string } }[] }[];
    const egress = (objs: K8sObject[]) => ofKind<{ spec: { egress: Egress } }>(objs, 'NetworkPolicy')[0]?.spec.egress.find((e) => e.ports?.some((p) => p.port === 8888));
    // The agents run on the host network: their addresses are the nodes', unknown to the chart.
    expect(egress(objects)).toEqual({ ports: [{ port: 8888, protocol: 'TCP' }] });
    const narrowed = await template(['--set', 'networkPolicy.logAgents.cidrs={10.250.0.0/24}']);
    expect(egress(narrowed)?.to).toEqual([{ ipBlock: { cidr: '10.250.0.0/24' } }]);
  }, TIMEOUT);

  it('runs 2 replicas spread over nodes and zones, with leader election and probes', () => {
    const [deployment] = ofKind<Deployment>(objects, 'Deployment');
    expect(deployment?.spec.replicas).toBe(2);
    const pod = deployment?.spec.template.spec;
    expect(pod?.topologySpreadConstraints?.map((c) => c.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    expect(operatorContainer(objects)).toMatchObject({
      livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' } },
      readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' } },
      resources: { requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { memory: expect.any(String) } },
    });
  });

  it('passes flags the operator accepts, meaning what the values say', () => {
    expect(configOf(objects)).toMatchObject({
      namespaces: [],
      concurrency: 4,
      logLevel: 'info',
      metricsPort: 8080,
      leaderElection: true,
      leaseName: 'webstack-operator',
      leaseNamespace: RELEASE_NAMESPACE,
      identity: 'webstack-operator-0',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      resyncPeriodMs: 600_000,
      requestTimeoutMs: 30_000,
      // No image flag at all: the defaults live in the operator only.
      images: DEFAULT_IMAGES,
    });
    expect(operatorContainer(objects).args?.filter((a) => a.startsWith('--image'))).toEqual([]);
  });

  it('grants no wildcard and no privilege-escalating verb', () => {
    expectLeastPrivilege(objects);
  });

  it('tells the operator where the log agents go, which is where render puts them by default', () => {
    const env = operatorContainer(objects).env ?? [];
    expect(env.find((e) => e.name === 'WEBSTACK_AGENT_NAMESPACE')?.value).toBe(DEFAULT_AGENT_NAMESPACE);
  });

  it('meets Pod Security restricted in every container', () => {
    for (const deployment of ofKind<Deployment>(objects, 'Deployment')) expectRestricted(deployment);
  });

  it('creates the log agent namespace as privileged (hostPath agents)', () => {
    const [ns] = ofKind(objects, 'Namespace');
    expect(ns?.metadata.name).toBe('webstack-system');
    expect(ns?.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'privileged' });
  });
});

describe('with ci/custom-values.yaml (watchNamespaces, ServiceMonitor, 3 replicas)', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await template(['--values', CUSTOM_VALUES]);
  }, TIMEOUT);

  it('renders 3 replicas, a ServiceMonitor and the flags', () => {
    const [deployment] = ofKind<Deployment>(objects, 'Deployment');
    expect(deployment?.spec.replicas).toBe(3);
    expect(ofKind(objects, 'ServiceMonitor')).toHaveLength(1);
    expect(operatorContainer(objects).env?.find((e) => e.name === 'WEBSTACK_AGENT_NAMESPACE')?.value).toBe('webstack-agents');
    expect(configOf(objects)).toMatchObject({
      namespaces: ['shop', 'blog'],
      concurrency: 8,
      logLevel: 'debug',
      metricsPort: 9090,
      leaseName: 'webstack-operator-ci',
      leaseDurationMs: 20_000,
      renewDeadlineMs: 15_000,
      retryPeriodMs: 3_000,
      resyncPeriodMs: 300_000,
      requestTimeoutMs: 20_000,
      images: imageCatalog(
        {
          nginxExporter: 'webstack.local/nginx-exporter:0.11.0',
          mysql84: 'mysql@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
        },
        'mirror.example:5000/hub',
      ),
    });
  });

  it('grants stack rights by Role in each watched namespace, and no namespaced right cluster-wide', () => {
    const roles = ofKind<Role>(objects, 'Role');
    const namespaces = roles.map((r) => r.metadata.namespace).sort();
    expect(namespaces).toEqual(['blog', 'kube-node-lease', RELEASE_NAMESPACE, 'shop', 'webstack-agents'].sort());
    const [clusterRole] = ofKind<Role>(objects, 'ClusterRole');
    const clusterResources = clusterRole?.rules.flatMap((r) => r.resources ?? []) ?? [];
    // Only cluster-scoped kinds may remain in the ClusterRole.
    expect(clusterResources.filter((r) => !['clusterissuers', 'namespaces', 'nodes'].includes(r))).toEqual([]);
    const bindings = ofKind<K8sObject & { roleRef: { name: string } }>(objects, 'RoleBinding');
    expect(bindings.map((b) => b.metadata.namespace).sort()).toEqual(namespaces);
    expectLeastPrivilege(objects);
  });

  it('meets Pod Security restricted in every container', () => {
    for (const deployment of ofKind<Deployment>(objects, 'Deployment')) expectRestricted(deployment);
  });
});

describe('values', () => {
  it('allow exactly the operator log levels', () => {
    const schema = JSON.parse(readFileSync(path.join(chart, 'values.schema.json'), 'utf8')) as {
      properties: { logLevel: { enum: string[] } };
    };
    expect(schema.properties.logLevel.enum).toEqual([...LOG_LEVELS]);
  });

  it.each([
    ['an unknown key (a typo)', ['--set', 'replicas=3'], /additional properties 'replicas' not allowed/],
    ['a malformed duration', ['--set', 'resyncPeriod=10 minutes'], /resyncPeriod/],
    ['replicas without leader election', ['--set', 'leaderElection.enabled=false'], /needs leaderElection.enabled/],
    ['the agent namespace as the release namespace', ['--set', `logAgent.namespace=${RELEASE_NAMESPACE}`], /must differ from the release namespace/],
    ['an unknown image key', ['--set', 'images.mysql=mysql:8.4'], /additional properties 'mysql' not allowed/],
    ['an image with a space', ['--set', 'images.logAgent=otel collector:1'], /\/images\/logAgent/],
    ['a registry given as a URL', ['--set', 'images.registry=https://mirror.example'], /\/images\/registry/],
  ])(
    'refuse %s',
    async (_name, extra, message) => {
      const { code, stderr } = await helm(['template', 'x', chart, '--namespace', RELEASE_NAMESPACE, '--kube-version', kubernetesVersion(), ...extra], {
        allowFail: true,
      });
      expect(code).not.toBe(0);
      expect(stderr).toMatch(message);
    },
    TIMEOUT,
  );
});
