/**
 * Leader election on a coordination.k8s.io/v1 Lease, following client-go's algorithm:
 *
 * - A candidate takes the Lease when it does not exist, has no holder (released), or has not
 *   changed for its leaseDurationSeconds as measured on the candidate's own clock from the moment
 *   it first saw that version (never from the holder's renewTime, so clock skew between nodes
 *   does not matter).
 * - Every write is a create or a replace carrying the resourceVersion that was read, so when two
 *   candidates race, the API server lets exactly one of them win.
 * - The leader renews every retryPeriod. If it cannot renew for renewDeadline (shorter than the
 *   lease duration), it steps down even while a request is still hanging, so it stops acting
 *   before any follower can consider the lease expired. If it finds the Lease taken, it steps
 *   down at once.
 * - stop() steps down and releases the Lease (empty holder, 1s duration) so a follower takes
 *   over on its next retry instead of waiting out the lease duration.
 *
 * Quiesce the work guarded by leadership (e.g. WorkQueue.shutdown()) before calling stop().
 */
import type { Logger } from 'pino';
import { microTime, type Lease, type LeaseSpec, type LeaseStore } from '../kube/lease.js';
import { type Clock, sleep, systemClock, type Timer } from '../support/clock.js';

export type LeaderState = 'stopped' | 'standby' | 'leading';

export interface LeaderElectorOptions {
  store: LeaseStore;
  /** Unique per replica (the pod name). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  logger?: Pick<Logger, 'debug' | 'info' | 'warn'>;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  /** Called when the observed holder changes (undefined: nobody holds the lease). */
  onNewLeader?: (identity: string | undefined) => void;
}

export const LEADER_DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

interface Observation {
  resourceVersion: string | undefined;
  holder: string | undefined;
  durationMs: number;
  /** Local time when this version of the Lease was first seen. */
  seenAt: number;
}

type Attempt = { ok: true; startedAt: number } | { ok: false; heldBy?: string };

export class LeaderElector {
  private readonly store: LeaseStore;
  private readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly log: LeaderElectorOptions['logger'];
  private readonly callbacks: Pick<LeaderElectorOptions, 'onStartedLeading' | 'onStoppedLeading' | 'onNewLeader'>;

  private current: LeaderState = 'stopped';
  private observed: Observation | undefined;
  /** The Lease as last read or written by us. */
  private lease: Lease | undefined;
  private deadline: Timer | undefined;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.store = options.store;
    this.identity = options.identity;
    this.leaseDurationMs = options.leaseDurationMs ?? LEADER_DEFAULTS.leaseDurationMs;
    this.renewDeadlineMs = options.renewDeadlineMs ?? LEADER_DEFAULTS.renewDeadlineMs;
    this.retryPeriodMs = options.retryPeriodMs ?? LEADER_DEFAULTS.retryPeriodMs;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger;
    this.callbacks = options;
    if (!this.identity) throw new Error('leader election needs a non-empty identity');
    if (!(this.retryPeriodMs > 0 && this.retryPeriodMs < this.renewDeadlineMs && this.renewDeadlineMs < this.leaseDurationMs)) {
      throw new Error(
        `leader election timings must satisfy 0 < retryPeriod < renewDeadline < leaseDuration ` +
          `(got ${this.retryPeriodMs}ms, ${this.renewDeadlineMs}ms, ${this.leaseDurationMs}ms)`,
      );
    }
  }

  get state(): LeaderState {
    return this.current;
  }

  isLeader(): boolean {
    return this.current === 'leading';
  }

  start(): void {
    if (this.loop) return;
    this.current = 'standby';
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  /**
   * Stops campaigning. When leading: calls onStoppedLeading, then releases the Lease unless
   * `release` is false (false behaves like a crash: followers wait for the lease to expire).
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    if (!this.loop || !this.abort) return;
    this.abort.abort();
    await this.loop;
    this.stepDown('stopping');
    this.current = 'stopped';
    this.loop = undefined;
    // Not only when leading: the last attempt may have won the lease just as stop() was called.
    if (options.release !== false) await this.release();
  }

  private async run(signal: AbortSignal): Promise<void> {
    // A function, not `signal.aborted` directly: TypeScript would keep the loop condition's
    // narrowing across the await below and call the second check always false.
    const stopping = () => signal.aborted;
    while (!stopping()) {
      const attempt = await this.tryAcquireOrRenew();
      if (stopping()) break;
      if (attempt.ok) {
        this.armDeadline(attempt.startedAt);
        if (this.current !== 'leading') {
          this.current = 'leading';
          this.log?.info({ identity: this.identity }, 'became leader');
          this.notify(this.callbacks.onStartedLeading);
        }
      } else if (attempt.heldBy !== undefined && this.current === 'leading') {
        this.stepDown(`lease taken by ${attempt.heldBy}`);
      }
      await sleep(this.clock, this.retryPeriodMs, signal);
    }
  }

  /** Starts (or restarts) the renew deadline, counted from when the successful attempt began. */
  private armDeadline(attemptStartedAt: number): void {
    this.deadline?.cancel();
    const remaining = attemptStartedAt + this.renewDeadlineMs - this.clock.now();
    this.deadline = this.clock.setTimer(() => {
      this.stepDown(`could not renew the lease within ${this.renewDeadlineMs}ms`);
    }, remaining);
  }

  private stepDown(why: string): void {
    this.deadline?.cancel();
    this.deadline = undefined;
    if (this.current !== 'leading') return;
    this.current = 'standby';
    this.log?.warn({ identity: this.identity, reason: why }, 'stopped leading');
    this.notify(this.callbacks.onStoppedLeading);
  }

  private async tryAcquireOrRenew(): Promise<Attempt> {
    const startedAt = this.clock.now();
    try {
      const lease = await this.store.get();
      if (!lease) {
        this.remember(await this.store.create(this.spec(startedAt, undefined)));
        return { ok: true, startedAt };
      }
      this.remember(lease);
      const holder = lease.spec?.holderIdentity ?? undefined;
      if (holder && holder !== this.identity && !this.expired()) return { ok: false, heldBy: holder };
      this.remember(await this.store.update({ ...lease, spec: this.spec(startedAt, lease.spec) }));
      return { ok: true, startedAt };
    } catch (err) {
      // Conflicts (another candidate won the race) and API errors alike: retry next period.
      this.log?.debug({ identity: this.identity, err }, 'lease acquire/renew attempt failed');
      return { ok: false };
    }
  }

  private spec(now: number, previous: LeaseSpec | undefined): LeaseSpec {
    const renewing = previous?.holderIdentity === this.identity;
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.leaseDurationMs / 1000)),
      acquireTime: renewing && previous.acquireTime ? previous.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (previous && !renewing ? 1 : 0),
    };
  }

  private remember(lease: Lease): void {
    this.lease = lease;
    const rv = lease.metadata.resourceVersion;
    if (this.observed && this.observed.resourceVersion === rv) return;
    const holder = lease.spec?.holderIdentity ?? undefined;
    const previousHolder = this.observed?.holder;
    this.observed = {
      resourceVersion: rv,
      holder: holder === '' ? undefined : holder,
      durationMs: (lease.spec?.leaseDurationSeconds ?? 0) * 1000,
      seenAt: this.clock.now(),
    };
    if (this.observed.holder !== previousHolder) this.notify(() => this.callbacks.onNewLeader?.(this.observed?.holder));
  }

  private expired(): boolean {
    return !this.observed || this.clock.now() >= this.observed.seenAt + this.observed.durationMs;
  }

  private async release(): Promise<void> {
    const lease = this.lease;
    if (lease?.spec?.holderIdentity !== this.identity) return;
    const now = microTime(this.clock.now());
    try {
      const released = await this.store.update({
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
      });
      this.remember(released);
      this.log?.info({ identity: this.identity }, 'released the lease');
    } catch (err) {
      // Someone else already holds it, or the API is unreachable: followers fall back to expiry.
      this.log?.warn({ identity: this.identity, err }, 'could not release the lease');
    }
  }

  private notify(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log?.warn({ identity: this.identity, err }, 'leader election callback threw');
    }
  }
}
