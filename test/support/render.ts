/**
 * Shared by the render tests: the example stacks, accessors over rendered objects, and the
 * invariants every rendering must satisfy (checked for the examples and for random specs).
 * Objects are plain JSON, so the accessors narrow `unknown` with small casts to the shapes of the
 * Kubernetes API they read.
 */
import { loadExample } from './examples.js';
import { withDefaults, type DefaultedWebStack } from '../../operator/api/defaults.js';
import { COMPONENT_LABEL, INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, NAME_LABEL, PART_OF_LABEL } from '../../operator/api/identity.js';
import type { WebStack } from '../../operator/api/types.js';
import { validateWebStack } from '../../operator/api/validate.js';
import type { KubeObject, RenderFacts } from '../../operator/render/index.js';
import { ACME } from '../../operator/blueprint/layout.js';


export const ALL_FACTS: RenderFacts = { certManager: true, prometheusOperator: true };

/** An example manifest, validated like the CLI does and defaulted, in the given namespace. */
export function example(name: 'minimal' | 'full', namespace = 'shop'): DefaultedWebStack {
  const doc: unknown = loadExample(name);
  const errors = validateWebStack(doc);
  if (errors.length > 0) throw new Error(`example ${name} is invalid: ${JSON.stringify(errors)}`);
  const stack = doc as WebStack;
  return withDefaults({ ...stack, metadata: { ...stack.metadata, namespace } });
}

// ---- accessors ----

export type Labels = Record<string, string>;

export interface ContainerPort {
  containerPort: number;
  name?: string;
  protocol?: string;
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  ports?: ContainerPort[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Record<string, unknown>;
  topologySpreadConstraints?: { topologyKey: string; whenUnsatisfiable: string; labelSelector: { matchLabels: Labels }; matchLabelKeys?: string[] }[];
  volumes?: { name: string }[];
  automountServiceAccountToken?: boolean;
  imagePullSecrets?: { name: string }[];
  nodeSelector?: Labels;
  tolerations?: unknown[];
}

export interface Workload {
  object: KubeObject;
  namespace: string;
  selector: Labels;
  labels: Labels;
  annotations: Labels;
  pod: PodSpec;
}

export const spec = (o: KubeObject): Record<string, unknown> => (o.spec ?? {}) as Record<string, unknown>;

export function byKind(objects: KubeObject[], kind: string): KubeObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'];

export function workloads(objects: KubeObject[]): Workload[] {
  return objects
    .filter((o) => WORKLOAD_KINDS.includes(o.kind))
    .map((object) => {
      const s = spec(object) as {
        selector: { matchLabels: Labels };
        template: { metadata: { labels: Labels; annotations?: Labels }; spec: PodSpec };
      };
      return {
        object,
        namespace: object.metadata.namespace ?? '',
        selector: s.selector.matchLabels,
        labels: s.template.metadata.labels,
        annotations: s.template.metadata.annotations ?? {},
        pod: s.template.spec,
      };
    });
}

export const allContainers = (pod: PodSpec): Container[] => [...(pod.initContainers ?? []), ...pod.containers];

export const matches = (selector: Labels, labels: Labels): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The pods (workload templates) in `namespace` a label selector picks. */
export function selectedWorkloads(objects: KubeObject[], namespace: string, selector: Labels): Workload[] {
  return workloads(objects).filter((w) => w.namespace === namespace && matches(selector, w.labels));
}

// ---- invariants ----

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const STACK_COMPONENTS = ['loadbalancer', 'web', 'app', 'database'];

/**
 * Everything that must hold for any stack and facts. Returns the violations, so a failing
 * property test prints what broke rather than a boolean.
 */
// eslint-disable-next-line complexity -- a checklist: one independent check per invariant, read top to bottom
export function invariantViolations(stack: DefaultedWebStack, objects: KubeObject[]): string[] {
  const v: string[] = [];
  const ns = stack.metadata.namespace ?? 'default';
  const name = stack.metadata.name;
  const ref = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;

  const seen = new Set<string>();
  for (const o of objects) {
    if (seen.has(ref(o))) v.push(`${ref(o)} rendered twice`);
    seen.add(ref(o));
    if (!DNS_LABEL.test(o.metadata.name)) v.push(`${ref(o)}: name is not a DNS label of at most 63 characters`);
    if (o.metadata.namespace === undefined) v.push(`${ref(o)}: no namespace`);
    const labels = o.metadata.labels ?? {};
    const expected = { [NAME_LABEL]: 'webstack', [INSTANCE_LABEL]: name, [PART_OF_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY };
    if (!matches(expected, labels) || labels[COMPONENT_LABEL] === undefined) v.push(`${ref(o)}: missing common labels`);
    if ('ownerReferences' in o.metadata) v.push(`${ref(o)}: has ownerReferences`);
    if (o.kind === 'Secret') v.push(`${ref(o)}: render must not write Secrets`);
    if (o.metadata.namespace !== ns && o.metadata.labels?.[COMPONENT_LABEL] !== 'log-agent') {
      v.push(`${ref(o)}: outside the stack namespace ${ns}`);
    }
  }

  for (const w of workloads(objects)) {
    const where = ref(w.object);
    if (!matches(w.selector, w.labels)) v.push(`${where}: selector ${JSON.stringify(w.selector)} does not match its pod labels`);
    if (w.pod.automountServiceAccountToken !== false) v.push(`${where}: mounts a service account token`);
    const agent = w.labels[COMPONENT_LABEL] === 'log-agent';
    const podSc = w.pod.securityContext ?? {};
    if ((podSc.seccompProfile as { type?: string } | undefined)?.type !== 'RuntimeDefault') v.push(`${where}: pod seccomp is not RuntimeDefault`);
    if (!agent && (podSc.runAsNonRoot !== true || typeof podSc.runAsUser !== 'number' || typeof podSc.fsGroup !== 'number')) {
      v.push(`${where}: pod securityContext lacks runAsNonRoot/runAsUser/fsGroup`);
    }
    for (const c of allContainers(w.pod)) {
      const at = `${where} container ${c.name}`;
      const r = c.resources;
      if (!r?.requests?.cpu || !r.requests.memory || !r.limits?.memory) v.push(`${at}: lacks requests cpu+memory or a memory limit`);
      if (c.imagePullPolicy !== 'IfNotPresent') v.push(`${at}: imagePullPolicy ${c.imagePullPolicy ?? 'unset'}`);
      const sc = c.securityContext ?? {};
      const caps = sc.capabilities as { drop?: string[]; add?: string[] } | undefined;
      if (sc.allowPrivilegeEscalation !== false) v.push(`${at}: allowPrivilegeEscalation is not false`);
      if (!caps?.drop?.includes('ALL') || (caps.add?.length ?? 0) > 0) v.push(`${at}: capabilities are not drop ALL`);
      if (sc.readOnlyRootFilesystem !== true) v.push(`${at}: root filesystem is writable`);
      if ((sc.seccompProfile as { type?: string } | undefined)?.type !== 'RuntimeDefault') v.push(`${at}: seccomp is not RuntimeDefault`);
      // The log agent runs as root in the privileged agent namespace (docs/adr/0001); every other container is restricted.
      if (!agent && (sc.runAsNonRoot !== true || typeof sc.runAsUser !== 'number' || sc.runAsUser === 0)) v.push(`${at}: may run as root`);
      const volumes = new Set([...(w.pod.volumes ?? []).map((vol) => vol.name), ...volumeClaimNames(w.object)]);
      for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) v.push(`${at}: mounts unknown volume ${m.name}`);
    }
    if (STACK_COMPONENTS.includes(w.labels[COMPONENT_LABEL] ?? '')) v.push(...spreadViolations(stack, w));
    if (!agent && stack.spec.imagePullSecrets.length > 0 && (w.pod.imagePullSecrets?.length ?? 0) === 0) v.push(`${where}: no imagePullSecrets`);
    const { nodeSelector, tolerations } = stack.spec.placement;
    if (!sameJson(w.pod.nodeSelector ?? {}, nodeSelector)) v.push(`${where}: nodeSelector differs from spec.placement`);
    if (!agent && !sameJson(w.pod.tolerations ?? [], tolerations)) v.push(`${where}: tolerations differ from spec.placement`);
  }

  for (const svc of byKind(objects, 'Service')) {
    const s = spec(svc) as { selector: Labels; ports: { targetPort: number | string; protocol?: string }[] };
    // The ACME solver Services select cert-manager's pods, which exist only during a challenge.
    if (ACME.solverLabel in s.selector) continue;
    const pods = selectedWorkloads(objects, ns, s.selector);
    if (pods.length === 0 && !('webstack.dev/mysql-role' in s.selector)) v.push(`${ref(svc)}: selects no pods`);
    const candidates = pods.length > 0 ? pods : selectedWorkloads(objects, ns, withoutRole(s.selector));
    for (const p of s.ports) {
      if (!candidates.some((w) => hasPort(w, p.targetPort, p.protocol ?? 'TCP'))) v.push(`${ref(svc)}: targetPort ${p.targetPort} is no containerPort of its pods`);
    }
  }

  for (const pdb of byKind(objects, 'PodDisruptionBudget')) {
    const selector = (spec(pdb) as { selector: { matchLabels: Labels } }).selector.matchLabels;
    if (selectedWorkloads(objects, ns, selector).length === 0) v.push(`${ref(pdb)}: selects no pods`);
  }

  v.push(...networkPolicyPortViolations(objects));
  return v;
}

/** Deep equality regardless of key order (rendered objects have sorted keys). */
function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(canonical) : x && typeof x === 'object' ? Object.fromEntries(Object.entries(x).sort(([k1], [k2]) => k1.localeCompare(k2)).map(([k, y]) => [k, canonical(y)])) : x;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function withoutRole(selector: Labels): Labels {
  const { ['webstack.dev/mysql-role']: _role, ...rest } = selector;
  return rest;
}

function volumeClaimNames(o: KubeObject): string[] {
  const templates = (spec(o).volumeClaimTemplates ?? []) as { metadata: { name: string } }[];
  return templates.map((t) => t.metadata.name);
}

export function hasPort(w: Workload, port: number | string, protocol = 'TCP'): boolean {
  return w.pod.containers.some((c) =>
    (c.ports ?? []).some((p) => (p.protocol ?? 'TCP') === protocol && (typeof port === 'number' ? p.containerPort === port : p.name === port)),
  );
}

function spreadViolations(stack: DefaultedWebStack, w: Workload): string[] {
  const v: string[] = [];
  const constraints = w.pod.topologySpreadConstraints ?? [];
  const expect = (key: string, mode: string) => {
    const c = constraints.find((t) => t.topologyKey === key);
    const when = mode === 'Required' ? 'DoNotSchedule' : 'ScheduleAnyway';
    if (mode === 'Disabled') {
      if (c) v.push(`${w.object.metadata.name}: spreads over ${key} although Disabled`);
    } else if (c?.whenUnsatisfiable !== when || !matches(c.labelSelector.matchLabels, w.labels)) {
      v.push(`${w.object.metadata.name}: no ${when} spread over ${key} counting its own pods`);
    } else if ((w.object.kind === 'Deployment') !== (c.matchLabelKeys?.includes('pod-template-hash') ?? false)) {
      // A Deployment's rollout must spread the new ReplicaSet on its own (else it can end up two
      // pods on one node); a StatefulSet's replacement pod must still count its siblings.
      v.push(`${w.object.metadata.name}: ${w.object.kind} spread over ${key} with matchLabelKeys ${JSON.stringify(c.matchLabelKeys ?? [])}`);
    }
  };
  expect('kubernetes.io/hostname', stack.spec.placement.hostnameSpread);
  expect('topology.kubernetes.io/zone', stack.spec.placement.zoneSpread);
  return v;
}

interface PolicyPort {
  port?: number | string;
  protocol?: string;
}
interface PolicyPeer {
  podSelector?: { matchLabels?: Labels };
  namespaceSelector?: unknown;
  ipBlock?: unknown;
}

/**
 * Every port an ingress rule opens exists on a pod the policy selects, and every port an egress
 * rule opens towards pods of the same namespace exists on one of those pods.
 */
function networkPolicyPortViolations(objects: KubeObject[]): string[] {
  const v: string[] = [];
  for (const np of byKind(objects, 'NetworkPolicy')) {
    const ns = np.metadata.namespace ?? '';
    const s = spec(np) as {
      podSelector: { matchLabels?: Labels };
      ingress?: { ports?: PolicyPort[] }[];
      egress?: { to?: PolicyPeer[]; ports?: PolicyPort[] }[];
    };
    const own = selectedWorkloads(objects, ns, s.podSelector.matchLabels ?? {});
    for (const rule of s.ingress ?? []) {
      for (const p of rule.ports ?? []) {
        if (p.port !== undefined && !own.some((w) => hasPort(w, p.port ?? '', p.protocol ?? 'TCP'))) {
          v.push(`NetworkPolicy ${np.metadata.name}: ingress port ${p.port} is no containerPort of its pods`);
        }
      }
    }
    for (const rule of s.egress ?? []) {
      const peers = (rule.to ?? []).filter((p) => p.podSelector && !p.namespaceSelector && !p.ipBlock);
      const targets = peers.flatMap((p) => selectedWorkloads(objects, ns, p.podSelector?.matchLabels ?? {}));
      if (targets.length === 0) continue;
      for (const p of rule.ports ?? []) {
        if (p.port !== undefined && !targets.some((w) => hasPort(w, p.port ?? '', p.protocol ?? 'TCP'))) {
          v.push(`NetworkPolicy ${np.metadata.name}: egress port ${p.port} is no containerPort of its destination pods`);
        }
      }
    }
  }
  return v;
}
