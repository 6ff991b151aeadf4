/**
 * Defaults of every WebStack field that has one. The CRD schema (./schema.ts) takes its `default:`
 * values from DEFAULTS, and withDefaults() applies the same values to a WebStack that has not been
 * through the API server (the `webstack render` CLI, unit tests), so both paths see the same spec.
 * Images have no default here: an unset image field means "the operator's catalog" (./images.ts),
 * which the operator's configuration may change without touching any stored WebStack.
 */
import type {
  AppSpec,
  DatabaseEngine,
  DataDurability,
  DatabaseSpec,
  DeletionPolicy,
  EgressRule,
  IngressRule,
  IssuerKind,
  LoadBalancerSpec,
  LogSinkType,
  PlacementSpec,
  Resources,
  ServiceType,
  SpreadMode,
  TLSMode,
  WebStack,
  WebStackSpec,
} from './types.js';

/** The cluster DNS on most clusters: CoreDNS keeps kube-dns's label for compatibility. */
const CLUSTER_DNS: EgressRule = {
  to: { namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' }, podLabels: { 'k8s-app': 'kube-dns' } },
  ports: [
    { port: 53, protocol: 'UDP' },
    { port: 53, protocol: 'TCP' },
  ],
};

export const DEFAULTS = {
  tls: { mode: 'reencrypt' as TLSMode, issuerKind: 'ClusterIssuer' as IssuerKind, issuerGroup: 'cert-manager.io' },
  loadBalancer: {
    replicas: 2,
    serviceType: 'LoadBalancer' as ServiceType,
    allowedSourceRanges: ['0.0.0.0/0'],
    externalDNS: false,
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
  },
  web: {
    replicas: 3,
    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
  },
  app: {
    port: 8080,
    replicas: 3,
    healthPath: '/healthz',
    tls: false,
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
    canaryReplicas: 1,
  },
  database: {
    engine: 'mysql' as DatabaseEngine,
    version: '9.7',
    mariadbVersion: '10.11',
    replicas: 2,
    durability: 'Preferred' as DataDurability,
    storageSize: '10Gi',
    deletionPolicy: 'Retain' as DeletionPolicy,
    resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
  },
  firewall: { dns: CLUSTER_DNS },
  logging: { enabled: true, sinkType: 'stdout' as LogSinkType },
  // Scrapes only from the namespace named `monitoring` (kube-prometheus-stack's usual one, and the chart's):
  // the metrics ports show the stack's traffic and its database's state to whoever reaches them.
  monitoring: { enabled: true, namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' }, qps: { spikeFactor: 3, dropFactor: 0.3, window: '1h', minimumQPS: 1 } },
  placement: { hostnameSpread: 'Required' as SpreadMode, zoneSpread: 'Preferred' as SpreadMode },
} as const;

type Req<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: Exclude<T[P], undefined> };

export interface DefaultedSpec
  extends Omit<WebStackSpec, 'aliases' | 'tls' | 'loadBalancer' | 'web' | 'app' | 'database' | 'firewall' | 'logging' | 'monitoring' | 'placement' | 'imagePullSecrets'> {
  aliases: string[];
  tls: { mode: TLSMode; issuerRef: { name: string; kind: IssuerKind; group: string } };
  // The images stay optional: unset, they come from the operator's image catalog (api/images.ts) at render.
  loadBalancer: Req<LoadBalancerSpec, 'replicas' | 'serviceType' | 'serviceAnnotations' | 'allowedSourceRanges' | 'externalDNS' | 'resources'>;
  web: { replicas: number; image?: string; resources: Resources };
  app: Req<AppSpec, 'port' | 'replicas' | 'healthPath' | 'tls' | 'env' | 'envFromSecrets' | 'resources'> & {
    canary?: { image: string; replicas: number };
  };
  database: Req<DatabaseSpec, 'engine' | 'version' | 'replicas' | 'durability' | 'resources' | 'deletionPolicy'> & {
    storage: { size: string; storageClassName?: string };
  };
  firewall: { extraIngress: IngressRule[]; appEgress: EgressRule[]; dns: EgressRule };
  logging: { enabled: boolean; sink: { type: LogSinkType; endpoint?: string; credentialsSecretRef?: { name: string } } };
  monitoring: {
    enabled: boolean;
    labels: Record<string, string>;
    namespaceLabels: Record<string, string>;
    qps: { spikeFactor: number; dropFactor: number; window: string; minimumQPS: number };
  };
  placement: Req<PlacementSpec, 'hostnameSpread' | 'zoneSpread' | 'nodeSelector' | 'tolerations'>;
  imagePullSecrets: { name: string }[];
}

export interface DefaultedWebStack extends Omit<WebStack, 'spec'> {
  spec: DefaultedSpec;
}

const copy = <T>(value: T): T => structuredClone(value);

/** The default version depends on the engine, so the CRD cannot default it (the API server would fill 8.4 for MariaDB too). */
function defaultDatabaseVersion(engine: DatabaseEngine | undefined): string {
  return engine === 'mariadb' ? DEFAULTS.database.mariadbVersion : DEFAULTS.database.version;
}

/** Fills every defaulted field, never mutating the input. Pure and deterministic. */
// eslint-disable-next-line complexity, max-lines-per-function -- one `??` per defaulted field: a field list, not branching logic
export function withDefaults(stack: WebStack): DefaultedWebStack {
  const s = stack.spec;
  const D = DEFAULTS;
  const lb = s.loadBalancer ?? {};
  const web = s.web ?? {};
  const db = s.database ?? {};
  const spec: DefaultedSpec = {
    domain: s.domain,
    aliases: [...(s.aliases ?? [])],
    tls: {
      mode: s.tls.mode ?? D.tls.mode,
      issuerRef: {
        name: s.tls.issuerRef.name,
        kind: s.tls.issuerRef.kind ?? D.tls.issuerKind,
        group: s.tls.issuerRef.group ?? D.tls.issuerGroup,
      },
    },
    loadBalancer: {
      replicas: lb.replicas ?? D.loadBalancer.replicas,
      ...(lb.image !== undefined ? { image: lb.image } : {}),
      serviceType: lb.serviceType ?? D.loadBalancer.serviceType,
      serviceAnnotations: { ...(lb.serviceAnnotations ?? {}) },
      allowedSourceRanges: [...(lb.allowedSourceRanges ?? D.loadBalancer.allowedSourceRanges)],
      externalDNS: lb.externalDNS ?? D.loadBalancer.externalDNS,
      resources: copy(lb.resources ?? D.loadBalancer.resources),
    },
    web: {
      replicas: web.replicas ?? D.web.replicas,
      ...(web.image !== undefined ? { image: web.image } : {}),
      resources: copy(web.resources ?? D.web.resources),
    },
    app: {
      image: s.app.image,
      port: s.app.port ?? D.app.port,
      replicas: s.app.replicas ?? D.app.replicas,
      healthPath: s.app.healthPath ?? D.app.healthPath,
      tls: s.app.tls ?? D.app.tls,
      env: copy(s.app.env ?? []),
      envFromSecrets: copy(s.app.envFromSecrets ?? []),
      resources: copy(s.app.resources ?? D.app.resources),
      ...(s.app.canary
        ? { canary: { image: s.app.canary.image, replicas: s.app.canary.replicas ?? D.app.canaryReplicas } }
        : {}),
    },
    database: {
      engine: db.engine ?? D.database.engine,
      version: db.version ?? defaultDatabaseVersion(db.engine),
      ...(db.image !== undefined ? { image: db.image } : {}),
      replicas: db.replicas ?? D.database.replicas,
      durability: db.durability ?? D.database.durability,
      storage: {
        size: db.storage?.size ?? D.database.storageSize,
        ...(db.storage?.storageClassName !== undefined ? { storageClassName: db.storage.storageClassName } : {}),
      },
      resources: copy(db.resources ?? D.database.resources),
      deletionPolicy: db.deletionPolicy ?? D.database.deletionPolicy,
    },
    firewall: {
      extraIngress: copy(s.firewall?.extraIngress ?? []),
      appEgress: copy(s.firewall?.appEgress ?? []),
      dns: copy(s.firewall?.dns ?? D.firewall.dns),
    },
    logging: {
      enabled: s.logging?.enabled ?? D.logging.enabled,
      sink: { ...copy(s.logging?.sink ?? {}), type: s.logging?.sink?.type ?? D.logging.sinkType },
    },
    monitoring: {
      enabled: s.monitoring?.enabled ?? D.monitoring.enabled,
      labels: { ...(s.monitoring?.labels ?? {}) },
      namespaceLabels: { ...(s.monitoring?.namespaceLabels ?? D.monitoring.namespaceLabels) },
      qps: { ...D.monitoring.qps, ...(s.monitoring?.qps ?? {}) },
    },
    placement: {
      hostnameSpread: s.placement?.hostnameSpread ?? D.placement.hostnameSpread,
      zoneSpread: s.placement?.zoneSpread ?? D.placement.zoneSpread,
      nodeSelector: { ...(s.placement?.nodeSelector ?? {}) },
      tolerations: copy(s.placement?.tolerations ?? []),
    },
    imagePullSecrets: copy(s.imagePullSecrets ?? []),
  };
  return { ...copy(stack), spec };
}
