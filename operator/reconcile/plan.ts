/**
 * Plan: what to write, decided from what is wanted and what the caches show, with no I/O. A pure
 * function, so the steady state ("nothing to do") and every migration are unit-tested without a
 * cluster.
 */
import { CHILD_KINDS } from '../api/kinds.js';
import type { Lookup } from '../kube/lookup.js';
import type { KubeObject } from '../kube/types.js';
import { satisfies } from '../kube/diff.js';
import { objectId } from './ownership.js';

export interface Plan {
  /** Desired objects the caches do not show as they should be, in render's order. */
  apply: KubeObject[];
  /** The owner's children that render no longer produces, of kinds that are pruned. */
  prune: KubeObject[];
}

export interface PlanInput {
  desired: KubeObject[];
  live: Pick<Lookup, 'get'>;
  /** Every cached child of the stack (ownership.ownedChildren). */
  owned: KubeObject[];
}

/**
 * A changed selector is applied like any other field: the server refuses it for a Deployment or a
 * StatefulSet (immutable), loudly, and no automatic migration takes a tier down to recreate one.
 */
export function plan(input: PlanInput): Plan {
  const result: Plan = { apply: [], prune: [] };
  for (const obj of input.desired) {
    const live = input.live.get(obj.kind, obj.metadata.namespace, obj.metadata.name);
    if (!live || !satisfies(obj, live)) result.apply.push(obj);
  }
  const wanted = new Set(input.desired.map(objectId));
  const prunable = new Set(CHILD_KINDS.filter((k) => k.prune).map((k) => k.kind));
  result.prune = input.owned.filter((o) => prunable.has(o.kind) && !wanted.has(objectId(o)));
  return result;
}
