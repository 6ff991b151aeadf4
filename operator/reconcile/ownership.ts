/**
 * How a child is tied to its WebStack: the owner labels on every child (they cross namespaces),
 * and an owner reference where the garbage collector can follow it (same namespace only).
 */
import { API_VERSION, KIND, OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL } from '../api/identity.js';
import { CHILD_KINDS } from '../api/kinds.js';
import type { WebStack } from '../api/types.js';
import type { Lookup } from '../kube/lookup.js';
import type { KubeObject } from '../kube/types.js';

type Owner = Pick<WebStack, 'metadata'>;

/** The owner labels of a stack's children. */
export function ownerLabels(owner: Owner): Record<string, string> {
  return { [OWNER_NAMESPACE_LABEL]: owner.metadata.namespace ?? '', [OWNER_NAME_LABEL]: owner.metadata.name };
}

/** `obj` with the owner labels, and an owner reference when it is in the owner's namespace. */
export function own<T extends KubeObject>(obj: T, owner: Owner): T {
  const metadata: KubeObject['metadata'] = { ...obj.metadata, labels: { ...obj.metadata.labels, ...ownerLabels(owner) } };
  if (obj.metadata.namespace === owner.metadata.namespace && owner.metadata.uid) {
    metadata.ownerReferences = [
      { apiVersion: API_VERSION, kind: KIND, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true },
    ];
  }
  return { ...obj, metadata };
}

export function isOwnedBy(obj: KubeObject, owner: Owner): boolean {
  const labels = obj.metadata.labels;
  return labels?.[OWNER_NAMESPACE_LABEL] === owner.metadata.namespace && labels?.[OWNER_NAME_LABEL] === owner.metadata.name;
}

/** Every cached child of the owner, of every kind in the watch table, in the table's order. */
export function ownedChildren(caches: Lookup, owner: Owner): KubeObject[] {
  return CHILD_KINDS.flatMap((k) => caches.list(k.kind).filter((o) => isOwnedBy(o, owner)));
}

/** `Kind/namespace/name`: identity of an object across kinds and namespaces. */
export const objectId = (o: KubeObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
