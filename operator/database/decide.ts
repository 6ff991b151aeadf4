/**
 * The database loop's policy, pure: from what is known about every instance, the cluster's state
 * and the one action to take next. The loop acts, gathers again and decides again, so each action
 * is a single step and a half-done step is finished (or undone) by the next decision.
 * docs/database.md states these rules in prose.
 */
import type { ClusterFacts, InstanceFacts } from './facts.js';
import {
  anyInstanceHoldsData,
  enoughReplicasAnswerToKeepEveryAcknowledgedWrite,
  everyReplicaLostTheSource,
  instanceHasEmptyDataDir,
  instanceHoldsData,
  instanceHoldsErrantTransactions,
  instanceIsExcluded,
  instanceIsReachable,
  instanceIsWritable,
  instanceMayBecomeWritable,
  replicaLacksNothingOf,
  instanceRunsAnOldRevision,
  kubernetesReportsInstanceDown,
  nodeStoppedHeartbeating,
  mostAdvanced,
  podIsGoingAway,
  primaryIsConfiguredAsPrimary,
  primaryIsUnreachableLongerThan,
  primaryIsWaitingForAcks,
  replicaApplierFailed,
  replicaCannotBeServedFromBinlogs,
  replicaIoThreadHasError,
  replicaIsConfiguredAsReplica,
  replicaIsPointedAt,
  replicaIsReplicatingFrom,
  replicaIsStillReceiving,
  replicaLagsMoreThan,
  replicaLagSeconds,
  type Reachable,
  silentSinceItsFailover,
} from './predicates.js';

export type ClusterState = 'Healthy' | 'Degraded' | 'Failed' | 'Lost' | 'Incomplete' | 'Unreachable';

export type Action =
  | { kind: 'none' }
  /** Make the chosen primary writable with semi-sync on (first choice, or repair). */
  | { kind: 'promote'; instance: string; reason: string }
  /** Failover, first step: no replica may ack the old primary any more. */
  | { kind: 'stopReplicationIo'; instances: string[]; reason: string }
  /** Failover, second step: wait until `candidate` applied what it received, record it as primary, promote it. */
  | {
      kind: 'failover';
      from: string;
      candidate: string;
      reason: string;
      /**
       * Durability Preferred with no replica left to ack once `candidate` is primary (two
       * instances): why it is promoted committing without acks, recorded first (acksReleased).
       */
      withoutAcks?: string;
    }
  /**
   * Fence `from`, wait until `candidate` has all of it, record `candidate`, promote it, then repoint
   * `from` unless it is stopping (a later decision repoints it once it is back).
   */
  | { kind: 'switchover'; from: string; candidate: string; reason: string; repointFrom: boolean }
  | { kind: 'repoint'; instance: string; source: string; reason: string }
  | { kind: 'fence'; instance: string; reason: string }
  /**
   * Copy `donor`'s data into `instance`. `discarding`: an old primary's transactions no other
   * instance has, never acknowledged, which the copy replaces (MySQL's CLONE; otherwise only into
   * an empty instance).
   */
  | { kind: 'seed'; instance: string; donor: string; reason: string; discarding?: string }
  /** Rolling update: delete the pod of `instance`, so the StatefulSet re-creates it from the current template. */
  | { kind: 'restart'; instance: string; reason: string }
  /** Record `instance` as excluded (no role label, not replicating) and report the remedy. */
  | { kind: 'exclude'; instance: string; reason: string; remedy: string }
  /** Durability Preferred, every replica down: record the primary's GTID set, then let it commit without acks. */
  | { kind: 'releaseAcks'; instance: string; reason: string }
  /** A replica is in sync again: the primary waits for acks again; once `replica` has all of it, the record goes. */
  | { kind: 'requireAcks'; instance: string; replica: string; reason: string };

export type Role = 'primary' | 'replica' | 'excluded';

export interface InstanceVerdict {
  name: string;
  role: Role;
  healthy: boolean;
  reason: string;
}

export interface Decision {
  state: ClusterState;
  reason: string;
  action: Action;
  instances: InstanceVerdict[];
}

const NONE: Action = { kind: 'none' };

const RESEED_REMEDY = (name: string): string =>
  `delete PersistentVolumeClaim data-${name} and then Pod ${name}: it is re-created empty and seeded from the primary`;

export function decide(facts: ClusterFacts): Decision {
  const primary = facts.instances.find((i) => i.name === facts.primary);
  const cutOff = operatorCutOff(facts, primary);
  if (cutOff) return cutOff;
  if (primary === undefined) return chooseFirstPrimary(facts);

  // Two writable instances are a split brain in the making: fence before anything else.
  const strayWriter = facts.instances.find((i) => i !== primary && instanceIsWritable(i));
  if (strayWriter) {
    return finish(facts, primary, 'Incomplete', `${strayWriter.name} accepts writes but is not the primary`, {
      kind: 'fence',
      instance: strayWriter.name,
      reason: `${strayWriter.name} is writable while ${primary.name} is the primary`,
    });
  }

  if (!instanceIsReachable(primary) || primaryLostItsData(primary, facts)) return decideFailover(facts, primary);
  return decideWithLivePrimary(facts, primary);
}

/** How long no instance may answer the operator, while the API says every pod runs, before the operator says it is cut off. */
export const CUT_OFF_AFTER_MS = 120_000;

/**
 * Every pod Ready on a Ready node, and yet no instance has answered the operator for
 * CUT_OFF_AFTER_MS: not the servers failing (a power cut takes pods and nodes down first) but the
 * path from the operator to them, which no database step can fix. Nothing is done until one answers.
 */
function operatorCutOff(facts: ClusterFacts, primary: InstanceFacts | undefined): Decision | undefined {
  if (facts.instances.length === 0) return undefined;
  const podsRun = facts.instances.every((i) => i.pod.exists && i.pod.ready && !i.pod.terminating && i.pod.nodeReady !== false);
  const silentFor = Math.min(...facts.instances.map((i) => (instanceIsReachable(i) ? 0 : i.unreachableForMs)));
  if (!podsRun || silentFor < CUT_OFF_AFTER_MS) return undefined;
  const reason = `no instance has answered the operator for ${seconds(silentFor)} while every pod is Ready: the path from the operator to the servers is cut (the database firewall admits the operator as operatorPeer says; status.database.instances say what each connection got)`;
  return finish(facts, primary, 'Unreachable', reason, NONE);
}

/** No primary recorded yet: wait for every instance, then take the one with the most data (or the first). */
function chooseFirstPrimary(facts: ClusterFacts): Decision {
  const silent = facts.instances.filter((i) => !instanceIsReachable(i));
  if (silent.length > 0 || facts.instances.length === 0) {
    return finish(facts, undefined, 'Incomplete', `waiting for ${silent.map((i) => i.name).join(', ') || 'instances'} to answer before choosing the first primary`, NONE);
  }
  const holders = facts.instances.filter(instanceHoldsData);
  const first = holders.length > 0 ? mostAdvanced(holders) : facts.instances[0];
  if (first === undefined) {
    return finish(facts, undefined, 'Lost', `${holders.map((i) => i.name).join(', ')} hold diverged data: choose the primary by hand`, NONE);
  }
  const writer = facts.instances.find((i) => i !== first && instanceIsWritable(i));
  if (writer) {
    return finish(facts, undefined, 'Incomplete', `fencing ${writer.name} before ${first.name} becomes the first primary`, {
      kind: 'fence',
      instance: writer.name,
      reason: `only ${first.name} may accept writes`,
    });
  }
  return finish(facts, undefined, 'Incomplete', `choosing ${first.name} as the first primary`, {
    kind: 'promote',
    instance: first.name,
    reason: holders.length > 0 ? `${first.name} holds the most data` : 'every instance is empty; the first ordinal starts the cluster',
  });
}

/** The primary answers but its data directory is empty while a replica holds data: its volume was lost. */
function primaryLostItsData(primary: InstanceFacts, facts: ClusterFacts): boolean {
  return instanceHasEmptyDataDir(primary) && anyInstanceHoldsData(facts.instances.filter((i) => i !== primary));
}

function decideFailover(facts: ClusterFacts, primary: InstanceFacts): Decision {
  const replicas = facts.instances.filter((i) => i !== primary);
  const lostData = primaryLostItsData(primary, facts);
  if (!lostData) {
    if (!primaryIsUnreachableLongerThan(primary, facts.failoverDelayMs)) {
      return finish(facts, primary, 'Failed', `${primary.name} has not answered for ${seconds(primary.unreachableForMs)}; failover after ${seconds(facts.failoverDelayMs)}`, NONE);
    }
    if (!kubernetesReportsInstanceDown(primary) && !everyReplicaLostTheSource(replicas)) {
      return finish(
        facts,
        primary,
        'Incomplete',
        `the operator cannot reach ${primary.name}, but its pod is Ready and a replica is still connected to it: the operator is the one cut off, so it does not fail over`,
        NONE,
      );
    }
  }
  const why = lostData ? `${primary.name} lost its data` : `${primary.name} has not answered for ${seconds(primary.unreachableForMs)}`;
  if (facts.acksReleasedSince !== undefined) {
    // What it committed without acks exists on no replica: promoting one would lose it.
    return finish(
      facts,
      primary,
      'Lost',
      `${why}, and it committed without a replica's ack since ${since(facts.acksReleasedSince)} while every replica was down: no replica has those writes, so none is promoted until ${primary.name} is back`,
      NONE,
    );
  }
  if (instanceIsWritable(primary)) {
    // An emptied primary that answers still takes writes from clients that reach it: fence it
    // before another instance becomes writable.
    return finish(facts, primary, 'Failed', `${why}: fencing it first`, { kind: 'fence', instance: primary.name, reason: why });
  }
  // Candidates: answering replicas with data (or empty, as the primary was), not excluded, whose pods stay.
  const pool = replicas.filter((r): r is Reachable => replicaLacksNothingOf(primary, r) && !instanceIsExcluded(r, facts) && !podIsGoingAway(r));
  if (!enoughReplicasAnswerToKeepEveryAcknowledgedWrite(pool.length, replicas.length, facts.ackCount)) {
    return finish(
      facts,
      primary,
      'Lost',
      `${why}, and only ${pool.length} of ${replicas.length} replicas answer with data: an acknowledged write may exist only on the others, so no failover until more return`,
      NONE,
    );
  }
  const receiving = replicas.filter(replicaIsStillReceiving);
  if (receiving.length > 0) {
    return finish(facts, primary, 'Failed', `${why}: stopping replication first`, {
      kind: 'stopReplicationIo',
      instances: receiving.map((r) => r.name),
      reason: `${why}; a half-alive old primary must get no more acks`,
    });
  }
  const candidate = mostAdvanced(pool);
  if (candidate === undefined) {
    return finish(facts, primary, 'Lost', `${why}, and no replica has every transaction the others have: choose by hand`, NONE);
  }
  // The instances left beside the new primary: the old one (down: that is why it fails over) and
  // the other replicas. With none of them to ack, a semi-sync promotion would hold every write until
  // the next look released acks (3 s on the defaults' power cut).
  const othersDown = replicas.every((r) => r === candidate || (!instanceIsReachable(r) && (kubernetesReportsInstanceDown(r) || nodeStoppedHeartbeating(r))));
  const withoutAcks = facts.durability === 'Preferred' && facts.ackCount > 0 && othersDown;
  return finish(facts, primary, 'Failed', `${why}: failing over to ${candidate.name}`, {
    kind: 'failover',
    from: primary.name,
    candidate: candidate.name,
    reason: `${why}; ${candidate.name} has every transaction the answering replicas received`,
    ...(withoutAcks ? { withoutAcks: `${primary.name} is down and no other replica answers: with durability Preferred, ${candidate.name} commits without a replica's ack` } : {}),
  });
}

function decideWithLivePrimary(facts: ClusterFacts, primary: Reachable): Decision {
  const replicas = facts.instances.filter((i) => i !== primary);
  const healthy = replicas.filter((r) => replicaIsHealthy(r, primary, facts));
  const { state, reason } = liveState(facts, primary, healthy.length, replicas.length);

  const planned = primary.pod.terminating
    ? 'its pod is terminating'
    : (facts.switchoverRequested?.reason ?? (rolloutReachedThePrimary(facts, primary, state) ? 'the rolling update reached it' : undefined));
  if (planned !== undefined) {
    const candidate = mostAdvanced(healthy.filter((r): r is Reachable => instanceIsReachable(r) && instanceMayBecomeWritable(r, facts.instances)));
    if (candidate) {
      return finish(facts, primary, state, reason, {
        kind: 'switchover',
        from: primary.name,
        candidate: candidate.name,
        reason: `${primary.name} must move: ${planned}`,
        repointFrom: !primary.pod.terminating,
      });
    }
  }

  const acks = acksDecision(facts, primary, replicas, healthy);
  if (!primaryIsConfiguredAsPrimary(primary, acks.runsWithoutAcks ? 0 : facts.ackCount)) {
    if (!instanceMayBecomeWritable(primary, facts.instances)) {
      const silent = facts.instances.filter((i) => !instanceIsReachable(i)).map((i) => i.name);
      return finish(facts, primary, 'Incomplete', `${primary.name} has an empty data directory and ${silent.join(', ')} do not answer: they may hold the data, so ${primary.name} stays read-only`, NONE);
    }
    return finish(facts, primary, 'Incomplete', `${primary.name} is not yet a writable semi-sync primary`, {
      kind: 'promote',
      instance: primary.name,
      reason: 'the recorded primary must accept writes, with semi-sync on when replicas exist',
    });
  }

  const withoutAcks = decideAcks(facts, primary, replicas, acks);
  if (withoutAcks) return withoutAcks;
  for (const replica of replicas) {
    const action = repairReplica(replica, primary, facts);
    if (action) return finish(facts, primary, state, reason, action);
  }
  const restart = nextRolloutRestart(facts, primary, state);
  if (restart) return finish(facts, primary, state, `${reason}; rolling update`, restart);
  return finish(facts, primary, state, planned === undefined ? reason : `${reason}; ${primary.name} must move (${planned}) but no replica is ready to take over`, NONE);
}

/**
 * A healthy replica that has received everything the primary had at the last look: it acks at
 * once, whatever its applier's lag (a replica seeded under two writers applied 1-2 s behind for
 * minutes, and requiring 0 s kept the acks released all that time). Without that history (the
 * first look after a start or a new primary), a replica with no lag.
 */
function replicaCanAckAgain(replica: InstanceFacts): boolean {
  if (!instanceIsReachable(replica)) return false;
  return replica.receivedBehindPrimaryMs === undefined ? replicaLagSeconds(replica) === 0 : replica.receivedBehindPrimaryMs === 0;
}

/**
 * Durability Preferred: whether the primary commits without acks now, and the step that changes it.
 * It stops waiting only when every replica is down by a witness besides the operator: the API
 * server reports it so, or it is the old primary a failover left, silent since (the failover's
 * evidence); never because the operator alone cannot reach one. It waits again as soon as a
 * healthy replica has received what the primary had at the last look (replicaCanAckAgain).
 */
function acksDecision(facts: ClusterFacts, primary: Reachable, replicas: readonly InstanceFacts[], healthy: readonly InstanceFacts[]): { runsWithoutAcks: boolean; action?: Action; reason: string } {
  if (facts.ackCount === 0) return { runsWithoutAcks: false, reason: '' };
  const runsWithoutAcks = !primary.sql.semiSync.sourceEnabled && !primary.sql.readOnly;
  const released = facts.acksReleasedSince !== undefined || (facts.durability === 'Preferred' && runsWithoutAcks);
  const inSync = healthy.find(replicaCanAckAgain);
  // Whatever the durability now (it may have changed meanwhile), a record is cleared only this way.
  if (released && inSync !== undefined) {
    const why = `${inSync.name} is in sync again: ${primary.name} waits for acks again`;
    return { runsWithoutAcks, action: { kind: 'requireAcks', instance: primary.name, replica: inSync.name, reason: why }, reason: why };
  }
  // Required: a primary without semi-sync is repaired by promoting it again, and writes wait.
  if (facts.durability !== 'Preferred') return { runsWithoutAcks: false, reason: '' };
  // A replica that replicates in sync acks, whatever its pod's Ready says (a restarted one is in
  // sync before its readiness probe passes): only with none in sync is there no one to wait for.
  // One that replicates from the primary, its pod staying, is not down either: it acks. Counted as
  // down while its pod was not yet Ready, a restarted replica had the primary release and require
  // acks by turns for seconds after planned switchovers (4.8 s and 5.6 s outages on the defaults).
  const down = (r: InstanceFacts): string | undefined => {
    if (replicaIsReplicatingFrom(r, primary) && !podIsGoingAway(r)) return undefined;
    if (kubernetesReportsInstanceDown(r)) return `${r.name}: Kubernetes reports it down`;
    if (nodeStoppedHeartbeating(r)) return `${r.name}: its node's kubelet stopped renewing its Lease`;
    return silentSinceItsFailover(r, facts) ? `${r.name}: the old primary, silent since the failover` : undefined;
  };
  const evidence = replicas.map(down);
  const everyReplicaDown = replicas.length > 0 && evidence.every((e) => e !== undefined) && inSync === undefined;
  if (everyReplicaDown && !runsWithoutAcks) {
    const why = `every replica is down (${evidence.join('; ')}): with durability Preferred, ${primary.name} commits without a replica's ack`;
    return { runsWithoutAcks, action: { kind: 'releaseAcks', instance: primary.name, reason: why }, reason: why };
  }
  if (!released) return { runsWithoutAcks: false, reason: '' };
  return {
    runsWithoutAcks,
    reason: `${primary.name} committed without a replica's ack (durability Preferred) since ${since(facts.acksReleasedSince)}: the replicas lack what it wrote since; none is promoted until one has caught up`,
  };
}

/**
 * The step acksDecision asks for; or, while the primary runs without acks and no replica is in
 * sync yet, the repair of a replica that answers, so that it catches up.
 */
function decideAcks(facts: ClusterFacts, primary: Reachable, replicas: readonly InstanceFacts[], acks: ReturnType<typeof acksDecision>): Decision | undefined {
  if (acks.action) return finish(facts, primary, 'Degraded', acks.reason, acks.action);
  if (!acks.runsWithoutAcks) return undefined;
  for (const replica of replicas) {
    const action = repairReplica(replica, primary, facts);
    if (action) return finish(facts, primary, 'Degraded', acks.reason, action);
  }
  return finish(facts, primary, 'Degraded', acks.reason, brokenReplicaRestart(facts, primary) ?? NONE);
}

const since = (gtids: string | undefined): string => (gtids === undefined || gtids === '' ? 'the start' : gtids);

/**
 * Rolling update (the StatefulSet rolls nothing itself), one pod at a time and only while every
 * instance is in sync: the replicas first, highest ordinal first; then the primary moves by a
 * planned switchover (rolloutReachedThePrimary) and restarts as a replica. A lone instance just restarts.
 */
function nextRolloutRestart(facts: ClusterFacts, primary: Reachable, state: ClusterState): Action | undefined {
  if (facts.instances.some((i) => i.pod.terminating)) return undefined;
  const broken = brokenReplicaRestart(facts, primary);
  if (broken) return broken;
  if (state !== 'Healthy') return undefined;
  const replica = [...facts.instances].reverse().find((i) => i !== primary && instanceRunsAnOldRevision(i));
  if (replica) return { kind: 'restart', instance: replica.name, reason: `rolling update: ${replica.name} runs an old revision of the pod template` };
  if (facts.instances.length === 1 && instanceRunsAnOldRevision(primary)) {
    return { kind: 'restart', instance: primary.name, reason: `rolling update: ${primary.name}, the only instance, runs an old revision (writes stop while it restarts)` };
  }
  return undefined;
}

/**
 * A replica of an old template that is not Ready serves nothing: restarting it costs nothing, and
 * is what heals a reverted template (a pod made from a bad image is old once the image is reverted).
 */
function brokenReplicaRestart(facts: ClusterFacts, primary: Reachable): Action | undefined {
  if (facts.instances.some((i) => i.pod.terminating)) return undefined;
  const broken = facts.instances.find((i) => i !== primary && instanceRunsAnOldRevision(i) && !i.pod.ready);
  return broken && { kind: 'restart', instance: broken.name, reason: `${broken.name} runs an old revision of the pod template and is not Ready: restarted from the current one` };
}

/** Every replica runs the current template and is in sync, the primary does not: it moves next. */
function rolloutReachedThePrimary(facts: ClusterFacts, primary: Reachable, state: ClusterState): boolean {
  return state === 'Healthy' && facts.instances.length > 1 && instanceRunsAnOldRevision(primary) && facts.instances.every((i) => i === primary || !instanceRunsAnOldRevision(i));
}

function liveState(facts: ClusterFacts, primary: Reachable, healthy: number, replicas: number): { state: ClusterState; reason: string } {
  const waiting = primaryIsWaitingForAcks(primary) ? `; ${primary.sql.semiSync.waitingSessions} commits wait for a replica's ack` : '';
  if (healthy === replicas && facts.instances.every((i) => i.pod.ready)) return { state: 'Healthy', reason: `${primary.name} is the primary; every replica is in sync${waiting}` };
  if (healthy >= facts.ackCount) return { state: 'Degraded', reason: `${primary.name} is the primary; ${healthy} of ${replicas} replicas are in sync${waiting}` };
  return {
    state: 'Incomplete',
    reason: `${primary.name} is the primary, but only ${healthy} of the ${facts.ackCount} replicas each commit waits for are in sync: writes stall${waiting}`,
  };
}

function replicaIsHealthy(replica: InstanceFacts, primary: Reachable, facts: ClusterFacts): boolean {
  return (
    !instanceIsExcluded(replica, facts) &&
    replicaIsReplicatingFrom(replica, primary) &&
    replicaIsConfiguredAsReplica(replica, facts.ackCount) &&
    !replicaLagsMoreThan(replica, facts.maxLagSeconds) &&
    !instanceHoldsErrantTransactions(replica, primary)
  );
}

/** The next step for one replica of a live primary, if it needs one. */
function repairReplica(replica: InstanceFacts, primary: Reachable, facts: ClusterFacts): Action | undefined {
  // A stopping server is left to stop: a repoint of it hung 30 s in START REPLICA on the defaults
  // (an old primary whose pod was deleted), and its return is repointed anyway.
  if (!instanceIsReachable(replica) || replica.pod.terminating) return undefined;
  const excluded = instanceIsExcluded(replica, facts);
  const seedable = instanceHasEmptyDataDir(replica) && instanceHoldsData(primary);
  // An excluded instance comes back only re-initialized (empty): then it is seeded like any other.
  if (excluded && !seedable) return undefined;
  if (seedable) {
    return { kind: 'seed', instance: replica.name, donor: primary.name, reason: `${replica.name} has an empty data directory` };
  }
  const rewind = reseedOfTheOldPrimary(replica, primary, facts);
  if (rewind) return rewind;
  const exclusion = whyReplicaCannotFollow(replica, primary);
  if (exclusion !== undefined) return { kind: 'exclude', instance: replica.name, reason: exclusion, remedy: RESEED_REMEDY(replica.name) };
  const pointed = replicaIsPointedAt(replica, primary);
  if (!pointed || !replicaIsConfiguredAsReplica(replica, facts.ackCount) || (!replicaIsStillReceiving(replica) && !replicaIoThreadHasError(replica))) {
    return { kind: 'repoint', instance: replica.name, source: primary.name, reason: `${replica.name} does not replicate from ${primary.name} as a semi-sync replica` };
  }
  // Pointed right but failing to connect (credentials, TLS, network): repeating the repoint cannot help.
  return undefined;
}

/**
 * The old primary of the last failover, back with transactions the new primary lacks, before it
 * has followed the new one: the transactions it committed while waiting for an ack that never came
 * (a failover takes place only while acks are required, and takes the replica with every
 * transaction any answering replica received). No client was told they committed, so a copy of
 * the new primary's data replaces them without a human. MySQL only, whose CLONE replaces a data
 * directory in place; a MariaDB one is excluded with its remedy, as any errant instance. Once it
 * followed the new primary, transactions it holds beyond it came from elsewhere: excluded.
 */
function reseedOfTheOldPrimary(replica: Reachable, primary: Reachable, facts: ClusterFacts): Action | undefined {
  if (facts.failedOverFrom?.name !== replica.name || replica.sql.engine !== 'mysql') return undefined;
  if (!instanceHoldsErrantTransactions(replica, primary) || replicaIsPointedAt(replica, primary)) return undefined;
  return {
    kind: 'seed',
    instance: replica.name,
    donor: primary.name,
    reason: `${replica.name}, the primary before the failover, holds transactions ${primary.name} does not have, never acknowledged: it is re-seeded from ${primary.name}`,
    discarding: replica.sql.executed.toString(),
  };
}

/** Why a replica can never catch up with the primary again (only a re-seed helps), if so. */
function whyReplicaCannotFollow(replica: Reachable, primary: Reachable): string | undefined {
  if (instanceHoldsErrantTransactions(replica, primary)) {
    return `${replica.name} holds transactions ${primary.name} does not have (${replica.sql.executed.toString()} vs ${primary.sql.executed.toString()})`;
  }
  if (replicaCannotBeServedFromBinlogs(replica)) {
    return `${primary.name} no longer has the binary logs ${replica.name} needs: ${replica.sql.replication?.lastIoError?.message ?? ''}`;
  }
  if (replicaApplierFailed(replica)) return `${replica.name} stopped applying: ${applierError(replica.sql.replication?.lastSqlError)}`;
  return undefined;
}

function finish(facts: ClusterFacts, primary: InstanceFacts | undefined, state: ClusterState, reason: string, action: Action): Decision {
  return { state, reason, action, instances: facts.instances.map((i) => verdict(i, primary, facts)) };
}

function verdict(instance: InstanceFacts, primary: InstanceFacts | undefined, facts: ClusterFacts): InstanceVerdict {
  if (instanceIsExcluded(instance, facts)) return { name: instance.name, role: 'excluded', healthy: false, reason: 'excluded: see the remedy in Events' };
  if (instance === primary) return primaryVerdict(instance, facts);
  const { healthy, reason } = replicaVerdict(instance, primary, facts);
  return { name: instance.name, role: 'replica', healthy, reason };
}

function primaryVerdict(instance: InstanceFacts, facts: ClusterFacts): InstanceVerdict {
  const name = instance.name;
  if (!instanceIsReachable(instance)) return { name, role: 'primary', healthy: false, reason: unreachable(instance) };
  const waiting = primaryIsWaitingForAcks(instance) ? `; ${String(instance.sql.semiSync.waitingSessions)} commits wait for a replica's ack` : '';
  return {
    name,
    role: 'primary',
    healthy: primaryIsConfiguredAsPrimary(instance, facts.ackCount),
    reason: `${instance.sql.readOnly ? 'read-only' : 'accepts writes'}${waiting}`,
  };
}

function replicaVerdict(instance: InstanceFacts, primary: InstanceFacts | undefined, facts: ClusterFacts): { healthy: boolean; reason: string } {
  if (!instanceIsReachable(instance)) return { healthy: false, reason: unreachable(instance) };
  if (primary === undefined || !instanceIsReachable(primary)) return { healthy: false, reason: 'no primary to replicate from' };
  // An empty replica of an empty primary (a new cluster) is as complete as it can be.
  if (instanceHasEmptyDataDir(instance) && instanceHoldsData(primary)) return { healthy: false, reason: 'empty data directory' };
  if (!replicaIsReplicatingFrom(instance, primary)) return { healthy: false, reason: notReplicating(instance, primary) };
  if (replicaLagsMoreThan(instance, facts.maxLagSeconds)) return { healthy: false, reason: `${String(replicaLagSeconds(instance))} s behind` };
  return { healthy: replicaIsHealthy(instance, primary, facts), reason: `in sync, ${String(replicaLagSeconds(instance))} s behind` };
}

function notReplicating(replica: Reachable, primary: Reachable): string {
  const r = replica.sql.replication;
  const error = r?.lastIoError?.message ?? (r?.lastSqlError === undefined ? undefined : applierError(r.lastSqlError));
  return error === undefined ? `not replicating from ${primary.name}` : `replication error: ${error}`;
}

/**
 * An applier error by its code only: its text quotes the rows it failed on ("Duplicate entry
 * 'alice@example.com' for key ..."), and status and Events are read by more people than the data.
 */
function applierError(error: { code: number } | undefined): string {
  return `applier error ${String(error?.code ?? 'unknown')} (its text may quote row data: read it in the replica's log, kubectl logs)`;
}

function unreachable(instance: InstanceFacts): string {
  return instance.sql.reachable ? 'reachable' : `unreachable: ${instance.sql.error}`;
}

function seconds(ms: number): string {
  return `${String(Math.round(ms / 100) / 10)} s`;
}
