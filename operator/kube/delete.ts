import type { Logger } from 'pino';
import type { ObjectApi } from './apply.js';
import type { KubeObject } from './types.js';

/**
 * Deletes this very object, as a cache showed it (uid precondition): a namesake created since
 * stays. Logs `why` once it is gone. The object loop prunes and finalizes with it, the agent loop
 * removes the shared agent with it.
 */
export async function deleteSeen(objects: Pick<ObjectApi, 'deleteObject'>, obj: KubeObject, log: Logger, why: string): Promise<void> {
  const { namespace } = obj.metadata;
  const ref = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, ...(namespace ? { namespace } : {}) };
  const preconditions = obj.metadata.uid ? { preconditions: { uid: obj.metadata.uid } } : {};
  await objects.deleteObject(ref, { propagationPolicy: 'Background', ...preconditions });
  log.info({ kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name }, why);
}
