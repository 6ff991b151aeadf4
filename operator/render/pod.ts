/**
 * What every pod of a stack has in common: the PodSecurity `restricted` profile, explicit resources,
 * pull settings, placement and topology spread, one-at-a-time rollouts and a disruption budget.
 * Tier modules build their containers and volumes and hand them to `podTemplate()` so none of this
 * can be forgotten by one tier.
 */
import { k8s } from 'cdk8s-plus-27';
import { CONFIG_HASH_ANNOTATION } from '../api/identity.js';
import type { Resources, SpreadMode } from '../api/types.js';
import { id, meta, type RenderContext } from './context.js';
import { configHash, secretsReadBy } from './hash.js';
import { commonLabels, type Component } from '../blueprint/names.js';

/**
 * Numeric ids of the images' own non-root users. Numeric, because the kubelet can only enforce
 * runAsNonRoot against a number, and matching the image so files it owns stay readable.
 */
export const UID = {
  /** nginxinc/nginx-unprivileged: user nginx. */
  nginx: 101,
  /** haproxy (alpine and debian): user haproxy. */
  haproxy: 99,
  /** mysql (Oracle Linux based): user mysql. */
  mysql: 999,
  /** prom/* exporters and nginx-prometheus-exporter: nobody. */
  exporter: 65534,
  /** otel/opentelemetry-collector-contrib. */
  otel: 10001,
  /**
   * The user's app image is unknown; 65532 is the conventional non-root uid of distroless and
   * Chainguard images. Images that need another uid must accept running as an arbitrary uid.
   */
  app: 65532,
} as const;

const q = (value: string) => k8s.Quantity.fromString(value);

/**
 * Requests (cpu, memory) and a memory limit, always. A spec may give only part of them: a missing
 * request falls back to the matching limit, then to the default; a missing memory limit to the
 * memory request, so a request above the default limit never makes an invalid pair.
 */
// eslint-disable-next-line complexity -- a fallback chain per field (`??`), not branching logic
export function resources(spec: Resources, fallback: Required<Pick<Resources, 'requests' | 'limits'>>): k8s.ResourceRequirements {
  const cpu = spec.requests?.cpu ?? spec.limits?.cpu ?? fallback.requests.cpu ?? '100m';
  const memory = spec.requests?.memory ?? spec.limits?.memory ?? fallback.requests.memory ?? '128Mi';
  const memoryLimit = spec.limits?.memory ?? spec.requests?.memory ?? fallback.limits.memory ?? memory;
  return {
    requests: { cpu: q(cpu), memory: q(memory) },
    limits: { memory: q(memoryLimit), ...(spec.limits?.cpu !== undefined ? { cpu: q(spec.limits.cpu) } : {}) },
  };
}

/** Small fixed resources of exporters and init containers: they are not part of the spec. */
export const SIDECAR_RESOURCES: k8s.ResourceRequirements = {
  requests: { cpu: q('10m'), memory: q('32Mi') },
  limits: { memory: q('64Mi') },
};

export function podSecurityContext(uid: number): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    // Re-owning a large MySQL volume on every start is slow; only fix it when the root is wrong.
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The `restricted` container profile, with a read-only root: writable paths are explicit emptyDirs. */
export function containerSecurityContext(uid: number): k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** A container with the settings every container gets; `uid` defaults to the pod's. */
export function container(c: k8s.Container & { uid: number }): k8s.Container {
  const { uid, ...rest } = c;
  return { imagePullPolicy: 'IfNotPresent', securityContext: containerSecurityContext(uid), ...rest };
}

/** An emptyDir for a writable path under a read-only root filesystem, bounded so it cannot fill the node. */
export function scratchVolume(name: string, sizeLimit = '64Mi'): k8s.Volume {
  return { name, emptyDir: { sizeLimit: q(sizeLimit) } };
}

export function configMapVolume(name: string, configMap: string, defaultMode?: number): k8s.Volume {
  return { name, configMap: { name: configMap, ...(defaultMode !== undefined ? { defaultMode } : {}) } };
}

/**
 * A Secret volume readable by the pod's fsGroup only (0440). `keys` projects only those keys, e.g.
 * the CA's `ca.crt` without its private key.
 */
export function secretVolume(name: string, secretName: string, keys?: string[]): k8s.Volume {
  return {
    name,
    secret: {
      secretName,
      defaultMode: 0o440,
      ...(keys ? { items: keys.map((key) => ({ key, path: key })) } : {}),
    },
  };
}

export function mount(name: string, mountPath: string, readOnly = true): k8s.VolumeMount {
  return { name, mountPath, ...(readOnly ? { readOnly } : {}) };
}

/** An HTTP GET probe; readiness reacts fast, liveness only restarts a pod that stays broken. */
export function httpProbe(path: string, port: number, kind: 'readiness' | 'liveness' | 'startup', scheme: 'HTTP' | 'HTTPS' = 'HTTP'): k8s.Probe {
  return { httpGet: { path, port: k8s.IntOrString.fromNumber(port), scheme }, ...PROBE_TIMING[kind] };
}

/** A TCP probe: the process accepts connections, whatever its dependencies say. */
export function tcpProbe(port: number, kind: 'liveness' | 'startup'): k8s.Probe {
  return { tcpSocket: { port: k8s.IntOrString.fromNumber(port) }, ...PROBE_TIMING[kind] };
}

export const PROBE_TIMING = {
  readiness: { periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 },
  liveness: { periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
  // Up to 5 minutes to start; liveness only begins once this has passed.
  startup: { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 60 },
} as const satisfies Record<string, Partial<k8s.Probe>>;

export function containerPort(name: string, containerPort: number, protocol: 'TCP' | 'UDP' = 'TCP'): k8s.ContainerPort {
  return { name, containerPort, protocol };
}

export function servicePort(name: string, port: number, targetPort: number): k8s.ServicePort {
  return { name, port, targetPort: k8s.IntOrString.fromNumber(targetPort), protocol: 'TCP' };
}

/** The controller that owns a tier's pods; it decides how a rollout replaces them. */
export type PodOwner = 'Deployment' | 'StatefulSet';

function spread(mode: SpreadMode, topologyKey: string, selector: Record<string, string>, owner: PodOwner): k8s.TopologySpreadConstraint[] {
  if (mode === 'Disabled') return [];
  return [
    {
      maxSkew: 1,
      topologyKey,
      whenUnsatisfiable: mode === 'Required' ? 'DoNotSchedule' : 'ScheduleAnyway',
      labelSelector: { matchLabels: selector },
      // A Deployment rollout adds new pods while the old ones still run. Counted together, the old
      // pods (one per node) allow any placement of the new ones, which can end up two on one node
      // once the old ones are gone. Counting each ReplicaSet on its own spreads every revision.
      // A StatefulSet replaces one pod at a time, so the others still steer the new one.
      ...(owner === 'Deployment' ? { matchLabelKeys: ['pod-template-hash'] } : {}),
    },
  ];
}

/** Spread over nodes and zones per spec.placement, counting the tier's pods of one revision. */
export function spreadConstraints(ctx: RenderContext, tierSelector: Record<string, string>, owner: PodOwner): k8s.TopologySpreadConstraint[] {
  const p = ctx.spec.placement;
  return [
    ...spread(p.hostnameSpread, 'kubernetes.io/hostname', tierSelector, owner),
    ...spread(p.zoneSpread, 'topology.kubernetes.io/zone', tierSelector, owner),
  ];
}

/** nodeSelector and tolerations from spec.placement, imagePullSecrets from spec. */
export function placement(ctx: RenderContext): Pick<k8s.PodSpec, 'nodeSelector' | 'tolerations' | 'imagePullSecrets'> {
  const { nodeSelector, tolerations } = ctx.spec.placement;
  const pullSecrets = ctx.spec.imagePullSecrets;
  return {
    // Copies, here and wherever spec objects reach cdk8s: it takes any object that is not a plain
    // Object of its own realm and has a string `value` for an IntOrString/Quantity and replaces it
    // with { value }. A toleration from a class instance, or another realm (as under jest), would
    // lose every other field.
    ...(Object.keys(nodeSelector).length > 0 ? { nodeSelector: { ...nodeSelector } } : {}),
    ...(tolerations.length > 0 ? { tolerations: tolerations.map((t) => ({ ...t })) } : {}),
    ...(pullSecrets.length > 0 ? { imagePullSecrets: pullSecrets.map((s) => ({ name: s.name })) } : {}),
  };
}

export interface PodOptions {
  component: Component;
  owner: PodOwner;
  /** Labels of the pods (include the selector labels). */
  labels: Record<string, string>;
  /** Labels the tier's pods share, for topology spread. */
  tierSelector: Record<string, string>;
  /** Pod-level uid/gid/fsGroup; containers run as their own uid. */
  uid: number;
  /** Config files the pod reads at start (they and every Secret the spec reads roll it when they change). */
  files?: Readonly<Record<string, string>>;
  containers: k8s.Container[];
  initContainers?: k8s.Container[];
  volumes?: k8s.Volume[];
  /** Extra pod-spec fields (terminationGracePeriodSeconds, ...). */
  spec?: Partial<k8s.PodSpec>;
}

/** A pod template of a stack tier: restricted, spread, placed, and rolled when its configs change. */
export function podTemplate(ctx: RenderContext, o: PodOptions): k8s.PodTemplateSpec {
  const spec: k8s.PodSpec = {
    // No stack pod talks to the API server; a mounted token would only be something to steal.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurityContext(o.uid),
    topologySpreadConstraints: spreadConstraints(ctx, o.tierSelector, o.owner),
    ...placement(ctx),
    ...(o.initContainers ? { initContainers: o.initContainers } : {}),
    containers: o.containers,
    ...(o.volumes ? { volumes: o.volumes } : {}),
    ...o.spec,
  };
  return {
    metadata: {
      labels: { ...commonLabels(ctx.name, o.component), ...o.labels },
      annotations: { [CONFIG_HASH_ANNOTATION]: podConfigHash(ctx, spec, o.files) },
    },
    spec,
  };
}

/** The pod-roll hash of a pod spec: its config files and the versions of every Secret it reads. */
export function podConfigHash(ctx: RenderContext, spec: k8s.PodSpec, files: Readonly<Record<string, string>> = {}): string {
  return configHash({ files, secrets: secretsReadBy(spec), secretVersions: ctx.facts.secretVersions });
}

/** One pod at a time: a new pod must be Ready for minReadySeconds before an old one goes. */
export const ROLLOUT = {
  strategy: {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromNumber(1) },
  },
  minReadySeconds: 10,
  // A rollout that makes no progress for this long is reported as failed (Progressing=False).
  progressDeadlineSeconds: 300,
  revisionHistoryLimit: 5,
} satisfies Partial<k8s.DeploymentSpec>;

/**
 * maxUnavailable 1 (not minAvailable): it keeps working when a tier is scaled to one replica, and
 * AlwaysAllow lets a drain evict pods that are not Ready anyway instead of blocking on them.
 */
export function disruptionBudget(ctx: RenderContext, name: string, component: Component, selector: Record<string, string>): void {
  new k8s.KubePodDisruptionBudget(ctx.scope('disruption'), id('PodDisruptionBudget', name), {
    metadata: meta(ctx, name, component),
    spec: {
      maxUnavailable: k8s.IntOrString.fromNumber(1),
      selector: { matchLabels: selector },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  });
}

/** A Deployment of a stack tier with the common rollout settings. */
export function deployment(
  ctx: RenderContext,
  name: string,
  component: Component,
  o: { replicas: number; selector: Record<string, string>; template: k8s.PodTemplateSpec; labels?: Record<string, string> },
): void {
  new k8s.KubeDeployment(ctx.scope('deployments'), id('Deployment', name), {
    metadata: meta(ctx, name, component, o.labels ? { labels: o.labels } : {}),
    spec: { replicas: o.replicas, selector: { matchLabels: o.selector }, template: o.template, ...ROLLOUT },
  });
}
