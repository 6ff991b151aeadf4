/**
 * Prune: deletes the stack's children that render no longer produces (e.g. monitoring turned
 * off). Which ones is the plan's decision; Secrets are never among them (api/kinds.ts).
 */
import type { Logger } from 'pino';
import type { ObjectApi, PropagationPolicy } from '../kube/apply.js';
import type { KubeObject } from '../kube/types.js';

export async function prune(objects: Pick<ObjectApi, 'deleteObject'>, children: KubeObject[], log: Logger): Promise<void> {
  for (const obj of children) await deleteChild(objects, obj, log, 'pruned');
}

/** Deletes this very object (uid precondition): a namesake created since the cache saw it stays. */
export async function deleteChild(
  objects: Pick<ObjectApi, 'deleteObject'>,
  obj: KubeObject,
  log: Logger,
  why: string,
  propagationPolicy: PropagationPolicy = 'Background',
): Promise<void> {
  const { namespace } = obj.metadata;
  const ref = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, ...(namespace ? { namespace } : {}) };
  const preconditions = obj.metadata.uid ? { preconditions: { uid: obj.metadata.uid } } : {};
  await objects.deleteObject(ref, { propagationPolicy, ...preconditions });
  log.info({ kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name }, why);
}
