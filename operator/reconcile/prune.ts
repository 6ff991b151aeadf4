/**
 * Prune: deletes the stack's children that render no longer produces (e.g. monitoring turned
 * off). Which ones is the plan's decision; Secrets are never among them (api/kinds.ts).
 */
import type { Logger } from 'pino';
import type { ObjectApi } from '../kube/apply.js';
import { deleteSeen } from '../kube/delete.js';
import type { KubeObject } from '../kube/types.js';

export async function prune(objects: Pick<ObjectApi, 'deleteObject'>, children: KubeObject[], log: Logger): Promise<void> {
  for (const obj of children) await deleteSeen(objects, obj, log, 'pruned');
}
