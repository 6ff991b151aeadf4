/**
 * The database loop of one stack (after moco's clustering loop): gather every instance over SQL
 * and from the API -> decide (pure, decide.ts) -> act (one step) -> role labels and
 * `status.database`, then again soon. It is the only writer of the role label and of
 * `status.database` (its own field manager), so the object loop never moves a primary.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { withDefaults, type DefaultedWebStack } from '../api/defaults.js';
import { API_VERSION, DATABASE_FIELD_MANAGER, DB_ROLE_LABEL, KIND } from '../api/identity.js';
import { splitStackKey, stackKey } from '../api/keys.js';
import { names } from '../blueprint/names.js';
import type { DatabaseInstanceStatus, DatabaseStatus, WebStack } from '../api/types.js';
import type { ObjectApi } from '../kube/apply.js';
import { EventRecorder } from '../kube/events.js';
import type { Lookup } from '../kube/lookup.js';
import type { ProcessResult } from '../runtime/queue.js';
import { act } from './act.js';
import { decide, type Decision } from './decide.js';
import { Slots } from '../support/slots.js';
import { ExclusionGate } from './exclusion-gate.js';
import type { ClusterFacts } from './facts.js';
import { gatherCluster, wiring, type Contact, type PrimaryHistory, type Wiring } from './gather.js';
import { primaryIsWaitingForAcks } from './predicates.js';

/**
 * How soon the loop looks again: calmly when all is well, often while something is wrong, and at
 * once after a step, whose next step is often due already (a failover is three: stop the replicas'
 * IO, promote, repoint; on the defaults each waited the 2 s of a busy recheck). A power cut shows
 * only at the next look, so the calm cadence is part of every unplanned failover's outage (with
 * 10 s, a primary node's power cut on the defaults took 31 s).
 */
const RECHECK_MS = { healthy: 5_000, busy: 2_000, afterStep: 500 } as const;
/** Consecutive decisions that must agree before an instance is excluded. */
const EXCLUSION_CONFIRMATIONS = 3;

export interface DatabaseLoopDeps {
  stacks: { get(namespace: string, name: string): WebStack | undefined };
  caches: Lookup;
  objects: Pick<ObjectApi, 'getObject' | 'mergePatch' | 'applyStatus' | 'createObject' | 'deleteObject'>;
  failoverDelayMs: number;
  /** Seeds running at once, across stacks (default 1): fewer than the queue's workers. */
  seedSlots?: number;
  onRoleChange?: (kind: 'failover' | 'switchover', stack: DefaultedWebStack) => void;
  now?: () => Date;
}

export class DatabaseLoop {
  private readonly now: () => Date;
  private readonly recorder: EventRecorder;
  private readonly contact = new Map<string, Contact>();
  private readonly primaryHistory = new Map<string, PrimaryHistory>();
  private readonly exclusions = new ExclusionGate(EXCLUSION_CONFIRMATIONS);
  private readonly seedSlots: Slots;

  constructor(private readonly deps: DatabaseLoopDeps) {
    this.now = deps.now ?? (() => new Date());
    this.seedSlots = new Slots(deps.seedSlots ?? 1);
    this.recorder = new EventRecorder(deps.objects, DATABASE_FIELD_MANAGER, this.now);
  }

  async reconcile(key: string, log: Logger): Promise<ProcessResult | undefined> {
    const { namespace, name } = splitStackKey(key);
    const stack = this.stackToLookAt(namespace, name);
    if (!stack) return undefined;
    const wired = wiring(this.deps.caches, stack);
    if (!wired.ok) {
      await this.writeStatus(stack, { ...stack.status?.database, state: 'Incomplete', reason: wired.reason });
      return { requeueAfterMs: RECHECK_MS.busy };
    }
    const lookedAt = this.now().getTime();
    const facts = await this.gather(key, stack, wired.wiring, lookedAt);
    const decision = this.exclusions.pass(key, decide(facts));
    const previous = stack.status?.database;
    logStateChange(log, previous, decision);
    let status = statusOf(previous, facts, decision);
    await this.reportWaitingForAcks(stack, previous?.commitsWaitingForAck, status);
    if (decision.action.kind !== 'none') log.info({ action: decision.action, state: decision.state }, 'database: acting');
    const done = await act(decision.action, {
      wiring: wired.wiring,
      ackCount: facts.ackCount,
      record: async (primary, change) => {
        status = { ...status, primary };
        if (change) {
          const entry = { time: this.now().toISOString(), from: change.from, to: primary, reason: change.reason };
          status = change.kind === 'failover' ? { ...status, lastFailover: entry } : { ...status, lastSwitchover: entry };
          this.deps.onRoleChange?.(change.kind, stack);
          await this.event(stack, change.kind === 'failover' ? 'Warning' : 'Normal', change.kind === 'failover' ? 'Failover' : 'Switchover', `${change.from} -> ${primary}: ${change.reason}`);
        }
        await this.writeStatus(stack, status);
      },
      include: async (instance) => {
        if (!(status.excluded ?? []).some((e) => e.name === instance)) return;
        const excluded = (status.excluded ?? []).filter((e) => e.name !== instance);
        const { excluded: _old, ...rest } = status;
        status = excluded.length > 0 ? { ...rest, excluded } : rest;
        await this.writeStatus(stack, status);
        await this.event(stack, 'Normal', 'InstanceRejoined', `${instance} came back with an empty data directory (the remedy): it is seeded from the primary and rejoins`);
      },
      exclude: async (instance, reason, remedy) => {
        status = { ...status, excluded: [...(status.excluded ?? []).filter((e) => e.name !== instance), { name: instance, reason, remedy }] };
        await this.writeStatus(stack, status);
        await this.event(stack, 'Warning', 'InstanceExcluded', `${instance}: ${reason}. Remedy: ${remedy}`);
      },
      deletePod: async (instance) => {
        const ns = stack.metadata.namespace ?? '';
        // The pod this decision was made on, not one the StatefulSet made since.
        const uid = this.deps.caches.get('Pod', ns, instance)?.metadata.uid;
        if (uid === undefined) return;
        await this.deps.objects.deleteObject({ apiVersion: 'v1', kind: 'Pod', name: instance, namespace: ns }, { preconditions: { uid } });
        await this.event(stack, 'Normal', 'RollingUpdate', `${instance} restarted to run the current pod template`);
      },
      takeSeedSlot: () => this.seedSlots.take(),
      seedProgress: async (seeding) => {
        const { seeding: _ended, ...rest } = status;
        status = seeding === undefined ? rest : { ...status, seeding };
        await this.writeStatus(stack, status);
      },
      movePrimaryLabel: (from, to) => this.movePrimaryLabel(stack, from, to),
      warn: (reason, message) => this.event(stack, 'Warning', reason, message),
      recordAcksReleased: async (since, reason) => {
        const { acksReleased: _cleared, ...rest } = status;
        // A record already there is older, so it is the truer start of the window: it stays.
        status = since === undefined ? rest : { ...status, acksReleased: status.acksReleased ?? { since, time: this.now().toISOString() } };
        await this.writeStatus(stack, status);
        await this.event(stack, since === undefined ? 'Normal' : 'Warning', since === undefined ? 'AcksRequired' : 'AcksReleased', reason);
      },
    }).catch(async (err: unknown) => {
      // Status shows the step that fails (a failover may retry one for a while), not the state from before it.
      await this.writeStatus(stack, { ...status, reason: `${status.reason ?? ''}; that step failed, retrying: ${err instanceof Error ? err.message : String(err)}` });
      throw err;
    });
    await this.labelPods(stack, decision, status.primary);
    await this.writeStatus(stack, status);
    return { requeueAfterMs: nextLookInMs(decision, done, facts, lookedAt, this.now().getTime()) };
  }

  /**
   * The stack, unless it is gone or going: then what the loop remembered of its instances is
   * forgotten, and a stack made again with the same name starts afresh.
   */
  private stackToLookAt(namespace: string, name: string): DefaultedWebStack | undefined {
    const raw = this.deps.stacks.get(namespace, name);
    if (raw && !raw.metadata.deletionTimestamp) return withDefaults(raw);
    const prefix = `${namespace}/${names(name).mysql}-`;
    for (const key of this.contact.keys()) if (key.startsWith(prefix)) this.contact.delete(key);
    this.primaryHistory.delete(stackKey({ namespace, name }));
    return undefined;
  }

  /** The facts of one look, with what the loop remembers between looks (answers, the primary's recent GTID sets). */
  private gather(key: string, stack: DefaultedWebStack, wiring: Wiring, now: number): Promise<ClusterFacts> {
    const primaryHistory = this.primaryHistory.get(key) ?? { samples: [] };
    this.primaryHistory.set(key, primaryHistory);
    const { caches, objects, failoverDelayMs } = this.deps;
    return gatherCluster({ stack, wiring, caches, objects, contact: this.contact, primaryHistory, now, failoverDelayMs });
  }

  /**
   * `primary` on the recorded primary; `replica` only on replicas in sync (an empty or broken one
   * must not serve reads); no label on anything else.
   */
  private async labelPods(stack: DefaultedWebStack, decision: Decision, primary: string | undefined): Promise<void> {
    const ns = stack.metadata.namespace ?? '';
    for (const verdict of decision.instances) {
      const pod = this.deps.caches.get('Pod', ns, verdict.name);
      if (!pod || pod.metadata.deletionTimestamp) continue;
      const role = verdict.name === primary ? 'primary' : verdict.role === 'replica' && verdict.healthy ? 'replica' : null;
      if ((pod.metadata.labels?.[DB_ROLE_LABEL] ?? null) === role) continue;
      await this.deps.objects.mergePatch({ apiVersion: 'v1', kind: 'Pod', name: verdict.name, namespace: ns }, { metadata: { labels: { [DB_ROLE_LABEL]: role } } });
    }
  }

  /** The primary label onto `to` and off `from` now (a switchover's clients reconnect to `to`). */
  private async movePrimaryLabel(stack: DefaultedWebStack, from: string, to: string): Promise<void> {
    const ns = stack.metadata.namespace ?? '';
    const label = (name: string, role: string | null) =>
      this.deps.objects.mergePatch({ apiVersion: 'v1', kind: 'Pod', name, namespace: ns }, { metadata: { labels: { [DB_ROLE_LABEL]: role } } });
    // The new one first: for a moment both carry it, never neither (the old one is read-only already).
    await label(to, 'primary');
    await label(from, null).catch(() => undefined);
  }

  /** An Event when commits start waiting for a replica's ack (writes hang), and one when they stop. */
  private async reportWaitingForAcks(stack: DefaultedWebStack, before: number | undefined, now: DatabaseStatus): Promise<void> {
    const waiting = now.commitsWaitingForAck;
    if (waiting !== undefined && before === undefined) {
      await this.event(stack, 'Warning', 'WaitingForAcks', `${String(waiting)} commits on the primary ${now.primary ?? ''} wait for a replica's acknowledgement: writes hang until a replica is back (${now.reason ?? ''})`);
    } else if (waiting === undefined && before !== undefined) {
      await this.event(stack, 'Normal', 'AcksResumed', `no commit on the primary ${now.primary ?? ''} waits for a replica any more`);
    }
  }

  private async writeStatus(stack: DefaultedWebStack, database: DatabaseStatus): Promise<void> {
    if (isDeepStrictEqual(database, stack.status?.database)) return;
    const metadata = { name: stack.metadata.name, namespace: stack.metadata.namespace ?? '' };
    await this.deps.objects.applyStatus({ apiVersion: API_VERSION, kind: KIND, metadata, status: { database } }, { fieldManager: DATABASE_FIELD_MANAGER, force: true });
    stack.status = { ...stack.status, database };
  }

  private async event(stack: DefaultedWebStack, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const { name, namespace, uid } = stack.metadata;
    await this.recorder.record({ apiVersion: API_VERSION, kind: KIND, name, namespace, uid }, { type, reason, message });
  }
}

/** When the loop looks again at a stack it looked at `lookedAt`; always > 0 (the queue's "again"). */
export function nextLookInMs(decision: Decision, done: boolean, facts: ClusterFacts, lookedAt: number, now: number): number {
  if (done && decision.action.kind !== 'none') return RECHECK_MS.afterStep;
  const failoverDue = failoverDueInMs(facts, lookedAt, now);
  if (failoverDue !== undefined && failoverDue < RECHECK_MS.busy) return failoverDue;
  return done && decision.state === 'Healthy' ? RECHECK_MS.healthy : RECHECK_MS.busy;
}

/**
 * How soon the failover delay of a silent primary ends, when it has not yet: the look that may
 * fail over then comes at that moment, not up to a busy recheck later.
 */
function failoverDueInMs(facts: ClusterFacts, lookedAt: number, now: number): number | undefined {
  const primary = facts.instances.find((i) => i.name === facts.primary);
  if (!primary || primary.sql.reachable || primary.unreachableForMs >= facts.failoverDelayMs) return undefined;
  // At least 1 ms: the queue takes 0 as "no requeue" (a drill then waited 29 s for a pod event).
  return Math.max(1, facts.failoverDelayMs - primary.unreachableForMs - (now - lookedAt));
}

/** One line per change of state or reason: what a failed drill or an operator's log reader follows. */
function logStateChange(log: Logger, previous: DatabaseStatus | undefined, decision: Decision): void {
  if (previous?.state === decision.state && previous.reason === decision.reason) return;
  log.info({ state: decision.state, reason: decision.reason }, 'database: state changed');
}

/** status.database from a decision; the recorded primary and history are kept. */
export function statusOf(previous: DatabaseStatus | undefined, facts: ClusterFacts, decision: Decision): DatabaseStatus {
  const instances = decision.instances.map((v): DatabaseInstanceStatus => {
    const sql = facts.instances.find((i) => i.name === v.name)?.sql;
    const lag = sql?.reachable ? sql.replication?.lagSeconds : undefined;
    return {
      name: v.name,
      role: v.role,
      healthy: v.healthy,
      reason: v.reason,
      ...(sql?.reachable ? { gtid: sql.executed.toString() } : {}),
      ...(lag === undefined ? {} : { lagSeconds: lag }),
    };
  });
  const excludedNow = new Set(decision.instances.filter((v) => v.role === 'excluded').map((v) => v.name));
  const excluded = (previous?.excluded ?? []).filter((e) => excludedNow.has(e.name));
  const primary = facts.instances.find((i) => i.name === previous?.primary);
  const waiting = primary && primaryIsWaitingForAcks(primary) && primary.sql.reachable ? primary.sql.semiSync.waitingSessions : undefined;
  return {
    ...(previous?.primary === undefined ? {} : { primary: previous.primary }),
    replicas: decision.instances.filter((v) => v.role === 'replica' && v.healthy).map((v) => v.name),
    state: decision.state,
    reason: decision.reason,
    ...(waiting === undefined ? {} : { commitsWaitingForAck: waiting }),
    instances,
    ...(excluded.length > 0 ? { excluded } : {}),
    ...carried(previous),
  };
}

/** What only an action changes, kept from tick to tick: the acks record and the role history. */
function carried(previous: DatabaseStatus | undefined): Pick<DatabaseStatus, 'acksReleased' | 'lastFailover' | 'lastSwitchover'> {
  const { acksReleased, lastFailover, lastSwitchover } = previous ?? {};
  return { ...(acksReleased ? { acksReleased } : {}), ...(lastFailover ? { lastFailover } : {}), ...(lastSwitchover ? { lastSwitchover } : {}) };
}
