/**
 * WebStack v1alpha1: the TypeScript view of the CRD schema in ./schema.ts.
 *
 * The schema is the single source of truth (it is what the API server validates and defaults);
 * these types mirror it and test/unit/api/types-match-schema.test.ts fails when they drift apart.
 * Optional fields are optional here even where the CRD defaults them, because a WebStack read from
 * a file (the `webstack render` CLI) has not been through the API server; `withDefaults()` in
 * ./defaults.ts fills them in the same way the server does.
 */
import type { API_VERSION, KIND } from './identity.js';

export type TLSMode = 'reencrypt' | 'terminate' | 'passthrough';
export type IssuerKind = 'Issuer' | 'ClusterIssuer';
export type ServiceType = 'LoadBalancer' | 'NodePort' | 'ClusterIP';
export type DeletionPolicy = 'Retain' | 'Delete';
export type LogSinkType = 'sumologic' | 'loki' | 'elasticsearch' | 'otlp' | 'stdout';
export type SpreadMode = 'Required' | 'Preferred' | 'Disabled';
export type Tier = 'loadBalancer' | 'web' | 'app' | 'database';

export interface ResourceList {
  cpu?: string;
  memory?: string;
}

export interface Resources {
  requests?: ResourceList;
  limits?: ResourceList;
}

export interface LocalObjectReference {
  name: string;
}

export interface SecretKeySelector {
  name: string;
  key: string;
}

export interface IssuerRef {
  name: string;
  kind?: IssuerKind;
  group?: string;
}

export interface TLSSpec {
  issuerRef: IssuerRef;
  mode?: TLSMode;
}

export interface LoadBalancerSpec {
  replicas?: number;
  image?: string;
  serviceType?: ServiceType;
  serviceAnnotations?: Record<string, string>;
  allowedSourceRanges?: string[];
  externalDNS?: boolean;
  resources?: Resources;
}

export interface WebSpec {
  replicas?: number;
  image?: string;
  resources?: Resources;
}

export interface EnvVar {
  name: string;
  value?: string;
  secretKeyRef?: SecretKeySelector;
}

export interface CanarySpec {
  image: string;
  replicas?: number;
}

export interface AppSpec {
  image: string;
  port?: number;
  replicas?: number;
  healthPath?: string;
  /** The app itself serves HTTPS on `port` with a certificate from the stack's internal CA. */
  tls?: boolean;
  env?: EnvVar[];
  envFromSecrets?: LocalObjectReference[];
  resources?: Resources;
  canary?: CanarySpec;
}

export interface StorageSpec {
  size?: string;
  storageClassName?: string;
}

export type DatabaseEngine = 'mysql' | 'mariadb';
/** Whether commits may go on without a replica's ack when Kubernetes reports every replica down. */
export type DataDurability = 'Required' | 'Preferred';

export interface DatabaseSpec {
  engine?: DatabaseEngine;
  version?: string;
  image?: string;
  replicas?: number;
  durability?: DataDurability;
  storage?: StorageSpec;
  resources?: Resources;
  deletionPolicy?: DeletionPolicy;
}

export interface PortSpec {
  port: number;
  protocol?: 'TCP' | 'UDP';
}

/** A peer outside the stack: an IP block, or pods selected by namespace and/or pod labels. */
export interface Peer {
  cidr?: string;
  except?: string[];
  namespaceLabels?: Record<string, string>;
  podLabels?: Record<string, string>;
}

export interface IngressRule {
  tier: Tier;
  from: Peer;
  ports?: PortSpec[];
}

export interface EgressRule {
  to: Peer;
  ports?: PortSpec[];
}

export interface FirewallSpec {
  extraIngress?: IngressRule[];
  appEgress?: EgressRule[];
  /** Where the stack's pods and its log agent send DNS queries (default: kube-dns in kube-system, port 53). */
  dns?: EgressRule;
}

export interface LogSinkSpec {
  type?: LogSinkType;
  endpoint?: string;
  credentialsSecretRef?: LocalObjectReference;
}

export interface LoggingSpec {
  enabled?: boolean;
  sink?: LogSinkSpec;
}

export interface QPSAlertSpec {
  spikeFactor?: number;
  dropFactor?: number;
  window?: string;
  minimumQPS?: number;
}

export interface MonitoringSpec {
  enabled?: boolean;
  labels?: Record<string, string>;
  namespaceLabels?: Record<string, string>;
  qps?: QPSAlertSpec;
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export interface PlacementSpec {
  hostnameSpread?: SpreadMode;
  zoneSpread?: SpreadMode;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
}

export interface WebStackSpec {
  domain: string;
  aliases?: string[];
  tls: TLSSpec;
  loadBalancer?: LoadBalancerSpec;
  web?: WebSpec;
  app: AppSpec;
  database?: DatabaseSpec;
  firewall?: FirewallSpec;
  logging?: LoggingSpec;
  monitoring?: MonitoringSpec;
  placement?: PlacementSpec;
  imagePullSecrets?: LocalObjectReference[];
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export type Phase = 'Pending' | 'Progressing' | 'Ready' | 'Degraded';

export interface WebStackStatus {
  observedGeneration?: number;
  phase?: Phase;
  conditions?: Condition[];
  url?: string;
  loadBalancer?: { address?: string };
  tiers?: Partial<Record<Tier, string>>;
  database?: DatabaseStatus;
}

/** Written by the database controller only (its own field manager). */
export interface DatabaseStatus {
  /** The instance that accepts writes (the `-primary` Service selects it). */
  primary?: string;
  /** Replicas in sync with the primary (the `-replicas` Service selects them). */
  replicas?: string[];
  state?: 'Healthy' | 'Degraded' | 'Failed' | 'Lost' | 'Incomplete' | 'Unreachable';
  reason?: string;
  /** Commits on the primary waiting for a replica's acknowledgement (semi-sync); absent when none wait. */
  commitsWaitingForAck?: number;
  /**
   * Set while the primary commits without waiting for a replica's ack (durability Preferred, every
   * replica down): from which GTID set on the replicas lack acknowledged writes. No replica is
   * promoted while it is set; cleared once a replica has caught up and acks are awaited again.
   */
  acksReleased?: { since: string; time: string };
  /** Set while an empty instance is being filled from another one. */
  seeding?: SeedProgress;
  instances?: DatabaseInstanceStatus[];
  excluded?: { name: string; reason: string; remedy: string }[];
  lastFailover?: RoleChange;
  lastSwitchover?: RoleChange;
}

export interface SeedProgress {
  instance: string;
  donor: string;
  method: 'clone' | 'dump';
  /** RFC 3339. */
  started: string;
  /** RFC 3339: past it the seed is stopped and started over. */
  deadline: string;
  copiedBytes?: number;
  estimatedBytes?: number;
}

export interface DatabaseInstanceStatus {
  name: string;
  role: 'primary' | 'replica' | 'excluded';
  healthy: boolean;
  reason: string;
  /** Transactions it has committed (GTID set as the engine writes it). */
  gtid?: string;
  lagSeconds?: number;
}

export interface RoleChange {
  time: string;
  from: string;
  to: string;
  reason: string;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
}

export interface WebStack {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: WebStackSpec;
  status?: WebStackStatus;
}

/**
 * Condition types: the summary `Ready`, one per concern, and kstatus' abnormal-true pair:
 * `Reconciling` (work in progress) and `Stalled` (blocked until someone acts), which Flux and other
 * kstatus-based tools read to tell InProgress and Failed from Current.
 */
export const CONDITION_TYPES = [
  'Ready',
  'Reconciling',
  'Stalled',
  'TLSReady',
  'LoadBalancerReady',
  'WebReady',
  'AppReady',
  'DatabaseReady',
  'StorageReady',
  'FirewallReady',
  'LoggingReady',
  'MonitoringReady',
] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];
