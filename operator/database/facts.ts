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
  /** How long the operator has failed to reach it over SQL; 0 when the last attempt succeeded. */
  unreachableForMs: number;
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
