/**
 * Plan: what to write, decided from what is wanted and what the caches show, with no I/O. A pure
 * function, so the steady state ("nothing to do") and every migration are unit-tested without a
 * cluster.
 */
import { isDeepStrictEqual } from 'node:util';
import { CHILD_KINDS } from '../api/kinds.js';
import type { Lookup } from '../kube/lookup.js';
import type { KubeObject } from '../kube/types.js';
import { satisfies } from './diff.js';
import { objectId } from './ownership.js';


export interface Plan {
  /** Desired objects the caches do not show as they should be, in render's order. */
  apply: KubeObject[];
  /**
   * Live objects to delete before their desired version can exist: a DaemonSet whose selector
   * (immutable) changed. Deleted in the foreground; the desired one is applied once it is gone.
   */
  replace: KubeObject[];
  /** The owner's children that render no longer produces, of kinds that are pruned. */
  prune: KubeObject[];
  /** MySQL pods whose role label is not yet what it should be. */
}

export interface PlanInput {
  desired: KubeObject[];
  live: Pick<Lookup, 'get'>;
  /** Every cached child of the stack (ownership.ownedChildren). */
  owned: KubeObject[];
  /** The stack's MySQL pods by ordinal, the primary recorded in status, and the first pod's name. */
}

/**
 * Kinds whose selector change is carried out by recreation. Only the log agent's DaemonSet: it
 * keeps its read offsets on the node, so a recreation loses no logs. A Deployment or StatefulSet
 * recreated would take a tier (or the database) down, which no automatic migration may do.
 */
const RECREATE_ON_SELECTOR_CHANGE = new Set(['DaemonSet']);

interface WithSelector extends KubeObject {
  spec?: { selector?: unknown };
}

function selectorChanged(desired: KubeObject, live: KubeObject): boolean {
  if (!RECREATE_ON_SELECTOR_CHANGE.has(desired.kind)) return false;
  return !isDeepStrictEqual((desired as WithSelector).spec?.selector, (live as WithSelector).spec?.selector);
}

export function plan(input: PlanInput): Plan {
  const result: Plan = { apply: [], replace: [], prune: [] };
  for (const obj of input.desired) {
    const live = input.live.get(obj.kind, obj.metadata.namespace, obj.metadata.name);
    if (live && selectorChanged(obj, live)) {
      // Already going: its deletion event brings the stack back here to create the new one.
      if (!live.metadata.deletionTimestamp) result.replace.push(live);
    } else if (!live || !satisfies(obj, live)) {
      result.apply.push(obj);
    }
  }
  const wanted = new Set(input.desired.map(objectId));
  const prunable = new Set(CHILD_KINDS.filter((k) => k.prune).map((k) => k.kind));
  result.prune = input.owned.filter((o) => prunable.has(o.kind) && !wanted.has(objectId(o)));
  return result;
}
