/**
 * Apply: carries out a plan's writes, server-side apply of the desired objects. A refused object
 * does not stop the others; its error is reported (status, then a retry with backoff). The role
 * labels of the database pods are the database loop's (database/loop.ts), never written here.
 */
import type { Logger } from 'pino';
import { FIELD_MANAGER } from '../api/identity.js';
import type { ObjectApi } from '../kube/apply.js';
import type { KubeObject } from '../kube/types.js';
import type { Plan } from './plan.js';

/** Requests in flight at once, at most, per wave: a stack's children in one or two round trips, not a burst of fifty. */
const APPLY_PARALLELISM = 16;

export type ApplyObjects = Pick<ObjectApi, 'applyObject'>;

/** Refused children, by `Kind/name`, with the server's message. */
export type ApplyErrors = Record<string, string>;

export async function applyPlan(objects: ApplyObjects, plan: Plan, log: Logger): Promise<ApplyErrors> {
  return applyAll(objects, plan.apply, log);
}

/**
 * The one order that matters (ADR 0014): a stack's NetworkPolicies exist before anything that
 * makes its pods, so no pod ever runs unfenced. Everything else goes at once: what refers to an
 * object not there yet (a Certificate's Issuer, a pod's ConfigMap) waits for it by itself, and
 * applying kind after kind cost a round trip each.
 */
export function applyWaves(desired: readonly KubeObject[]): KubeObject[][] {
  const first = desired.filter((o) => o.kind === 'NetworkPolicy');
  const rest = desired.filter((o) => o.kind !== 'NetworkPolicy');
  return [first, rest].filter((wave) => wave.length > 0);
}

async function applyAll(objects: ApplyObjects, desired: KubeObject[], log: Logger): Promise<ApplyErrors> {
  const errors: ApplyErrors = {};
  const applyOne = async (obj: KubeObject): Promise<void> => {
    try {
      await objects.applyObject(obj, { fieldManager: FIELD_MANAGER, force: true });
      log.debug({ kind: obj.kind, name: obj.metadata.name }, 'applied');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      errors[`${obj.kind}/${obj.metadata.name}`] = message;
      log.warn({ kind: obj.kind, name: obj.metadata.name, err: message }, 'apply refused');
    }
  };
  for (const wave of applyWaves(desired)) await inParallel(wave, APPLY_PARALLELISM, applyOne);
  return errors;
}

/** `fn` over `items`, at most `limit` at a time, each starting as soon as one ends. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
