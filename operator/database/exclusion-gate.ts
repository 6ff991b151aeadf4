/**
 * An exclusion is for good (until a human applies the remedy), and a re-seed that discards an old
 * primary's transactions cannot be undone, so the loop acts on one only once the same instance has
 * been decided so `needed` times in a row, each from fresh observations: one odd reading (a GTID
 * set read mid-failover, a replica caught restarting) must not take an instance out or its data
 * away. Until then the decision waits, and its reason says so.
 */
import type { Decision } from './decide.js';

export class ExclusionGate {
  /** Per stack: the instance decided excluded last, and how many times in a row. */
  private readonly seen = new Map<string, { instance: string; times: number }>();

  constructor(private readonly needed: number) {}

  pass(key: string, decision: Decision): Decision {
    const action = decision.action;
    // Also a re-seed that discards an old primary's transactions: as final as an exclusion.
    if (action.kind !== 'exclude' && !(action.kind === 'seed' && action.discarding !== undefined)) {
      this.seen.delete(key);
      return decision;
    }
    // The instance, not the reason: a reason quotes GTID sets that move with every write.
    const previous = this.seen.get(key);
    const times = previous?.instance === action.instance ? previous.times + 1 : 1;
    this.seen.set(key, { instance: action.instance, times });
    if (times >= this.needed) return decision;
    return {
      ...decision,
      action: { kind: 'none' },
      reason: `${decision.reason}; ${action.instance} is to be ${action.kind === 'exclude' ? 'excluded' : 're-seeded'} (${action.reason}): decided ${String(times)} of the ${String(this.needed)} times in a row that this needs`,
    };
  }
}
