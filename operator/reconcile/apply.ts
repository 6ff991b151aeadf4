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

/** Children of one kind applied at the same time, at most. */
const APPLY_PARALLELISM = 8;

export type ApplyObjects = Pick<ObjectApi, 'applyObject'>;

/** Refused children, by `Kind/name`, with the server's message. */
export type ApplyErrors = Record<string, string>;

export async function applyPlan(objects: ApplyObjects, plan: Plan, log: Logger): Promise<ApplyErrors> {
  return applyAll(objects, plan.apply, log);
}

/** Consecutive objects of the same kind, in order. */
function runsOfOneKind(objects: KubeObject[]): KubeObject[][] {
  const runs: KubeObject[][] = [];
  for (const obj of objects) {
    const last = runs[runs.length - 1];
    if (last?.[0]?.kind === obj.kind) last.push(obj);
    else runs.push([obj]);
  }
  return runs;
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
  // Render's order holds between kinds (policies first, the CA chain before what it signs,
  // configs and Services before workloads). Objects of one kind in a row do not depend on each
  // other, so they are applied together, a few at a time: one round trip instead of several.
  for (const run of runsOfOneKind(desired)) {
    for (let i = 0; i < run.length; i += APPLY_PARALLELISM) await Promise.all(run.slice(i, i + APPLY_PARALLELISM).map(applyOne));
  }
  return errors;
}
