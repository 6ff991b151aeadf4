/**
 * The finalizer: added on the first reconcile, removed once what the garbage collector cannot
 * reach is gone. Namespaced children go with the garbage collector (owner references); removed
 * here are the children in the agent namespace, and the credentials Secret when the data goes too
 * (deletionPolicy Delete). With Retain it stays, so retained volumes keep their passwords.
 */
import type { Logger } from 'pino';
import { withDefaults } from '../api/defaults.js';
import { API_VERSION, FINALIZER, KIND } from '../api/identity.js';
import type { WebStack } from '../api/types.js';
import type { ObjectApi } from '../kube/apply.js';
import { isNotFound } from '../kube/errors.js';
import type { Lookup } from '../kube/lookup.js';
import { names } from '../blueprint/names.js';
import { ownedChildren } from './ownership.js';
import { deleteSeen } from '../kube/delete.js';

export const hasFinalizer = (raw: WebStack): boolean => raw.metadata.finalizers?.includes(FINALIZER) ?? false;

export async function finalize(objects: Pick<ObjectApi, 'deleteObject' | 'mergePatch'>, caches: Lookup, raw: WebStack, log: Logger): Promise<void> {
  if (!hasFinalizer(raw)) return;
  const { deletionPolicy } = withDefaults(raw).spec.database;
  const credentials = names(raw.metadata.name).mysqlCredentials;
  for (const obj of ownedChildren(caches, raw)) {
    const elsewhere = obj.metadata.namespace !== raw.metadata.namespace;
    const isCredentials = obj.kind === 'Secret' && obj.metadata.name === credentials;
    if (elsewhere || (isCredentials && deletionPolicy === 'Delete')) await deleteSeen(objects, obj, log, 'cleaned up');
  }
  await setFinalizer(objects, raw, false);
}

export async function setFinalizer(objects: Pick<ObjectApi, 'mergePatch'>, raw: WebStack, present: boolean): Promise<void> {
  const current = raw.metadata.finalizers ?? [];
  const finalizers = present ? [...current, FINALIZER] : current.filter((f) => f !== FINALIZER);
  const ref = { apiVersion: API_VERSION, kind: KIND, name: raw.metadata.name, namespace: raw.metadata.namespace ?? '' };
  try {
    // resourceVersion makes this a compare-and-swap: another writer's finalizers are never lost.
    await objects.mergePatch(ref, { metadata: { finalizers, resourceVersion: raw.metadata.resourceVersion } });
  } catch (err) {
    if (present || !isNotFound(err)) throw err;
  }
}
