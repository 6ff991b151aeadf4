/**
 * What the database loop knows when it decides: each instance as seen over SQL and as the
 * Kubernetes API reports its pod, plus the cluster's recorded primary and settings. Gathered by
 * the wiring; decide.ts only reads it.
 */
import type { DataDurability } from '../api/types.js';
import type { Endpoint, InstanceObservation } from '../mysql/types.js';

export interface PodFacts {
  exists: boolean;
  /** The kubelet's Ready condition: it probes the container where it runs, not from the operator. */
  ready: boolean;
  /** metadata.deletionTimestamp is set: a planned stop (deletion, eviction, rollout). */
  terminating: boolean;
  /**
   * The node's Ready condition; undefined when the pod is unscheduled, the node is unknown, or the
   * instance answers over SQL (the node is read only for an instance that does not).
   */
  nodeReady: boolean | undefined;
  /**
   * The kubelet's heartbeat, its Lease in kube-node-lease: how long ago it was last renewed and the
   * lease's duration (the kubelet renews every quarter of it). Read, like nodeReady, only for an
   * instance that does not answer; undefined when there is none or it cannot be read.
   */
  nodeLease?: { renewedAgoMs: number; durationMs: number };
  /**
   * The pod runs an older revision of the StatefulSet's template than it asks for. The StatefulSet
   * rolls nothing itself (OnDelete): the loop restarts such pods in role order.
   */
  outdated: boolean;
}

export interface InstanceFacts {
  /** The pod name, e.g. foobar-mysql-1. */
  name: string;
  /** Where the other servers reach it; matched against a replica's configured source. */
  address: Endpoint;
  pod: PodFacts;
  sql: InstanceObservation;
  /** How long since it last answered the operator over SQL (gather.ts Contact); 0 when this look reached it. */
  unreachableForMs: number;
  /**
   * For one that does not answer: whether it held data (application tables or a transaction) when
   * it last answered this process; undefined when it never did.
   */
  heldDataWhenLastSeen?: boolean;
  /**
   * For a replica: how long ago the primary had executed a transaction this replica still lacks
   * (from the primary's GTID sets of earlier looks, gather.ts PrimaryHistory); 0 when it has all of
   * them. A lower bound of its lag that needs no help from the replica: a replica whose disk is
   * full or whose IO thread hangs reports 0 s behind, having applied all it received.
   */
  lacksPrimaryWritesForMs?: number;
  /**
   * The same for what the replica has received (its IO thread), not applied: 0 when it has received
   * everything the primary had at the last look. A semi-sync ack is sent on receipt, so this, not
   * the applier's lag, says whether it can ack again.
   */
  receivedBehindPrimaryMs?: number;
}

export interface ClusterFacts {
  /** Every instance the spec asks for, in ordinal order (the order breaks ties). */
  instances: readonly InstanceFacts[];
  /** The primary as recorded in status (and the role label); undefined before the first choice. */
  primary: string | undefined;
  /** Instances already reported as excluded (errant, or unserviceable from binlogs). */
  excluded: readonly string[];
  /** How long the primary must be unreachable before a failover. */
  failoverDelayMs: number;
  /** Semi-sync acks each commit waits for (0 for a single instance). */
  ackCount: number;
  /** Preferred: the primary may commit without acks while every replica is down (acksDecision says how that is known). */
  durability: DataDurability;
  /** The instance the last failover left (status.database.lastFailover.from), and how long ago that was. */
  failedOverFrom?: { name: string; agoMs: number };
  /** Recorded in status when the primary stopped waiting for acks: its GTID set then. */
  acksReleasedSince?: string;
  /** A replica further behind than this serves stale reads: not healthy. */
  maxLagSeconds: number;
  /** A planned event asks the primary to move (node drain, rollout, certificate renewal). */
  switchoverRequested?: { reason: string };
}
