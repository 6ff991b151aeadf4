/**
 * Status from observation: a pure function of what the controller saw (children in its caches,
 * discovery facts, apply errors) to the WebStack's status. The controller writes the result only
 * when it differs from the current status, so conditions keep their lastTransitionTime unless
 * their status really changes.
 */
import type { LogDelivery } from '../blueprint/agent.js';
import type { DefaultedWebStack } from '../api/defaults.js';
import { OPTIONAL_APIS } from '../api/identity.js';
import type { Condition, ConditionStatus, ConditionType, DatabaseStatus, Phase, Tier, WebStackStatus } from '../api/types.js';
import { names } from '../blueprint/names.js';
import { volumeIsSized, type VolumeState } from './volumes.js';

export interface WorkloadState {
  desired: number;
  ready: number;
  /** Pods already on the current template; less than desired while a rollout is under way. */
  updated: number;
  /** All pods, old template included; more than desired until a rollout has retired the old ones. */
  current: number;
  /** False while the workload controller has not seen the latest spec yet. */
  observed: boolean;
  /** Set when the workload controller gave up on the rollout (a Deployment past its progress deadline). */
  failure?: { reason: string; message: string };
}

export interface CertificateState {
  ready: boolean;
  message: string;
}

export interface Observation {
  certManager: boolean;
  prometheusOperator: boolean;
  /** Whether the issuer named in spec.tls.issuerRef exists (undefined when it could not be checked). */
  issuerFound?: boolean;
  workloads: Partial<Record<Tier | 'logAgent', WorkloadState | undefined>>;
  certificates: Record<string, CertificateState>;
  lbAddress?: string;
  /** Role labels (the database loop's); `controller` false when the operator runs without it. */
  database: { primary?: string; replicas: string[]; controller: boolean; commitsWaitingForAck?: number;
    state?: DatabaseStatus['state'];
    reason?: string;
    /** A database pod whose container cannot start, and why (its waiting reason). */
    failing?: { pod: string; reason: string; message: string };
  };
  /** The database volumes, after this reconcile grew those that asked for less than the spec (volumes.ts). */
  volumes: VolumeState[];
  /** Whether the sink credentials Secret named in spec.logging exists. */
  logCredentialsFound?: boolean;
  /** What the log agent's own metrics say of this stack's exporter (operator/agent/delivery.ts); undefined when not read yet. */
  logDelivery?: LogDelivery;
  /** Children the API server refused, by "Kind/name", with its message. */
  applyErrors: Record<string, string>;
}

interface Verdict {
  status: ConditionStatus;
  reason: string;
  message: string;
  /** The user must act (fix the spec, install something); waiting will not help. */
  stalled?: boolean;
}

const ok = (reason: string, message: string): Verdict => ({ status: 'True', reason, message });
const waiting = (reason: string, message: string): Verdict => ({ status: 'False', reason, message });
const blocked = (reason: string, message: string): Verdict => ({ status: 'False', reason, message, stalled: true });
/** Cannot be told: neither converged nor converging (kstatus' Reconciling stays False for it). */
const unknown = (reason: string, message: string): Verdict => ({ status: 'Unknown', reason, message });

const count = (w: WorkloadState | undefined): string => (w ? `${w.ready}/${w.desired}` : '0/0');

function workloadVerdict(what: string, w: WorkloadState | undefined): Verdict {
  if (!w) return waiting('Creating', `${what} does not exist yet`);
  if (!w.observed) return waiting('RollingOut', `${what}: the controller has not observed the latest spec yet`);
  // The controller stopped trying: waiting will not help, a person must fix the pods or the spec.
  if (w.failure) return blocked(w.failure.reason, `${what}: ${w.failure.message}`);
  if (w.updated < w.desired) return waiting('RollingOut', `${what}: ${w.updated}/${w.desired} pods updated, ${w.ready} ready`);
  if (w.current > w.desired) return waiting('RollingOut', `${what}: ${w.current - w.desired} pods of the previous version still running`);
  if (w.ready < w.desired) return waiting('PodsNotReady', `${what}: ${w.ready}/${w.desired} pods ready`);
  return ok('Available', `${what}: ${w.ready}/${w.desired} pods ready`);
}

/** Apply errors of children whose "Kind/name" key starts with one of the prefixes. */
function applyErrorsFor(obs: Observation, prefixes: string[]): Verdict | undefined {
  const failed = Object.entries(obs.applyErrors).filter(([key]) => prefixes.some((p) => key.startsWith(p)));
  if (failed.length === 0) return undefined;
  return blocked('ApplyFailed', failed.map(([key, msg]) => `${key}: ${msg}`).join('; '));
}

function tlsVerdict(stack: DefaultedWebStack, obs: Observation): Verdict {
  const n = names(stack.metadata.name);
  const { issuerRef } = stack.spec.tls;
  if (!obs.certManager) return blocked('CertManagerMissing', `${OPTIONAL_APIS.certManager.apiVersion} API is not installed: install cert-manager to issue certificates`);
  if (obs.issuerFound === false) {
    return blocked('IssuerNotFound', `${issuerRef.kind} ${issuerRef.name} (${issuerRef.group}) does not exist`);
  }
  const notReady = Object.entries(obs.certificates).filter(([, c]) => !c.ready);
  if (!(n.tlsSecret in obs.certificates)) return waiting('Creating', `certificate ${n.tlsSecret} does not exist yet`);
  const first = notReady[0];
  if (first) {
    const [name, cert] = first;
    return waiting('CertificateNotReady', `waiting for cert-manager to issue secret ${name}${cert.message ? `: ${cert.message}` : ''}`);
  }
  return ok('CertificatesIssued', `${Object.keys(obs.certificates).length} certificates issued`);
}

function loadBalancerVerdict(stack: DefaultedWebStack, obs: Observation): Verdict {
  const w = workloadVerdict('HAProxy', obs.workloads.loadBalancer);
  if (w.status !== 'True') return w;
  if (stack.spec.loadBalancer.serviceType === 'LoadBalancer' && !obs.lbAddress) {
    return waiting('AddressPending', `waiting for an address for Service ${names(stack.metadata.name).lb}`);
  }
  return w;
}

function databaseVerdict(obs: Observation): Verdict {
  // Semi-sync never degrades to asynchronous: without a replica's ack, writes hang. That says more
  // than "pods not ready" (the replicas that do not ack usually are not), and it is no fault of the spec.
  const hanging = obs.database.commitsWaitingForAck;
  if (hanging !== undefined) {
    return waiting('WaitingForAcks', `${hanging} commits on the primary ${obs.database.primary ?? ''} wait for a replica's acknowledgement: writes hang until a replica is back (status.database.reason says which are down)`);
  }
  const failing = obs.database.failing;
  // No wait fixes it: a bad spec.database.image (revert it: the controller restarts the pod) or a crash loop.
  if (failing) return blocked(failing.reason, `${failing.pod} cannot start: ${failing.message}`);
  const w = workloadVerdict('MySQL', obs.workloads.database);
  if (w.status !== 'True') return w;
  if (!obs.database.controller) return ok('Available', 'database pods Ready; the database controller is off (--database-controller=false), so no primary is chosen');
  // The database loop's verdict on the cluster, not only the pods': a replica out of sync or a
  // primary failing over is not plainly Ready; two verdicts no wait fixes are Stalled.
  const { state, reason } = obs.database;
  if (state === 'Lost') return blocked('Lost', `no instance can be promoted without losing acknowledged writes: ${reason ?? ''}`);
  if (state === 'Unreachable') return blocked('Unreachable', reason ?? 'the database controller cannot reach the servers');
  if (!obs.database.primary) return waiting('NoPrimary', 'the database controller has not chosen a primary yet (status.database.reason says why)');
  if (state !== undefined && state !== 'Healthy') return waiting(state, reason ?? `the database cluster is ${state}`);
  return ok('Available', `primary ${obs.database.primary}, ${obs.database.replicas.length} replicas ready`);
}

function storageVerdict(stack: DefaultedWebStack, obs: Observation): Verdict {
  const { size } = stack.spec.database.storage;
  const refused = obs.volumes.filter((v) => v.refused !== undefined);
  if (refused.length > 0) {
    return blocked('ExpansionRefused', `growing the volumes to ${size} was refused: ${refused.map((v) => `${v.name}: ${v.refused ?? ''}`).join('; ')}`);
  }
  const short = obs.volumes.filter((v) => !volumeIsSized(v, size));
  if (short.length > 0) {
    const why = (v: VolumeState): string =>
      !v.bound
        ? `${v.name} asks for ${v.requested ?? '?'} and is grown once bound`
        : v.fileSystemPending
          ? `${v.name} has ${v.capacity ?? '?'}; its file system grows when its pod mounts it again`
          : `${v.name} has ${v.capacity ?? '?'}, waiting for the storage driver to resize it`;
    return waiting('Resizing', `growing the volumes to ${size}: ${short.map(why).join('; ')}`);
  }
  if (obs.volumes.length === 0) return ok('Sized', `volumes are created with ${size}`);
  return ok('Sized', `${obs.volumes.length} volumes of at least ${size}`);
}

function loggingVerdict(stack: DefaultedWebStack, obs: Observation): Verdict {
  const { logging } = stack.spec;
  if (!logging.enabled) return ok('Disabled', 'log shipping is turned off in spec.logging.enabled');
  const ref = logging.sink.credentialsSecretRef;
  if (ref && obs.logCredentialsFound === false) {
    return blocked('CredentialsNotFound', `Secret ${ref.name} named in spec.logging.sink.credentialsSecretRef does not exist`);
  }
  // The agent is shared by every stack (ADR 0010): its rollouts (one per config change, one node at
  // a time) are not this stack's news, and a message with its pod counts would rewrite the status
  // of every stack at each step. Only "no agent" and "no agent pod ready" are; then delivery.
  const agent = obs.workloads.logAgent;
  if (!agent) return waiting('Creating', 'the shared log agent does not exist yet');
  if (agent.ready === 0) return waiting('PodsNotReady', 'no pod of the shared log agent is ready');
  // The agent runs: whether the sink takes what it sends is what the user cares about, and not
  // knowing is not taken for "it does" (a blocked metrics port once showed Shipping with the sink down).
  const delivery = obs.logDelivery;
  if (!delivery) return unknown('DeliveryUnknown', `the shared log agent runs on ${agent.desired} nodes; whether the ${logging.sink.type} sink accepts its logs is not read yet`);
  if (delivery.state === 'unread') return unknown('DeliveryUnknown', `the shared log agent runs on ${agent.desired} nodes; whether the ${logging.sink.type} sink accepts its logs cannot be read: ${delivery.message}`);
  if (delivery.state === 'failing') return waiting('SinkUnreachable', `the ${logging.sink.type} sink does not accept logs: ${delivery.message}`);
  return ok('Shipping', `shipping logs and node metrics to ${logging.sink.type} through the shared log agent on ${agent.desired} nodes; ${delivery.message}`);
}

function monitoringVerdict(stack: DefaultedWebStack, obs: Observation): Verdict {
  if (!stack.spec.monitoring.enabled) return ok('Disabled', 'monitoring is turned off in spec.monitoring.enabled');
  if (!obs.prometheusOperator) {
    return blocked('PrometheusOperatorMissing', `${OPTIONAL_APIS.prometheusOperator.group} CRDs are not installed: install prometheus-operator to get monitors and QPS alerts`);
  }
  return ok('Configured', 'PodMonitors and the QPS PrometheusRule are applied');
}

/** Concerns that decide whether the site serves traffic; logging and monitoring degrade, not block. */
const SERVING: ConditionType[] = ['TLSReady', 'LoadBalancerReady', 'WebReady', 'AppReady', 'DatabaseReady', 'FirewallReady'];

// eslint-disable-next-line complexity -- older than the budget; the condition table, one optional field per condition
export function computeStatus(
  stack: DefaultedWebStack,
  obs: Observation,
  previous: WebStackStatus | undefined,
  now: string,
): WebStackStatus {
  const generation = stack.metadata.generation ?? 0;
  const n = names(stack.metadata.name);
  const verdicts: Partial<Record<ConditionType, Verdict>> = {
    TLSReady: applyErrorsFor(obs, ['Certificate/', 'Issuer/']) ?? tlsVerdict(stack, obs),
    LoadBalancerReady: applyErrorsFor(obs, [`Deployment/${n.lb}`, `Service/${n.lb}`]) ?? loadBalancerVerdict(stack, obs),
    WebReady: applyErrorsFor(obs, [`Deployment/${n.web}`]) ?? workloadVerdict('Nginx', obs.workloads.web),
    AppReady: applyErrorsFor(obs, [`Deployment/${n.app}`]) ?? workloadVerdict('app', obs.workloads.app),
    DatabaseReady: applyErrorsFor(obs, ['StatefulSet/']) ?? databaseVerdict(obs),
    StorageReady: storageVerdict(stack, obs),
    FirewallReady: applyErrorsFor(obs, ['NetworkPolicy/']) ?? ok('Applied', "NetworkPolicies allow only the stack's own traffic"),
    LoggingReady: applyErrorsFor(obs, ['DaemonSet/']) ?? loggingVerdict(stack, obs),
    MonitoringReady: applyErrorsFor(obs, ['ServiceMonitor/', 'PodMonitor/', 'PrometheusRule/']) ?? monitoringVerdict(stack, obs),
  };
  // Any refused child blocks Ready, including those no concern above names (ConfigMaps, PDBs, ...).
  const anyError = applyErrorsFor(obs, ['']);

  // A stalled concern explains a stack that is not Ready better than one that merely waits.
  const serving = SERVING.map((t) => [t, verdicts[t]] as const);
  const failing = serving.find(([, v]) => v?.stalled) ?? serving.find(([, v]) => v?.status !== 'True');
  const auxiliary = (['StorageReady', 'LoggingReady', 'MonitoringReady'] as const).filter((t) => verdicts[t]?.status === 'False');
  verdicts.Ready =
    anyError ??
    (failing
      ? { status: 'False', reason: failing[1]?.reason ?? 'Unknown', message: `${failing[0]}: ${failing[1]?.message ?? ''}` }
      : ok('Available', `https://${stack.spec.domain} is served by ${count(obs.workloads.loadBalancer)} load balancers`));
  Object.assign(verdicts, kstatusPair(verdicts));

  const conditions = Object.entries(verdicts).map(([type, v]) => condition(type, v, generation, previous, now));
  const ready = verdicts.Ready.status === 'True';
  const phase: Phase = ready ? (auxiliary.length > 0 ? 'Degraded' : 'Ready') : obs.workloads.loadBalancer ? 'Progressing' : 'Pending';

  const status: WebStackStatus = {
    observedGeneration: generation,
    phase,
    conditions: conditions.sort((a, b) => conditionOrder(a.type) - conditionOrder(b.type)),
    url: `https://${stack.spec.domain}`,
    tiers: {
      loadBalancer: count(obs.workloads.loadBalancer),
      web: count(obs.workloads.web),
      app: count(obs.workloads.app),
      database: count(obs.workloads.database),
    },
  };
  if (obs.lbAddress) status.loadBalancer = { address: obs.lbAddress };
  return status;
}

/**
 * kstatus' abnormal-true pair, never both True. kstatus (Flux, kpt) goes down the conditions and
 * answers with the first of the two that is True (InProgress or Failed), and Reconciling comes
 * first here: a stalled stack that also said Reconciling would wait out the GitOps tool's timeout
 * instead of failing at once.
 */
function kstatusPair(verdicts: Partial<Record<ConditionType, Verdict>>): Record<'Stalled' | 'Reconciling', Verdict> {
  const all = Object.entries(verdicts) as [ConditionType, Verdict][];
  const stalled = all.find(([, v]) => v.stalled);
  if (stalled) {
    return {
      Stalled: { status: 'True', reason: stalled[1].reason, message: `${stalled[0]}: ${stalled[1].message}` },
      Reconciling: { status: 'False', reason: 'Stalled', message: `stalled on ${stalled[0]}: nothing converges until that is fixed, see the Stalled condition` },
    };
  }
  const inProgress = all.find(([, v]) => v.status === 'False');
  return {
    Stalled: { status: 'False', reason: 'NotStalled', message: 'nothing is blocked' },
    Reconciling: inProgress
      ? { status: 'True', reason: inProgress[1].reason, message: `${inProgress[0]}: ${inProgress[1].message}` }
      : { status: 'False', reason: 'Converged', message: 'every child matches the spec' },
  };
}

const ORDER: readonly string[] = [
  'Ready', 'Reconciling', 'Stalled', 'TLSReady', 'LoadBalancerReady', 'WebReady', 'AppReady',
  'DatabaseReady', 'StorageReady', 'FirewallReady', 'LoggingReady', 'MonitoringReady',
];
const conditionOrder = (type: string): number => ORDER.indexOf(type);

function condition(type: string, v: Verdict, generation: number, previous: WebStackStatus | undefined, now: string): Condition {
  const before = previous?.conditions?.find((c) => c.type === type);
  return {
    type,
    status: v.status,
    reason: v.reason,
    message: v.message,
    observedGeneration: generation,
    lastTransitionTime: before?.status === v.status ? before.lastTransitionTime : now,
  };
}
