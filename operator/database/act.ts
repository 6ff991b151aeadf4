/**
 * The database loop's actions: one decided step, run over SQL. Each opens its own connections and
 * closes them; an error propagates and the loop decides again from fresh facts. Where a step must
 * be recorded before it is taken (a new primary), `record` writes it to status first, so a loop
 * stopped halfway finds a recorded, read-only primary and promotes it (decide's repair rule).
 */
import type { Action } from './decide.js';
import { Instance } from '../mysql/instance.js';
import { seedFromLogicalDump } from '../mysql/seed-mariadb.js';
import { cloneProgress, seedByClone } from '../mysql/seed-mysql.js';
import type { SeedProgress } from '../api/types.js';
import type { Wiring } from './gather.js';

/** How long Service endpoints take to follow a moved label on the nodes, before clients are sent to reconnect. */
const ENDPOINTS_SETTLE_MS = 2_000;
/** How long a candidate may take to apply what it received, before the loop decides again. */
const APPLY_TIMEOUT_MS = 30_000;
/** How long a seed may take: a copy of tens of gigabytes, well within; a hung one, not forever. */
export const SEED_DEADLINE_MS = 30 * 60_000;
/** How often a seed's progress goes to status. */
const SEED_PROGRESS_EVERY_MS = 5_000;

export interface ActContext {
  wiring: Wiring;
  ackCount: number;
  /** Records `primary` as the primary in status (and the role change), before it is promoted. */
  record(primary: string, change?: { kind: 'failover' | 'switchover'; from: string; reason: string }): Promise<void>;
  /** Adds `name` to the excluded instances in status. */
  exclude(name: string, reason: string, remedy: string): Promise<void>;
  /** Removes `name` from the excluded instances (its remedy was applied); nothing when it is not there. */
  include(name: string): Promise<void>;
  /** Deletes the pod of `name` (the StatefulSet re-creates it). */
  deletePod(name: string): Promise<void>;
  /** Moves the primary role label from `from` to `to` now, so the -primary Service routes new connections to `to`. */
  movePrimaryLabel(from: string, to: string): Promise<void>;
  /** Records in status that the primary commits without acks since `since` (undefined: clears it). */
  recordAcksReleased(since: string | undefined, reason: string): Promise<void>;
  /** One of the operator's seed slots (its release), or nothing when every one is taken. */
  takeSeedSlot(): (() => void) | undefined;
  /** A Warning Event on the stack. */
  warn(reason: string, message: string): Promise<void>;
  /** Shows a seed's progress in status (undefined: the seed ended). */
  seedProgress(progress: SeedProgress | undefined): Promise<void>;
}

async function withInstance<T>(ctx: ActContext, name: string, fn: (instance: Instance) => Promise<T>): Promise<T> {
  const target = ctx.wiring.target(name);
  if (!target) throw new Error(`${name} has no pod IP`);
  const instance = await Instance.connect(ctx.wiring.adapter, target);
  try {
    return await fn(instance);
  } finally {
    await instance.close();
  }
}

/** Runs `action`; false when it has to wait (a candidate still applying), so the loop comes back soon. */
export async function act(action: Action, ctx: ActContext): Promise<boolean> {
  const semiSync = ctx.ackCount > 0;
  switch (action.kind) {
    case 'none':
      return true;
    case 'promote':
      await ctx.record(action.instance);
      await withInstance(ctx, action.instance, (i) => i.promote({ ackCount: ctx.ackCount }));
      return true;
    case 'stopReplicationIo': {
      // All at once: an IO thread stops only when its current connect returns, and after a node's
      // power cut that includes a DNS lookup that may wait on a dead DNS server for tens of seconds.
      // allSettled: every session is closed before the loop decides again, even when one stop failed.
      const stops = await Promise.allSettled(action.instances.map((name) => withInstance(ctx, name, (i) => i.stopReplicationIo())));
      const failed = stops.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      return true;
    }
    case 'failover': {
      const applied = await withInstance(ctx, action.candidate, (i) => i.waitUntilApplied(APPLY_TIMEOUT_MS));
      if (!applied) return false;
      await ctx.record(action.candidate, { kind: 'failover', from: action.from, reason: action.reason });
      await withInstance(ctx, action.candidate, async (i) => {
        // Recorded before it commits anything without an ack: the replicas lack what follows.
        if (action.withoutAcks !== undefined) await ctx.recordAcksReleased((await i.status()).executed.toString(), action.withoutAcks);
        await i.promote({ ackCount: action.withoutAcks === undefined ? ctx.ackCount : 0 });
      });
      return true;
    }
    case 'switchover': {
      // Replicas still ack: the plain, bounded fence. Then the candidate must hold all of it.
      const executed = await withInstance(ctx, action.from, async (old) => {
        await old.fence();
        return (await old.status()).executed;
      });
      const caughtUp = await withInstance(ctx, action.candidate, (i) => i.waitForGtid(executed, APPLY_TIMEOUT_MS));
      if (!caughtUp) return false;
      await ctx.record(action.candidate, { kind: 'switchover', from: action.from, reason: action.reason });
      await withInstance(ctx, action.candidate, (i) => i.promote({ ackCount: ctx.ackCount }));
      await sendClientsToTheNewPrimary(ctx, action.from, action.candidate);
      // A stopping old primary (a deleted pod) may hold a statement until its shutdown ends, and the
      // new primary's writes would wait that long: the decision after its return repoints it.
      if (action.repointFrom) await withInstance(ctx, action.from, (i) => i.repoint(ctx.wiring.source(action.candidate), { semiSync })).catch(() => undefined);
      return true;
    }
    case 'repoint':
      await withInstance(ctx, action.instance, (i) => i.repoint(ctx.wiring.source(action.source), { semiSync }));
      return true;
    case 'fence':
      // A stray writer (an old primary back after a failover, an emptied primary): read-only at
      // once, its clients cut off (Instance.fenceStrayWriter).
      await withInstance(ctx, action.instance, (i) => i.fenceStrayWriter());
      return true;
    case 'seed':
      return seedInASlot(ctx, action, semiSync);
    case 'restart':
      await ctx.deletePod(action.instance);
      return true;
    case 'exclude':
      await ctx.exclude(action.instance, action.reason, action.remedy);
      await withInstance(ctx, action.instance, async (i) => i.run([i.adapter.stopReplica()])).catch(() => undefined);
      return true;
    default:
      return changeAcks(action, ctx);
  }
}

/**
 * An application's pool keeps its connections to the old primary, now read-only, and gets errors
 * on every write until they end (seen on the defaults: 39 s of read-only errors for a pooled app
 * after a deleted primary pod). The label moves first and the Service's endpoints follow; then
 * the old primary's client connections are ended, and the pool reconnects to the new primary.
 * The loop does not wait for that: its next step may be what lets the new primary's commits
 * complete (releasing acks while the old primary's pod is gone), and waiting here delayed it (the
 * per-row writer's outage went from 1.5 s to 2.8 s). Best effort: a stopping old primary may not
 * answer, and its shutdown ends those connections anyway.
 */
async function sendClientsToTheNewPrimary(ctx: ActContext, from: string, to: string): Promise<void> {
  await ctx.movePrimaryLabel(from, to);
  setTimeout(() => void withInstance(ctx, from, (i) => i.disconnectClients()).catch(() => undefined), ENDPOINTS_SETTLE_MS).unref();
}

/** Durability Preferred: the primary stops or starts waiting for acks. */
async function changeAcks(action: Extract<Action, { kind: 'releaseAcks' | 'requireAcks' }>, ctx: ActContext): Promise<boolean> {
  if (action.kind === 'releaseAcks') {
    // Recorded first: a loop stopped right after the release still knows the replicas lack writes.
    await withInstance(ctx, action.instance, async (primary) => {
      await ctx.recordAcksReleased((await primary.status()).executed.toString(), action.reason);
      await primary.disableSemiSyncSource();
    });
    return true;
  }
  const executed = await withInstance(ctx, action.instance, async (primary) => {
    await primary.enableSemiSyncSource(ctx.ackCount);
    return (await primary.status()).executed;
  });
  // Every commit from here on waits for an ack; the record goes once the replica has the rest.
  const caughtUp = await withInstance(ctx, action.replica, (r) => r.waitForGtid(executed, APPLY_TIMEOUT_MS));
  if (!caughtUp) return false;
  await ctx.recordAcksReleased(undefined, action.reason);
  return true;
}

/**
 * A seed holds its worker for as long as it copies. It takes one of the seed slots, fewer than the
 * loop's workers, so another stack's failover always finds a worker; false when none is free.
 */
async function seedInASlot(ctx: ActContext, action: Extract<Action, { kind: 'seed' }>, semiSync: boolean): Promise<boolean> {
  const release = ctx.takeSeedSlot();
  if (!release) return false;
  const { instance: name, donor, discarding } = action;
  try {
    // An excluded instance that came back empty had its remedy applied: it rejoins by this seed.
    await ctx.include(name);
    if (discarding !== undefined) await ctx.warn('UnacknowledgedDiscarded', `${action.reason}; its GTID set was ${discarding}`);
    await seed(ctx, name, donor, semiSync, discarding !== undefined);
  } finally {
    release();
  }
  return true;
}

async function seed(ctx: ActContext, name: string, donor: string, semiSync: boolean, replacing: boolean): Promise<void> {
  const target = ctx.wiring.target(name);
  const donorTarget = ctx.wiring.target(donor);
  if (!target || !donorTarget) throw new Error(`${name} or ${donor} has no pod IP`);
  const started = Date.now();
  const shown: SeedProgress = {
    instance: name,
    donor,
    method: ctx.wiring.adapter.engine === 'mariadb' ? 'dump' : 'clone',
    started: new Date(started).toISOString(),
    deadline: new Date(started + SEED_DEADLINE_MS).toISOString(),
  };
  // One status write after the other, so that none lands after the seed's end; best effort: a
  // write that fails does not stop the copy.
  let writes = ctx.seedProgress(shown);
  let ended = false;
  const show = (copied: { copiedBytes: number; estimatedBytes?: number }) => {
    if (!ended) writes = writes.then(() => ctx.seedProgress({ ...shown, ...copied })).catch(() => undefined);
  };
  await writes;
  try {
    if (ctx.wiring.adapter.engine === 'mariadb') {
      await seedFromLogicalDump({ donor: donorTarget, target, source: ctx.wiring.source(donor), semiSync, deadlineMs: SEED_DEADLINE_MS, onProgress: (copiedBytes) => show({ copiedBytes }), progressEveryMs: SEED_PROGRESS_EVERY_MS });
      return;
    }
    // The recipient copies by itself; a second session reads how far it is.
    const timer = setInterval(() => void withInstance(ctx, name, cloneProgress).then(show, () => undefined), SEED_PROGRESS_EVERY_MS);
    // The recipient restarts after a clone; the next decision repoints it.
    const source = ctx.wiring.source(donor);
    const donorEndpoint = { host: source.host, port: source.port, user: donorTarget.user, password: donorTarget.password };
    try {
      await withInstance(ctx, name, (i) => seedByClone(i, source.caFile === undefined ? donorEndpoint : { ...donorEndpoint, caFile: source.caFile }, SEED_DEADLINE_MS, { replacing }));
    } finally {
      clearInterval(timer);
    }
  } finally {
    ended = true;
    await writes;
    await ctx.seedProgress(undefined).catch(() => undefined);
  }
}
