/**
 * Reads the state of a stack's children out of the caches into the Observation that
 * computeStatus() judges. Pure over its `lookup` argument.
 */
import type { DefaultedWebStack } from '../api/defaults.js';
import { DB_ROLE_LABEL } from '../api/identity.js';
import type { Lookup } from '../kube/lookup.js';
import type { KubeObject } from '../kube/types.js';
import { SHARED_AGENT } from '../blueprint/agent.js';
import { names } from '../blueprint/names.js';
import type { CertificateState, Observation, WorkloadState } from './status.js';

interface ContainerStatus {
  name: string;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string } };
}

interface WithStatus extends KubeObject {
  spec?: { replicas?: number; type?: string; clusterIP?: string };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    desiredNumberScheduled?: number;
    numberReady?: number;
    updatedNumberScheduled?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] };
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

const observed = (o: WithStatus): boolean => (o.status?.observedGeneration ?? 0) >= (o.metadata.generation ?? 0);

/**
 * The rollout its controller gave up on: Progressing=False with ProgressDeadlineExceeded, which the
 * Deployment controller sets once spec.progressDeadlineSeconds pass without progress, and keeps
 * until the rollout completes or the template changes. Other Progressing=False reasons (a
 * ReplicaSet the quota refused) can clear by themselves, so they stay "in progress", as kstatus
 * reads a Deployment too.
 */
function rolloutFailure(o: WithStatus): WorkloadState['failure'] {
  const progressing = o.status?.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.status !== 'False' || progressing.reason !== 'ProgressDeadlineExceeded') return undefined;
  return { reason: progressing.reason, message: `${o.kind} ${o.metadata.name}: ${progressing.message ?? 'progress deadline exceeded'}` };
}

/** A Deployment or a StatefulSet (same status fields; only Deployments report a progress deadline). */
function deployment(o: KubeObject | undefined): WorkloadState | undefined {
  if (!o) return undefined;
  const d = o as WithStatus;
  const desired = d.spec?.replicas ?? 1;
  const s = d.status;
  const state: WorkloadState = { desired, ready: s?.readyReplicas ?? 0, updated: s?.updatedReplicas ?? 0, current: s?.replicas ?? 0, observed: observed(d) };
  const failure = rolloutFailure(d);
  if (failure) state.failure = failure;
  return state;
}

function daemonSet(o: KubeObject | undefined): WorkloadState | undefined {
  if (!o) return undefined;
  const d = o as WithStatus;
  const desired = d.status?.desiredNumberScheduled ?? 0;
  return { desired, ready: d.status?.numberReady ?? 0, updated: d.status?.updatedNumberScheduled ?? 0, current: desired, observed: observed(d) };
}

/** Adds the canary Deployment's pods to the app tier's counts; either one's failed rollout fails the tier. */
function sum(a: WorkloadState | undefined, b: WorkloadState | undefined): WorkloadState | undefined {
  if (!a || !b) return a ?? b;
  const total: WorkloadState = { desired: a.desired + b.desired, ready: a.ready + b.ready, updated: a.updated + b.updated, current: a.current + b.current, observed: a.observed && b.observed };
  const failure = a.failure ?? b.failure;
  if (failure) total.failure = failure;
  return total;
}

export const isPodReady = (pod: KubeObject): boolean =>
  (pod as WithStatus).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** The MySQL pods of a stack, by ordinal. */
export function mysqlPods(lookup: Lookup, stack: DefaultedWebStack): KubeObject[] {
  const prefix = `${names(stack.metadata.name).mysql}-`;
  return lookup
    .list('Pod', stack.metadata.namespace)
    .filter((p) => p.metadata.name.startsWith(prefix) && /^\d+$/.test(p.metadata.name.slice(prefix.length)))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name, 'en', { numeric: true }));
}

function lbAddress(svc: WithStatus | undefined): string | undefined {
  if (!svc) return undefined;
  const ingress = svc.status?.loadBalancer?.ingress?.[0];
  const fromIngress = ingress?.ip ?? ingress?.hostname;
  if (fromIngress) return fromIngress;
  return svc.spec?.type === 'LoadBalancer' ? undefined : svc.spec?.clusterIP;
}

/** Waiting reasons no wait will clear: the image cannot be had, or the container keeps crashing. */
const IMAGE_FAILURES = ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull'];
const CRASH_LOOP_RESTARTS = 5;

/** Why a container cannot start, when no wait will clear it; undefined otherwise. */
function cannotStart(c: ContainerStatus): string | undefined {
  const reason = c.state?.waiting?.reason ?? '';
  return IMAGE_FAILURES.includes(reason) || (reason === 'CrashLoopBackOff' && (c.restartCount ?? 0) >= CRASH_LOOP_RESTARTS) ? reason : undefined;
}

/** The first database pod whose container cannot start (a bad spec.database.image, a crash loop), and why. */
function failingDatabasePod(pods: KubeObject[]): { pod: string; reason: string; message: string } | undefined {
  for (const pod of pods) {
    // The init container runs the database image too: a bad image shows there first.
    const { initContainerStatuses = [], containerStatuses = [] } = (pod as WithStatus).status ?? {};
    for (const c of [...initContainerStatuses, ...containerStatuses]) {
      const reason = cannotStart(c);
      if (reason !== undefined) return { pod: pod.metadata.name, reason, message: `container ${c.name}: ${c.state?.waiting?.message ?? reason}` };
    }
  }
  return undefined;
}

/** The Ready database pods by role label, and the database loop's status (state, commits waiting for an ack). */
function databaseRoles(lookup: Lookup, stack: DefaultedWebStack, controller: boolean): Observation['database'] {
  const all = mysqlPods(lookup, stack);
  const pods = all.filter(isPodReady);
  const failing = failingDatabasePod(all);
  const primary = pods.find((p) => p.metadata.labels?.[DB_ROLE_LABEL] === 'primary')?.metadata.name;
  const replicas = pods.filter((p) => p.metadata.labels?.[DB_ROLE_LABEL] === 'replica').map((p) => p.metadata.name);
  const { commitsWaitingForAck: waiting, state, reason } = stack.status?.database ?? {};
  return {
    ...(primary ? { primary } : {}),
    replicas,
    controller,
    ...(waiting === undefined ? {} : { commitsWaitingForAck: waiting }),
    ...(state === undefined ? {} : { state }),
    ...(reason === undefined ? {} : { reason }),
    ...(failing === undefined ? {} : { failing }),
  };
}

export function observe(
  lookup: Lookup,
  stack: DefaultedWebStack,
  facts: { certManager: boolean; prometheusOperator: boolean; agentNamespace: string; databaseController?: boolean },
  extra: Pick<Observation, 'applyErrors' | 'volumes'> & Partial<Pick<Observation, 'issuerFound' | 'logCredentialsFound' | 'logDelivery'>>,
): Observation {
  const ns = stack.metadata.namespace;
  const n = names(stack.metadata.name);
  const certificates: Record<string, CertificateState> = {};
  for (const cert of lookup.list('Certificate', ns)) {
    const owner = cert.metadata.labels?.['app.kubernetes.io/instance'];
    if (owner !== stack.metadata.name) continue;
    const conditions = (cert as WithStatus).status?.conditions ?? [];
    const ready = conditions.find((c) => c.type === 'Ready');
    // cert-manager reports Ready=True for the temporary certificate (render/tls.ts) it puts in a
    // missing Secret while the first issuance runs; only a signed one counts.
    const temporary = conditions.some((c) => c.type === 'Issuing' && c.status === 'True' && c.reason === 'DoesNotExist');
    certificates[cert.metadata.name] = temporary
      ? { ready: false, message: 'the Secret holds a temporary certificate until the first issuance completes' }
      : { ready: ready?.status === 'True', message: ready?.message ?? '' };
  }
  const observation: Observation = {
    certManager: facts.certManager,
    prometheusOperator: facts.prometheusOperator,
    workloads: {
      loadBalancer: deployment(lookup.get('Deployment', ns, n.lb)),
      web: deployment(lookup.get('Deployment', ns, n.web)),
      app: sum(deployment(lookup.get('Deployment', ns, n.app)), deployment(lookup.get('Deployment', ns, n.appCanary))),
      database: deployment(lookup.get('StatefulSet', ns, n.mysql)),
      logAgent: daemonSet(lookup.get('DaemonSet', facts.agentNamespace, SHARED_AGENT.daemonSet)),
    },
    certificates,
    database: databaseRoles(lookup, stack, facts.databaseController ?? true),
    volumes: extra.volumes,
    applyErrors: extra.applyErrors,
  };
  const address = lbAddress(lookup.get('Service', ns, n.lb));
  if (address) observation.lbAddress = address;
  if (extra.issuerFound !== undefined) observation.issuerFound = extra.issuerFound;
  if (extra.logCredentialsFound !== undefined) observation.logCredentialsFound = extra.logCredentialsFound;
  if (extra.logDelivery !== undefined) observation.logDelivery = extra.logDelivery;
  return observation;
}
