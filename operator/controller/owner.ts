/** Which WebStack a changed child belongs to, so its event reconciles that stack. */
import { stackKey } from '../api/keys.js';
import { INSTANCE_LABEL, OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL } from '../api/identity.js';
import type { KubeObject } from '../kube/types.js';
import { NONE, type Wake } from '../runtime/controller.js';

/**
 * The owner labels the reconciler puts on every child it applies name the stack. Pods and volume
 * claims carry only their template's labels (the MySQL pods are watched for their role labels, the
 * claims for their size); they live in the stack's namespace and their instance label is the stack's name. Without this, a role label
 * landing after the StatefulSet's last status change left the status at NoPrimary until the
 * periodic resync (seen once in 300 stacks).
 */
export function stackKeyOf(obj: KubeObject): string | undefined {
  const labels = obj.metadata.labels ?? {};
  const ns = labels[OWNER_NAMESPACE_LABEL];
  const name = labels[OWNER_NAME_LABEL];
  if (ns && name) return stackKey({ namespace: ns, name });
  const instance = labels[INSTANCE_LABEL];
  if ((obj.kind === 'Pod' || obj.kind === 'PersistentVolumeClaim') && obj.metadata.namespace && instance) return stackKey({ namespace: obj.metadata.namespace, name: instance });
  return undefined;
}

/** The stack a changed child wakes: its owner, or none. */
export function wakeOwner(obj: KubeObject): Wake {
  const key = stackKeyOf(obj);
  return key ? [key] : NONE;
}
