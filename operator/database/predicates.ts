/**
 * The facts decide.ts reasons with, each a sentence about the cluster. Kept apart so every rule
 * in decide.ts reads as the policy it is, and so the documented rules (docs/database.md) map to
 * one named function each.
 */
import { SEMI_SYNC_NEVER_DEGRADE_TIMEOUT_MS } from '../mysql/engine.js';
import { holdsTransactionsMissingFrom } from '../mysql/gtid.js';
import type { InstanceStatus } from '../mysql/types.js';
import type { ClusterFacts, InstanceFacts } from './facts.js';

/**
 * The IO thread's error when the source's binlogs no longer hold what the replica asks for:
 * 1236 on MariaDB (ER_MASTER_FATAL_ERROR_READING_BINLOG), 13114 on MySQL 8
 * (ER_SERVER_SOURCE_FATAL_ERROR_READING_BINLOG, "Got fatal error 1236 from source").
 */
export const BINLOG_UNAVAILABLE_ERRORS: readonly number[] = [1236, 13114];

export type Reachable = InstanceFacts & { sql: { reachable: true } & InstanceStatus };

export function instanceIsReachable(instance: InstanceFacts): instance is Reachable {
  return instance.sql.reachable;
}

export function instanceHasEmptyDataDir(instance: InstanceFacts): boolean {
  return instanceIsReachable(instance) && instance.sql.dataDirEmpty;
}

/** Known to hold data: reachable and not empty. */
export function instanceHoldsData(instance: InstanceFacts): instance is Reachable {
  return instanceIsReachable(instance) && !instance.sql.dataDirEmpty;
}

/**
 * An instance may be made writable when it holds data, or when every instance answers and is
 * empty (a new cluster). An empty one is never made writable while another instance does not
 * answer: that one may hold the data (the empty one's volume may be the one that was lost).
 */
export function instanceMayBecomeWritable(instance: InstanceFacts, instances: readonly InstanceFacts[]): boolean {
  return instanceHoldsData(instance) || instances.every((i) => instanceIsReachable(i) && i.sql.dataDirEmpty);
}

/**
 * A replica that may replace a silent primary: it holds data, or it is empty and so was the
 * primary when it last answered (a new cluster, lost before its first write: an acknowledged
 * commit since would have reached a replica, so an empty one lacks nothing). Not an empty one
 * otherwise: its volume may be the one that was lost.
 */
export function replicaLacksNothingOf(primary: InstanceFacts, replica: InstanceFacts): replica is Reachable {
  return instanceHoldsData(replica) || (instanceHasEmptyDataDir(replica) && primary.heldDataWhenLastSeen === false);
}

export function anyInstanceHoldsData(instances: readonly InstanceFacts[]): boolean {
  return instances.some(instanceHoldsData);
}

export function instanceIsWritable(instance: InstanceFacts): boolean {
  return instanceIsReachable(instance) && !instance.sql.readOnly;
}

export function instanceHoldsErrantTransactions(instance: InstanceFacts, primary: InstanceFacts): boolean {
  return instanceIsReachable(instance) && instanceIsReachable(primary) && holdsTransactionsMissingFrom(instance.sql.executed, primary.sql.executed);
}

export function instanceIsExcluded(instance: InstanceFacts, facts: ClusterFacts): boolean {
  return facts.excluded.includes(instance.name);
}

/** Its pod runs an older revision of the pod template and is not already on its way out. */
export function instanceRunsAnOldRevision(instance: InstanceFacts): boolean {
  return instance.pod.exists && instance.pod.outdated && !instance.pod.terminating;
}

export function podIsGoingAway(instance: InstanceFacts): boolean {
  return !instance.pod.exists || instance.pod.terminating;
}

export function primaryIsUnreachableLongerThan(primary: InstanceFacts, ms: number): boolean {
  return !instanceIsReachable(primary) && primary.unreachableForMs >= ms;
}

/** The witness: the API server, from the kubelet's own probes and node heartbeats, says it is down. */
export function kubernetesReportsInstanceDown(instance: InstanceFacts): boolean {
  return !instance.pod.exists || !instance.pod.ready || instance.pod.terminating || instance.pod.nodeReady === false;
}

/**
 * The kubelet renews its node's Lease every quarter of the lease's duration (10 s by default).
 * Missed for one and a half of those, the node is taken as gone, for an instance that does not
 * answer either. The node controller waits for the node-monitor-grace-period (50 s by default)
 * before it marks the node NotReady and its pods not Ready: after a replica's power cut, a
 * two-instance cluster's writes waited that long. A heartbeat renewed at the node's clock and
 * read at the operator's assumes the two agree within a few seconds (NTP). Evidence for a
 * replica's absence (who acks), not for a failover: there a replica connected to the primary
 * outweighs a silent kubelet, and the replicas' own view decides in seconds.
 */
export function nodeStoppedHeartbeating(instance: InstanceFacts): boolean {
  const lease = instance.pod.nodeLease;
  return !instanceIsReachable(instance) && lease !== undefined && lease.renewedAgoMs >= lease.durationMs * NODE_LEASE_MISSED_RENEWALS * KUBELET_RENEW_FRACTION;
}

/** The kubelet renews its Lease every quarter of the lease's duration (kubelet's renewInterval). */
const KUBELET_RENEW_FRACTION = 0.25;
/** Renewals missed before a node counts as silent: one, and half of the next for its retries. */
const NODE_LEASE_MISSED_RENEWALS = 1.5;

/**
 * The old primary the last failover left, silent ever since: the failover's own evidence (no
 * answer past the delay, and Kubernetes or every replica agreeing) stands for it being down until
 * it answers again. After a power cut Kubernetes says so only once the node is NotReady (50 s with
 * the default node-monitor-grace-period), and a two-instance cluster's writes would wait that long.
 * The operator's own memory of when it last answered: after a restart of the operator this is
 * false again until Kubernetes speaks.
 */
export function silentSinceItsFailover(instance: InstanceFacts, facts: Pick<ClusterFacts, 'failedOverFrom'>): boolean {
  const left = facts.failedOverFrom;
  return left?.name === instance.name && !instanceIsReachable(instance) && instance.unreachableForMs >= left.agoMs;
}

/** Every replica that answers has lost its connection to the primary too (and at least one answers). */
export function everyReplicaLostTheSource(replicas: readonly InstanceFacts[]): boolean {
  const answering = replicas.filter(instanceIsReachable);
  return answering.length > 0 && answering.every((r) => r.sql.replication?.ioThread !== 'running');
}

/** A replica that is connected to, and applying from, `source`. */
export function replicaIsReplicatingFrom(replica: InstanceFacts, source: InstanceFacts): boolean {
  if (!instanceIsReachable(replica)) return false;
  const r = replica.sql.replication;
  return replicaIsPointedAt(replica, source) && r?.ioThread === 'running' && r.sqlThreadRunning;
}

/** Configured with `source` as its source and GTID auto-positioning, running or not. */
export function replicaIsPointedAt(replica: InstanceFacts, source: InstanceFacts): boolean {
  if (!instanceIsReachable(replica)) return false;
  const r = replica.sql.replication;
  return r?.sourceHost === source.address.host && r.sourcePort === source.address.port && r.autoPositioning;
}

/** Read-only, source half off (it would block its own applier), replica half on when acks are awaited. */
export function replicaIsConfiguredAsReplica(replica: InstanceFacts, ackCount: number): boolean {
  if (!instanceIsReachable(replica)) return false;
  const s = replica.sql.semiSync;
  return replica.sql.readOnly && !s.sourceEnabled && (ackCount === 0 || s.replicaEnabled);
}

/** A replica's lag: the larger of its own report (Seconds_Behind_Source) and what it lacks of the primary's earlier writes. */
function replicaLagMs(replica: InstanceFacts): number {
  if (!instanceIsReachable(replica)) return 0;
  return Math.max((replica.sql.replication?.lagSeconds ?? 0) * 1000, replica.lacksPrimaryWritesForMs ?? 0);
}

export function replicaLagsMoreThan(replica: InstanceFacts, seconds: number): boolean {
  return replicaLagMs(replica) > seconds * 1000;
}

/** The replica's lag in whole seconds (replicaLagMs). */
export function replicaLagSeconds(replica: InstanceFacts): number {
  return Math.floor(replicaLagMs(replica) / 1000);
}

export function replicaCannotBeServedFromBinlogs(replica: InstanceFacts): boolean {
  const code = instanceIsReachable(replica) ? replica.sql.replication?.lastIoError?.code : undefined;
  return code !== undefined && BINLOG_UNAVAILABLE_ERRORS.includes(code);
}

export function replicaApplierFailed(replica: InstanceFacts): boolean {
  if (!instanceIsReachable(replica)) return false;
  const r = replica.sql.replication;
  return r !== undefined && !r.sqlThreadRunning && r.lastSqlError !== undefined;
}

export function replicaIoThreadHasError(replica: InstanceFacts): boolean {
  return instanceIsReachable(replica) && replica.sql.replication?.lastIoError !== undefined;
}

export function replicaIsStillReceiving(replica: InstanceFacts): boolean {
  return instanceIsReachable(replica) && replica.sql.replication !== undefined && replica.sql.replication.ioThread !== 'stopped';
}

/**
 * Writable, not anyone's replica, and, when acks are awaited, the semi-sync source half on with
 * AFTER_SYNC, the ack count, and a timeout that never degrades it (a short one from a config file
 * is put right by promoting again).
 */
export function primaryIsConfiguredAsPrimary(primary: InstanceFacts, ackCount: number): boolean {
  if (!instanceIsReachable(primary)) return false;
  const s = primary.sql.semiSync;
  const semiSyncRight =
    ackCount === 0
      ? !s.sourceEnabled
      : s.sourceEnabled && s.waitPoint === 'AFTER_SYNC' && s.ackCount === ackCount && (s.timeoutMs ?? 0) >= SEMI_SYNC_NEVER_DEGRADE_TIMEOUT_MS;
  return !primary.sql.readOnly && primary.sql.replication === undefined && !s.replicaEnabled && semiSyncRight;
}

export function primaryIsWaitingForAcks(primary: InstanceFacts): boolean {
  return instanceIsReachable(primary) && primary.sql.semiSync.waitingSessions > 0;
}

/**
 * Every acknowledged commit is on at least `ackCount` replicas. Seeing more than
 * replicas - ackCount of them (with their data) guarantees one of those seen holds each such
 * commit; seeing fewer, a commit may live only on replicas that do not answer.
 */
export function enoughReplicasAnswerToKeepEveryAcknowledgedWrite(answering: number, replicas: number, ackCount: number): boolean {
  return answering >= replicas - Math.max(1, ackCount) + 1;
}

/** The instance whose received transactions include every other's; undefined when none does. */
export function mostAdvanced(instances: readonly Reachable[]): Reachable | undefined {
  return instances.find((candidate) => instances.every((other) => candidate.sql.received.includes(other.sql.received)));
}
